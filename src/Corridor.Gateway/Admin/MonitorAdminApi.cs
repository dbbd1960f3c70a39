using System.Text.Json.Serialization;
using Corridor.Core.Audit;
using Corridor.Gateway.Monitoring;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Corridor.Gateway.Admin;

/// <summary>
/// The distillation monitor under <c>/admin</c>: levels and pins (<c>/admin/enforcement</c>), cases and their evidence
/// bundles (<c>/admin/cases</c>). Pins and decisions are audited with actor <c>admin-api</c>; a pin applies at once.
/// </summary>
internal static class MonitorAdminApi
{
    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/enforcement", async (ICorridorStore store, MonitorService monitor, CancellationToken ct) =>
        {
            var views = new List<EnforcementView>();
            foreach (var record in await store.ListEnforcementAsync(ct))
            {
                var live = SubjectRef.TryParse(record.Subject, out var subject) ? monitor.Monitor.Standing(subject) : null;
                views.Add(new EnforcementView(record.Subject, record.TenantId, (live?.Level ?? EnforcementLevel.None).Name(), record.AutomaticLevel,
                    record.PinnedLevel, live?.LastScore, record.UpdatedAt, record.Actor, record.Note));
            }

            return Results.Json(views, MonitorAdminJson.Default.ListEnforcementView);
        });

        group.MapPost("/enforcement/pin", async (HttpRequest request, ICorridorStore store, MonitorService monitor, TimeProvider time, CancellationToken ct) =>
        {
            var input = await AdminApi.ReadAsync(request, MonitorAdminJson.Default.PinRequest, ct);
            if (input is null || !SubjectRef.TryParse(input.Subject, out var subject) || !EnforcementLevels.TryParse(input.Level, out var level))
            {
                return AdminApi.Problem(StatusCodes.Status400BadRequest,
                    "Send a JSON object: {\"subject\": \"key:ID\" or \"tenant:ID\" or \"cluster:ID\", \"level\": \"none|watch|flag|throttle|suspend\", \"note\": \"why\"}.");
            }

            if (!monitor.Monitor.HasRoomToPin(subject))
            {
                // Stored and audited but not enforced would be worse than refused.
                return AdminApi.Problem(StatusCodes.Status409Conflict,
                    "The monitor holds as many pins as monitor.maxRecords allows; unpin a subject first, or raise it.");
            }

            return await AdminApi.ChangeAsync(async () =>
            {
                var now = time.GetUtcNow();
                await CaseBook.PinAsync(store, subject, level, AuditActors.AdminApi, input.Note, now, ct);

                // A cluster's pin holds the members it was stored and audited with.
                var stored = subject.Kind == SubjectKind.Cluster
                    ? (await store.ListEnforcementAsync(ct)).FirstOrDefault(e => e.Subject == subject.ToString())
                    : null;
                monitor.ApplyPin(subject, level, AuditActors.AdminApi, input.Note, now, stored);
                return Results.Json(new PinView(subject.ToString(), level.Name(), monitor.Monitor.GetLevel(subject).Name()), MonitorAdminJson.Default.PinView);
            });
        });

        group.MapPost("/enforcement/unpin", async (HttpRequest request, ICorridorStore store, MonitorService monitor, TimeProvider time, CancellationToken ct) =>
        {
            var input = await AdminApi.ReadAsync(request, MonitorAdminJson.Default.PinRequest, ct);
            if (input is null || !SubjectRef.TryParse(input.Subject, out var subject))
            {
                return AdminApi.Problem(StatusCodes.Status400BadRequest, "Send a JSON object: {\"subject\": \"key:ID\" or \"tenant:ID\" or \"cluster:ID\", \"note\": \"why\"}.");
            }

            return await AdminApi.ChangeAsync(async () =>
            {
                var now = time.GetUtcNow();
                if (!await CaseBook.PinAsync(store, subject, null, AuditActors.AdminApi, input.Note, now, ct))
                {
                    return AdminApi.Problem(StatusCodes.Status404NotFound, $"{subject} has no pin.");
                }

                monitor.ApplyPin(subject, null, AuditActors.AdminApi, input.Note, now);
                return Results.Json(new PinView(subject.ToString(), null, monitor.Monitor.GetLevel(subject).Name()), MonitorAdminJson.Default.PinView);
            });
        });

        group.MapGet("/cases", async (string? status, string? subject, ICorridorStore store, CancellationToken ct) =>
            await AdminApi.ChangeAsync(async () =>
                Results.Json((await CaseBook.ListAsync(store, status, subject, ct)).Select(CaseSummary.From).ToList(), MonitorAdminJson.Default.ListCaseSummary)));

        group.MapGet("/cases/{id}", async (string id, ICorridorStore store, CancellationToken ct) =>
            await store.GetCaseAsync(id, ct) is { } record
                ? Results.Text(record.Document, "application/json")
                : AdminApi.Problem(StatusCodes.Status404NotFound, $"No case '{id}'."));

        group.MapPost("/cases/{id}/decisions", async (string id, HttpRequest request, ICorridorStore store, TimeProvider time, CancellationToken ct) =>
        {
            var input = await AdminApi.ReadAsync(request, MonitorAdminJson.Default.CaseDecisionRequest, ct);
            if (input?.Decision is null)
            {
                return AdminApi.Problem(StatusCodes.Status400BadRequest, "Send a JSON object: {\"decision\": \"dismiss|confirm|escalate\", \"note\": \"what was checked\"}.");
            }

            return await AdminApi.ChangeAsync(async () =>
            {
                var file = await CaseBook.DecideAsync(store, id, input.Decision, AuditActors.AdminApi, input.Note, time.GetUtcNow(), ct);
                return Results.Text(file.ToJson(), "application/json");
            });
        });

        group.MapGet("/cases/{id}/evidence", async (string id, HttpContext context, ICorridorStore store, TimeProvider time, CancellationToken ct) =>
        {
            var buffer = new MemoryStream();
            if (!await EvidenceBundle.WriteAsync(store, id, AuditActors.AdminApi, time.GetUtcNow(), buffer, ct))
            {
                return AdminApi.Problem(StatusCodes.Status404NotFound, $"No case '{id}'.");
            }

            context.Response.Headers.ContentDisposition = $"attachment; filename=\"{id}.evidence.json\"";
            return Results.Bytes(buffer.ToArray(), "application/json");
        });
    }
}

internal sealed record PinRequest(string? Subject, string? Level, string? Note);

internal sealed record PinView(string Subject, string? Pinned, string Level);

internal sealed record CaseDecisionRequest(string? Decision, string? Note);

internal sealed record EnforcementView(
    string Subject,
    string? Tenant,
    string Level,
    string AutomaticLevel,
    string? PinnedLevel,
    double? Score,
    DateTimeOffset UpdatedAt,
    string? Actor,
    string? Note);

internal sealed record CaseSummary(
    string Id,
    string Subject,
    string? Tenant,
    string Status,
    string Level,
    string HighestLevel,
    double PeakScore,
    DateTimeOffset OpenedAt,
    DateTimeOffset UpdatedAt,
    int Examples,
    int Decisions)
{
    public static CaseSummary From(CaseFile f) =>
        new(f.Id, f.Subject, f.Tenant, f.Status, f.Level, f.HighestLevel, f.PeakScore, f.OpenedAt, f.UpdatedAt, f.Examples.Count, f.Decisions.Count);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PinRequest))]
[JsonSerializable(typeof(PinView))]
[JsonSerializable(typeof(CaseDecisionRequest))]
[JsonSerializable(typeof(List<EnforcementView>))]
[JsonSerializable(typeof(List<CaseSummary>))]
internal sealed partial class MonitorAdminJson : JsonSerializerContext;
