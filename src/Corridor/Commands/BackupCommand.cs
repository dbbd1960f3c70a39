using System.CommandLine;
using System.Text.Json;
using Corridor.Cli.Output;
using Corridor.Storage;

namespace Corridor.Cli.Commands;

/// <summary>
/// <c>corridor backup FILE</c>: a consistent copy of the embedded store taken while gateways serve, read back and checked
/// (SQLite's integrity check, the audit chain), with the audit head to note down (docs/operations.md, "Backups").
/// </summary>
internal static class BackupCommand
{
    public static Command Create(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The new file to write the copy to (never overwritten)" };
        var json = GlobalOptions.Json();
        var command = new Command("backup", "Copy the SQLite store to a new file while the gateway serves, and check the copy") { file, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            // Refused before the store is opened (and migrated): no server is needed to say so.
            if (!string.IsNullOrWhiteSpace(context.ResolveStorage(parseResult).PostgresConnectionString))
            {
                throw new CliUserException(CorridorStores.PostgresBackupRefusal);
            }
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            StoreBackup backup;
            try
            {
                backup = await store.BackupAsync(parseResult.GetRequiredValue(file), cancellationToken);
            }
            catch (Exception e) when (e is NotSupportedException or IOException)
            {
                throw new CliUserException(e.Message);
            }

            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJson(context.Out, w =>
                {
                    w.WriteStartObject();
                    WriteCheck(w, backup);
                    w.WriteEndObject();
                });
                return backup.IsSound ? 0 : 1;
            }

            var output = backup.IsSound ? context.Out : context.Error;
            output.WriteLine($"Backed up the store to {backup.Path}: {Summary(backup)}.");
            WriteProblems(context, backup, "the copy",
                integrityAdvice: "Keep the store as it is and look at its disk.",
                auditAdvice: "Run 'corridor audit verify' on the store itself.");
            if (!backup.IsSound)
            {
                return 1;
            }
            if (backup.Audit.Last is { } last)
            {
                context.Out.WriteLine($"Audit head: {last.Sequence}:{last.Hash}");
            }
            context.Out.WriteLine("The copy read back whole. To restore it: stop the gateway, then 'corridor restore FILE'.");
            return 0;
        });
        return command;
    }

    /// <summary>What was found reading a copy of the store (a backup written, or one to restore), as JSON properties.</summary>
    internal static void WriteCheck(Utf8JsonWriter w, StoreBackup backup)
    {
        w.WriteString("path", backup.Path);
        w.WriteNumber("bytes", backup.Bytes);
        w.WriteString("integrity", backup.Integrity);
        w.WriteNumber("schema_version", backup.SchemaVersion);
        w.WriteNumber("ledger_rows", backup.LedgerRows);
        w.WriteNumber("audit_records", backup.Audit.Checked);
        w.WriteString("audit_head", backup.Audit.Last is { } head ? $"{head.Sequence}:{head.Hash}" : null);
        w.WriteString("audit_problem", backup.Audit.Problem?.Message);
        w.WriteBoolean("sound", backup.IsSound);
    }

    /// <summary>The size and contents of a checked copy, for one line of text.</summary>
    internal static string Summary(StoreBackup backup) =>
        $"{CliFormat.Count(backup.Bytes)} bytes, schema version {backup.SchemaVersion}, "
        + $"ledger rows {CliFormat.Count(backup.LedgerRows)}, audit records {CliFormat.Count(backup.Audit.Checked)}";

    /// <summary>Each check <paramref name="what"/> failed, on an <c>error:</c> line of its own with what to do.</summary>
    internal static void WriteProblems(CliContext context, StoreBackup backup, string what, string integrityAdvice, string auditAdvice)
    {
        if (backup.Integrity != "ok")
        {
            context.Error.WriteLine($"error: {what} fails SQLite's integrity check: {backup.Integrity}. {integrityAdvice}");
        }
        if (backup.Audit.Problem is { } problem)
        {
            context.Error.WriteLine($"error: {what}'s audit log is broken at record {problem.Sequence}: {problem.Message}. {auditAdvice}");
        }
    }
}
