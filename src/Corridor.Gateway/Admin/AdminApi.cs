using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Corridor.Core.Audit;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Storage;
using Corridor.Storage.Reports;
using Corridor.Storage.Compliance;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Admin;

/// <summary>
/// The operator's HTTP API under <c>/admin</c>, behind the token held in the environment variable that
/// <c>server.adminTokenEnv</c> names. Without that variable the admin API is off.
/// Changes to tenants and keys reach the key cache before the response is sent. Every change is recorded in the audit log
/// (actor <c>admin-api</c>) in the same transaction, and tenants are screened against the denied-party list.
/// </summary>
internal static class AdminApi
{
    public static void Map(WebApplication app)
    {
        var server = app.Services.GetRequiredService<ServerOptions>();
        var token = Environment.GetEnvironmentVariable(server.AdminTokenEnv);
        var group = app.MapGroup("/admin").AddEndpointFilter(async (context, next) =>
        {
            // Off the socket's event thread (GatewayHost.PreferInlineSocketCompletions): the store's calls block.
            await Task.Yield();
            if (string.IsNullOrEmpty(token))
            {
                return Problem(StatusCodes.Status503ServiceUnavailable, $"The admin API is off: set {server.AdminTokenEnv}.");
            }
            if (!Authorized(context.HttpContext.Request.Headers.Authorization.ToString(), token))
            {
                return Problem(StatusCodes.Status401Unauthorized, "A valid admin token is required (Authorization: Bearer TOKEN).");
            }
            return await next(context);
        });

        group.MapGet("/tenants", async (ICorridorStore store, TimeProvider time, CancellationToken ct) =>
        {
            var now = time.GetUtcNow();
            return Results.Json((await store.ListTenantsAsync(ct)).Select(t => TenantView.From(t, now)).ToList(), AdminJson.Default.ListTenantView);
        });

        group.MapGet("/tenants/{id}", async (string id, ICorridorStore store, TimeProvider time, CancellationToken ct) =>
            await store.GetTenantAsync(id, ct) is { } tenant
                ? Results.Json(TenantView.From(tenant, time.GetUtcNow()), AdminJson.Default.TenantView)
                : Problem(StatusCodes.Status404NotFound, $"No tenant '{id}'."));

        group.MapPost("/tenants", async (HttpRequest request, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            var input = await ReadAsync(request, AdminJson.Default.NewTenant, ct);
            if (input is null)
            {
                return Problem(StatusCodes.Status400BadRequest,
                    "Send a JSON object: {\"id\", \"legal_name\", \"country\"} and optionally \"controlling_country\", \"entity_type\", \"tier\", \"verification_expires_at\", \"use_case\".");
            }
            var edit = new TenantEdit
            {
                LegalName = input.LegalName,
                Country = input.Country,
                ControllingCountry = input.ControllingCountry,
                EntityType = input.EntityType,
                Tier = input.Tier,
                VerificationExpiresAt = input.VerificationExpiresAt,
                UseCase = input.UseCase,
            };
            var errors = new List<string>();
            var now = time.GetUtcNow();
            var tenant = edit.ToNewTenant(input.Id, now, errors);
            if (tenant is null)
            {
                return Problem(StatusCodes.Status400BadRequest, string.Join(" ", errors));
            }
            if (await store.GetTenantAsync(tenant.Id, ct) is not null)
            {
                return Problem(StatusCodes.Status409Conflict, $"Tenant '{tenant.Id}' already exists.");
            }
            var outcome = await AdminChanges.CreateTenantAsync(store, tenant, AuditActors.AdminApi, now, ct);
            await keys.RefreshAsync(force: true, ct);
            return Results.Json(TenantView.From(outcome, now), AdminJson.Default.TenantView, statusCode: StatusCodes.Status201Created);
        });

        group.MapPatch("/tenants/{id}", async (string id, HttpRequest request, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            var (edit, error) = await ReadTenantPatchAsync(request, ct);
            if (edit is null)
            {
                return Problem(StatusCodes.Status400BadRequest, error!);
            }
            var now = time.GetUtcNow();
            return await ChangeAsync(async () =>
            {
                var (before, outcome) = await AdminChanges.UpdateTenantAsync(store, id, edit, AuditActors.AdminApi, now, ct);
                await keys.RefreshAsync(force: true, ct);
                return Results.Json(outcome is null ? TenantView.From(before, now) : TenantView.From(outcome, now), AdminJson.Default.TenantView);
            });
        });

        group.MapPost("/tenants/{id}/denied-party-review", async (string id, HttpRequest request, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            var input = await ReadAsync(request, AdminJson.Default.DeniedPartyReview, ct);
            if (input is null)
            {
                return Problem(StatusCodes.Status400BadRequest, "Send a JSON object: {\"decision\": \"confirm\" or \"clear\", \"note\": \"what was checked\"}.");
            }
            var now = time.GetUtcNow();
            return await ChangeAsync(async () =>
            {
                var (_, after) = await AdminChanges.ReviewDeniedPartyAsync(store, id, input.Decision, input.Note, AuditActors.AdminApi, now, ct);
                await keys.RefreshAsync(force: true, ct);
                return Results.Json(TenantView.From(after, now), AdminJson.Default.TenantView);
            });
        });

        group.MapGet("/keys", async (string? tenant, ICorridorStore store, CancellationToken ct) =>
            Results.Json((await store.ListKeysAsync(tenant, ct)).Select(KeyView.From).ToList(), AdminJson.Default.ListKeyView));

        group.MapPost("/keys", async (HttpRequest request, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            var input = await ReadAsync(request, AdminJson.Default.NewKey, ct);
            if (input?.Tenant is null)
            {
                return Problem(StatusCodes.Status400BadRequest, "Send a JSON object: {\"tenant\", \"name\"}.");
            }
            return await ChangeAsync(async () =>
            {
                var issued = await AdminChanges.IssueKeyAsync(store, input.Tenant, input.Name, AuditActors.AdminApi, time.GetUtcNow(), ct);
                await keys.RefreshAsync(force: true, ct);
                return Results.Json(new IssuedKeyView(issued.Secret, KeyView.From(issued.Key)), AdminJson.Default.IssuedKeyView, statusCode: StatusCodes.Status201Created);
            });
        });

        group.MapPost("/keys/{id}/revoke", async (string id, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            if (await AdminChanges.RevokeKeyAsync(store, id, AuditActors.AdminApi, time.GetUtcNow(), ct) is null)
            {
                return Problem(StatusCodes.Status404NotFound, $"No key '{id}'.");
            }
            await keys.RefreshAsync(force: true, ct);
            return Results.Json(KeyView.From((await store.GetKeyAsync(id, ct))!), AdminJson.Default.KeyView);
        });

        group.MapGet("/usage", async (string? from, string? to, ICorridorStore store, CancellationToken ct) =>
        {
            if (!TryDate(from, out var fromDate) || !TryDate(to, out var toDate))
            {
                return Problem(StatusCodes.Status400BadRequest, "from and to must be ISO 8601 dates such as 2026-06-01.");
            }
            var totals = await store.GetUsageTotalsAsync(fromDate, toDate, ct);
            return Results.Json(totals.Select(UsageView.From).ToList(), AdminJson.Default.ListUsageView);
        });

        group.MapGet("/decisions/{id}", async (string id, ICorridorStore store, CancellationToken ct) =>
        {
            var subject = id.StartsWith("req_", StringComparison.Ordinal) ? "dec_" + id[4..] : id;
            var records = await store.SearchAuditAsync(new AuditQuery(subject, AuditActions.Decision, 1), ct);
            return records.Count == 0
                ? Problem(StatusCodes.Status404NotFound, $"No decision '{subject}' in the audit log.")
                : Results.Text(records[0].Details, "application/json");
        });

        group.MapGet("/reports/residency", async (string? tenant, string? from, string? to, string? format, ICorridorStore store, CancellationToken ct) =>
        {
            if (!TryDate(from, out var fromDate) || !TryDate(to, out var toDate))
            {
                return Problem(StatusCodes.Status400BadRequest, "from and to must be ISO 8601 dates such as 2026-06-01.");
            }
            if (string.IsNullOrEmpty(tenant) || await store.GetTenantAsync(tenant, ct) is null)
            {
                return Problem(StatusCodes.Status404NotFound, $"No tenant '{tenant}'.");
            }
            var report = await store.ResidencyAsync(tenant, fromDate, toDate, ct);
            if (format == "csv")
            {
                return Results.Text(report.ToCsv(), "text/csv");
            }
            var buffer = new MemoryStream();
            report.WriteJson(buffer);
            return Results.Bytes(buffer.ToArray(), "application/json");
        });
    }

    private static bool Authorized(string header, string token)
    {
        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Bearer.Length..].Trim()), Encoding.UTF8.GetBytes(token));
    }

    private static bool TryDate(string? text, out DateTimeOffset? date)
    {
        date = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            date = parsed;
            return true;
        }
        return false;
    }

    /// <summary>Runs an admin change, turning what the operator can fix into 400 or 404.</summary>
    private static async Task<IResult> ChangeAsync(Func<Task<IResult>> change)
    {
        try
        {
            return await change();
        }
        catch (AdminChangeException e)
        {
            var status = e.Error == AdminChangeError.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest;
            return Problem(status, e.Message.Replace(Environment.NewLine, " ", StringComparison.Ordinal));
        }
    }

    private static readonly string[] PatchableFields =
        ["legal_name", "country", "controlling_country", "entity_type", "tier", "verification_expires_at", "use_case"];

    /// <summary>
    /// Reads a PATCH body: a field that is absent stays as it is, <c>null</c> clears an optional one. Parsed by hand because the
    /// generated serializer cannot tell an absent field from a null one.
    /// </summary>
    private static async Task<(TenantEdit? Edit, string? Error)> ReadTenantPatchAsync(HttpRequest request, CancellationToken ct)
    {
        const string Shape = "Send a JSON object with any of: legal_name, country, controlling_country, entity_type, tier, verification_expires_at, use_case (null clears the optional ones).";
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, ct);
        }
        catch (JsonException)
        {
            return (null, Shape);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, Shape);
            }
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "denied_party")
                {
                    return (null, "denied_party changes only through a review: POST /admin/tenants/{id}/denied-party-review.");
                }
                if (!PatchableFields.Contains(property.Name))
                {
                    return (null, $"Unknown or read-only field '{property.Name}'. {Shape}");
                }
                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.Null => TenantEdit.ClearKeyword,
                    JsonValueKind.String => property.Value.GetString(),
                    _ => null,
                };
                if (values[property.Name] is null)
                {
                    return (null, $"'{property.Name}' must be a string or null.");
                }
            }
            if (values.Count == 0)
            {
                return (null, Shape);
            }
            var edit = new TenantEdit
            {
                LegalName = values.GetValueOrDefault("legal_name"),
                Country = values.GetValueOrDefault("country"),
                ControllingCountry = values.GetValueOrDefault("controlling_country"),
                EntityType = values.GetValueOrDefault("entity_type"),
                Tier = values.GetValueOrDefault("tier"),
                VerificationExpiresAt = values.GetValueOrDefault("verification_expires_at"),
                UseCase = values.GetValueOrDefault("use_case"),
            };
            return (edit, null);
        }
    }

    private static async Task<T?> ReadAsync<T>(HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken ct)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(request.Body, type, ct);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IResult Problem(int status, string message) =>
        Results.Json(new AdminError(new AdminErrorBody(message)), AdminJson.Default.AdminError, statusCode: status);
}

internal sealed record NewTenant(
    string? Id,
    string? LegalName,
    string? Country,
    string? ControllingCountry = null,
    string? EntityType = null,
    string? Tier = null,
    string? VerificationExpiresAt = null,
    string? UseCase = null);

internal sealed record DeniedPartyReview(string? Decision, string? Note);

/// <summary>The listed party that flagged a tenant in this response, when one did.</summary>
internal sealed record ScreeningMatchView(string ListedName, string MatchedName, string? Country, string Program, double NameScore, string CountryEffect, double Score)
{
    public static ScreeningMatchView From(ScreeningMatch m) =>
        new(m.Entry.Name, m.MatchedName, m.Entry.Country, m.Entry.Program, m.NameScore, TenantScreening.CountryEffectName(m.Country), m.Score);
}

internal sealed record NewKey(string? Tenant, string? Name);

internal sealed record TenantView(
    string Id,
    string LegalName,
    string Country,
    string? ControllingCountry,
    string EffectiveControllingCountry,
    string EntityType,
    string Tier,
    string EffectiveTier,
    DateTimeOffset? VerificationExpiresAt,
    string? UseCase,
    string DeniedParty,
    DateTimeOffset CreatedAt,
    ScreeningMatchView? ScreeningMatch)
{
    public static TenantView From(Tenant t, DateTimeOffset now) => new(
        t.Id,
        t.LegalName,
        t.Country,
        t.ControllingCountry,
        t.EffectiveControllingCountry,
        TenantNames.Name(t.EntityType),
        TenantNames.Name(t.Tier),
        TenantNames.Name(t.EffectiveTier(now)),
        t.VerificationExpiresAt,
        t.UseCase,
        TenantNames.Name(t.DeniedParty),
        t.CreatedAt,
        null);

    public static TenantView From(ScreeningOutcome outcome, DateTimeOffset now) =>
        From(outcome.Tenant, now) with { ScreeningMatch = outcome.Flagged is { } m ? ScreeningMatchView.From(m) : null };
}

internal sealed record KeyView(string Id, string Tenant, string Prefix, string? Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public static KeyView From(ApiKey k) => new(k.Id, k.TenantId, k.Prefix, k.Name, k.CreatedAt, k.LastUsedAt, k.RevokedAt);
}

internal sealed record IssuedKeyView(string Secret, KeyView Key);

internal sealed record UsageView(string Tenant, string Model, long Requests, long InputTokens, long OutputTokens, string Cost)
{
    public static UsageView From(UsageTotal u) => new(u.TenantId, u.Model, u.Requests, u.InputTokens, u.OutputTokens, u.Cost.ToString(CultureInfo.InvariantCulture));
}

internal sealed record AdminError(AdminErrorBody Error);

internal sealed record AdminErrorBody(string Message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(NewTenant))]
[JsonSerializable(typeof(NewKey))]
[JsonSerializable(typeof(DeniedPartyReview))]
[JsonSerializable(typeof(TenantView))]
[JsonSerializable(typeof(List<TenantView>))]
[JsonSerializable(typeof(KeyView))]
[JsonSerializable(typeof(List<KeyView>))]
[JsonSerializable(typeof(IssuedKeyView))]
[JsonSerializable(typeof(List<UsageView>))]
[JsonSerializable(typeof(AdminError))]
internal sealed partial class AdminJson : JsonSerializerContext;
