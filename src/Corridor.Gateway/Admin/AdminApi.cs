using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Admin;

/// <summary>
/// The operator's HTTP API under <c>/admin</c>, behind the token held in the environment variable that
/// <c>server.adminTokenEnv</c> names. Without that variable the admin API is off.
/// Changes to tenants and keys reach the key cache before the response is sent.
/// </summary>
internal static class AdminApi
{
    public static void Map(WebApplication app)
    {
        var server = app.Services.GetRequiredService<ServerOptions>();
        var token = Environment.GetEnvironmentVariable(server.AdminTokenEnv);
        var group = app.MapGroup("/admin").AddEndpointFilter(async (context, next) =>
        {
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

        group.MapGet("/tenants", async (ICorridorStore store, CancellationToken ct) =>
            Results.Json((await store.ListTenantsAsync(ct)).Select(TenantView.From).ToList(), AdminJson.Default.ListTenantView));

        group.MapGet("/tenants/{id}", async (string id, ICorridorStore store, CancellationToken ct) =>
            await store.GetTenantAsync(id, ct) is { } tenant
                ? Results.Json(TenantView.From(tenant), AdminJson.Default.TenantView)
                : Problem(StatusCodes.Status404NotFound, $"No tenant '{id}'."));

        group.MapPost("/tenants", async (HttpRequest request, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            var input = await ReadAsync(request, AdminJson.Default.NewTenant, ct);
            if (input is null)
            {
                return Problem(StatusCodes.Status400BadRequest, "Send a JSON object: {\"id\", \"legal_name\", \"country\"}.");
            }
            var errors = new List<string>();
            if (!TenantRules.IsValidId(input.Id))
            {
                errors.Add("id must be a lowercase slug such as acme-logistics");
            }
            if (string.IsNullOrWhiteSpace(input.LegalName))
            {
                errors.Add("legal_name is required");
            }
            if (!TenantRules.TryNormalizeCountry(input.Country, out var country))
            {
                errors.Add("country must be an ISO 3166-1 alpha-2 code such as SG");
            }
            if (errors.Count > 0)
            {
                return Problem(StatusCodes.Status400BadRequest, string.Join("; ", errors));
            }
            if (await store.GetTenantAsync(input.Id!, ct) is not null)
            {
                return Problem(StatusCodes.Status409Conflict, $"Tenant '{input.Id}' already exists.");
            }
            var tenant = new Tenant(input.Id!, input.LegalName!.Trim(), country!, time.GetUtcNow());
            await store.AddTenantAsync(tenant, ct);
            await keys.RefreshAsync(force: true, ct);
            return Results.Json(TenantView.From(tenant), AdminJson.Default.TenantView, statusCode: StatusCodes.Status201Created);
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
            if (await store.GetTenantAsync(input.Tenant, ct) is null)
            {
                return Problem(StatusCodes.Status404NotFound, $"No tenant '{input.Tenant}'.");
            }
            var issued = ApiKeys.Create(input.Tenant, time.GetUtcNow(), input.Name);
            await store.AddKeyAsync(issued.Key, ct);
            await keys.RefreshAsync(force: true, ct);
            return Results.Json(new IssuedKeyView(issued.Secret, KeyView.From(issued.Key)), AdminJson.Default.IssuedKeyView, statusCode: StatusCodes.Status201Created);
        });

        group.MapPost("/keys/{id}/revoke", async (string id, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            if (!await store.RevokeKeyAsync(id, time.GetUtcNow(), ct))
            {
                return Problem(StatusCodes.Status404NotFound, $"No key '{id}'.");
            }
            await keys.RefreshAsync(force: true, ct);
            return Results.Json((await store.ListKeysAsync(null, ct)).Where(k => k.Id == id).Select(KeyView.From).First(), AdminJson.Default.KeyView);
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

internal sealed record NewTenant(string? Id, string? LegalName, string? Country);

internal sealed record NewKey(string? Tenant, string? Name);

internal sealed record TenantView(string Id, string LegalName, string Country, DateTimeOffset CreatedAt)
{
    public static TenantView From(Tenant t) => new(t.Id, t.LegalName, t.Country, t.CreatedAt);
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
[JsonSerializable(typeof(TenantView))]
[JsonSerializable(typeof(List<TenantView>))]
[JsonSerializable(typeof(KeyView))]
[JsonSerializable(typeof(List<KeyView>))]
[JsonSerializable(typeof(IssuedKeyView))]
[JsonSerializable(typeof(List<UsageView>))]
[JsonSerializable(typeof(AdminError))]
internal sealed partial class AdminJson : JsonSerializerContext;
