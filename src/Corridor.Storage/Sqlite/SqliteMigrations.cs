using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// The schema, as numbered steps recorded in <c>schema_migrations</c>. Each step runs once, in its own
/// transaction, so a crash never leaves half a step behind. Steps are only ever appended, never edited.
/// </summary>
internal static class SqliteMigrations
{
    /// <summary>A step: its SQL, then, when it has one, <paramref name="Backfill"/> in the same transaction (what SQL cannot do exactly).</summary>
    internal sealed record Migration(int Version, string Name, string Sql, Action<SqliteConnection, SqliteTransaction>? Backfill = null);

    internal static readonly IReadOnlyList<Migration> All =
    [
        new(1, "tenants, keys, ledger, revision", """
            CREATE TABLE tenants (
                id          TEXT    NOT NULL PRIMARY KEY,
                legal_name  TEXT    NOT NULL,
                country     TEXT    NOT NULL,
                created_at  INTEGER NOT NULL
            ) STRICT;

            CREATE TABLE api_keys (
                id           TEXT    NOT NULL PRIMARY KEY,
                tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
                prefix       TEXT    NOT NULL,
                hash         TEXT    NOT NULL UNIQUE,
                name         TEXT,
                created_at   INTEGER NOT NULL,
                last_used_at INTEGER,
                revoked_at   INTEGER
            ) STRICT;
            CREATE INDEX ix_api_keys_tenant_id ON api_keys (tenant_id);

            -- cost is exact decimal text; sums happen in C# decimal, never in floating point.
            CREATE TABLE ledger (
                request_id    TEXT    NOT NULL PRIMARY KEY,
                time          INTEGER NOT NULL,
                tenant_id     TEXT,
                key_id        TEXT,
                model         TEXT    NOT NULL,
                endpoint      TEXT    NOT NULL,
                deployment_id TEXT,
                region        TEXT,
                status        INTEGER NOT NULL,
                outcome       TEXT    NOT NULL,
                input_tokens  INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                cost          TEXT    NOT NULL,
                estimated     INTEGER NOT NULL,
                latency_ms    INTEGER NOT NULL,
                billable      INTEGER NOT NULL,
                error_code    TEXT,
                client_ip     TEXT,
                user_agent    TEXT,
                request_body  TEXT,
                response_text TEXT,
                finish_reason TEXT
            ) STRICT;
            CREATE INDEX ix_ledger_time ON ledger (time);
            CREATE INDEX ix_ledger_tenant_id_time ON ledger (tenant_id, time);

            -- One row that moves whenever tenants or keys change, in the same transaction as the change,
            -- whoever makes it (this process, the CLI, an operator with the sqlite3 shell).
            CREATE TABLE revision (
                id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                value INTEGER NOT NULL
            ) STRICT;
            INSERT INTO revision (id, value) VALUES (1, 0);

            CREATE TRIGGER tenants_insert_revision AFTER INSERT ON tenants
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER tenants_update_revision AFTER UPDATE ON tenants
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER tenants_delete_revision AFTER DELETE ON tenants
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER api_keys_insert_revision AFTER INSERT ON api_keys
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            -- last_used_at is left out on purpose: recording use must not make every cache reload.
            CREATE TRIGGER api_keys_update_revision AFTER UPDATE OF id, tenant_id, prefix, hash, name, created_at, revoked_at ON api_keys
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER api_keys_delete_revision AFTER DELETE ON api_keys
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            """),
        new(2, "tenant profile", """
            -- Enums as their lowercase names (TenantNames); a tenant written before this step is an unverified enterprise, clear.
            ALTER TABLE tenants ADD COLUMN controlling_country TEXT;
            ALTER TABLE tenants ADD COLUMN entity_type TEXT NOT NULL DEFAULT 'enterprise'
                CHECK (entity_type IN ('enterprise', 'startup', 'individual', 'research', 'government'));
            ALTER TABLE tenants ADD COLUMN tier TEXT NOT NULL DEFAULT 'unverified'
                CHECK (tier IN ('unverified', 'basic', 'verified', 'established', 'strategic'));
            ALTER TABLE tenants ADD COLUMN verification_expires_at INTEGER;
            ALTER TABLE tenants ADD COLUMN use_case TEXT;
            ALTER TABLE tenants ADD COLUMN denied_party TEXT NOT NULL DEFAULT 'clear'
                CHECK (denied_party IN ('clear', 'pending', 'confirmed', 'cleared'));
            """),
        new(3, "audit log", """
            -- The hash chain (Corridor.Core.Audit.AuditChain): each record's hash covers its fields and the previous record's hash.
            CREATE TABLE audit_log (
                sequence      INTEGER NOT NULL PRIMARY KEY,
                time          INTEGER NOT NULL,
                actor         TEXT    NOT NULL,
                action        TEXT    NOT NULL,
                subject       TEXT    NOT NULL,
                details       TEXT    NOT NULL,
                previous_hash TEXT    NOT NULL,
                hash          TEXT    NOT NULL
            ) STRICT;
            CREATE INDEX ix_audit_log_subject ON audit_log (subject, sequence);
            CREATE INDEX ix_audit_log_action ON audit_log (action, sequence);

            -- Append-only. Someone with the file can drop these triggers, but not rewrite a record without breaking the chain.
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
            """),
        new(4, "denied-party list", """
            -- Replaced whole by each import; position keeps the file's order.
            CREATE TABLE denied_parties (
                position INTEGER NOT NULL PRIMARY KEY,
                name     TEXT    NOT NULL,
                aliases  TEXT    NOT NULL, -- separated by ';' as in the CSV
                country  TEXT,
                program  TEXT    NOT NULL
            ) STRICT;

            CREATE TABLE screening (
                id               INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                threshold        REAL    NOT NULL CHECK (threshold > 0 AND threshold <= 1),
                list_file        TEXT,
                list_sha256      TEXT,
                list_imported_at INTEGER
            ) STRICT;
            INSERT INTO screening (id, threshold) VALUES (1, 0.85);
            """),
        new(5, "ledger vendor and decision", """
            ALTER TABLE ledger ADD COLUMN vendor TEXT;
            ALTER TABLE ledger ADD COLUMN decision_id TEXT;
            CREATE INDEX ledger_decision ON ledger (decision_id) WHERE decision_id IS NOT NULL;
            """),
        new(6, "limits and budgets", """
            -- One row per tenant or key with limits of its own; budgets are exact decimal text, like the ledger's cost.
            CREATE TABLE limits (
                scope               TEXT    NOT NULL CHECK (scope IN ('tenant', 'key')),
                id                  TEXT    NOT NULL,
                rpm                 INTEGER CHECK (rpm > 0),
                tpm                 INTEGER CHECK (tpm > 0),
                concurrent_streams  INTEGER CHECK (concurrent_streams > 0),
                daily_soft_budget   TEXT,
                daily_budget        TEXT,
                monthly_soft_budget TEXT,
                monthly_budget      TEXT,
                PRIMARY KEY (scope, id)
            ) STRICT;
            CREATE TRIGGER limits_insert_revision AFTER INSERT ON limits
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER limits_update_revision AFTER UPDATE ON limits
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER limits_delete_revision AFTER DELETE ON limits
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            """),
        new(7, "monitor enforcement and cases", """
            -- Levels by name (none, watch, flag, throttle, suspend). A row goes when it holds neither a level nor a pin.
            CREATE TABLE enforcement (
                subject         TEXT    NOT NULL PRIMARY KEY, -- key:ID or tenant:ID
                tenant_id       TEXT,
                automatic_level TEXT    NOT NULL DEFAULT 'none'
                    CHECK (automatic_level IN ('none', 'watch', 'flag', 'throttle', 'suspend')),
                pinned_level    TEXT
                    CHECK (pinned_level IN ('none', 'watch', 'flag', 'throttle', 'suspend')),
                updated_at      INTEGER NOT NULL,
                actor           TEXT,
                note            TEXT
            ) STRICT;

            -- The case itself is one JSON document; the columns are what cases are listed by.
            CREATE TABLE cases (
                id         TEXT    NOT NULL PRIMARY KEY,
                subject    TEXT    NOT NULL,
                tenant_id  TEXT,
                status     TEXT    NOT NULL CHECK (status IN ('open', 'dismissed', 'confirmed', 'escalated')),
                opened_at  INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                version    INTEGER NOT NULL,
                document   TEXT    NOT NULL
            ) STRICT;
            CREATE INDEX ix_cases_subject ON cases (subject, opened_at);
            CREATE INDEX ix_cases_status ON cases (status, updated_at);
            """),
        new(8, "ledger revenue and shadow rows, shadow results", """
            -- What the tenant is billed (exact decimal text). Rows written before sell prices existed were billed at cost.
            ALTER TABLE ledger ADD COLUMN revenue TEXT NOT NULL DEFAULT '0';
            UPDATE ledger SET revenue = cost WHERE billable = 1;
            -- A shadow request's row names the tenant's request it mirrored; it is billed to the operator (billable = 0).
            ALTER TABLE ledger ADD COLUMN shadow_of TEXT;

            -- One row per mirrored request (Corridor.Core.Shadow.ShadowResult); similarity columns are null unless compared.
            CREATE TABLE shadow_results (
                request_id           TEXT    NOT NULL PRIMARY KEY,
                primary_request_id   TEXT    NOT NULL,
                time                 INTEGER NOT NULL,
                tenant_id            TEXT,
                primary_model        TEXT    NOT NULL,
                candidate_model      TEXT    NOT NULL,
                outcome              TEXT    NOT NULL,
                reason               TEXT,
                primary_latency_ms   INTEGER NOT NULL,
                candidate_latency_ms INTEGER,
                primary_cost         TEXT    NOT NULL,
                candidate_cost       TEXT    NOT NULL,
                jaccard              REAL,
                exact_match          INTEGER,
                length_ratio         REAL,
                tool_names_match     INTEGER,
                tool_arguments_match INTEGER
            ) STRICT;
            CREATE INDEX ix_shadow_results_time ON shadow_results (time);
            """),
        new(9, "enforcement pins move the revision", """
            -- A pin made from the command line reaches the running gateway at its next revision check (MonitorService),
            -- as on PostgreSQL (its migration 9). Automatic levels are the gateway's own and move nothing.
            CREATE TRIGGER enforcement_insert_revision AFTER INSERT ON enforcement WHEN NEW.pinned_level IS NOT NULL
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER enforcement_update_revision AFTER UPDATE ON enforcement WHEN OLD.pinned_level IS NOT NEW.pinned_level
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER enforcement_delete_revision AFTER DELETE ON enforcement WHEN OLD.pinned_level IS NOT NULL
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            """),
        new(10, "cluster enforcement", """
            -- A cluster's row (subject cluster:ID) lists the members its level applies to, separated by spaces, so a cluster's
            -- level and pin survive a restart (clusters are otherwise found again from new traffic).
            ALTER TABLE enforcement ADD COLUMN members TEXT;
            """),
        new(11, "no index on the ledger's decision id", """
            -- No query reads the ledger by decision id (corridor explain reads the audit log), and every ledger row paid
            -- for the index with a B-tree insert.
            DROP INDEX ledger_decision;
            """),
        new(12, "daily usage", """
            -- Billable totals per UTC day (ISO 8601 text), tenant and model, as PostgreSQL's usage_daily (its migration 6): the
            -- ledger's writer adds the rows each transaction inserted (UsageDaily), so a usage query reads a row per day and
            -- model, not every request. cost is exact decimal text, summed in C# decimal; the backfill below sums what the
            -- ledger already holds. Keyed by tenant first: one tenant's range is one stretch of the table.
            CREATE TABLE usage_daily (
                tenant_id     TEXT    NOT NULL,
                day           TEXT    NOT NULL,
                model         TEXT    NOT NULL,
                requests      INTEGER NOT NULL,
                input_tokens  INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                cost          TEXT    NOT NULL,
                PRIMARY KEY (tenant_id, day, model)
            ) STRICT, WITHOUT ROWID;
            -- Every tenant's days (corridor usage, the admin API); a new row per day, tenant and model pays for it, not each request.
            CREATE INDEX ix_usage_daily_day ON usage_daily (day);
            """, UsageDaily.Backfill),
        new(13, "prompt cache tokens", """
            -- Of a row's input tokens, those the vendor read from its prompt cache and those it wrote to it: priced apart
            -- (docs/configuration.md, price.cacheRead and price.cacheWrite), so the row says what its cost was made of.
            -- Rows written before are 0: they were billed as fresh input.
            ALTER TABLE ledger ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE ledger ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
            """),
        new(UsageDaily.CacheTokensVersion, "daily usage of the prompt cache", """
            -- The daily totals count the ledger's cache tokens (migration 13) too, so a usage query says how much of a tenant's
            -- input the vendor's prompt cache served or took, as the rows say. The ledger's writer adds them from here on
            -- (UsageDaily); the rows it took before are summed here, in SQL (integers add exactly), per UTC day as the writer
            -- counts (ledger times are milliseconds after 1970). Rows without cache tokens leave their day's totals at 0.
            ALTER TABLE usage_daily ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE usage_daily ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
            UPDATE usage_daily SET cache_read_tokens = cached.reads, cache_write_tokens = cached.writes
            FROM (
                SELECT tenant_id, strftime('%Y-%m-%d', time / 1000, 'unixepoch') AS day, model,
                    sum(cache_read_tokens) AS reads, sum(cache_write_tokens) AS writes
                FROM ledger
                WHERE billable = 1 AND tenant_id IS NOT NULL AND (cache_read_tokens > 0 OR cache_write_tokens > 0)
                GROUP BY 1, 2, 3
            ) AS cached
            WHERE usage_daily.tenant_id = cached.tenant_id AND usage_daily.day = cached.day AND usage_daily.model = cached.model;
            """),
        new(15, "batches and files", """
            -- Files a tenant uploaded for batches, and the result files of its batches (docs/batches.md): the bytes are kept
            -- here, so the one file is the whole state. Read only by their tenant.
            CREATE TABLE files (
                id         TEXT    NOT NULL PRIMARY KEY,
                tenant_id  TEXT    NOT NULL,
                purpose    TEXT    NOT NULL,
                filename   TEXT    NOT NULL,
                bytes      INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                content    BLOB    NOT NULL
            ) STRICT;
            CREATE INDEX ix_files_tenant ON files (tenant_id, created_at);
            -- Batches (OpenAI's and Anthropic's) and the gateway that runs each (owner, until owner_until); counts are
            -- read from their requests.
            CREATE TABLE batches (
                id                TEXT    NOT NULL PRIMARY KEY,
                api               TEXT    NOT NULL,
                tenant_id         TEXT    NOT NULL,
                key_id            TEXT    NOT NULL,
                endpoint          TEXT    NOT NULL,
                state             TEXT    NOT NULL,
                created_at        INTEGER NOT NULL,
                expires_at        INTEGER NOT NULL,
                input_file_id     TEXT,
                completion_window TEXT,
                metadata          TEXT,
                user_agent        TEXT,
                ending            TEXT,
                cancelling_at     INTEGER,
                ended_at          INTEGER,
                output_file_id    TEXT,
                error_file_id     TEXT,
                owner             TEXT,
                owner_until       INTEGER,
                client_ip         TEXT
            ) STRICT;
            CREATE INDEX ix_batches_tenant ON batches (tenant_id, api, created_at);
            CREATE INDEX ix_batches_open ON batches (created_at) WHERE state <> 'ended';
            CREATE TABLE batch_items (
                batch_id   TEXT    NOT NULL,
                position   INTEGER NOT NULL,
                custom_id  TEXT    NOT NULL,
                body       BLOB    NOT NULL,
                state      TEXT    NOT NULL,
                status     INTEGER,
                request_id TEXT,
                response   BLOB,
                attempt    INTEGER NOT NULL DEFAULT 0,
                ended_at   INTEGER,
                started_at INTEGER,
                input_tokens     INTEGER NOT NULL DEFAULT 0,
                cached_tokens    INTEGER NOT NULL DEFAULT 0,
                output_tokens    INTEGER NOT NULL DEFAULT 0,
                reasoning_tokens INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (batch_id, position)
            ) STRICT;
            """),
        new(16, "the batch a ledger row's request was run for", """
            -- Set on a request Corridor ran for a tenant's batch (docs/batches.md): which of its rows came as bulk work, and
            -- from which batch. Rows written before are null, as every live request's is.
            ALTER TABLE ledger ADD COLUMN batch_id TEXT;
            """),
        new(17, "the model of a batch", """
            -- The model every request of a batch names, when they all name the same one (OpenAI's batch "model",
            -- docs/batches.md); null when they name several, or one names none, and for batches made before.
            ALTER TABLE batches ADD COLUMN model TEXT;
            """),
        new(18, "the ledger's rows of batches", """
            -- A batch's ledger rows found by its id (what a batch cost, docs/batches.md). Partial: a live request's row has a
            -- null batch_id, so it is not in the index and its insert pays nothing for it.
            CREATE INDEX ix_ledger_batch_id ON ledger (batch_id) WHERE batch_id IS NOT NULL;
            """),
        new(19, "files and batch results that expire", """
            -- When a file expires (docs/batches.md, "Retention"): from then it is not found, and the retention sweep deletes
            -- it; null for files stored before, which never expire.
            ALTER TABLE files ADD COLUMN expires_at INTEGER;
            CREATE INDEX ix_files_expires ON files (expires_at) WHERE expires_at IS NOT NULL;
            -- How long an OpenAI batch's result files are kept once written (output_expires_after, in seconds); when an ended
            -- batch's stored requests and answers are removed (Anthropic's results then archived), and when the sweep did.
            -- Null on batches made before: they keep theirs.
            ALTER TABLE batches ADD COLUMN output_expires_after INTEGER;
            ALTER TABLE batches ADD COLUMN archives_at INTEGER;
            ALTER TABLE batches ADD COLUMN archived_at INTEGER;
            CREATE INDEX ix_batches_archive ON batches (archives_at) WHERE archived_at IS NULL AND archives_at IS NOT NULL;
            """),
        new(20, "the gateway's own secrets", """
            -- Secrets the gateways make for themselves, by name (GatewaySecrets): the reasoning key when the operator sets none
            -- (docs/translation.md), made by the first gateway to start and read by every one after. Nothing but the gateway's
            -- start reads this table: no export, report, evidence bundle or admin API (docs/security.md).
            CREATE TABLE gateway_secrets (
                name       TEXT    NOT NULL PRIMARY KEY,
                value      BLOB    NOT NULL,
                created_at INTEGER NOT NULL
            ) STRICT;
            """),
        new(21, "keys that expire", """
            -- When a key stops working by itself (Unix ms), or NULL for never: set when it is issued.
            ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
            """),
        new(22, "a key's expiry changes reach every cache", """
            -- A key's expiry can be changed after issue: the caches reload on it as on a revocation.
            DROP TRIGGER api_keys_update_revision;
            CREATE TRIGGER api_keys_update_revision AFTER UPDATE OF id, tenant_id, prefix, hash, name, created_at, revoked_at, expires_at ON api_keys
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            """),
        new(23, "why a batch failed", """
            -- A batch that ended 'failed' (docs/batches.md, "Key revoked or suspended"): its key was refused before any of its
            -- requests was answered; the refusal's code and message (OpenAI's batch "errors"). Null on every other batch.
            ALTER TABLE batches ADD COLUMN failure_code TEXT;
            ALTER TABLE batches ADD COLUMN failure_message TEXT;
            """),
        new(24, "the reasoning key's rotation", """
            -- corridor secrets rotate-reasoning-key (docs/operations.md): the secret it replaced, still accepted for opening and
            -- verifying, and when (Unix ms); null until a first rotation. Any change to a secret moves the revision, so every
            -- running gateway takes it up at its next revision check, without a restart.
            ALTER TABLE gateway_secrets ADD COLUMN previous_value BLOB;
            ALTER TABLE gateway_secrets ADD COLUMN rotated_at INTEGER;
            CREATE TRIGGER gateway_secrets_insert_revision AFTER INSERT ON gateway_secrets
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER gateway_secrets_update_revision AFTER UPDATE ON gateway_secrets
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            CREATE TRIGGER gateway_secrets_delete_revision AFTER DELETE ON gateway_secrets
            BEGIN UPDATE revision SET value = value + 1 WHERE id = 1; END;
            """),
        new(25, "stored responses", """
            -- Responses API answers kept for their tenant (docs/responses.md, "Stored responses"): read back by id, listed by
            -- their input items, continued by previous_response_id; only by their tenant, and not from expires_at (Unix ms),
            -- when the retention sweep removes them. input_items is the whole input the model saw (the continued response's
            -- items resolved), output_items the answer's, body the response object as answered: JSON text, kept as written.
            CREATE TABLE responses (
                id            TEXT    NOT NULL PRIMARY KEY,
                tenant_id     TEXT    NOT NULL,
                key_id        TEXT    NOT NULL,
                model         TEXT    NOT NULL,
                status        TEXT    NOT NULL,
                created_at    INTEGER NOT NULL,
                expires_at    INTEGER NOT NULL,
                instructions  TEXT,
                input_items   TEXT    NOT NULL,
                output_items  TEXT    NOT NULL,
                input_tokens  INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                body          TEXT    NOT NULL
            ) STRICT;
            CREATE INDEX ix_responses_expires ON responses (expires_at);
            """),
        new(26, "a message batch's betas", """
            -- The anthropic-beta names a message batch was made with (docs/batches.md), comma-separated: each of its requests
            -- goes upstream with those its vendor enables, as a live request would. Null on every batch made without.
            ALTER TABLE batches ADD COLUMN betas TEXT;
            """),
        new(27, "stored responses' bytes", """
            -- What each kept response holds, in UTF-8 bytes (its instructions, items and response object), summed per tenant
            -- through the index alone for responses.maxTenantBytes (docs/responses.md, "Stored responses").
            ALTER TABLE responses ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
            UPDATE responses SET bytes = coalesce(length(CAST(instructions AS BLOB)), 0) + length(CAST(input_items AS BLOB))
                + length(CAST(output_items AS BLOB)) + length(CAST(body AS BLOB));
            CREATE INDEX ix_responses_tenant ON responses (tenant_id, expires_at, bytes);
            """),
    ];

    internal static int LatestVersion => All[^1].Version;

    /// <summary>The step that began the audit log: a store at an earlier version (an early Corridor's) has none.</summary>
    internal const int AuditLogVersion = 3;

    /// <summary>Applies the steps not yet recorded; returns how many it applied.</summary>
    internal static Task<int> ApplyAsync(SqliteConnection connection, TimeProvider timeProvider, CancellationToken cancellationToken) =>
        ApplyAsync(connection, timeProvider, LatestVersion, cancellationToken);

    /// <summary>
    /// Applies the steps not yet recorded up to <paramref name="upTo"/> (a store as an older Corridor left it, for tests of
    /// what a newer one does with it); returns how many it applied.
    /// </summary>
    internal static async Task<int> ApplyAsync(SqliteConnection connection, TimeProvider timeProvider, int upTo, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, null, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER NOT NULL PRIMARY KEY,
                name       TEXT    NOT NULL,
                applied_at INTEGER NOT NULL
            ) STRICT;
            """, cancellationToken);

        var applied = 0;
        foreach (var migration in All)
        {
            // BEGIN IMMEDIATE: a second process migrating the same file waits here, then finds the step recorded.
            using var transaction = connection.BeginTransaction();
            var newest = await GetNewestVersionAsync(connection, transaction, cancellationToken);
            if (newest > LatestVersion)
            {
                throw new CorridorStoreException(
                    StoreError.SchemaTooNew,
                    $"The database is at schema version {newest}, newer than this Corridor knows ({LatestVersion}). Upgrade Corridor.");
            }

            if (newest >= migration.Version || migration.Version > upTo)
            {
                continue;
            }

            try
            {
                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
                migration.Backfill?.Invoke(connection, transaction);
            }
            catch (SqliteException ex)
            {
                // The step's transaction is rolled back as it is disposed: said as PostgreSQL's migrations say it.
                throw new CorridorStoreException(
                    StoreError.MigrationFailed,
                    $"Schema migration {migration.Version} ({migration.Name}) failed and was rolled back; the schema is unchanged at version {newest}. "
                    + $"SQLite said: {ex.Message}",
                    ex);
            }
            using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($version, $name, $applied_at)";
                record.Parameters.AddWithValue("$version", migration.Version);
                record.Parameters.AddWithValue("$name", migration.Name);
                record.Parameters.AddWithValue("$applied_at", timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            transaction.Commit();
            applied++;
        }

        return applied;
    }

    /// <summary>The newest schema version recorded in the file (0 for none); <paramref name="transaction"/> may be null.</summary>
    internal static async Task<long> GetNewestVersionAsync(SqliteConnection connection, SqliteTransaction? transaction, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
