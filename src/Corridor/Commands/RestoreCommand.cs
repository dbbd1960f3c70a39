using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Storage;

namespace Corridor.Cli.Commands;

/// <summary>
/// <c>corridor restore FILE</c>: puts a backup <c>corridor backup</c> wrote in the place of the embedded store, once it
/// passes the checks a backup's copy gets, while nothing has the store open; the store it replaces is kept beside it and
/// the restore is recorded in the restored store's audit log (docs/operations.md, "Restoring").
/// </summary>
internal static class RestoreCommand
{
    public static Command Create(CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "The backup to restore (a file 'corridor backup' wrote)" };
        var json = GlobalOptions.Json();
        var command = new Command("restore", "Replace the stopped SQLite store with a checked backup, keeping the replaced store beside it") { file, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var options = context.ResolveStorage(parseResult);
            StoreRestore restore;
            try
            {
                restore = await CorridorStores.RestoreAsync(options, parseResult.GetRequiredValue(file), context.Actor, context.Time, cancellationToken);
            }
            catch (Exception e) when (e is NotSupportedException or IOException or InvalidDataException)
            {
                throw new CliUserException(e.Message);
            }

            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJson(context.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("database", restore.DatabasePath);
                    w.WriteBoolean("restored", restore.Restored);
                    w.WritePropertyName("backup");
                    w.WriteStartObject();
                    BackupCommand.WriteCheck(w, restore.Backup);
                    w.WriteEndObject();
                    w.WriteString("replaced", restore.ReplacedPath);
                    w.WriteString("replaced_audit_head", restore.ReplacedAuditHead);
                    w.WriteString("replaced_problem", restore.ReplacedProblem);
                    if (restore.Record is { } record)
                    {
                        w.WriteNumber("schema_version", restore.SchemaVersion);
                        w.WriteString("audit_head", $"{record.Sequence}:{record.Hash}");
                    }
                    w.WriteEndObject();
                });
                return restore.Restored ? 0 : 1;
            }

            var backup = restore.Backup;
            var output = restore.Restored ? context.Out : context.Error;
            output.WriteLine($"Checked the backup {backup.Path}: {BackupCommand.Summary(backup)}.");
            if (backup.PredatesAuditLog)
            {
                output.WriteLine($"It is a Corridor store from before the audit log (schema version {backup.SchemaVersion}; the log begins at "
                    + $"{StoreBackup.AuditLogSchemaVersion}): there is no chain to check, and the restore's record begins the restored store's log.");
            }
            BackupCommand.WriteProblems(context, backup, "the backup",
                integrityAdvice: "It was not restored; restore another backup.",
                auditAdvice: "It was not restored; restore another backup.");
            if (restore.Record is not { } restored)
            {
                return 1;
            }

            context.Out.WriteLine($"Restored it as the store {restore.DatabasePath}"
                + (restore.SchemaVersion != backup.SchemaVersion ? $", migrated to schema version {restore.SchemaVersion}." : "."));
            if (restore.ReplacedPath is { } replaced)
            {
                context.Out.WriteLine($"The store it replaced is kept at {replaced}"
                    + (restore.ReplacedAuditHead is { } head ? $" (its audit head was {head})." : "."));
                if (restore.ReplacedProblem is { } problem)
                {
                    context.Error.WriteLine($"warning: SQLite could not read the replaced store ({problem}); it was moved aside as it was, with its -wal and -journal.");
                }
            }
            context.Out.WriteLine($"Audit head: {restored.Sequence}:{restored.Hash} (the store.restore record)");
            return 0;
        });
        return command;
    }
}
