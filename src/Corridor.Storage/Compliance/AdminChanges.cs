using System.Globalization;
using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;

namespace Corridor.Storage.Compliance;

/// <summary>Why an admin change was refused; the command line prints the message, the admin API maps the kind to a status.</summary>
public enum AdminChangeError
{
    NotFound,
    Invalid,
}

/// <summary>An admin change the caller can fix; its message is fit to show to an operator.</summary>
public sealed class AdminChangeException(AdminChangeError error, string message) : Exception(message)
{
    public AdminChangeError Error { get; } = error;
}

/// <summary>What an import did.</summary>
public sealed record ImportOutcome(DeniedPartyCsvResult Read, IReadOnlyList<ScreeningOutcome> Flagged);

/// <summary>
/// Every admin change, as the command line and the admin API make it: screened where it concerns a tenant's identity,
/// and stored together with the audit records that say who did what (the <c>actor</c> of each method).
/// </summary>
public static class AdminChanges
{
    /// <summary>Screens and adds a new tenant; records <c>tenant.create</c> and, on a match, <c>denied_party.flag</c>.</summary>
    public static async Task<ScreeningOutcome> CreateTenantAsync(ICorridorStore store, Tenant tenant, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(tenant);
        var list = await store.GetDeniedPartyListAsync(cancellationToken);
        var outcome = TenantScreening.OnCreate(tenant, list.CreateScreener());
        List<AuditEntry> audit = [new(now, actor, AuditActions.TenantCreate, tenant.Id, AuditDetails.TenantSnapshot(outcome.Tenant))];
        if (outcome.Flagged is { } match)
        {
            audit.Add(TenantScreening.FlagEntry(outcome.Tenant, match, AuditActions.TenantCreate, actor, now));
        }

        await store.AddTenantAsync(outcome.Tenant, audit, cancellationToken);
        return outcome;
    }

    /// <summary>
    /// Applies <paramref name="edit"/> to a stored tenant, screens it again (<see cref="TenantScreening.OnUpdate"/>) and stores it;
    /// records <c>tenant.update</c> with the changed fields and, on a match, <c>denied_party.flag</c>. Null when nothing changed.
    /// </summary>
    public static async Task<(Tenant Before, ScreeningOutcome? After)> UpdateTenantAsync(
        ICorridorStore store,
        string tenantId,
        TenantEdit edit,
        string actor,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(edit);
        var before = await RequireTenantAsync(store, tenantId, cancellationToken);
        var errors = new List<string>();
        var edited = edit.ApplyTo(before, errors) ?? throw new AdminChangeException(AdminChangeError.Invalid, string.Join(Environment.NewLine, errors));
        if (TenantFields.Changes(before, edited).Count == 0)
        {
            return (before, null);
        }

        var list = await store.GetDeniedPartyListAsync(cancellationToken);
        var outcome = TenantScreening.OnUpdate(before, edited, list.CreateScreener());
        List<AuditEntry> audit = [new(now, actor, AuditActions.TenantUpdate, before.Id, AuditDetails.TenantChanges(TenantFields.Changes(before, outcome.Tenant)))];
        if (outcome.Flagged is { } match)
        {
            audit.Add(TenantScreening.FlagEntry(outcome.Tenant, match, AuditActions.TenantUpdate, actor, now));
        }

        if (!await store.UpdateTenantAsync(outcome.Tenant, audit, cancellationToken))
        {
            throw NoTenant(tenantId);
        }

        return (before, outcome);
    }

    /// <summary>Records an operator's review of a denied-party match: <c>confirm</c> keeps the tenant refused, <c>clear</c> lets it through.</summary>
    public static async Task<(Tenant Before, Tenant After)> ReviewDeniedPartyAsync(
        ICorridorStore store,
        string tenantId,
        string? decision,
        string? note,
        string actor,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var errors = new List<string>();
        var confirm = string.Equals(decision?.Trim(), "confirm", StringComparison.OrdinalIgnoreCase);
        if (!confirm && !string.Equals(decision?.Trim(), "clear", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"the decision must be confirm or clear, not '{decision}'.");
        }

        if (string.IsNullOrWhiteSpace(note))
        {
            errors.Add("a note is required: say what was checked and why (it goes into the audit log).");
        }

        if (errors.Count > 0)
        {
            throw new AdminChangeException(AdminChangeError.Invalid, string.Join(Environment.NewLine, errors));
        }

        var before = await RequireTenantAsync(store, tenantId, cancellationToken);
        if (before.DeniedParty == DeniedPartyStatus.Clear)
        {
            throw new AdminChangeException(AdminChangeError.Invalid, $"tenant '{tenantId}' has no denied-party match to review.");
        }

        var after = TenantScreening.Review(before, confirm);
        var entry = TenantScreening.ReviewEntry(before, after, note!.Trim(), actor, now);
        if (!await store.UpdateTenantAsync(after, [entry], cancellationToken))
        {
            throw NoTenant(tenantId);
        }

        return (before, after);
    }

    /// <summary>Issues a key for an existing tenant; records <c>key.issue</c> (never the secret or its hash).</summary>
    public static async Task<IssuedApiKey> IssueKeyAsync(ICorridorStore store, string tenantId, string? name, string actor, DateTimeOffset now, CancellationToken cancellationToken,
        DateTimeOffset? expiresAt = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (expiresAt is { } expires && expires <= now)
        {
            throw new AdminChangeException(AdminChangeError.Invalid, IssuedExpired(ExpiryField));
        }
        await RequireTenantAsync(store, tenantId, cancellationToken);
        // Kept to the millisecond, as the stores keep times.
        var issued = ApiKeys.Create(tenantId, now, string.IsNullOrWhiteSpace(name) ? null : name.Trim(),
            expiresAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds()) : null);
        var entry = new AuditEntry(now, actor, AuditActions.KeyIssue, issued.Key.Id, AuditDetails.Write(json =>
        {
            json.WriteString("tenant", tenantId);
            json.WriteString("prefix", issued.Key.Prefix);
            json.WriteString("name", issued.Key.Name);
            if (issued.Key.ExpiresAt is { } at)
            {
                json.WriteString("expires_at", at);
            }
        }));
        await store.AddKeyAsync(issued.Key, [entry], cancellationToken);
        return issued;
    }

    /// <summary>The limits a tenant or key has of its own (empty when none); throws <see cref="AdminChangeException"/> when it does not exist.</summary>
    public static async Task<Limits> GetLimitsAsync(ICorridorStore store, LimitScope scope, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        await RequireSubjectAsync(store, scope, id, cancellationToken);
        var all = await store.ListLimitsAsync(cancellationToken);
        return all.FirstOrDefault(l => l.Scope == scope && string.Equals(l.Id, id, StringComparison.Ordinal))?.Limits ?? Limits.None;
    }

    /// <summary>
    /// Applies <paramref name="edit"/> to a tenant's or key's own limits and stores them; records <c>limits.update</c> with
    /// the changed fields (subject: the tenant or key id; <c>scope</c> in the details). Returns the limits before and after;
    /// nothing is stored when nothing changed.
    /// </summary>
    public static async Task<(Limits Before, Limits After)> UpdateLimitsAsync(
        ICorridorStore store,
        LimitScope scope,
        string id,
        LimitsEdit edit,
        string actor,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(edit);
        var before = await GetLimitsAsync(store, scope, id, cancellationToken);
        var errors = new List<string>();
        var after = edit.ApplyTo(before, errors) ?? throw new AdminChangeException(AdminChangeError.Invalid, string.Join(Environment.NewLine, errors));
        var changes = Limits.Changes(before, after);
        if (changes.Count == 0)
        {
            return (before, after);
        }

        var entry = new AuditEntry(now, actor, AuditActions.LimitsUpdate, id, AuditDetails.LimitChanges(scope == LimitScope.Tenant ? "tenant" : "key", changes));
        if (!await store.SetLimitsAsync(new SubjectLimits(scope, id, after), [entry], cancellationToken))
        {
            throw NoSubject(scope, id);
        }

        return (before, after);
    }

    private static async Task RequireSubjectAsync(ICorridorStore store, LimitScope scope, string id, CancellationToken cancellationToken)
    {
        var exists = scope == LimitScope.Tenant
            ? await store.GetTenantAsync(id, cancellationToken) is not null
            : await store.GetKeyAsync(id, cancellationToken) is not null;
        if (!exists)
        {
            throw NoSubject(scope, id);
        }
    }

    private static AdminChangeException NoSubject(LimitScope scope, string id) => scope == LimitScope.Tenant
        ? NoTenant(id)
        : new AdminChangeException(AdminChangeError.NotFound, $"unknown key '{id}'. See: corridor keys list");

    /// <summary>Revokes a key; records <c>key.revoke</c> when this call revoked it. Returns the key as it was before, or null when unknown.</summary>
    public static async Task<ApiKey?> RevokeKeyAsync(ICorridorStore store, string keyId, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var key = await store.GetKeyAsync(keyId, cancellationToken);
        if (key is null)
        {
            return null;
        }

        var entry = new AuditEntry(now, actor, AuditActions.KeyRevoke, keyId, AuditDetails.Write(json => json.WriteString("tenant", key.TenantId)));
        return await store.RevokeKeyAsync(keyId, now, [entry], cancellationToken) ? key : null;
    }

    /// <summary>A key's expiry as the admin API names it; the command line says <c>--expires</c>, the option its operator typed.</summary>
    public const string ExpiryField = "expires_at";

    /// <summary>Why a key's new expiry is refused when it is not later than now, <paramref name="field"/> named as its caller set it.</summary>
    public static string ExpiryNotLaterThanNow(string field, string revoke = "revoke it") => $"{field} must be later than now: to stop a key now, {revoke}.";

    /// <summary>Why a key is not issued with an expiry not later than now, <paramref name="field"/> named as its caller set it.</summary>
    public static string IssuedExpired(string field) => $"{field} must be later than now: a key issued expired would never work.";

    /// <summary>
    /// Changes when an unrevoked key stops working by itself (<paramref name="expiresAt"/> null: never); records
    /// <c>key.expiry</c> with the time before and after. Returns null when no key has that id; throws
    /// <see cref="AdminChangeException"/> for a revoked key or a time not later than now (to stop a key now, revoke it).
    /// </summary>
    public static async Task<ApiKey?> SetKeyExpiryAsync(ICorridorStore store, string keyId, DateTimeOffset? expiresAt, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (expiresAt is { } expires && expires <= now)
        {
            throw new AdminChangeException(AdminChangeError.Invalid, ExpiryNotLaterThanNow(ExpiryField));
        }
        var key = await store.GetKeyAsync(keyId, cancellationToken);
        if (key is null)
        {
            return null;
        }
        // Kept to the millisecond, as the stores keep times.
        var after = key with { ExpiresAt = expiresAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds()) : null };
        var entry = new AuditEntry(now, actor, AuditActions.KeyExpiry, keyId, AuditDetails.Write(json =>
        {
            json.WriteString("tenant", key.TenantId);
            WriteTimeOrNull(json, "expires_at_before", key.ExpiresAt);
            WriteTimeOrNull(json, "expires_at", after.ExpiresAt);
        }));
        return key.RevokedAt is null && await store.SetKeyExpiryAsync(keyId, after.ExpiresAt, [entry], cancellationToken)
            ? after
            : throw new AdminChangeException(AdminChangeError.Invalid, $"Key '{keyId}' is revoked: a revoked key stays revoked, whatever its expiry.");
    }

    private static void WriteTimeOrNull(System.Text.Json.Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } at)
        {
            json.WriteString(name, at);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>
    /// Replaces the denied-party list with what <paramref name="read"/> holds, and screens every clear tenant against it;
    /// records <c>screening.import</c> (file, SHA-256, counts) and a <c>denied_party.flag</c> per tenant it flags.
    /// </summary>
    public static async Task<ImportOutcome> ImportDeniedPartiesAsync(
        ICorridorStore store,
        DeniedPartyCsvResult read,
        string fileName,
        string sha256,
        string actor,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(read);
        if (!read.HeaderValid)
        {
            throw new AdminChangeException(AdminChangeError.Invalid, $"{read.HeaderError}; the list was not changed.");
        }

        if (read.Entries.Count == 0)
        {
            throw new AdminChangeException(AdminChangeError.Invalid, "the file holds no valid row; the list was not changed.");
        }

        var current = await store.GetDeniedPartyListAsync(cancellationToken);
        var screener = new DeniedPartyScreener(read.Entries, current.Threshold);
        var flagged = new List<ScreeningOutcome>();
        foreach (var tenant in await store.ListTenantsAsync(cancellationToken))
        {
            var outcome = TenantScreening.OnListChange(tenant, screener);
            if (outcome.IsFlagged)
            {
                flagged.Add(outcome);
            }
        }

        List<AuditEntry> audit =
        [
            new(now, actor, AuditActions.ScreeningImport, fileName, AuditDetails.Write(json =>
            {
                json.WriteString("file", fileName);
                json.WriteString("sha256", sha256);
                json.WriteNumber("rows_read", read.RowsRead);
                json.WriteNumber("entries", read.Entries.Count);
                json.WriteNumber("rejected", read.Rejected.Count);
                json.WriteNumber("previous_entries", current.Entries.Count);
                json.WriteStartArray("flagged");
                foreach (var outcome in flagged)
                {
                    json.WriteStringValue(outcome.Tenant.Id);
                }

                json.WriteEndArray();
            })),
            .. flagged.Select(o => TenantScreening.FlagEntry(o.Tenant, o.Flagged!, AuditActions.ScreeningImport, actor, now)),
        ];
        await store.ReplaceDeniedPartyListAsync(
            read.Entries,
            new DeniedPartyListSource(fileName, sha256, now),
            [.. flagged.Select(o => o.Tenant)],
            audit,
            cancellationToken);
        return new ImportOutcome(read, flagged);
    }

    /// <summary>
    /// Rotates the reasoning key the store keeps (<see cref="GatewaySecrets.ReasoningKey"/>): a new key, the old kept as the
    /// previous one (accepted, never used to sign or seal), the one before it dropped; records <c>reasoning_key.rotate</c>
    /// with when gateways begin to seal with the new key (<see cref="GatewaySecrets.SealingDelay"/>), never a key. Returns
    /// that time, or null (recording nothing) when the store keeps no reasoning key: no gateway has started on it without
    /// the key from the environment.
    /// </summary>
    public static async Task<DateTimeOffset?> RotateReasoningKeyAsync(ICorridorStore store, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var sealsFrom = now + GatewaySecrets.SealingDelay;
        var entry = new AuditEntry(now, actor, AuditActions.ReasoningKeyRotate, GatewaySecrets.ReasoningKey, AuditDetails.Write(json =>
            json.WriteString("seals_from", sealsFrom)));
        return await store.RotateSecretAsync(GatewaySecrets.ReasoningKey, now, [entry], cancellationToken) ? sealsFrom : null;
    }

    /// <summary>Sets the screening threshold; records <c>screening.threshold</c> with the old and new value.</summary>
    public static async Task<double> SetThresholdAsync(ICorridorStore store, double threshold, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!DeniedPartyScreener.IsValidThreshold(threshold))
        {
            throw new AdminChangeException(AdminChangeError.Invalid, $"the threshold must be above 0 and at most 1, not {threshold.ToString(CultureInfo.InvariantCulture)}.");
        }

        var previous = (await store.GetDeniedPartyListAsync(cancellationToken)).Threshold;
        var entry = new AuditEntry(now, actor, AuditActions.ScreeningThreshold, "screening", AuditDetails.Write(json =>
        {
            json.WriteNumber("from", previous);
            json.WriteNumber("to", threshold);
        }));
        await store.SetScreeningThresholdAsync(threshold, [entry], cancellationToken);
        return previous;
    }

    private static async Task<Tenant> RequireTenantAsync(ICorridorStore store, string tenantId, CancellationToken cancellationToken) =>
        await store.GetTenantAsync(tenantId, cancellationToken) ?? throw NoTenant(tenantId);

    private static AdminChangeException NoTenant(string tenantId) => new(AdminChangeError.NotFound, $"unknown tenant '{tenantId}'.");
}
