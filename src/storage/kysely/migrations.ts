import {
  type CreateTableBuilder,
  type Expression,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from "kysely";
import { driverErrorCode } from "./dialects.js";
import {
  type KyselyDialectName,
  VARGATE_TABLES as T,
  VARGATE_MIGRATION_LOCK_TABLE,
  VARGATE_MIGRATION_TABLE,
} from "./schema.js";
import { addCounts, COUNTED_SOURCE, countRows } from "./tool-counts.js";

// biome-ignore lint/suspicious/noExplicitAny: migrations run before (and change) the schema, as Kysely intends.
type AnyKysely = Kysely<any>;

/** Column types per dialect. Text keys compare byte-wise everywhere, so ordering matches JavaScript's. */
function columnTypes(dialect: KyselyDialectName) {
  const raw = (text: string): Expression<unknown> => sql.raw(text);
  // PostgreSQL's default collation ignores punctuation when sorting; "C" sorts ids and timestamps by bytes.
  const key = (length: number) => raw(dialect === "postgres" ? `varchar(${length}) collate "C"` : `varchar(${length})`);
  return {
    id: key(255),
    time: key(64),
    hash: key(64),
    label: raw("varchar(32)"),
    text: raw("text"),
    // MySQL's TEXT holds only 64 KB; inputs and prompts can be larger.
    large: raw(dialect === "mysql" ? "longtext" : "text"),
    int: raw("integer"),
    bigint: raw("bigint"),
    // Not DECIMAL: mysql2 and pg return DECIMAL as a string.
    double: raw("double precision"),
  };
}

// MariaDB/MySQL: utf8mb4 keeps emoji; the binary collation keeps ids case-sensitive and sorted by bytes.
function tableOptions<TB extends string, C extends string>(
  dialect: KyselyDialectName,
  builder: CreateTableBuilder<TB, C>,
): CreateTableBuilder<TB, C> {
  return dialect === "mysql"
    ? builder.modifyEnd(sql`engine = InnoDB default character set utf8mb4 collate utf8mb4_bin`)
    : builder;
}

function init(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = (name: string) => db.schema.createTable(name);

      await tableOptions(
        dialect,
        create(T.tenants)
          .addColumn("tenant_id", c.id, (col) => col.primaryKey())
          .addColumn("name", c.text, (col) => col.notNull())
          .addColumn("max_concurrent_sessions", c.int, (col) => col.notNull())
          .addColumn("max_daily_sessions", c.int, (col) => col.notNull())
          .addColumn("max_session_hours", c.double, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull()),
      ).execute();

      await tableOptions(
        dialect,
        create(T.apiKeys)
          .addColumn("key_id", c.id, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("key_hash", c.id, (col) => col.notNull())
          .addColumn("prefix", c.label, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("revoked_at", c.time)
          .addUniqueConstraint("vargate_api_keys_hash_unique", ["key_hash"]),
      ).execute();
      await db.schema
        .createIndex("vargate_api_keys_tenant_idx")
        .on(T.apiKeys)
        .columns(["tenant_id", "created_at"])
        .execute();

      await tableOptions(
        dialect,
        create(T.agentConfigs)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("id", c.id, (col) => col.notNull())
          .addColumn("name", c.text, (col) => col.notNull())
          .addColumn("anthropic_model", c.id, (col) => col.notNull())
          .addColumn("system_prompt", c.large)
          .addColumn("allowed_tools", c.large, (col) => col.notNull())
          .addColumn("require_human_approval", c.large, (col) => col.notNull())
          .addColumn("max_session_hours", c.double, (col) => col.notNull())
          .addColumn("max_daily_sessions", c.int, (col) => col.notNull())
          .addColumn("max_delegation_depth", c.int, (col) => col.notNull())
          .addColumn("governance_profile", c.large, (col) => col.notNull())
          .addColumn("parent_agent_id", c.id)
          .addColumn("version", c.int, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("updated_at", c.time, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_agent_configs_pk", ["tenant_id", "id"]),
      ).execute();
      await db.schema
        .createIndex("vargate_agent_configs_tenant_idx")
        .on(T.agentConfigs)
        .columns(["tenant_id", "created_at"])
        .execute();

      await tableOptions(
        dialect,
        create(T.auditLog)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("seq", c.bigint, (col) => col.notNull())
          .addColumn("action_id", c.id, (col) => col.notNull())
          .addColumn("session_id", c.id)
          .addColumn("agent_id", c.id)
          .addColumn("event_id", c.id)
          .addColumn("actor", c.text)
          .addColumn("source", c.label, (col) => col.notNull())
          .addColumn("tool", c.text, (col) => col.notNull())
          .addColumn("method", c.text, (col) => col.notNull())
          .addColumn("decision", c.label, (col) => col.notNull())
          .addColumn("severity", c.label, (col) => col.notNull())
          .addColumn("violations", c.large, (col) => col.notNull())
          .addColumn("input", c.large, (col) => col.notNull())
          .addColumn("policy_version", c.int)
          .addColumn("requested_at", c.time, (col) => col.notNull())
          .addColumn("prev_hash", c.hash, (col) => col.notNull())
          .addColumn("record_hash", c.hash, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_audit_log_pk", ["tenant_id", "seq"])
          .addUniqueConstraint("vargate_audit_log_action_unique", ["tenant_id", "action_id"]),
      ).execute();
      await db.schema
        .createIndex("vargate_audit_log_session_idx")
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "seq"])
        .execute();

      await tableOptions(
        dialect,
        create(T.auditHeads)
          .addColumn("tenant_id", c.id, (col) => col.primaryKey())
          .addColumn("seq", c.bigint, (col) => col.notNull())
          .addColumn("hash", c.hash, (col) => col.notNull()),
      ).execute();
    },
    async down(db: AnyKysely) {
      for (const table of [T.auditHeads, T.auditLog, T.agentConfigs, T.apiKeys, T.tenants]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

/**
 * Governed sessions: session slots, stream consumers and settings; the upstream agent of each config; the
 * result column of audit records (outside the hash) and the per-session uniqueness of upstream event ids.
 */
function sessions(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = (name: string) => db.schema.createTable(name);

      await db.schema.alterTable(T.agentConfigs).addColumn("anthropic_agent_id", c.id).execute();
      await db.schema.alterTable(T.auditLog).addColumn("result", c.large).execute();
      // Re-reading upstream history stores nothing twice. NULL event ids (records not derived from an event)
      // and NULL session ids never conflict: all three engines treat NULLs in a unique index as distinct.
      await db.schema
        .createIndex("vargate_audit_log_event_unique")
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "event_id"])
        .unique()
        .execute();
      // For countBySession; dropped by 0008.
      await db.schema
        .createIndex("vargate_audit_log_counts_idx")
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "source", "decision"])
        .execute();

      await tableOptions(
        dialect,
        create(T.sessions)
          .addColumn("id", c.id, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("agent_id", c.id, (col) => col.notNull())
          .addColumn("agent_version", c.int, (col) => col.notNull())
          .addColumn("status", c.label, (col) => col.notNull())
          .addColumn("anthropic_session_id", c.id)
          .addColumn("environment_id", c.id)
          .addColumn("upstream_vault_id", c.id)
          .addColumn("system_prompt_hash", c.hash, (col) => col.notNull())
          .addColumn("mcp_token_hash", c.id, (col) => col.notNull())
          .addColumn("metadata", c.large, (col) => col.notNull())
          .addColumn("max_session_hours", c.double, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("ended_at", c.time)
          .addColumn("end_reason", c.text)
          .addUniqueConstraint("vargate_sessions_token_unique", ["mcp_token_hash"]),
      ).execute();
      const sessionIndexes: [string, string[]][] = [
        // Listing, and the daily-window count of `reserve`.
        ["vargate_sessions_tenant_created_idx", ["tenant_id", "created_at"]],
        // The concurrent count of `reserve`, and listing by status.
        ["vargate_sessions_tenant_status_idx", ["tenant_id", "status"]],
        // The agent's daily count, and listing by agent.
        ["vargate_sessions_tenant_agent_idx", ["tenant_id", "agent_id", "created_at"]],
        // listActive, across tenants.
        ["vargate_sessions_status_idx", ["status", "created_at"]],
      ];
      for (const [name, columns] of sessionIndexes) {
        await db.schema.createIndex(name).on(T.sessions).columns(columns).execute();
      }

      await tableOptions(
        dialect,
        create(T.consumers)
          .addColumn("session_id", c.id, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          // Not `cursor`, a reserved word in MySQL.
          .addColumn("event_cursor", c.id)
          .addColumn("events_processed", c.bigint, (col) => col.notNull())
          .addColumn("owner", c.id)
          .addColumn("lease_expires_at", c.time)
          .addColumn("status", c.label, (col) => col.notNull())
          .addColumn("connected_since", c.time),
      ).execute();
      await db.schema.createIndex("vargate_consumers_tenant_idx").on(T.consumers).columns(["tenant_id"]).execute();

      await tableOptions(
        dialect,
        create(T.settings)
          .addColumn("name", c.id, (col) => col.primaryKey())
          .addColumn("value", c.large, (col) => col.notNull()),
      ).execute();
    },
    async down(db: AnyKysely) {
      for (const table of [T.settings, T.consumers, T.sessions]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
      // Indexes first: SQLite cannot drop a column an index uses.
      for (const index of ["vargate_audit_log_counts_idx", "vargate_audit_log_event_unique"]) {
        const drop = db.schema.dropIndex(index);
        await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
      }
      await db.schema.alterTable(T.auditLog).dropColumn("result").execute();
      await db.schema.alterTable(T.agentConfigs).dropColumn("anthropic_agent_id").execute();
    },
  };
}

/**
 * Governance: each tenant's governance prompt template, versioned policy documents, the approval queue and
 * credential ciphertexts; an index for per-agent record counts (policy counters).
 */
function governance(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = (name: string) => db.schema.createTable(name);

      await db.schema.alterTable(T.tenants).addColumn("governance_prompt_template", c.large).execute();
      // Per-agent policy counters (`audit.countByTool` with `agent_id` and `since`); per-session ones use the
      // session index of 0002.
      await db.schema
        .createIndex("vargate_audit_log_agent_idx")
        .on(T.auditLog)
        .columns(["tenant_id", "agent_id", "requested_at"])
        .execute();

      // Versions are never changed once stored. The primary key makes two racing inserts of one version conflict.
      await tableOptions(
        dialect,
        create(T.policies)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("version", c.int, (col) => col.notNull())
          .addColumn("document", c.large, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("created_by", c.text)
          .addPrimaryKeyConstraint("vargate_policies_pk", ["tenant_id", "version"]),
      ).execute();

      await tableOptions(
        dialect,
        create(T.approvals)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("action_id", c.id, (col) => col.notNull())
          .addColumn("session_id", c.id, (col) => col.notNull())
          .addColumn("agent_id", c.id, (col) => col.notNull())
          .addColumn("kind", c.label, (col) => col.notNull())
          .addColumn("tool", c.text, (col) => col.notNull())
          .addColumn("input", c.large, (col) => col.notNull())
          .addColumn("input_digest", c.hash, (col) => col.notNull())
          .addColumn("upstream_event_id", c.id)
          .addColumn("status", c.label, (col) => col.notNull())
          .addColumn("requested_at", c.time, (col) => col.notNull())
          .addColumn("expires_at", c.time, (col) => col.notNull())
          .addColumn("decided_at", c.time)
          .addColumn("decided_by", c.text)
          .addColumn("note", c.large)
          .addColumn("execution", c.label, (col) => col.notNull())
          .addColumn("result", c.large)
          .addPrimaryKeyConstraint("vargate_approvals_pk", ["tenant_id", "action_id"]),
      ).execute();
      const approvalIndexes: [string, string[]][] = [
        // Listing a tenant's queue, by status, newest first.
        ["vargate_approvals_tenant_status_idx", ["tenant_id", "status", "requested_at"]],
        // listExpired, across tenants.
        ["vargate_approvals_expiry_idx", ["status", "expires_at"]],
      ];
      for (const [name, columns] of approvalIndexes) {
        await db.schema.createIndex(name).on(T.approvals).columns(columns).execute();
      }

      await tableOptions(
        dialect,
        create(T.credentials)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("name", c.id, (col) => col.notNull())
          .addColumn("ciphertext", c.large, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("updated_at", c.time, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_credentials_pk", ["tenant_id", "name"]),
      ).execute();
    },
    async down(db: AnyKysely) {
      for (const table of [T.credentials, T.approvals, T.policies]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
      const drop = db.schema.dropIndex("vargate_audit_log_agent_idx");
      await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
      await db.schema.alterTable(T.tenants).dropColumn("governance_prompt_template").execute();
    },
  };
}

/** Signed Merkle checkpoints of each tenant's audit chain. */
function checkpoints(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      // The primary key makes a checkpoint of one tree size unique per tenant; latest and list read it backwards.
      await tableOptions(
        dialect,
        db.schema
          .createTable(T.checkpoints)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("tree_size", c.bigint, (col) => col.notNull())
          .addColumn("root_hash", c.hash, (col) => col.notNull())
          .addColumn("timestamp", c.time, (col) => col.notNull())
          .addColumn("key_id", c.id, (col) => col.notNull())
          .addColumn("signature", c.text, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_checkpoints_pk", ["tenant_id", "tree_size"]),
      ).execute();
    },
    async down(db: AnyKysely) {
      await db.schema.dropTable(T.checkpoints).ifExists().execute();
    },
  };
}

/**
 * Running per-tool counts of governed records (policy counters read them instead of scanning the log), filled from
 * the records already stored.
 */
function toolCounts(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      await tableOptions(
        dialect,
        db.schema
          .createTable(T.toolCounts)
          .addColumn("counter_key", c.hash, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("scope", c.label, (col) => col.notNull())
          .addColumn("scope_id", c.id, (col) => col.notNull())
          .addColumn("tool", c.text, (col) => col.notNull())
          .addColumn("bucket", c.label, (col) => col.notNull())
          .addColumn("count", c.bigint, (col) => col.notNull()),
      ).execute();
      await db.schema
        .createIndex("vargate_tool_counts_scope_idx")
        .on(T.toolCounts)
        .columns(["tenant_id", "scope", "scope_id", "bucket"])
        .execute();
      // Backfill, a page of the log at a time (by primary key), so a large log does not sit in memory.
      let after: { tenant_id: string; seq: number } | undefined;
      for (;;) {
        let query = db
          .selectFrom(T.auditLog)
          .select(["tenant_id", "seq", "source", "session_id", "agent_id", "tool", "requested_at"])
          .where("source", "=", COUNTED_SOURCE)
          .orderBy("tenant_id")
          .orderBy("seq")
          .limit(5000);
        if (after) {
          const { tenant_id, seq } = after;
          query = query.where((eb) =>
            eb.or([eb("tenant_id", ">", tenant_id), eb.and([eb("tenant_id", "=", tenant_id), eb("seq", ">", seq)])]),
          );
        }
        const records = await query.execute();
        if (records.length === 0) break;
        await addCounts(db, dialect, countRows(records));
        const last = records[records.length - 1] as { tenant_id: string; seq: number | string };
        after = { tenant_id: last.tenant_id, seq: Number(last.seq) };
      }
    },
    async down(db: AnyKysely) {
      await db.schema.dropTable(T.toolCounts).ifExists().execute();
    },
  };
}

/**
 * When an approved call's execution was claimed, so that one whose runner stopped before it finished can be found
 * (`approvals.listStaleExecutions`). Executions claimed before this migration count from their approval.
 */
function executionClaims(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      await db.schema.alterTable(T.approvals).addColumn("execution_claimed_at", c.time).execute();
      await db
        .updateTable(T.approvals)
        .set((eb) => ({ execution_claimed_at: eb.ref("decided_at") }))
        .where("execution", "=", "claimed")
        .execute();
      await db.schema
        .createIndex("vargate_approvals_claims_idx")
        .on(T.approvals)
        .columns(["execution", "execution_claimed_at"])
        .execute();
    },
    async down(db: AnyKysely) {
      const drop = db.schema.dropIndex("vargate_approvals_claims_idx");
      await (dialect === "mysql" ? drop.on(T.approvals) : drop).execute();
      await db.schema.alterTable(T.approvals).dropColumn("execution_claimed_at").execute();
    },
  };
}

/**
 * The per-session uniqueness of upstream event ids (from `0002_sessions`) made partial on SQLite and PostgreSQL:
 * only records with an event id are in it. Governed calls and control-plane records have none, and NULLs never
 * conflict, so uniqueness is unchanged; their appends write one index entry fewer (on SQLite, with 16 sessions in
 * a batch, 16 fewer pages per commit). MySQL has no partial indexes and keeps the full one.
 */
function partialEventIndex(dialect: KyselyDialectName): Migration {
  const name = "vargate_audit_log_event_unique";
  const rebuild = async (db: AnyKysely, partial: boolean) => {
    if (dialect === "mysql") return;
    await db.schema.dropIndex(name).execute();
    const index = db.schema.createIndex(name).on(T.auditLog).columns(["tenant_id", "session_id", "event_id"]).unique();
    await (partial ? index.where(sql.ref("event_id"), "is not", null) : index).execute();
  };
  return {
    up: (db: AnyKysely) => rebuild(db, true),
    down: (db: AnyKysely) => rebuild(db, false),
  };
}

/**
 * Drops the index of `(tenant_id, session_id, source, decision)`: since `countBySession` also sums `severity`, it
 * reads table rows anyway and the session index serves it as well, while every append paid for one more index
 * entry (on SQLite, a page per session of the batch in every commit).
 */
function dropCountsIndex(dialect: KyselyDialectName): Migration {
  const name = "vargate_audit_log_counts_idx";
  return {
    async up(db: AnyKysely) {
      const drop = db.schema.dropIndex(name);
      await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
    },
    async down(db: AnyKysely) {
      await db.schema
        .createIndex(name)
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "source", "decision"])
        .execute();
    },
  };
}

/**
 * vargate's versioned migrations for `dialect`, keyed by name (`0001_init`, ...). Names sort in the order they
 * run. Use them with your own Kysely `Migrator` only if you must; `migrateVargate()` sets it up correctly.
 */
export function vargateMigrations(dialect: KyselyDialectName): Record<string, Migration> {
  return {
    "0001_init": init(dialect),
    "0002_sessions": sessions(dialect),
    "0003_governance": governance(dialect),
    "0004_checkpoints": checkpoints(dialect),
    "0005_tool_counts": toolCounts(dialect),
    "0006_execution_claims": executionClaims(dialect),
    "0007_partial_event_index": partialEventIndex(dialect),
    "0008_drop_counts_index": dropCountsIndex(dialect),
  };
}

/**
 * A Kysely `Migrator` over vargate's migrations, with its own bookkeeping tables (`vargate_migrations`,
 * `vargate_migrations_lock`). On PostgreSQL `schema` should be the schema the tables live in (the first on the
 * search path); `migrateVargate()` finds it for you, and also makes concurrent runs safe on SQLite.
 */
export function vargateMigrator(db: AnyKysely, dialect: KyselyDialectName, schema?: string): Migrator {
  return createMigrator(db, dialect, schema, false);
}

function createMigrator(db: AnyKysely, dialect: KyselyDialectName, schema: string | undefined, inTransaction: boolean) {
  const migrations = vargateMigrations(dialect);
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  return new Migrator({
    db,
    provider,
    migrationTableName: VARGATE_MIGRATION_TABLE,
    migrationLockTableName: VARGATE_MIGRATION_LOCK_TABLE,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    ...(inTransaction ? { disableTransactions: true } : {}),
  });
}

/**
 * Brings vargate's tables to the latest version. Idempotent, and safe when several processes run it at once:
 * PostgreSQL serialises runs with the migrator's advisory lock, MySQL with `GET_LOCK`, and SQLite (whose
 * migrator takes no lock) by running everything, bookkeeping included, in one `BEGIN IMMEDIATE` transaction.
 * Throws the driver's error unchanged (`SQLITE_BUSY` when another connection holds the write lock);
 * `kyselyStorage().migrate()` wraps it and waits out a busy SQLite file.
 */
export async function migrateVargate(db: AnyKysely, dialect: KyselyDialectName): Promise<void> {
  if (dialect === "sqlite") {
    await db.connection().execute(async (connection) => {
      await sql`begin immediate`.execute(connection);
      try {
        await run(createMigrator(connection, dialect, undefined, true));
        await sql`commit`.execute(connection);
      } catch (error) {
        await sql`rollback`.execute(connection).catch(() => undefined);
        throw error;
      }
    });
    return;
  }
  // Kysely's migrator looks for its table in every schema unless told which one; pin it to ours.
  const schema = dialect === "postgres" ? await currentSchema(db) : undefined;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await run(createMigrator(db, dialect, schema, false));
      return;
    } catch (error) {
      // Kysely's introspection reads every schema's catalog; a schema dropped concurrently by someone else makes
      // that read fail with 3F000 (invalid_schema_name). Nothing was changed, so trying again is safe.
      if (dialect !== "postgres" || attempt >= MIGRATE_ATTEMPTS || driverErrorCode(error) !== "3F000") throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

const MIGRATE_ATTEMPTS = 5;

async function run(migrator: Migrator): Promise<void> {
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

async function currentSchema(db: AnyKysely): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}
