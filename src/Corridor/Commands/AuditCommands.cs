using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Core.Audit;
using Corridor.Storage;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor audit verify|list</c>.</summary>
internal static class AuditCommands
{
    public static Command Create(CliContext context) => new("audit", "Read and verify the tamper-evident audit log")
    {
        Verify(context),
        List(context),
    };

    private static Command Verify(CliContext context)
    {
        var expect = new Option<string[]>("--expect")
        {
            Description = "A record's hash noted down earlier, as SEQUENCE:HASH (repeatable): catches a log rewritten or cut short up to it",
            HelpName = "SEQ:HASH",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("verify", "Check the hash chain from the first record; exit 1 and name the first bad record when broken") { expect };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var anchors = new List<AuditAnchor>();
            foreach (var text in parseResult.GetValue(expect) ?? [])
            {
                if (!AuditAnchor.TryParse(text, out var anchor))
                {
                    throw new CliUserException($"--expect '{text}' is not SEQUENCE:HASH (a sequence from 1 and 64 hex characters).");
                }
                if (anchors.Find(a => a.Sequence == anchor!.Sequence) is { } same)
                {
                    // The same head noted twice is one anchor; two hashes for one record cannot both hold.
                    if (!string.Equals(same.Hash, anchor!.Hash, StringComparison.OrdinalIgnoreCase))
                    {
                        throw new CliUserException($"--expect names record {anchor.Sequence} twice, with two different hashes.");
                    }
                    continue;
                }
                anchors.Add(anchor!);
            }

            // Read without opening the store as a gateway does: a SQLite file (a backup above all) is not migrated, nor
            // written into or beside.
            var verifier = new AuditVerifier(anchors);
            await foreach (var record in CorridorStores.ReadAuditAsync(context.ResolveStorage(parseResult), cancellationToken))
            {
                if (!verifier.Add(record))
                {
                    break;
                }
            }

            var result = verifier.Complete();
            if (result.Problem is { } problem)
            {
                context.Error.WriteLine($"error: the audit log is broken at record {problem.Sequence}: {problem.Message}.");
                context.Error.WriteLine($"error: {result.Checked} record(s) before it verified{(result.Last is { } good ? $"; the last good one is {good.Sequence} with hash {good.Hash}" : string.Empty)}.");
                return 1;
            }

            if (result.Last is not { } last)
            {
                context.Out.WriteLine("The audit log is empty.");
                return 0;
            }

            context.Out.WriteLine($"The audit log is intact: {CliFormat.Count(result.Checked)} records, 1 to {last.Sequence}.");
            context.Out.WriteLine($"Head: {last.Sequence}:{last.Hash}");
            context.Out.WriteLine("Note the head down outside Corridor; later, 'corridor audit verify --expect' with it proves nothing before it was rewritten or removed.");
            return 0;
        });
        return command;
    }

    private static Command List(CliContext context)
    {
        var subject = new Option<string?>("--subject") { Description = "Only records about this tenant, key or request id", HelpName = "ID" };
        var action = new Option<string?>("--action") { Description = "Only this action (tenant.create, key.revoke, denied_party.flag, ...)", HelpName = "ACTION" };
        var limit = new Option<int>("--limit") { Description = "How many of the newest records to show", DefaultValueFactory = _ => 50, HelpName = "N" };
        var json = GlobalOptions.Json();
        var command = new Command("list", "List the newest audit records, oldest of them first") { subject, action, limit, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var count = parseResult.GetValue(limit);
            if (count < 1)
            {
                throw new CliUserException("--limit must be at least 1.");
            }

            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var records = await store.SearchAuditAsync(new AuditQuery(parseResult.GetValue(subject), parseResult.GetValue(action), count), cancellationToken);
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, records, static (w, r) =>
                {
                    w.WriteNumber("sequence", r.Sequence);
                    w.WriteString("time", CliFormat.JsonTime(r.Time));
                    w.WriteString("actor", r.Actor);
                    w.WriteString("action", r.Action);
                    w.WriteString("subject", r.Subject);
                    w.WritePropertyName("details");
                    w.WriteRawValue(r.Details);
                    w.WriteString("previous_hash", r.PreviousHash);
                    w.WriteString("hash", r.Hash);
                });
                return 0;
            }

            if (records.Count == 0)
            {
                context.Out.WriteLine("No audit records match.");
                return 0;
            }

            var table = new TextTable(new("SEQ", AlignRight: true), new("TIME"), new("ACTOR"), new("ACTION"), new("SUBJECT"), new("DETAILS"));
            foreach (var r in records)
            {
                table.Add(r.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), CliFormat.Time(r.Time), r.Actor, r.Action, r.Subject, r.Details);
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }
}
