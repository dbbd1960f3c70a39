using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Catalog;
using Corridor.Core.Reports;
using Corridor.Core.Routing;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.Shadow;
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
        var tokens = app.Services.GetRequiredService<OperatorTokens>();
        var group = app.MapGroup("/admin").AddEndpointFilter(async (context, next) =>
        {
            // Off the socket's event thread (GatewayHost.PreferInlineSocketCompletions): the store's calls block.
            await Task.Yield();
            if (tokens.Admin is null)
            {
                return Problem(StatusCodes.Status503ServiceUnavailable, $"The admin API is off: set {server.AdminTokenEnv}.");
            }
            if (!tokens.IsAdmin(context.HttpContext.Request))
            {
                return Problem(StatusCodes.Status401Unauthorized, "A valid admin token is required (Authorization: Bearer TOKEN).");
            }
            try
            {
                return await next(context);
            }
            catch (Exception e) when (CorridorStoreException.IsStoreFailure(e))
            {
                // The store is away (PostgreSQL down or unreachable): the operator's tools should retry, not report a fault.
                return Problem(StatusCodes.Status503ServiceUnavailable, "The store cannot be reached; nothing was read or changed. Try again shortly.");
            }
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
            var exists = Problem(StatusCodes.Status409Conflict, $"Tenant '{tenant.Id}' already exists.");
            if (await store.GetTenantAsync(tenant.Id, ct) is not null)
            {
                return exists; // before screening it
            }
            ScreeningOutcome outcome;
            try
            {
                outcome = await AdminChanges.CreateTenantAsync(store, tenant, AuditActors.AdminApi, now, ct);
            }
            catch (CorridorStoreException e) when (e.Error == StoreError.Duplicate)
            {
                return exists; // another create of the same id landed between the check above and this one
            }
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
                return Problem(StatusCodes.Status400BadRequest, "Send a JSON object: {\"tenant\", \"name\", \"expires_at\"}.");
            }
            var now = time.GetUtcNow();
            if (ReadExpiry(input.ExpiresAt, now, out var expiresAt) is { } badExpiry)
            {
                return badExpiry;
            }
            return await ChangeAsync(async () =>
            {
                var issued = await AdminChanges.IssueKeyAsync(store, input.Tenant, input.Name, AuditActors.AdminApi, now, ct, expiresAt);
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

        // A key's expiry, changed: {"expires_at": an instant or date, or days or hours from now (90d, 12h)}, or null for never.
        group.MapPatch("/keys/{id}", async (string id, HttpRequest request, ICorridorStore store, KeyCache keys, TimeProvider time, CancellationToken ct) =>
        {
            var (edit, error) = await ReadPatchAsync(request, KeyFields,
                "Send a JSON object: {\"expires_at\": an instant, a date, or days or hours from now (90d, 12h); null for never}.",
                numbers: false, _ => null, field => new[] { field("expires_at") }, ct);
            if (edit is not [{ } when])
            {
                return Problem(StatusCodes.Status400BadRequest, error ?? "Send a JSON object: {\"expires_at\": ...}; nothing else of a key changes (limits: PATCH /admin/keys/{id}/limits).");
            }
            var now = time.GetUtcNow();
            if (ReadExpiry(when, now, out var expiresAt) is { } badExpiry)
            {
                return badExpiry;
            }
            return await ChangeAsync(async () =>
            {
                if (await AdminChanges.SetKeyExpiryAsync(store, id, expiresAt, AuditActors.AdminApi, now, ct) is not { } changed)
                {
                    return Problem(StatusCodes.Status404NotFound, $"No key '{id}'.");
                }
                await keys.RefreshAsync(force: true, ct);
                return Results.Json(KeyView.From(changed), AdminJson.Default.KeyView);
            });
        });

        // A tenant's batches through either API, newest first, each with what its runs cost and earned (docs/batches.md). To
        // stop one, suspend or revoke the key it runs as: the batch ends, its remaining requests errored with the refusal a
        // live request would get.
        group.MapGet("/tenants/{id}/batches", async (string id, string? limit, string? format, ICorridorStore store, CancellationToken ct) =>
        {
            if ((CountProblem(limit, "limit", 1, BatchReport.MaxListed, BatchReport.DefaultListed, out var most) ?? FormatProblem(format)) is { } problem)
            {
                return problem;
            }
            if (await store.GetTenantAsync(id, ct) is null)
            {
                return Problem(StatusCodes.Status404NotFound, $"No tenant '{id}'.");
            }
            var report = await store.BatchesAsync(id, most, ct);
            return Report(format, report.WriteJson, report.ToCsv);
        });

        group.MapGet("/tenants/{id}/batches/{batchId}", async (string id, string batchId, string? format, ICorridorStore store, CancellationToken ct) =>
        {
            if (FormatProblem(format) is { } problem)
            {
                return problem;
            }
            if (await store.BatchAsync(id, batchId, ct) is not { } batch)
            {
                return Problem(StatusCodes.Status404NotFound, $"No batch '{batchId}' of tenant '{id}'.");
            }
            return Report(format, batch.WriteJson, () => new BatchReport([batch]).ToCsv());
        });

        MapLimits(group, "/tenants/{id}/limits", LimitScope.Tenant);
        MapLimits(group, "/keys/{id}/limits", LimitScope.Key);

        group.MapGet("/budgets", (IAdmissionCounters counters, GatewayState state) =>
            Results.Json(counters.Snapshot().Select(u => BudgetUsageView.From(u, state.Active.Config.Admission.Currency)).ToList(), AdminJson.Default.ListBudgetUsageView));

        group.MapGet("/usage", async (string? from, string? to, ICorridorStore store, CancellationToken ct) =>
        {
            if (RangeProblem(from, to, out var fromDate, out var toDate) is { } problem)
            {
                return problem;
            }
            var totals = await store.GetUsageTotalsAsync(fromDate, toDate, tenantId: null, ct);
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
            if ((RangeProblem(from, to, out var fromDate, out var toDate) ?? FormatProblem(format)) is { } problem)
            {
                return problem;
            }
            if (string.IsNullOrEmpty(tenant))
            {
                return Problem(StatusCodes.Status400BadRequest, "tenant is required: /admin/reports/residency?tenant=ID.");
            }
            if (await store.GetTenantAsync(tenant, ct) is null)
            {
                return Problem(StatusCodes.Status404NotFound, $"No tenant '{tenant}'.");
            }
            var report = await store.ResidencyAsync(tenant, fromDate, toDate, ct);
            return Report(format, report.WriteJson, report.ToCsv);
        });

        MonitorAdminApi.Map(group);
        group.MapGet("/reports/spend", (HttpRequest request, ICorridorStore store, CancellationToken ct) => SpendReportAsync(request, SpendMeasure.Spend, store, ct));
        group.MapGet("/reports/revenue", (HttpRequest request, ICorridorStore store, CancellationToken ct) => SpendReportAsync(request, SpendMeasure.Revenue, store, ct));

        group.MapGet("/reports/shadow", async (string? from, string? to, string? format, ICorridorStore store, CancellationToken ct) =>
        {
            if ((RangeProblem(from, to, out var fromDate, out var toDate) ?? FormatProblem(format)) is { } problem)
            {
                return problem;
            }
            var report = await store.ShadowAsync(fromDate, toDate, ct);
            return Report(format, report.WriteJson, report.ToCsv);
        });

        group.MapGet("/shadow/status", (ShadowMirror mirror) => Results.Json(mirror.Status, AdminJson.Default.ShadowStatus));

        // What routing has observed of each deployment: which breakers are open, and how fast each answers.
        group.MapGet("/deployments", (RouteTable routes) =>
            Results.Json(routes.Conditions().Select(c => DeploymentView.From(c.Deployment, c.Condition)).ToList(), AdminJson.Default.ListDeploymentView));
    }

    /// <summary><c>?by=tenant|vendor|model|region|country&amp;period=day|month|quarter&amp;from&amp;to&amp;top=10&amp;format=json|csv</c>.</summary>
    private static async Task<IResult> SpendReportAsync(HttpRequest request, SpendMeasure rankBy, ICorridorStore store, CancellationToken ct)
    {
        var query = request.Query;
        if ((RangeProblem(query["from"], query["to"], out var from, out var to) ?? FormatProblem(query["format"])) is { } problem)
        {
            return problem;
        }
        if (!SpendReport.TryParseDimension(query["by"].ToString() is { Length: > 0 } by ? by : "tenant", out var dimension))
        {
            return Problem(StatusCodes.Status400BadRequest, "by must be one of tenant, vendor, model, region, country.");
        }
        if (!ReportPeriods.TryParse(query["period"].ToString() is { Length: > 0 } p ? p : "month", out var period))
        {
            return Problem(StatusCodes.Status400BadRequest, "period must be one of day, month, quarter.");
        }
        if (CountProblem(query["top"], "top", 0, SpendReport.MaxTopCustomers, SpendReport.DefaultTopCustomers, out var top) is { } topProblem)
        {
            return topProblem;
        }
        if (SpendReport.RangeError(from, to, period) is { } rangeError)
        {
            return Problem(StatusCodes.Status400BadRequest, rangeError);
        }
        var report = await store.SpendAsync(dimension, period, from, to, rankBy, top, ct);
        return Report(query["format"], report.WriteJson, report.ToCsv);
    }

    private static IResult Report(string? format, Action<Stream> writeJson, Func<string> toCsv)
    {
        if (format == "csv")
        {
            return Results.Text(toCsv(), "text/csv");
        }
        var buffer = new MemoryStream();
        writeJson(buffer);
        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    /// <summary>
    /// <c>GET</c> shows a tenant's or key's own limits, the effective ones (defaults filled in) and where it stands now;
    /// <c>PATCH</c> changes its own limits, audited as <c>limits.update</c>, in force before the response is sent.
    /// </summary>
    private static void MapLimits(RouteGroupBuilder group, string pattern, LimitScope scope)
    {
        group.MapGet(pattern, (string id, ICorridorStore store, IAdmissionCounters counters, GatewayState state, CancellationToken ct) =>
            ChangeAsync(async () =>
                Results.Json(LimitsView(scope, id, await AdminChanges.GetLimitsAsync(store, scope, id, ct), counters, state), AdminJson.Default.SubjectLimitsView)));

        group.MapPatch(pattern, async (string id, HttpRequest request, ICorridorStore store, KeyCache keys, IAdmissionCounters counters, GatewayState state, TimeProvider time, CancellationToken ct) =>
        {
            var (edit, error) = await ReadLimitsPatchAsync(request, ct);
            if (edit is null)
            {
                return Problem(StatusCodes.Status400BadRequest, error!);
            }
            return await ChangeAsync(async () =>
            {
                var (_, after) = await AdminChanges.UpdateLimitsAsync(store, scope, id, edit, AuditActors.AdminApi, time.GetUtcNow(), ct);
                await keys.RefreshAsync(force: true, ct);
                return Results.Json(LimitsView(scope, id, after, counters, state), AdminJson.Default.SubjectLimitsView);
            });
        });
    }

    private static SubjectLimitsView LimitsView(LimitScope scope, string id, Limits own, IAdmissionCounters counters, GatewayState state)
    {
        var options = state.Active.Config.Admission;
        var defaults = scope == LimitScope.Tenant ? options.TenantDefaults : options.KeyDefaults;
        var usage = counters.Find(scope, id);
        return new SubjectLimitsView(ScopeName(scope), id, options.Currency, LimitsFieldsView.From(own), LimitsFieldsView.From(own.Or(defaults)),
            usage is null ? null : BudgetUsageView.From(usage, options.Currency));
    }

    internal static string ScopeName(LimitScope scope) => scope == LimitScope.Tenant ? "tenant" : "key";

    /// <summary>
    /// Reads the optional <c>from</c> and <c>to</c> of a query string as the command line reads <c>--from</c> and <c>--to</c>:
    /// ISO 8601 only, and <c>from</c> earlier than <c>to</c>. Null when they are fine; otherwise the 400 to answer.
    /// </summary>
    internal static IResult? RangeProblem(string? from, string? to, out DateTimeOffset? fromDate, out DateTimeOffset? toDate)
    {
        if (!TryDate(from, out fromDate) || !TryDate(to, out toDate))
        {
            toDate = null;
            return Problem(StatusCodes.Status400BadRequest, "from and to must be ISO 8601 dates such as 2026-06-01 or 2026-06-01T08:00:00Z.");
        }

        return fromDate >= toDate ? Problem(StatusCodes.Status400BadRequest, "from must be earlier than to.") : null;
    }

    /// <summary>An optional ISO 8601 date of a query string; false when present and unreadable.</summary>
    internal static bool TryDate(string? text, out DateTimeOffset? date)
    {
        date = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        if (ReportDates.TryParse(text, out var parsed))
        {
            date = parsed;
            return true;
        }
        return false;
    }

    /// <summary>Null for <c>json</c>, <c>csv</c> or none (JSON); otherwise the 400 to answer.</summary>
    /// <summary>
    /// Reads how many of a list to answer (<c>limit</c>, <c>top</c>) from the query: left out or empty, <paramref name="fallback"/>;
    /// anything but a whole number from <paramref name="min"/> to <paramref name="max"/> is a 400 naming the range, as the
    /// command line's option refuses it, never clamped into range (a limit of 0 answered with one row says nothing of the mistake).
    /// </summary>
    internal static IResult? CountProblem(string? text, string name, int min, int max, int fallback, out int value)
    {
        value = fallback;
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max
            ? null
            : Problem(StatusCodes.Status400BadRequest, $"{name} must be a whole number from {min} to {max}.");
    }

    private static IResult? FormatProblem(string? format) =>
        string.IsNullOrEmpty(format) || format is "json" or "csv" ? null : Problem(StatusCodes.Status400BadRequest, "format must be json or csv.");

    /// <summary>Runs an admin change, turning what the operator can fix into 400 or 404.</summary>
    internal static async Task<IResult> ChangeAsync(Func<Task<IResult>> change)
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

    /// <summary>Reads a tenant's PATCH body (see <see cref="ReadPatchAsync"/>).</summary>
    private static Task<(TenantEdit? Edit, string? Error)> ReadTenantPatchAsync(HttpRequest request, CancellationToken ct) =>
        ReadPatchAsync(request, PatchableFields,
            "Send a JSON object with any of: legal_name, country, controlling_country, entity_type, tier, verification_expires_at, use_case (null clears the optional ones).",
            numbers: false,
            name => name == "denied_party" ? "denied_party changes only through a review: POST /admin/tenants/{id}/denied-party-review." : null,
            field => new TenantEdit
            {
                LegalName = field("legal_name"),
                Country = field("country"),
                ControllingCountry = field("controlling_country"),
                EntityType = field("entity_type"),
                Tier = field("tier"),
                VerificationExpiresAt = field("verification_expires_at"),
                UseCase = field("use_case"),
            },
            ct);

    private static readonly string[] KeyFields = ["expires_at"];

    /// <summary>
    /// A key's <c>expires_at</c> read as the command line's <c>--expires</c> reads it: a time without an offset is UTC,
    /// whatever this server's zone; days or hours from now (90d, 12h). Absent or null: none. A 400 for anything else.
    /// </summary>
    private static IResult? ReadExpiry(string? when, DateTimeOffset now, out DateTimeOffset? expiresAt)
    {
        expiresAt = null;
        if (when is null || when == TenantEdit.ClearKeyword)
        {
            return null;
        }
        if (!ApiKeys.TryParseExpiry(when, now, out var parsed))
        {
            return Problem(StatusCodes.Status400BadRequest,
                $"expires_at: '{when}' is neither an instant or date (2027-03-01T00:00:00Z; UTC without an offset) nor days or hours from now (90d, 12h).");
        }
        expiresAt = parsed;
        return null;
    }

    private static readonly string[] LimitFields =
        ["rpm", "tpm", "concurrent_streams", "daily_soft_budget", "daily_budget", "monthly_soft_budget", "monthly_budget"];

    /// <summary>Reads a limits PATCH body (see <see cref="ReadPatchAsync"/>); numbers may be sent as numbers or strings.</summary>
    private static Task<(LimitsEdit? Edit, string? Error)> ReadLimitsPatchAsync(HttpRequest request, CancellationToken ct) =>
        ReadPatchAsync(request, LimitFields,
            "Send a JSON object with any of: rpm, tpm, concurrent_streams, daily_soft_budget, daily_budget, monthly_soft_budget, monthly_budget (null removes a limit).",
            numbers: true,
            _ => null,
            field => new LimitsEdit
            {
                RequestsPerMinute = field("rpm"),
                TokensPerMinute = field("tpm"),
                ConcurrentStreams = field("concurrent_streams"),
                DailySoftBudget = field("daily_soft_budget"),
                DailyHardBudget = field("daily_budget"),
                MonthlySoftBudget = field("monthly_soft_budget"),
                MonthlyHardBudget = field("monthly_budget"),
            },
            ct);

    /// <summary>
    /// Reads a PATCH body: a field that is absent stays as it is, <c>null</c> clears it (<c>none</c>). Parsed by hand because the
    /// generated serializer cannot tell an absent field from a null one. <paramref name="refuse"/> may explain why a field
    /// cannot be patched here; <paramref name="build"/> makes the edit from the fields sent.
    /// </summary>
    private static async Task<(T? Edit, string? Error)> ReadPatchAsync<T>(
        HttpRequest request, string[] fields, string shape, bool numbers, Func<string, string?> refuse, Func<Func<string, string?>, T> build, CancellationToken ct)
        where T : class
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, ct);
        }
        catch (JsonException)
        {
            return (null, shape);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, shape);
            }
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (refuse(property.Name) is { } refusal)
                {
                    return (null, refusal);
                }
                if (!fields.Contains(property.Name))
                {
                    return (null, $"Unknown or read-only field '{property.Name}'. {shape}");
                }
                values[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.Null => TenantEdit.ClearKeyword,
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Number when numbers => property.Value.GetRawText(),
                    _ => null,
                };
                if (values[property.Name] is null)
                {
                    return (null, numbers ? $"'{property.Name}' must be a number, a string or null." : $"'{property.Name}' must be a string or null.");
                }
            }
            return values.Count == 0 ? (null, shape) : (build(values.GetValueOrDefault), null);
        }
    }

    internal static async Task<T?> ReadAsync<T>(HttpRequest request, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken ct)
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

    internal static IResult Problem(int status, string message) =>
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

/// <summary>A key to issue: its tenant, an optional label, and optionally when it stops working by itself.</summary>
internal sealed record NewKey(string? Tenant, string? Name, string? ExpiresAt = null);

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

internal sealed record KeyView(string Id, string Tenant, string Prefix, string? Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt)
{
    public static KeyView From(ApiKey k) => new(k.Id, k.TenantId, k.Prefix, k.Name, k.CreatedAt, k.LastUsedAt, k.RevokedAt, k.ExpiresAt);
}

internal sealed record IssuedKeyView(string Secret, KeyView Key);

/// <summary>A tenant's usage of a model; of its input tokens, those the prompt cache served and took, named as in <c>/v1/usage</c>.</summary>
internal sealed record UsageView(string Tenant, string Model, long Requests, long InputTokens, long InputCachedTokens, long InputCacheWriteTokens, long OutputTokens, string Cost)
{
    public static UsageView From(UsageTotal u) =>
        new(u.TenantId, u.Model, u.Requests, u.InputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.OutputTokens, u.Cost.ToString(CultureInfo.InvariantCulture));
}

/// <summary>A set of limits; money as exact decimal text, like the ledger's cost.</summary>
internal sealed record LimitsFieldsView(int? Rpm, long? Tpm, int? ConcurrentStreams, string? DailySoftBudget, string? DailyBudget, string? MonthlySoftBudget, string? MonthlyBudget)
{
    public static LimitsFieldsView From(Limits l) => new(l.RequestsPerMinute, l.TokensPerMinute, l.ConcurrentStreams,
        Money(l.DailySoftBudget), Money(l.DailyHardBudget), Money(l.MonthlySoftBudget), Money(l.MonthlyHardBudget));

    internal static string? Money(decimal? amount) => amount?.ToString(CultureInfo.InvariantCulture);
}

internal sealed record SubjectLimitsView(string Scope, string Id, string Currency, LimitsFieldsView Own, LimitsFieldsView Effective, BudgetUsageView? Usage);

/// <summary>Spend of the current UTC day and month, what in-flight requests hold reserved, open streams, and soft-budget alerts.</summary>
internal sealed record BudgetUsageView(
    string Scope,
    string Id,
    string Currency,
    string Day,
    string DaySpent,
    string Month,
    string MonthSpent,
    string Reserved,
    int Streams,
    DateTimeOffset? DailySoftAlertAt,
    DateTimeOffset? MonthlySoftAlertAt)
{
    public static BudgetUsageView From(SubjectUsage u, string currency) => new(
        AdminApi.ScopeName(u.Scope), u.Id, currency, u.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        Amount(u.DaySpent), u.Month, Amount(u.MonthSpent), Amount(u.Reserved), u.Streams, u.DailySoftAlertAt, u.MonthlySoftAlertAt);

    /// <summary>Exact, without the trailing zeros sums of prices pick up (0.000000 is 0).</summary>
    private static string Amount(decimal amount) => amount.ToString("G29", CultureInfo.InvariantCulture);
}

/// <summary>
/// A deployment of the active catalog as routing sees it: its breaker (<c>closed</c>, <c>open</c> until <c>open_until</c>,
/// <c>half_open</c>: the next request probes it, or <c>probing</c> one does), the failures in a row it has counted, and the
/// decayed latency to its answers' headers (null before the first success) with when it was last measured.
/// </summary>
internal sealed record DeploymentView(
    string Id,
    string Model,
    string Vendor,
    string Region,
    int Priority,
    string Breaker,
    int ConsecutiveFailures,
    DateTimeOffset? OpenUntil,
    bool Probing,
    double? LatencyMs,
    DateTimeOffset? MeasuredAt,
    string? ServiceTier,
    string? InferenceGeo)
{
    public static DeploymentView From(DeploymentEntry d, DeploymentCondition c) => new(
        d.Id, d.Model.Id, d.Vendor.Id, d.Region, d.Config.Priority, BreakerName(c.State), c.ConsecutiveFailures, c.OpenUntil, c.Probing,
        c.LatencyMs is { } ms ? Math.Round(ms, 3) : null, c.MeasuredAt, d.Config.ServiceTier, d.Config.InferenceGeo);

    public static string BreakerName(BreakerState state) => state switch
    {
        BreakerState.Open => "open",
        BreakerState.HalfOpen => "half_open",
        _ => "closed",
    };
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
[JsonSerializable(typeof(SubjectLimitsView))]
[JsonSerializable(typeof(List<BudgetUsageView>))]
[JsonSerializable(typeof(ShadowStatus))]
[JsonSerializable(typeof(List<DeploymentView>))]
internal sealed partial class AdminJson : JsonSerializerContext;
