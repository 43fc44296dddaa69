import {
  type CreateTableBuilder,
  type Expression,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from "kysely";
import {
  type KyselyDialectName,
  VARGATE_TABLES as T,
  VARGATE_MIGRATION_LOCK_TABLE,
  VARGATE_MIGRATION_TABLE,
} from "./schema.js";

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
 * vargate's versioned migrations for `dialect`, keyed by name (`0001_init`, ...). Names sort in the order they
 * run. Use them with your own Kysely `Migrator` only if you must; `migrateVargate()` sets it up correctly.
 */
export function vargateMigrations(dialect: KyselyDialectName): Record<string, Migration> {
  return { "0001_init": init(dialect) };
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
  await run(createMigrator(db, dialect, schema, false));
}

async function run(migrator: Migrator): Promise<void> {
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

async function currentSchema(db: AnyKysely): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}
