using System.CommandLine;
using Corridor.Core.Tenants;
using Corridor.Cli.Output;
using Corridor.Storage;
using Corridor.Storage.Compliance;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor keys issue|list|revoke|update</c>.</summary>
internal static class KeyCommands
{
    public static Command Create(CliContext context) => new("keys", "Manage API keys")
    {
        Issue(context),
        List(context),
        Revoke(context),
        Update(context),
    };

    private static Command Update(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "Id of the key (key_...)" };
        var expires = ExpiresOption("When the key stops working by itself, as for issue; 'never' removes its expiry");
        var limitOptions = new LimitOptions();
        var command = new Command("update", "Change a key's expiry, or its own limits and budgets (the tenant's apply as well)") { id, expires };
        limitOptions.AddTo(command);
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var keyId = parseResult.GetRequiredValue(id);
            var limits = limitOptions.Read(parseResult);
            var when = parseResult.GetValue(expires);
            if (limits.IsEmpty && when is null)
            {
                throw new CliUserException("nothing to change: pass --expires, " + LimitOptions.Names + ".");
            }
            var now = context.Time.GetUtcNow();
            DateTimeOffset? expiresAt = when is null || when.Trim().Equals("never", StringComparison.OrdinalIgnoreCase) ? null : ReadExpiry(when, now);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            // Every problem of the expiry and the limits first: nothing is changed unless all of it can be.
            var errors = new List<string>();
            if (expiresAt is { } expiry && expiry <= now)
            {
                errors.Add(AdminChanges.ExpiryNotLaterThanNow(ExpiresName, "revoke it (corridor keys revoke ID)"));
            }
            await LimitOptions.CheckAsync(store, Core.Admission.LimitScope.Key, keyId, limits, errors, cancellationToken);
            if (errors.Count > 0)
            {
                throw CliUserException.FromErrors(errors);
            }
            if (when is not null)
            {
                var changed = await AdminChanges.SetKeyExpiryAsync(store, keyId, expiresAt, context.Actor, now, cancellationToken)
                    ?? throw new CliUserException($"no key with id '{keyId}'. See: corridor keys list");
                context.Out.WriteLine(changed.ExpiresAt is { } at
                    ? $"Key {keyId} of tenant {changed.TenantId} now expires at {CliFormat.Time(at)}."
                    : $"Key {keyId} of tenant {changed.TenantId} now never expires.");
            }
            if (!limits.IsEmpty)
            {
                await LimitOptions.ApplyAsync(context, store, Core.Admission.LimitScope.Key, keyId, limits, cancellationToken);
            }
            return 0;
        });
        return command;
    }

    private const string ExpiresName = "--expires";

    private static Option<string?> ExpiresOption(string description) => new(ExpiresName) { Description = description, HelpName = "WHEN" };

    private static DateTimeOffset ReadExpiry(string when, DateTimeOffset now) => ApiKeys.TryParseExpiry(when, now, out var parsed)
        ? parsed
        : throw new CliUserException($"--expires: '{when}' is neither days or hours from now (90d, 12h) nor a date or instant (2027-03-01).");

    private static Command Issue(CliContext context)
    {
        var tenant = new Option<string>("--tenant") { Description = "Tenant the key belongs to", Required = true, HelpName = "ID" };
        var name = new Option<string?>("--name") { Description = "A label for the key (ci, production, ...)", HelpName = "NAME" };
        var expires = ExpiresOption("When the key stops working by itself: days or hours from now (90d, 12h), or a date or instant (2027-03-01 = the start of that day, UTC)");
        var json = GlobalOptions.Json();
        var command = new Command("issue", "Issue a key; its secret is shown once") { tenant, name, expires, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetRequiredValue(tenant);
            var now = context.Time.GetUtcNow();
            DateTimeOffset? expiresAt = parseResult.GetValue(expires) is { } when ? ReadExpiry(when, now) : null;
            if (expiresAt <= now)
            {
                // Said here, in the option's name; AdminChanges refuses it too, in the admin API's (expires_at).
                throw new CliUserException(AdminChanges.IssuedExpired(ExpiresName));
            }
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            await RequireTenantAsync(store, tenantId, cancellationToken);
            var issued = await AdminChanges.IssueKeyAsync(store, tenantId, parseResult.GetValue(name), context.Actor, now, cancellationToken, expiresAt);

            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJson(context.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("id", issued.Key.Id);
                    w.WriteString("tenant", issued.Key.TenantId);
                    w.WriteString("prefix", issued.Key.Prefix);
                    w.WriteString("name", issued.Key.Name);
                    w.WriteString("secret", issued.Secret);
                    CliFormat.WriteTimeOrNull(w, "expires_at", issued.Key.ExpiresAt);
                    w.WriteEndObject();
                });
                return 0;
            }

            var output = context.Out;
            output.WriteLine($"Issued key {issued.Key.Id} for tenant {tenantId}.");
            output.WriteLine();
            output.WriteLine($"  secret  {issued.Secret}");
            output.WriteLine($"  id      {issued.Key.Id}");
            output.WriteLine($"  prefix  {issued.Key.Prefix}");
            if (issued.Key.ExpiresAt is { } at)
            {
                output.WriteLine($"  expires {CliFormat.Time(at)}");
            }
            output.WriteLine();
            output.WriteLine("Copy the secret now: it cannot be shown again. Corridor keeps only its hash.");
            return 0;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var tenant = new Option<string?>("--tenant") { Description = "Only this tenant's keys", HelpName = "ID" };
        var json = GlobalOptions.Json();
        var command = new Command("list", "List keys (never their secrets or hashes)") { tenant, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetValue(tenant);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            if (tenantId is not null)
            {
                await RequireTenantAsync(store, tenantId, cancellationToken);
            }

            var keys = await store.ListKeysAsync(tenantId, cancellationToken);
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, keys, static (w, k) =>
                {
                    w.WriteString("id", k.Id);
                    w.WriteString("tenant", k.TenantId);
                    w.WriteString("prefix", k.Prefix);
                    w.WriteString("name", k.Name);
                    w.WriteString("created_at", CliFormat.JsonTime(k.CreatedAt));
                    CliFormat.WriteTimeOrNull(w, "last_used_at", k.LastUsedAt);
                    CliFormat.WriteTimeOrNull(w, "revoked_at", k.RevokedAt);
                    CliFormat.WriteTimeOrNull(w, "expires_at", k.ExpiresAt);
                });
                return 0;
            }

            if (keys.Count == 0)
            {
                context.Out.WriteLine("No keys. Issue one with: corridor keys issue --tenant ID");
                return 0;
            }

            var table = new TextTable(new("ID"), new("TENANT"), new("PREFIX"), new("NAME"), new("CREATED"), new("LAST USED"), new("REVOKED"), new("EXPIRES"));
            foreach (var k in keys)
            {
                table.Add(k.Id, k.TenantId, k.Prefix, CliFormat.OrNone(k.Name), CliFormat.Time(k.CreatedAt), CliFormat.Time(k.LastUsedAt), CliFormat.Time(k.RevokedAt), CliFormat.Time(k.ExpiresAt));
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command Revoke(CliContext context)
    {
        var keyId = new Argument<string>("KEY_ID") { Description = "Id of the key to revoke (key_...)" };
        var command = new Command("revoke", "Revoke a key; the gateway refuses it from then on") { keyId };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var id = parseResult.GetRequiredValue(keyId);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var key = await store.GetKeyAsync(id, cancellationToken) ?? throw new CliUserException($"no key with id '{id}'. See: corridor keys list");
            if (key.RevokedAt is { } earlier)
            {
                context.Out.WriteLine($"Key {id} of tenant {key.TenantId} was already revoked at {CliFormat.Time(earlier)}.");
                return 0;
            }

            var now = context.Time.GetUtcNow();
            if (await AdminChanges.RevokeKeyAsync(store, id, context.Actor, now, cancellationToken) is null)
            {
                throw new CliUserException($"no key with id '{id}'. See: corridor keys list");
            }

            context.Out.WriteLine($"Revoked key {id} of tenant {key.TenantId} at {CliFormat.Time(now)}.");
            return 0;
        });
        return command;
    }

    private static async Task RequireTenantAsync(ICorridorStore store, string tenantId, CancellationToken cancellationToken)
    {
        if (await store.GetTenantAsync(tenantId, cancellationToken) is null)
        {
            throw new CliUserException($"unknown tenant '{tenantId}'. See: corridor tenants list");
        }
    }
}
