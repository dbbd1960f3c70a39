using System.CommandLine;
using System.Globalization;
using Corridor.Cli.Output;
using Corridor.Gateway.Monitoring;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;

namespace Corridor.Cli.Commands;

/// <summary>
/// The distillation monitor's cases (<c>corridor cases list|show|decide|export</c>) and enforcement pins
/// (<c>corridor enforcement list|pin|unpin</c>). Running gateways pick up pins within about a second (the pin moves the store's revision).
/// </summary>
internal static class MonitorCommands
{
    public static Command Cases(CliContext context) => new("cases", "Distillation cases: list, read, decide (dismiss, confirm, escalate) and export evidence bundles")
    {
        ListCases(context),
        ShowCase(context),
        DecideCase(context),
        ExportCase(context),
    };

    public static Command Enforcement(CliContext context) => new("enforcement", "Monitor levels: list stored levels and pins, pin a key, tenant or cluster at a level either way, remove a pin")
    {
        ListEnforcement(context),
        Pin(context),
        Unpin(context),
    };

    private static Command ListCases(CliContext context)
    {
        var status = new Option<string?>("--status") { Description = "Only cases with this status: open, confirmed, escalated, dismissed, or active (all but dismissed)", HelpName = "STATUS" };
        var subject = new Option<string?>("--subject") { Description = "Only cases about this subject (key:ID, tenant:ID, cluster:ID)", HelpName = "SUBJECT" };
        var command = new Command("list", "List cases, newest first") { status, subject };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var cases = await CaseBook.ListAsync(store, parseResult.GetValue(status), parseResult.GetValue(subject), cancellationToken);
            if (cases.Count == 0)
            {
                context.Out.WriteLine("No cases.");
                return 0;
            }

            var table = new TextTable(new("ID"), new("SUBJECT"), new("TENANT"), new("STATUS"), new("LEVEL"), new("PEAK", AlignRight: true), new("OPENED"), new("EXAMPLES", AlignRight: true));
            foreach (var c in cases)
            {
                table.Add(c.Id, c.Subject, CliFormat.OrNone(c.Tenant), c.Status, c.Level, Score(c.PeakScore), CliFormat.Time(c.OpenedAt), c.Examples.Count.ToString(CultureInfo.InvariantCulture));
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command ShowCase(CliContext context)
    {
        var id = new Argument<string>("CASE_ID") { Description = "The case (case_...)" };
        var json = GlobalOptions.Json();
        var command = new Command("show", "A case: its subject, levels, top signals, timeline, examples and decisions") { id, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var caseId = parseResult.GetRequiredValue(id);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var file = await CaseBook.GetAsync(store, caseId, cancellationToken) ?? throw new CliUserException($"no case '{caseId}'. See: corridor cases list");
            if (parseResult.GetValue(json))
            {
                context.Out.WriteLine(file.ToJson());
                return 0;
            }

            var o = context.Out;
            o.WriteLine($"Case {file.Id}: {file.Subject}{(file.Tenant is { } t ? $" (tenant {t})" : "")}");
            o.WriteLine($"  status {file.Status}; level {file.Level} (highest {file.HighestLevel}); score {Score(file.LastScore)} (peak {Score(file.PeakScore)})");
            o.WriteLine($"  opened {CliFormat.Time(file.OpenedAt)}, updated {CliFormat.Time(file.UpdatedAt)}");
            if (file.Members.Count > 0)
            {
                o.WriteLine($"  members: {string.Join(", ", file.Members)}");
            }

            o.WriteLine();
            o.WriteLine("Top signals (at the peak):");
            var signals = new TextTable(new("SIGNAL"), new("VALUE", AlignRight: true), new("CONTRIBUTION", AlignRight: true));
            foreach (var s in file.TopSignals)
            {
                signals.Add(s.Signal, Score(s.Value), Score(s.Contribution));
            }

            signals.WriteTo(o);
            o.WriteLine();
            o.WriteLine("Timeline:");
            var timeline = new TextTable(new("TIME"), new("EVENT"), new("SCORE", AlignRight: true), new("FROM"), new("TO"), new("BY"), new("NOTE"));
            foreach (var e in file.Timeline)
            {
                timeline.Add(CliFormat.Time(e.At), e.Kind, e.Score is { } score ? Score(score) : "", e.From ?? "", e.To ?? "", e.Actor ?? "", e.Note ?? "");
            }

            timeline.WriteTo(o);
            o.WriteLine();
            o.WriteLine(file.Examples.Count == 0 ? "Examples: none kept." : $"Examples ({file.Examples.Count}):");
            foreach (var x in file.Examples)
            {
                o.WriteLine($"  {x.RequestId} at {CliFormat.Time(x.At)} key {x.Key} model {x.Model} from {x.SourceAddress ?? "?"} ({x.UserAgent ?? "no user agent"}), {x.InputTokens} in / {x.OutputTokens} out");
                o.WriteLine($"    request: {OneLine(x.Request, 300)}");
                if (x.Response is not null)
                {
                    o.WriteLine($"    answer:  {OneLine(x.Response, 200)}");
                }
            }

            if (file.Decisions.Count > 0)
            {
                o.WriteLine();
                o.WriteLine("Decisions:");
                foreach (var d in file.Decisions)
                {
                    o.WriteLine($"  {CliFormat.Time(d.At)} {d.Actor}: {d.Decision} ({d.StatusBefore} -> {d.StatusAfter}){(d.Note is { } note ? ": " + note : "")}");
                }
            }

            return 0;
        });
        return command;
    }

    private static Command DecideCase(CliContext context)
    {
        var id = new Argument<string>("CASE_ID") { Description = "The case (case_...)" };
        var decision = new Option<string>("--decision") { Description = "dismiss (not a harvest; closes the case), confirm, or escalate", Required = true, HelpName = "DECISION" };
        var note = new Option<string>("--note") { Description = "What was checked and why (recorded in the case and the audit log)", Required = true, HelpName = "TEXT" };
        var command = new Command("decide", "Record an analyst's decision on a case; audited as case.decision") { id, decision, note };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var file = await CaseBook.DecideAsync(store, parseResult.GetRequiredValue(id), parseResult.GetRequiredValue(decision), context.Actor,
                parseResult.GetRequiredValue(note), context.Time.GetUtcNow(), cancellationToken);
            context.Out.WriteLine($"Case {file.Id} ({file.Subject}) is now {file.Status}.");
            if (file.Status == CaseNames.Confirmed && file.Level != "suspend")
            {
                context.Out.WriteLine($"Its level is {file.Level}; to refuse its requests: corridor enforcement pin {file.Subject} suspend --note \"...\"");
            }

            return 0;
        });
        return command;
    }

    private static Command ExportCase(CliContext context)
    {
        var id = new Argument<string>("CASE_ID") { Description = "The case (case_...)" };
        var output = new Option<string>("--out") { Description = "The evidence bundle to write (JSON)", Required = true, HelpName = "FILE" };
        var force = OutputFile.Force();
        var command = new Command("export", "Write a case's evidence bundle (corridor-evidence-v1): the case, its signals and its audit records with hashes") { id, output, force };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var caseId = parseResult.GetRequiredValue(id);
            var path = parseResult.GetRequiredValue(output);
            var overwrite = parseResult.GetValue(force);
            OutputFile.Check(path, overwrite);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            using var buffer = new MemoryStream();
            if (!await EvidenceBundle.WriteAsync(store, caseId, context.Actor, context.Time.GetUtcNow(), buffer, cancellationToken))
            {
                throw new CliUserException($"no case '{caseId}'. See: corridor cases list");
            }

            await using (var file = OutputFile.Create(path, overwrite))
            {
                buffer.Position = 0;
                await buffer.CopyToAsync(file, cancellationToken);
            }

            context.Out.WriteLine($"Wrote the evidence bundle of {caseId} to {path}.");
            return 0;
        });
        return command;
    }

    private static Command ListEnforcement(CliContext context)
    {
        var command = new Command("list", "Keys, tenants and clusters with a stored level or pin (what a restarted gateway puts back)");
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var records = await store.ListEnforcementAsync(cancellationToken);
            if (records.Count == 0)
            {
                context.Out.WriteLine("No levels or pins.");
                return 0;
            }

            var table = new TextTable(new("SUBJECT"), new("TENANT"), new("AUTOMATIC"), new("PINNED"), new("UPDATED"), new("BY"), new("NOTE"));
            foreach (var r in records)
            {
                table.Add(r.Subject + (r.Members is null ? "" : $" ({r.Members})"), CliFormat.OrNone(r.TenantId), r.AutomaticLevel, r.PinnedLevel ?? "-", CliFormat.Time(r.UpdatedAt), r.Actor ?? "", r.Note ?? "");
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command Pin(CliContext context)
    {
        var subject = new Argument<string>("SUBJECT") { Description = "key:ID, tenant:ID or cluster:ID" };
        var level = new Argument<string>("LEVEL") { Description = "none, watch, flag, throttle or suspend: the level held whatever the scores say" };
        var note = new Option<string>("--note") { Description = "Why (recorded in the audit log and on the subject's case)", Required = true, HelpName = "TEXT" };
        var command = new Command("pin", "Hold a key, tenant or cluster (the members it has now) at a level, up or down, until unpinned; audited as monitor.pin") { subject, level, note };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var target = ParseSubject(parseResult.GetRequiredValue(subject));
            var text = parseResult.GetRequiredValue(level);
            if (!EnforcementLevels.TryParse(text, out var pinned))
            {
                throw new CliUserException($"'{text}' is not a level: none, watch, flag, throttle, suspend.");
            }

            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            await CaseBook.PinAsync(store, target, pinned, context.Actor, parseResult.GetRequiredValue(note), context.Time.GetUtcNow(), cancellationToken);
            context.Out.WriteLine($"Pinned {target} at {pinned.Name()}. Running gateways apply it within about a second.");
            return 0;
        });
        return command;
    }

    private static Command Unpin(CliContext context)
    {
        var subject = new Argument<string>("SUBJECT") { Description = "key:ID, tenant:ID or cluster:ID" };
        var note = new Option<string>("--note") { Description = "Why (recorded in the audit log and on the subject's case)", Required = true, HelpName = "TEXT" };
        var command = new Command("unpin", "Remove a pin: the monitor's own level applies again; audited as monitor.unpin") { subject, note };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var target = ParseSubject(parseResult.GetRequiredValue(subject));
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            if (!await CaseBook.PinAsync(store, target, null, context.Actor, parseResult.GetRequiredValue(note), context.Time.GetUtcNow(), cancellationToken))
            {
                throw new CliUserException($"{target} has no pin. See: corridor enforcement list");
            }

            context.Out.WriteLine($"Unpinned {target}.");
            return 0;
        });
        return command;
    }

    private static SubjectRef ParseSubject(string text) =>
        SubjectRef.TryParse(text, out var subject) ? subject : throw new CliUserException($"'{text}' is not a subject: key:ID, tenant:ID or cluster:ID.");

    private static string Score(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);

    private static string OneLine(string? text, int max)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var line = text.ReplaceLineEndings(" ");
        return line.Length <= max ? line : line[..max] + "…";
    }
}
