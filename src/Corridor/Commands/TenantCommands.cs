using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Core.Tenants;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor tenants add|list</c>.</summary>
internal static class TenantCommands
{
    public static Command Create(CliContext context) => new("tenants", "Manage tenants (customer accounts)")
    {
        Add(context),
        List(context),
    };

    private static Command Add(CliContext context)
    {
        var id = new Option<string>("--id") { Description = "Tenant id: lowercase letters, digits and hyphens (acme-logistics)", Required = true, HelpName = "ID" };
        var name = new Option<string>("--name") { Description = "Legal name of the customer", Required = true, HelpName = "NAME" };
        var country = new Option<string>("--country") { Description = "ISO 3166-1 alpha-2 country code (SG, DE, ...)", Required = true, HelpName = "CC" };
        var command = new Command("add", "Add a tenant") { id, name, country };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenant = Validate(
                parseResult.GetRequiredValue(id),
                parseResult.GetRequiredValue(name),
                parseResult.GetRequiredValue(country),
                context.Time.GetUtcNow());
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            await store.AddTenantAsync(tenant, cancellationToken);
            context.Out.WriteLine($"Added tenant {tenant.Id} ({tenant.LegalName}, {tenant.Country}).");
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
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, tenants, static (w, t) =>
                {
                    w.WriteString("id", t.Id);
                    w.WriteString("legal_name", t.LegalName);
                    w.WriteString("country", t.Country);
                    w.WriteString("created_at", CliFormat.JsonTime(t.CreatedAt));
                });
                return 0;
            }

            if (tenants.Count == 0)
            {
                context.Out.WriteLine("No tenants yet. Add one with: corridor tenants add --id ID --name \"Legal Name\" --country CC");
                return 0;
            }

            var table = new TextTable(new("ID"), new("NAME"), new("COUNTRY"), new("CREATED"));
            foreach (var t in tenants)
            {
                table.Add(t.Id, t.LegalName, t.Country, CliFormat.Time(t.CreatedAt));
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    /// <summary>Checks every field and reports every problem at once.</summary>
    private static Tenant Validate(string id, string name, string country, DateTimeOffset now)
    {
        var errors = new List<string>();
        if (!TenantRules.IsValidId(id))
        {
            errors.Add($"tenant id '{id}' is not valid: use 1 to {TenantRules.MaxIdLength} lowercase letters, digits and inner hyphens (acme-logistics).");
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            errors.Add("--name must not be empty.");
        }

        if (!TenantRules.TryNormalizeCountry(country, out var normalizedCountry))
        {
            errors.Add($"'{country}' is not an ISO 3166-1 alpha-2 country code (SG, DE, US, ...).");
        }

        return errors.Count > 0
            ? throw new CliUserException(string.Join(Environment.NewLine + "error: ", errors))
            : new Tenant(id, name.Trim(), normalizedCountry!, now);
    }
}
