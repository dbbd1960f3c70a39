using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Core.Admission;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Storage.Compliance;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor tenants add|update|show|list</c>. Every change is screened and audited (<see cref="AdminChanges"/>).</summary>
internal static class TenantCommands
{
    public static Command Create(CliContext context) => new("tenants", "Manage tenants (customer accounts)")
    {
        Add(context),
        Update(context),
        Show(context),
        List(context),
    };

    /// <summary>The profile options shared by <c>add</c> and <c>update</c>.</summary>
    private sealed class ProfileOptions
    {
        public Option<string?> ControllingCountry { get; } = new("--controlling-country")
        {
            Description = "Country of the ultimate parent, ISO 3166-1 alpha-2 (default: the country); 'none' clears it",
            HelpName = "CC",
        };

        public Option<string?> EntityType { get; } = new("--entity-type")
        {
            Description = "What kind of organisation: " + TenantNames.EntityTypeChoices,
            HelpName = "TYPE",
        };

        public Option<string?> Tier { get; } = new("--tier")
        {
            Description = "Vetting tier: " + TenantNames.TierChoices,
            HelpName = "TIER",
        };

        public Option<string?> VerifiedUntil { get; } = new("--verified-until")
        {
            Description = "When the verification lapses (2027-01-01 = the start of that day, UTC); the tier then counts as unverified. 'none' clears it",
            HelpName = "DATE",
        };

        public Option<string?> UseCase { get; } = new("--use-case")
        {
            Description = "What the tenant uses the models for; 'none' clears it",
            HelpName = "TEXT",
        };

        public void AddTo(Command command)
        {
            command.Add(ControllingCountry);
            command.Add(EntityType);
            command.Add(Tier);
            command.Add(VerifiedUntil);
            command.Add(UseCase);
        }

        public TenantEdit Read(ParseResult parseResult, string? legalName, string? country) => new()
        {
            LegalName = legalName,
            Country = country,
            ControllingCountry = parseResult.GetValue(ControllingCountry),
            EntityType = parseResult.GetValue(EntityType),
            Tier = parseResult.GetValue(Tier),
            VerificationExpiresAt = parseResult.GetValue(VerifiedUntil),
            UseCase = parseResult.GetValue(UseCase),
        };
    }

    private static Command Add(CliContext context)
    {
        var id = new Option<string>("--id") { Description = "Tenant id: lowercase letters, digits and hyphens (acme-logistics)", Required = true, HelpName = "ID" };
        var name = new Option<string>("--name") { Description = "Legal name of the customer", Required = true, HelpName = "NAME" };
        var country = new Option<string>("--country") { Description = "Country of incorporation, ISO 3166-1 alpha-2 (SG, DE, ...)", Required = true, HelpName = "CC" };
        var profile = new ProfileOptions();
        var command = new Command("add", "Add a tenant; it is screened against the denied-party list") { id, name, country };
        profile.AddTo(command);
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var errors = new List<string>();
            var edit = profile.Read(parseResult, parseResult.GetRequiredValue(name), parseResult.GetRequiredValue(country));
            var tenant = edit.ToNewTenant(parseResult.GetRequiredValue(id), context.Time.GetUtcNow(), errors)
                ?? throw CliUserException.FromErrors(errors);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var outcome = await AdminChanges.CreateTenantAsync(store, tenant, context.Actor, context.Time.GetUtcNow(), cancellationToken);
            context.Out.WriteLine($"Added tenant {tenant.Id} ({tenant.LegalName}, {tenant.Country}).");
            WriteFlag(context, outcome);
            return 0;
        });
        return command;
    }

    private static Command Update(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "Id of the tenant to change" };
        var name = new Option<string?>("--name") { Description = "Legal name of the customer", HelpName = "NAME" };
        var country = new Option<string?>("--country") { Description = "Country of incorporation, ISO 3166-1 alpha-2", HelpName = "CC" };
        var profile = new ProfileOptions();
        var limitOptions = new LimitOptions();
        var command = new Command("update", "Change a tenant's profile, limits and budgets; a new name or country is screened again") { id, name, country };
        profile.AddTo(command);
        limitOptions.AddTo(command);
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetRequiredValue(id);
            var edit = profile.Read(parseResult, parseResult.GetValue(name), parseResult.GetValue(country));
            var limits = limitOptions.Read(parseResult);
            if (edit.IsEmpty && limits.IsEmpty)
            {
                throw new CliUserException("nothing to change: pass --name, --country, --controlling-country, --entity-type, --tier, --verified-until, --use-case or "
                    + LimitOptions.Names + ".");
            }

            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            // Every problem of the profile and the limits first: nothing is changed unless all of it can be.
            var errors = new List<string>();
            if (!edit.IsEmpty)
            {
                var current = await store.GetTenantAsync(tenantId, cancellationToken)
                    ?? throw new CliUserException($"unknown tenant '{tenantId}'. See: corridor tenants list");
                edit.ApplyTo(current, errors);
            }
            await LimitOptions.CheckAsync(store, LimitScope.Tenant, tenantId, limits, errors, cancellationToken);
            if (errors.Count > 0)
            {
                throw CliUserException.FromErrors(errors);
            }
            if (!limits.IsEmpty)
            {
                await LimitOptions.ApplyAsync(context, store, LimitScope.Tenant, tenantId, limits, cancellationToken);
                if (edit.IsEmpty)
                {
                    return 0;
                }
            }

            var (before, outcome) = await AdminChanges.UpdateTenantAsync(store, tenantId, edit, context.Actor, context.Time.GetUtcNow(), cancellationToken);
            if (outcome is null)
            {
                context.Out.WriteLine($"Tenant {tenantId} already has that profile; nothing changed.");
                return 0;
            }

            context.Out.WriteLine($"Updated tenant {tenantId}:");
            foreach (var change in TenantFields.Changes(before, outcome.Tenant))
            {
                context.Out.WriteLine($"  {change.Name}: {CliFormat.OrNone(change.From)} -> {CliFormat.OrNone(change.To)}");
            }

            WriteFlag(context, outcome);
            return 0;
        });
        return command;
    }

    private static Command Show(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "Id of the tenant" };
        var json = GlobalOptions.Json();
        var command = new Command("show", "Show every field of a tenant, and the tier policy sees now") { id, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetRequiredValue(id);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var tenant = await store.GetTenantAsync(tenantId, cancellationToken)
                ?? throw new CliUserException($"unknown tenant '{tenantId}'. See: corridor tenants list");
            var now = context.Time.GetUtcNow();
            var limits = await AdminChanges.GetLimitsAsync(store, LimitScope.Tenant, tenantId, cancellationToken);
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJson(context.Out, w =>
                {
                    w.WriteStartObject();
                    WriteTenantJson(w, tenant, now);
                    w.WritePropertyName("limits");
                    LimitOptions.WriteJson(w, limits);
                    w.WriteEndObject();
                });
                return 0;
            }

            var table = new TextTable(new("FIELD"), new("VALUE"));
            table.Add("id", tenant.Id);
            foreach (var field in TenantFields.Of(tenant))
            {
                table.Add(field.Name, CliFormat.OrNone(field.Value));
            }

            table.Add("effective_tier", TenantNames.Name(tenant.EffectiveTier(now)) + (tenant.EffectiveTier(now) != tenant.Tier ? " (verification lapsed)" : string.Empty));
            table.Add("created_at", CliFormat.JsonTime(tenant.CreatedAt));
            LimitOptions.AddRows(table, limits);
            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var json = GlobalOptions.Json();
        var command = new Command("list", "List tenants") { json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var tenants = await store.ListTenantsAsync(cancellationToken);
            var now = context.Time.GetUtcNow();
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, tenants, (w, t) => WriteTenantJson(w, t, now));
                return 0;
            }

            if (tenants.Count == 0)
            {
                context.Out.WriteLine("No tenants yet. Add one with: corridor tenants add --id ID --name \"Legal Name\" --country CC");
                return 0;
            }

            var table = new TextTable(new("ID"), new("NAME"), new("COUNTRY"), new("CONTROLLING"), new("TIER"), new("DENIED PARTY"), new("CREATED"));
            foreach (var t in tenants)
            {
                var tier = TenantNames.Name(t.Tier) + (t.EffectiveTier(now) != t.Tier ? " (lapsed)" : string.Empty);
                table.Add(t.Id, t.LegalName, t.Country, t.EffectiveControllingCountry, tier, TenantNames.Name(t.DeniedParty), CliFormat.Time(t.CreatedAt));
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static void WriteTenantJson(System.Text.Json.Utf8JsonWriter w, Tenant tenant, DateTimeOffset now)
    {
        w.WriteString("id", tenant.Id);
        foreach (var field in TenantFields.Of(tenant))
        {
            w.WriteString(field.Name, field.Value);
        }

        w.WriteString("effective_tier", TenantNames.Name(tenant.EffectiveTier(now)));
        w.WriteString("created_at", CliFormat.JsonTime(tenant.CreatedAt));
    }

    private static void WriteFlag(CliContext context, ScreeningOutcome outcome)
    {
        if (outcome.Flagged is not { } match)
        {
            return;
        }

        var output = context.Out;
        output.WriteLine();
        output.WriteLine($"Denied-party screening matched '{match.Entry.Name}' ({match.Entry.Program}{(match.Entry.Country is { } c ? ", " + c : string.Empty)}) "
            + $"on the name '{match.MatchedName}' with score {CliFormat.Score(match.Score)}.");
        output.WriteLine($"Tenant {outcome.Tenant.Id} is pending review and refused until an operator decides:");
        output.WriteLine($"  corridor screening review {outcome.Tenant.Id} --decision confirm|clear --note \"what was checked\"");
    }
}
