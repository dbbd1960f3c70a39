using System.CommandLine;
using System.Security.Cryptography;
using System.Text;
using Corridor.Cli.Output;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Storage.Compliance;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor screening import|check|review|threshold</c>: the denied-party list and the operator's reviews.</summary>
internal static class ScreeningCommands
{
    public static Command Create(CliContext context) => new("screening", "Denied-party screening: the list, checks and reviews")
    {
        Import(context),
        Check(context),
        Review(context),
        Threshold(context),
    };

    private static Command Import(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "CSV with a header row: name,aliases,country,program (aliases separated by ;)" };
        var command = new Command("import", "Replace the denied-party list with a CSV file, then screen every clear tenant against it") { file };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(file);
            if (!File.Exists(path))
            {
                throw new CliUserException($"file '{path}' not found.");
            }

            var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
            DeniedPartyCsvResult read;
            using (var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
            {
                read = DeniedPartyCsv.Parse(reader);
            }

            foreach (var rejected in read.Rejected)
            {
                context.Error.WriteLine($"warning: line {rejected.Line}: {rejected.Reason}; row skipped.");
            }

            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var outcome = await AdminChanges.ImportDeniedPartiesAsync(
                store, read, Path.GetFileName(path), sha256, context.Actor, context.Time.GetUtcNow(), cancellationToken);
            context.Out.WriteLine($"Imported {CliFormat.Count(read.Entries.Count)} parties from {Path.GetFileName(path)}: "
                + $"{CliFormat.Count(read.RowsRead)} rows read, {CliFormat.Count(read.Rejected.Count)} rejected.");
            context.Out.WriteLine($"SHA-256 {sha256}");
            if (outcome.Flagged.Count == 0)
            {
                context.Out.WriteLine("No existing tenant matches the new list.");
            }

            foreach (var flagged in outcome.Flagged)
            {
                var match = flagged.Flagged!;
                context.Out.WriteLine($"Flagged tenant {flagged.Tenant.Id} ({flagged.Tenant.LegalName}): matches '{match.Entry.Name}' with score {CliFormat.Score(match.Score)}; pending review.");
            }

            return 0;
        });
        return command;
    }

    private static Command Check(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The name to screen" };
        var country = new Option<string?>("--country") { Description = "The party's country, or its country and controlling country comma-separated (SG,CN): strengthens or weakens matches", HelpName = "CC" };
        var threshold = new Option<double?>("--threshold") { Description = "Show matches from this score on, to try a threshold before setting it", HelpName = "SCORE" };
        var json = GlobalOptions.Json();
        var command = new Command("check", "Screen a name against the denied-party list and print the matches (changes nothing)") { name, country, threshold, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var countries = new List<string>();
            if (parseResult.GetValue(country) is { } text)
            {
                foreach (var code in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    countries.Add(TenantRules.TryNormalizeCountry(code, out var normalized)
                        ? normalized
                        : throw new CliUserException($"'{code}' is not an ISO 3166-1 alpha-2 country code (SG, DE, US, ...)."));
                }
            }

            var limit = parseResult.GetValue(threshold);
            if (limit is { } value && !DeniedPartyScreener.IsValidThreshold(value))
            {
                throw new CliUserException("--threshold must be above 0 and at most 1.");
            }

            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var list = await store.GetDeniedPartyListAsync(cancellationToken);
            var screener = list.CreateScreener();
            var matches = screener.Screen(parseResult.GetRequiredValue(name), countries, limit);
            var used = limit ?? screener.Threshold;
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, matches, static (w, m) =>
                {
                    w.WriteString("listed_name", m.Entry.Name);
                    w.WriteString("matched_name", m.MatchedName);
                    w.WriteString("country", m.Entry.Country);
                    w.WriteString("program", m.Entry.Program);
                    w.WriteNumber("name_score", m.NameScore);
                    w.WriteString("country_effect", TenantScreening.CountryEffectName(m.Country));
                    w.WriteNumber("score", m.Score);
                });
                return 0;
            }

            if (list.Entries.Count == 0)
            {
                context.Out.WriteLine("The denied-party list is empty. Import one with: corridor screening import FILE");
                return 0;
            }

            context.Out.WriteLine($"Normalized: \"{NameNormalizer.Normalize(parseResult.GetRequiredValue(name))}\"; "
                + $"{CliFormat.Count(list.Entries.Count)} listed parties; threshold {CliFormat.Score(used)}.");
            if (matches.Count == 0)
            {
                context.Out.WriteLine("No match.");
                return 0;
            }

            var table = new TextTable(new("SCORE", AlignRight: true), new("NAME SCORE", AlignRight: true), new("COUNTRY"), new("LISTED NAME"), new("MATCHED NAME"), new("PROGRAM"));
            foreach (var m in matches)
            {
                var effect = m.Country switch
                {
                    CountryEffect.Same => " (same)",
                    CountryEffect.Different => " (other)",
                    _ => string.Empty,
                };
                table.Add(CliFormat.Score(m.Score), CliFormat.Score(m.NameScore), CliFormat.OrNone(m.Entry.Country) + effect, m.Entry.Name, m.MatchedName, m.Entry.Program);
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command Review(CliContext context)
    {
        var tenant = new Argument<string>("TENANT") { Description = "Id of the tenant whose match was reviewed" };
        var decision = new Option<string>("--decision") { Description = "confirm (the tenant is the listed party: keep refusing it) or clear (it is not: serve it)", Required = true, HelpName = "confirm|clear" };
        var note = new Option<string>("--note") { Description = "What was checked and why; kept in the audit log", Required = true, HelpName = "TEXT" };
        var command = new Command("review", "Record the operator's decision on a denied-party match") { tenant, decision, note };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var (before, after) = await AdminChanges.ReviewDeniedPartyAsync(
                store,
                parseResult.GetRequiredValue(tenant),
                parseResult.GetRequiredValue(decision),
                parseResult.GetRequiredValue(note),
                context.Actor,
                context.Time.GetUtcNow(),
                cancellationToken);
            context.Out.WriteLine($"Tenant {after.Id}: denied party {TenantNames.Name(before.DeniedParty)} -> {TenantNames.Name(after.DeniedParty)}"
                + (after.IsDeniedParty ? "; it stays refused." : "; it may be served."));
            return 0;
        });
        return command;
    }

    private static Command Threshold(CliContext context)
    {
        var value = new Argument<double?>("SCORE") { Description = "The new threshold, above 0 and at most 1 (default 0.85); without it, show the current one", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("threshold", "Show or set the score from which a name matches a listed party") { value };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            if (parseResult.GetValue(value) is not { } threshold)
            {
                var list = await store.GetDeniedPartyListAsync(cancellationToken);
                context.Out.WriteLine($"Threshold {CliFormat.Score(list.Threshold)}; {CliFormat.Count(list.Entries.Count)} listed parties"
                    + (list.Source is { } source ? $" from {source.FileName} (SHA-256 {source.Sha256}), imported {CliFormat.Time(source.ImportedAt)}." : "; no list imported yet."));
                return 0;
            }

            var previous = await AdminChanges.SetThresholdAsync(store, threshold, context.Actor, context.Time.GetUtcNow(), cancellationToken);
            context.Out.WriteLine($"Threshold {CliFormat.Score(previous)} -> {CliFormat.Score(threshold)}. It applies to tenants added or changed from now on, and to the next import.");
            return 0;
        });
        return command;
    }
}
