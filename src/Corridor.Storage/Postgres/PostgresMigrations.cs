using Npgsql;

namespace Corridor.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, as numbered steps recorded in <c>schema_migrations</c>, mirroring <see cref="Sqlite.SqliteMigrations"/>
/// step for step where the two share a meaning. Each step runs once, in its own transaction (PostgreSQL's DDL is
/// transactional), so a step that fails leaves the schema as it was before it; except a step that builds an index on a
/// large, live table (<see cref="ConcurrentIndex"/>), which is built concurrently, outside any transaction, and taken up
/// again where it stopped. Steps are only ever appended, never edited. Replicas starting together queue on an advisory
/// lock; the second finds the steps recorded and applies nothing.
/// </summary>
internal static class PostgresMigrations
{
    internal sealed record Migration(int Version, string Name, string Sql)
    {
        /// <summary>A step that builds one index concurrently and does nothing else (its <see cref="Sql"/> is empty).</summary>
        public Migration(int version, string name, ConcurrentIndex index)
            : this(version, name, "") => Index = index;

        public ConcurrentIndex? Index { get; }
    }

    /// <summary>
    /// An index built with <c>CREATE INDEX CONCURRENTLY</c>, so the table's writers (every replica's ledger writer, say) go on
    /// while it reads the table. On a partitioned table, which PostgreSQL cannot index concurrently, each partition's index is
    /// built concurrently, then the index made on the parent alone (<c>ON ONLY</c>, invalid) and each partition's attached;
    /// the parent's index is valid once every partition's is attached, and a partition made later gets its own as it is made.
    /// </summary>
    /// <param name="Name">The index, as a plain CREATE INDEX would name it.</param>
    /// <param name="Table">The table it is on.</param>
    /// <param name="Definition">What follows <c>ON table</c>: the columns, and a <c>WHERE</c> for a partial index.</param>
    internal sealed record ConcurrentIndex(string Name, string Table, string Definition);

    // Advisory lock keys: arbitrary constants, unique within Corridor ("corridor" in ASCII, then a number). The migration
    // lock is a session's (PostgresMigrations.ApplyAsync), the audit lock a transaction's.
    internal const long MigrationLock = 0x636F727269646F01;
    internal const long AuditLock = 0x636F727269646F02;

    /// <summary>The channel the revision trigger notifies on; its payload is the new revision.</summary>
    internal const string ChangesChannel = "corridor_changes";

    /// <summary>The session advisory lock held by the replica that scores the fleet's observations (PostgresFleetObservations.cs).</summary>
    internal const long MonitorLeaderLock = 0x636F727269646F10;

    internal static readonly IReadOnlyList<Migration> All =
    [
        new(1, "tenants, keys, ledger, revision", $$"""
            CREATE TABLE tenants (
                id          text        NOT NULL PRIMARY KEY,
                legal_name  text        NOT NULL,
                country     text        NOT NULL,
                created_at  timestamptz NOT NULL
            );

            CREATE TABLE api_keys (
                id           text        NOT NULL PRIMARY KEY,
                tenant_id    text        NOT NULL REFERENCES tenants (id),
                prefix       text        NOT NULL,
                hash         text        NOT NULL UNIQUE,
                name         text,
                created_at   timestamptz NOT NULL,
                last_used_at timestamptz,
                revoked_at   timestamptz
            );
            CREATE INDEX ix_api_keys_tenant_id ON api_keys (tenant_id);

            -- One partition per calendar month (UTC), created ahead by corridor_ensure_ledger_partition.
            -- The key includes time because a partitioned table's unique keys must; a retried row has the same time.
            -- seq keeps arrival order among rows of the same millisecond.
            CREATE SEQUENCE ledger_seq CACHE 1000;
            CREATE TABLE ledger (
                request_id    text        NOT NULL,
                time          timestamptz NOT NULL,
                tenant_id     text,
                key_id        text,
                model         text        NOT NULL,
                endpoint      text        NOT NULL,
                deployment_id text,
                region        text,
                status        integer     NOT NULL,
                outcome       text        NOT NULL,
                input_tokens  bigint      NOT NULL,
                output_tokens bigint      NOT NULL,
                cost          numeric     NOT NULL,
                estimated     boolean     NOT NULL,
                latency_ms    integer     NOT NULL,
                billable      boolean     NOT NULL,
                error_code    text,
                client_ip     text,
                user_agent    text,
                request_body  text,
                response_text text,
                finish_reason text,
                seq           bigint      NOT NULL DEFAULT nextval('ledger_seq'),
                PRIMARY KEY (time, request_id)
            ) PARTITION BY RANGE (time);
            -- A month's report reads one partition by tenant and time.
            CREATE INDEX ix_ledger_tenant_id_time ON ledger (tenant_id, time);

            CREATE FUNCTION corridor_ensure_ledger_partition(at timestamptz) RETURNS void LANGUAGE plpgsql AS $fn$
            DECLARE
                month timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
                name  text      := 'ledger_' || to_char(month, 'YYYY_MM');
            BEGIN
                IF to_regclass(name) IS NOT NULL THEN
                    RETURN;
                END IF;
                EXECUTE format('CREATE TABLE %I PARTITION OF ledger FOR VALUES FROM (%L) TO (%L)',
                    name, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
            EXCEPTION
                -- Another writer reached the new month at the same moment and created it first.
                WHEN duplicate_table OR unique_violation THEN
                    NULL;
            END
            $fn$;

            -- One row that moves whenever tenants or keys change, in the same transaction as the change, whoever
            -- makes it (any replica, the CLI, an operator with psql); each move is announced on {{ChangesChannel}}
            -- at commit, so every replica reloads at once instead of at its next poll.
            CREATE TABLE revision (
                id    integer NOT NULL PRIMARY KEY CHECK (id = 1),
                value bigint  NOT NULL
            );
            INSERT INTO revision (id, value) VALUES (1, 0);

            CREATE FUNCTION corridor_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $fn$
            DECLARE
                next bigint;
            BEGIN
                UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value INTO next;
                PERFORM pg_notify('{{ChangesChannel}}', next::text);
                RETURN NULL;
            END
            $fn$;

            -- Row-level, so a statement that changes nothing (revoking a revoked key) moves nothing.
            CREATE TRIGGER tenants_revision AFTER INSERT OR UPDATE OR DELETE ON tenants
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();
            CREATE TRIGGER api_keys_insert_delete_revision AFTER INSERT OR DELETE ON api_keys
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();
            -- last_used_at is left out on purpose: recording use must not make every cache reload.
            CREATE TRIGGER api_keys_update_revision AFTER UPDATE OF id, tenant_id, prefix, hash, name, created_at, revoked_at ON api_keys
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();
            """),
        new(2, "tenant profile", """
            -- Enums as their lowercase names (TenantNames); a tenant written before this step is an unverified enterprise, clear.
            ALTER TABLE tenants ADD COLUMN controlling_country text;
            ALTER TABLE tenants ADD COLUMN entity_type text NOT NULL DEFAULT 'enterprise'
                CHECK (entity_type IN ('enterprise', 'startup', 'individual', 'research', 'government'));
            ALTER TABLE tenants ADD COLUMN tier text NOT NULL DEFAULT 'unverified'
                CHECK (tier IN ('unverified', 'basic', 'verified', 'established', 'strategic'));
            ALTER TABLE tenants ADD COLUMN verification_expires_at timestamptz;
            ALTER TABLE tenants ADD COLUMN use_case text;
            ALTER TABLE tenants ADD COLUMN denied_party text NOT NULL DEFAULT 'clear'
                CHECK (denied_party IN ('clear', 'pending', 'confirmed', 'cleared'));
            """),
        new(3, "audit log", """
            -- The hash chain (Corridor.Core.Audit.AuditChain): each record's hash covers its fields and the previous record's hash.
            -- Writers append under an advisory lock (PostgresAudit), so all replicas extend one chain.
            CREATE TABLE audit_log (
                sequence      bigint      NOT NULL PRIMARY KEY,
                time          timestamptz NOT NULL,
                actor         text        NOT NULL,
                action        text        NOT NULL,
                subject       text        NOT NULL,
                details       text        NOT NULL,
                previous_hash text        NOT NULL,
                hash          text        NOT NULL
            );
            CREATE INDEX ix_audit_log_subject ON audit_log (subject, sequence);
            CREATE INDEX ix_audit_log_action ON audit_log (action, sequence);

            -- Append-only. A superuser can drop these triggers, but not rewrite a record without breaking the chain.
            CREATE FUNCTION corridor_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only';
            END
            $fn$;
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION corridor_audit_log_append_only();
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION corridor_audit_log_append_only();
            CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION corridor_audit_log_append_only();
            """),
        new(4, "denied-party list", """
            -- Replaced whole by each import; position keeps the file's order.
            CREATE TABLE denied_parties (
                position integer NOT NULL PRIMARY KEY,
                name     text    NOT NULL,
                aliases  text[]  NOT NULL,
                country  text,
                program  text    NOT NULL
            );

            CREATE TABLE screening (
                id               integer          NOT NULL PRIMARY KEY CHECK (id = 1),
                threshold        double precision NOT NULL CHECK (threshold > 0 AND threshold <= 1),
                list_file        text,
                list_sha256      text,
                list_imported_at timestamptz
            );
            INSERT INTO screening (id, threshold) VALUES (1, 0.85);
            """),
        new(5, "ledger vendor and decision", """
            ALTER TABLE ledger ADD COLUMN vendor text;
            ALTER TABLE ledger ADD COLUMN decision_id text;
            CREATE INDEX ix_ledger_decision_id ON ledger (decision_id) WHERE decision_id IS NOT NULL;
            """),
        new(6, "daily usage", """
            -- Billable totals per UTC day, tenant and model, written with the ledger rows in the same transaction
            -- (PostgresStore.AppendLedgerAsync): a month's usage reads at most 31 rows per tenant and model, not every request.
            CREATE TABLE usage_daily (
                day           date    NOT NULL,
                tenant_id     text    NOT NULL,
                model         text    NOT NULL,
                requests      bigint  NOT NULL,
                input_tokens  bigint  NOT NULL,
                output_tokens bigint  NOT NULL,
                cost          numeric NOT NULL,
                PRIMARY KEY (day, tenant_id, model)
            );
            INSERT INTO usage_daily
            SELECT (time AT TIME ZONE 'UTC')::date, tenant_id, model, count(*), sum(input_tokens), sum(output_tokens), sum(cost)
            FROM ledger WHERE billable AND tenant_id IS NOT NULL
            GROUP BY 1, 2, 3;
            """),
        new(7, "ledger revenue and shadow rows", """
            -- What the tenant is billed; rows written before sell prices existed were billed at cost (SQLite migration 8).
            ALTER TABLE ledger ADD COLUMN revenue numeric NOT NULL DEFAULT 0;
            UPDATE ledger SET revenue = cost WHERE billable;
            -- A shadow evaluation's row: the tenant's request it mirrored; billed to the operator (billable = false).
            ALTER TABLE ledger ADD COLUMN shadow_of text;
            """),
        new(8, "limits and budgets, shadow results", """
            -- SQLite migrations 6 and 8: a tenant's or key's own limits (money exact), and one row per shadow evaluation.
            CREATE TABLE limits (
                scope               text    NOT NULL CHECK (scope IN ('tenant', 'key')),
                id                  text    NOT NULL,
                rpm                 integer CHECK (rpm > 0),
                tpm                 bigint  CHECK (tpm > 0),
                concurrent_streams  integer CHECK (concurrent_streams > 0),
                daily_soft_budget   numeric,
                daily_budget        numeric,
                monthly_soft_budget numeric,
                monthly_budget      numeric,
                PRIMARY KEY (scope, id)
            );
            CREATE TRIGGER limits_revision AFTER INSERT OR UPDATE OR DELETE ON limits
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();

            CREATE TABLE shadow_results (
                request_id           text        NOT NULL PRIMARY KEY,
                primary_request_id   text        NOT NULL,
                time                 timestamptz NOT NULL,
                tenant_id            text,
                primary_model        text        NOT NULL,
                candidate_model      text        NOT NULL,
                outcome              text        NOT NULL,
                reason               text,
                primary_latency_ms   integer     NOT NULL,
                candidate_latency_ms integer,
                primary_cost         numeric     NOT NULL,
                candidate_cost       numeric     NOT NULL,
                jaccard              double precision,
                exact_match          boolean,
                length_ratio         double precision,
                tool_names_match     boolean,
                tool_arguments_match boolean
            );
            CREATE INDEX ix_shadow_results_time ON shadow_results (time);
            """),
        new(9, "monitor enforcement and cases", """
            -- SQLite migration 7. Levels by name (none, watch, flag, throttle, suspend); a row goes when it holds neither a level nor a pin.
            CREATE TABLE enforcement (
                subject         text        NOT NULL PRIMARY KEY, -- key:ID or tenant:ID
                tenant_id       text,
                automatic_level text        NOT NULL DEFAULT 'none'
                    CHECK (automatic_level IN ('none', 'watch', 'flag', 'throttle', 'suspend')),
                pinned_level    text
                    CHECK (pinned_level IN ('none', 'watch', 'flag', 'throttle', 'suspend')),
                updated_at      timestamptz NOT NULL,
                actor           text,
                note            text
            );
            -- A pin made through any replica or the command line moves the revision, so every replica applies it at once
            -- (MonitorService watches the revision). Automatic levels are each replica's own and move nothing.
            CREATE TRIGGER enforcement_insert_revision AFTER INSERT ON enforcement
                FOR EACH ROW WHEN (NEW.pinned_level IS NOT NULL) EXECUTE FUNCTION corridor_bump_revision();
            CREATE TRIGGER enforcement_update_revision AFTER UPDATE ON enforcement
                FOR EACH ROW WHEN (OLD.pinned_level IS DISTINCT FROM NEW.pinned_level) EXECUTE FUNCTION corridor_bump_revision();
            CREATE TRIGGER enforcement_delete_revision AFTER DELETE ON enforcement
                FOR EACH ROW WHEN (OLD.pinned_level IS NOT NULL) EXECUTE FUNCTION corridor_bump_revision();

            -- The case itself is one JSON document (kept as text, byte for byte); the columns are what cases are listed by.
            CREATE TABLE cases (
                id         text        NOT NULL PRIMARY KEY,
                subject    text        NOT NULL,
                tenant_id  text,
                status     text        NOT NULL CHECK (status IN ('open', 'dismissed', 'confirmed', 'escalated')),
                opened_at  timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                version    bigint      NOT NULL,
                document   text        NOT NULL
            );
            CREATE INDEX ix_cases_subject ON cases (subject, opened_at);
            CREATE INDEX ix_cases_status ON cases (status, updated_at);
            """),
        new(10, "admission leases", """
            -- The fleet's lease book (docs/limits-and-budgets.md, "Several gateways"): what replicas have taken of a
            -- subject's allowance in one period (an aligned UTC minute for requests and tokens, a UTC day or month for
            -- budgets): slices held, reservations in flight and settled spend alike. No SQLite twin: one process needs none.
            CREATE TABLE admission_leases (
                scope      text    NOT NULL CHECK (scope IN ('tenant', 'key')),
                id         text    NOT NULL,
                kind       text    NOT NULL CHECK (kind IN ('requests', 'tokens', 'day_budget', 'month_budget')),
                period     bigint  NOT NULL,
                taken      numeric NOT NULL,
                -- What the last lease granted: written by the same UPDATE from the row as it was, so RETURNING can answer it.
                last_grant numeric NOT NULL,
                PRIMARY KEY (scope, id, kind, period)
            );
            """),
        new(11, "fleet monitor", """
            -- SQLite migration 10: a cluster's row lists the members its level applies to (subjects separated by spaces).
            ALTER TABLE enforcement ADD COLUMN members text;

            -- One replica scores the whole fleet's traffic and writes the levels here (docs/monitor.md, "Several gateways"),
            -- so automatic levels now move the revision too and reach every replica within a second, as pins do.
            DROP TRIGGER enforcement_insert_revision ON enforcement;
            DROP TRIGGER enforcement_update_revision ON enforcement;
            DROP TRIGGER enforcement_delete_revision ON enforcement;
            CREATE TRIGGER enforcement_revision AFTER INSERT OR DELETE ON enforcement
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();
            CREATE TRIGGER enforcement_update_revision AFTER UPDATE ON enforcement
                FOR EACH ROW WHEN (OLD.pinned_level IS DISTINCT FROM NEW.pinned_level OR OLD.automatic_level IS DISTINCT FROM NEW.automatic_level
                    OR OLD.members IS DISTINCT FROM NEW.members)
                EXECUTE FUNCTION corridor_bump_revision();

            -- Every replica's observations (Corridor.Monitor's FeatureCodec: a few hundred bytes each, no prompt text), shipped
            -- in batches; the replica that leads the monitor takes them (deleting them) and scores them together.
            CREATE TABLE monitor_observations (
                id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at       timestamptz NOT NULL,
                features bytea       NOT NULL
            );
            """),
        new(12, "no index on the ledger's decision id", """
            -- No query reads the ledger by decision id (corridor explain reads the audit log), and every ledger row paid
            -- for the index.
            DROP INDEX ix_ledger_decision_id;
            """),
        new(13, "ledger partitions after a detached month", """
            -- A month's partition the operator detached keeps its name as a table of its own: the step 1 function found
            -- the name, created nothing, and every later row of that month (a spool replayed after an outage) failed its
            -- batch for good (23514). Now only a partition of ledger counts; a detached table's name gets a suffix, and a
            -- month another partition already covers (one attached again under another name) is left as it is.
            CREATE OR REPLACE FUNCTION corridor_ensure_ledger_partition(at timestamptz) RETURNS void LANGUAGE plpgsql AS $fn$
            DECLARE
                month timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
                name  text      := 'ledger_' || to_char(month, 'YYYY_MM');
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'ledger'::regclass AND inhrelid = to_regclass(name)) THEN
                    RETURN;
                END IF;
                IF to_regclass(name) IS NOT NULL THEN
                    name := name || '_' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISSUS');
                END IF;
                EXECUTE format('CREATE TABLE %I PARTITION OF ledger FOR VALUES FROM (%L) TO (%L)',
                    name, month AT TIME ZONE 'UTC', (month + interval '1 month') AT TIME ZONE 'UTC');
            EXCEPTION
                -- Another writer reached the new month at the same moment and created it first, or a partition under
                -- another name covers the month (would overlap).
                WHEN duplicate_table OR unique_violation OR invalid_object_definition THEN
                    NULL;
            END
            $fn$;
            """),
        new(14, "lease returns applied once", """
            -- The ids of returns the lease book applied, so one sent again after its answer was lost (the UPDATE committed,
            -- the replica saw an error) is not applied twice. Pruned with the lease rows of their period.
            CREATE TABLE admission_returns (
                id     uuid   NOT NULL PRIMARY KEY,
                kind   text   NOT NULL,
                period bigint NOT NULL
            );
            CREATE INDEX ix_admission_returns_period ON admission_returns (kind, period);
            """),
        new(15, "prompt cache tokens", """
            -- Of a row's input tokens, those the vendor read from its prompt cache and those it wrote to it: priced apart
            -- (docs/configuration.md, price.cacheRead and price.cacheWrite). Rows written before are 0: billed as fresh input.
            -- Added to the partitioned table, so every partition has them.
            ALTER TABLE ledger ADD COLUMN cache_read_tokens bigint NOT NULL DEFAULT 0;
            ALTER TABLE ledger ADD COLUMN cache_write_tokens bigint NOT NULL DEFAULT 0;
            """),
        new(16, "daily usage keyed by tenant first", """
            -- /v1/usage and the reports read the daily totals by tenant and a day range. Keyed day first (migration 6), one
            -- tenant's month was read through every tenant's rows of that month, and its year as the whole table. Keyed by
            -- tenant first, as SQLite's usage_daily (its migration 12): one tenant's range is one stretch of the index. Every
            -- tenant's days (corridor usage, the admin API without a tenant) keep an index of their own.
            ALTER TABLE usage_daily DROP CONSTRAINT usage_daily_pkey;
            ALTER TABLE usage_daily ADD PRIMARY KEY (tenant_id, day, model);
            CREATE INDEX ix_usage_daily_day ON usage_daily (day);
            """),
        new(17, "daily usage of the prompt cache", """
            -- The daily totals count the ledger's cache tokens (migration 15) too, as SQLite's (its migration 14), so a usage
            -- query says how much of a tenant's input the vendor's prompt cache served or took. The ledger's writer adds them
            -- from here on (PostgresLedger); the rows it took before are summed here, per UTC day as the writer counts.
            ALTER TABLE usage_daily
                ADD COLUMN cache_read_tokens bigint NOT NULL DEFAULT 0,
                ADD COLUMN cache_write_tokens bigint NOT NULL DEFAULT 0;
            UPDATE usage_daily AS u SET cache_read_tokens = cached.reads, cache_write_tokens = cached.writes
            FROM (
                SELECT (time AT TIME ZONE 'UTC')::date AS day, tenant_id, model, sum(cache_read_tokens) AS reads, sum(cache_write_tokens) AS writes
                FROM ledger
                WHERE billable AND tenant_id IS NOT NULL AND (cache_read_tokens > 0 OR cache_write_tokens > 0)
                GROUP BY 1, 2, 3
            ) AS cached
            WHERE u.tenant_id = cached.tenant_id AND u.day = cached.day AND u.model = cached.model;
            """),
        new(18, "lease holdings that expire", """
            -- Fleet replicas registered with the lease book, each under a random id, and when the book last saw each (its
            -- own clock: now()). A registration not seen for the expiry is deleted and what it held is given back
            -- (docs/limits-and-budgets.md, "Several gateways"), so a replica killed or frozen does not keep its budget
            -- slices taken until the period ends.
            CREATE TABLE admission_replicas (
                replica_id text        NOT NULL PRIMARY KEY,
                seen       timestamptz NOT NULL
            );
            -- What each registered replica holds unspent of a budget row of admission_leases (day_budget, month_budget):
            -- raised by its grants, lowered by its returns, replaced by its heartbeats. Pruned with the lease rows.
            CREATE TABLE admission_holdings (
                replica_id text    NOT NULL,
                scope      text    NOT NULL,
                id         text    NOT NULL,
                kind       text    NOT NULL,
                period     bigint  NOT NULL,
                unspent    numeric NOT NULL,
                PRIMARY KEY (replica_id, scope, id, kind, period)
            );
            CREATE INDEX ix_admission_holdings_period ON admission_holdings (kind, period);
            """),
        new(19, "batches and files", """
            -- SQLite migration 15. Files a tenant uploaded for batches, and the result files of its batches (docs/batches.md):
            -- the bytes are kept here, so the one file is the whole state. Read only by their tenant.
            CREATE TABLE files (
                id         text        NOT NULL PRIMARY KEY,
                tenant_id  text        NOT NULL,
                purpose    text        NOT NULL,
                filename   text        NOT NULL,
                bytes      bigint      NOT NULL,
                created_at timestamptz NOT NULL,
                content    bytea       NOT NULL
            );
            CREATE INDEX ix_files_tenant ON files (tenant_id, created_at);
            -- Batches (OpenAI's and Anthropic's) and the gateway that runs each (owner, until owner_until): every replica
            -- claims from here, one batch at a time (PostgresStore.Batches.cs); counts are read from their requests.
            CREATE TABLE batches (
                id                text        NOT NULL PRIMARY KEY,
                api               text        NOT NULL,
                tenant_id         text        NOT NULL,
                key_id            text        NOT NULL,
                endpoint          text        NOT NULL,
                state             text        NOT NULL,
                created_at        timestamptz NOT NULL,
                expires_at        timestamptz NOT NULL,
                input_file_id     text,
                completion_window text,
                metadata          text,
                user_agent        text,
                ending            text,
                cancelling_at     timestamptz,
                ended_at          timestamptz,
                output_file_id    text,
                error_file_id     text,
                owner             text,
                owner_until       timestamptz,
                client_ip         text
            );
            CREATE INDEX ix_batches_tenant ON batches (tenant_id, api, created_at);
            CREATE INDEX ix_batches_open ON batches (created_at) WHERE state <> 'ended';
            -- A batch's requests in order (up to 100,000, written with binary COPY), each with its result once run.
            CREATE TABLE batch_items (
                batch_id   text    NOT NULL,
                position   integer NOT NULL,
                custom_id  text    NOT NULL,
                body       bytea   NOT NULL,
                state      text    NOT NULL,
                status     integer,
                request_id text,
                response   bytea,
                attempt    integer NOT NULL DEFAULT 0,
                ended_at   timestamptz,
                started_at timestamptz,
                input_tokens     bigint NOT NULL DEFAULT 0,
                cached_tokens    bigint NOT NULL DEFAULT 0,
                output_tokens    bigint NOT NULL DEFAULT 0,
                reasoning_tokens bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (batch_id, position)
            );
            """),
        new(20, "the batch a ledger row's request was run for", """
            -- SQLite migration 16. Set on a request Corridor ran for a tenant's batch (docs/batches.md); null on every live
            -- request's row and on rows written before. Added to the partitioned table, so every partition has it.
            ALTER TABLE ledger ADD COLUMN batch_id text;
            """),
        new(21, "the model of a batch", """
            -- SQLite migration 17. The model every request of a batch names, when they all name the same one (OpenAI's batch
            -- "model", docs/batches.md); null when they name several, or one names none, and for batches made before.
            ALTER TABLE batches ADD COLUMN model text;
            """),
        // SQLite migration 18. A batch's ledger rows found by its id (what a batch cost, docs/batches.md). Partial: a live
        // request's row has a null batch_id, so it is not in the index and its insert pays nothing for it. On every partition
        // (and every later one). Built concurrently (ConcurrentIndex): it reads the whole ledger, and its writers go on meanwhile.
        // It was a plain CREATE INDEX in a transaction until the runner could build concurrently; the index it leaves is the same.
        new(22, "the ledger's rows of batches", new ConcurrentIndex("ix_ledger_batch_id", "ledger", "(batch_id) WHERE batch_id IS NOT NULL")),
        new(23, "files and batch results that expire", """
            -- SQLite migration 19 (docs/batches.md, "Retention"). When a file expires: from then it is not found, and the
            -- retention sweep deletes it; null for files stored before, which never expire.
            ALTER TABLE files ADD COLUMN expires_at timestamptz;
            CREATE INDEX ix_files_expires ON files (expires_at) WHERE expires_at IS NOT NULL;
            -- How long an OpenAI batch's result files are kept once written (output_expires_after, in seconds); when an ended
            -- batch's stored requests and answers are removed (Anthropic's results then archived), and when the sweep did.
            -- Null on batches made before: they keep theirs.
            ALTER TABLE batches ADD COLUMN output_expires_after bigint;
            ALTER TABLE batches ADD COLUMN archives_at timestamptz;
            ALTER TABLE batches ADD COLUMN archived_at timestamptz;
            CREATE INDEX ix_batches_archive ON batches (archives_at) WHERE archived_at IS NULL AND archives_at IS NOT NULL;
            """),
        new(24, "the gateway's own secrets", """
            -- SQLite migration 20. Secrets the gateways make for themselves, by name (GatewaySecrets): the reasoning key when the
            -- operator sets none (docs/translation.md), made by the first replica to start and read by every one after. Nothing
            -- but a gateway's start reads this table: no export, report, evidence bundle or admin API (docs/security.md).
            CREATE TABLE gateway_secrets (
                name       text        NOT NULL PRIMARY KEY,
                value      bytea       NOT NULL,
                created_at timestamptz NOT NULL
            );
            """),
        new(25, "keys that expire", """
            -- SQLite migration 21. When a key stops working by itself, or NULL for never: set when it is issued.
            ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
            """),
        new(26, "a key's expiry changes reach every cache", """
            -- SQLite migration 22. A key's expiry can be changed after issue: the caches reload on it as on a revocation.
            DROP TRIGGER api_keys_update_revision ON api_keys;
            CREATE TRIGGER api_keys_update_revision AFTER UPDATE OF id, tenant_id, prefix, hash, name, created_at, revoked_at, expires_at ON api_keys
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();
            """),
        new(27, "why a batch failed", """
            -- SQLite migration 23. A batch that ended 'failed' (docs/batches.md, "Key revoked or suspended"): its key was
            -- refused before any of its requests was answered; the refusal's code and message (OpenAI's batch "errors"). Null
            -- on every other batch. Adding a column without a default changes no row: the table is not rewritten.
            ALTER TABLE batches ADD COLUMN failure_code text;
            ALTER TABLE batches ADD COLUMN failure_message text;
            """),
        new(28, "the reasoning key's rotation", """
            -- SQLite migration 24. corridor secrets rotate-reasoning-key (docs/operations.md): the secret it replaced, still
            -- accepted for opening and verifying, and when; null until a first rotation. Any change to a secret moves the
            -- revision and notifies, so every replica takes it up at once, without a restart.
            ALTER TABLE gateway_secrets ADD COLUMN previous_value bytea;
            ALTER TABLE gateway_secrets ADD COLUMN rotated_at timestamptz;
            CREATE TRIGGER gateway_secrets_revision AFTER INSERT OR UPDATE OR DELETE ON gateway_secrets
                FOR EACH ROW EXECUTE FUNCTION corridor_bump_revision();
            """),
        new(29, "stored responses", """
            -- SQLite migration 25. Responses API answers kept for their tenant (docs/responses.md, "Stored responses"): read
            -- back by id, listed by their input items, continued by previous_response_id; only by their tenant, and not from
            -- expires_at, when the retention sweep removes them. input_items is the whole input the model saw (the continued
            -- response's items resolved), output_items the answer's, body the response object as answered: JSON kept as text,
            -- as written (jsonb would reorder its keys).
            CREATE TABLE responses (
                id            text        NOT NULL PRIMARY KEY,
                tenant_id     text        NOT NULL,
                key_id        text        NOT NULL,
                model         text        NOT NULL,
                status        text        NOT NULL,
                created_at    timestamptz NOT NULL,
                expires_at    timestamptz NOT NULL,
                instructions  text,
                input_items   text        NOT NULL,
                output_items  text        NOT NULL,
                input_tokens  bigint      NOT NULL,
                output_tokens bigint      NOT NULL,
                body          text        NOT NULL
            );
            CREATE INDEX ix_responses_expires ON responses (expires_at);
            """),
        new(30, "a message batch's betas", """
            -- SQLite migration 26. The anthropic-beta names a message batch was made with (docs/batches.md), comma-separated:
            -- each of its requests goes upstream with those its vendor enables, as a live request would. Null on every batch
            -- made without. Adding a column without a default changes no row: the table is not rewritten.
            ALTER TABLE batches ADD COLUMN betas text;
            """),
        new(31, "stored responses' bytes", """
            -- SQLite migration 27. What each kept response holds, in UTF-8 bytes (its instructions, items and response
            -- object), summed per tenant through the index alone for responses.maxTenantBytes (docs/responses.md).
            ALTER TABLE responses ADD COLUMN bytes bigint NOT NULL DEFAULT 0;
            UPDATE responses SET bytes = coalesce(octet_length(instructions), 0) + octet_length(input_items)
                + octet_length(output_items) + octet_length(body);
            CREATE INDEX ix_responses_tenant ON responses (tenant_id, expires_at) INCLUDE (bytes);
            """),
    ];

    internal static int LatestVersion => All[^1].Version;

    /// <summary>How often a process waits again for the migration lock another one holds.</summary>
    private static readonly TimeSpan LockPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>How many passes over a concurrent index's partitions a step makes before it gives up (a pass lost to a deadlock, say).</summary>
    private const int ConcurrentPasses = 8;

    /// <summary>
    /// Applies the steps of <paramref name="migrations"/> not yet recorded; returns how many it applied. A step that fails is
    /// rolled back whole and reported as <see cref="StoreError.MigrationFailed"/> with the database's reason; a concurrent
    /// index that fails keeps what it built (valid partitions' indexes) and is taken up at the next start.
    /// <para>
    /// The whole run holds the migration lock, a session advisory lock taken with <c>pg_try_advisory_lock</c>: a process
    /// that does not get it waits outside any statement and tries again. Waiting inside <c>pg_advisory_lock</c> would hold a
    /// snapshot, and a concurrent index build waits for every transaction with an older snapshot to end: the build would wait
    /// for the waiter and the waiter for the build (a deadlock PostgreSQL ends by cancelling one).
    /// </para>
    /// </summary>
    internal static async Task<int> ApplyAsync(
        NpgsqlDataSource dataSource,
        IReadOnlyList<Migration> migrations,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await LockAsync(connection, cancellationToken);
        try
        {
            await ExecuteAsync(connection, null, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer     NOT NULL PRIMARY KEY,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL
                );
                """, cancellationToken);

            var latest = migrations[^1].Version;
            var applied = 0;
            foreach (var migration in migrations)
            {
                var newest = await GetNewestVersionAsync(connection, cancellationToken);
                if (newest > latest)
                {
                    throw new CorridorStoreException(
                        StoreError.SchemaTooNew,
                        $"The database is at schema version {newest}, newer than this Corridor knows ({latest}). Upgrade Corridor.");
                }

                if (newest >= migration.Version)
                {
                    continue;
                }

                if (migration.Index is { } index)
                {
                    // Outside any transaction (CREATE INDEX CONCURRENTLY cannot run in one); the step is recorded below only
                    // once the index is valid.
                    await FailingAsMigrationAsync(migration, newest, () => BuildConcurrentlyAsync(connection, index, cancellationToken));
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                if (migration.Index is null)
                {
                    // Failing, the transaction is rolled back as it is disposed: nothing of the step stays.
                    await FailingAsMigrationAsync(migration, newest, () => ExecuteAsync(connection, transaction, migration.Sql, cancellationToken));
                }

                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", connection, transaction))
                {
                    record.Parameters.AddWithValue(migration.Version);
                    record.Parameters.AddWithValue(migration.Name);
                    record.Parameters.AddWithValue(timeProvider.GetUtcNow());
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                applied++;
            }

            return applied;
        }
        finally
        {
            await UnlockAsync(connection);
        }
    }

    /// <summary>Runs a step's work; a refusal from PostgreSQL becomes <see cref="StoreError.MigrationFailed"/>, saying where the schema stays.</summary>
    private static async Task FailingAsMigrationAsync(Migration migration, int newest, Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (PostgresException ex)
        {
            var outcome = migration.Index is null
                ? $"failed and was rolled back; the schema is unchanged at version {newest}"
                : $"failed; the schema stays at version {newest}, and the index's build is taken up where it stopped at the next start";
            throw new CorridorStoreException(
                StoreError.MigrationFailed,
                $"Schema migration {migration.Version} ({migration.Name}) {outcome}. "
                + $"PostgreSQL said: {ex.SqlState}: {ex.MessageText}{(ex.Position > 0 ? $" (at character {ex.Position})" : "")}",
                ex);
        }
    }

    /// <summary>
    /// Takes the migration lock for this session, trying again every <see cref="LockPoll"/> while another process holds it.
    /// Real time, not the store's clock: a test's clock that never moves must not keep a start waiting for ever.
    /// </summary>
    private static async Task LockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using (var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({MigrationLock})", connection))
            {
                if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
                {
                    return;
                }
            }

            await Task.Delay(LockPoll, TimeProvider.System, cancellationToken);
        }
    }

    private static async Task UnlockAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            // The connection broke: the lock went with its session.
            return;
        }

        try
        {
            await ExecuteAsync(connection, null, $"SELECT pg_advisory_unlock({MigrationLock})", CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // The connection broke: the lock went with its session.
        }
    }

    /// <summary>
    /// Builds <paramref name="index"/> concurrently, taking up a build that was cut short: an index left invalid by a build
    /// that failed or was interrupted is dropped (concurrently) and built again, a partition's index built but not attached
    /// is attached. Returns once the index is valid.
    /// </summary>
    private static async Task BuildConcurrentlyAsync(NpgsqlConnection connection, ConcurrentIndex index, CancellationToken cancellationToken)
    {
        var name = Quote(index.Name);
        for (var pass = 0; pass < ConcurrentPasses; pass++)
        {
            var valid = await IsValidAsync(connection, name, cancellationToken);
            if (valid == true)
            {
                return;
            }

            try
            {
                await BuildPassAsync(connection, index, name, valid, cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected)
            {
                // A process of an earlier Corridor waiting for the migration lock inside a transaction, which a build waits
                // for in turn: PostgreSQL cancelled one of the two. The next pass takes the build up where it stopped.
            }
        }

        if (await IsValidAsync(connection, name, cancellationToken) != true)
        {
            throw new CorridorStoreException(StoreError.MigrationFailed,
                $"The index {index.Name} on {index.Table} was not valid after {ConcurrentPasses} passes; it is taken up again at the next start.");
        }
    }

    /// <summary>One pass of <see cref="BuildConcurrentlyAsync"/>: the index is missing (<paramref name="valid"/> null) or invalid.</summary>
    private static async Task BuildPassAsync(NpgsqlConnection connection, ConcurrentIndex index, string name, bool? valid, CancellationToken cancellationToken)
    {
        if (!await ScalarAsync<bool>(connection, "SELECT relkind = 'p' FROM pg_class WHERE oid = $1::regclass", cancellationToken, index.Table))
        {
            if (valid == false)
            {
                // Left invalid by a build that failed or was cut short: it is written to but reads nothing. Built again.
                await ExecuteLongAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {name}", cancellationToken);
            }
            await ExecuteLongAsync(connection, $"CREATE INDEX CONCURRENTLY {name} ON {index.Table} {index.Definition}", cancellationToken);
            return;
        }

        // The partitions without an index attached to this one (every partition while there is none): each is built first,
        // concurrently, and only then the parent's index made and the partitions' attached, which lock the table a moment
        // each (until the writes under way end) and read nothing.
        var lacking = await QueryPartitionsLackingAsync(connection, index, cancellationToken);
        if (lacking.Count == 0)
        {
            // A table without partitions has nothing to read: made plainly, its later partitions get it as they are made. One
            // invalid with nothing to attach was made ON ONLY a table whose partitions have all gone since: made again.
            await ExecuteAsync(connection, null, valid is null
                ? $"CREATE INDEX {name} ON {index.Table} {index.Definition}"
                : $"DROP INDEX {name}; CREATE INDEX {name} ON {index.Table} {index.Definition}", cancellationToken);
            return;
        }

        var children = new List<string>();
        foreach (var (partition, qualified) in lacking)
        {
            var child = Quote(ChildName(index.Name, partition));
            var built = await IsValidAsync(connection, child, cancellationToken);
            if (built == false)
            {
                await ExecuteLongAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {child}", cancellationToken);
            }
            if (built != true)
            {
                await ExecuteLongAsync(connection, $"CREATE INDEX CONCURRENTLY {child} ON {qualified} {index.Definition}", cancellationToken);
            }
            children.Add(child);
        }

        if (valid is null)
        {
            await ExecuteAsync(connection, null, $"CREATE INDEX IF NOT EXISTS {name} ON ONLY {index.Table} {index.Definition}", cancellationToken);
        }
        foreach (var child in children)
        {
            await ExecuteAsync(connection, null, $"ALTER INDEX {name} ATTACH PARTITION {child}", cancellationToken);
        }
    }

    /// <summary>Whether the index is valid; null when there is none of that name.</summary>
    private static async Task<bool?> IsValidAsync(NpgsqlConnection connection, string quotedName, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", connection);
        command.Parameters.AddWithValue(quotedName);
        return await command.ExecuteScalarAsync(cancellationToken) is bool valid ? valid : null;
    }

    private static async Task<List<(string Name, string Qualified)>> QueryPartitionsLackingAsync(
        NpgsqlConnection connection, ConcurrentIndex index, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT c.relname, c.oid::regclass::text
            FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass
              AND NOT EXISTS (
                  SELECT 1 FROM pg_index AS x JOIN pg_inherits AS xi ON xi.inhrelid = x.indexrelid
                  WHERE x.indrelid = c.oid AND xi.inhparent = to_regclass($2))
            ORDER BY c.relname
            """, connection);
        command.Parameters.AddWithValue(index.Table);
        command.Parameters.AddWithValue(Quote(index.Name));
        var partitions = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            partitions.Add((reader.GetString(0), reader.GetString(1)));
        }
        return partitions;
    }

    /// <summary>
    /// A partition's index: the partition's name and the index's, so a build cut short is found again by its name; a name
    /// past PostgreSQL's 63 bytes takes a digest of the partition's instead.
    /// </summary>
    internal static string ChildName(string index, string partition)
    {
        var name = $"{partition}_{index}";
        return System.Text.Encoding.UTF8.GetByteCount(name) <= 63
            ? name
            : $"{index}_{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(partition)))[..16]}";
    }

    private static string Quote(string identifier) => $"\"{identifier.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>A statement that reads a whole table (or waits for its writers): not held to Npgsql's 30 s command timeout.</summary>
    private static async Task ExecuteLongAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static Task<int> GetNewestVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        ScalarAsync<int>(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
