import { type Migration, type MigrationProvider, Migrator, sql } from "kysely";
import { driverErrorCode } from "../dialects.js";
import { type KyselyDialectName, VARGATE_MIGRATION_LOCK_TABLE, VARGATE_MIGRATION_TABLE } from "../schema.js";
import { init } from "./0001-init.js";
import { sessions } from "./0002-sessions.js";
import { governance } from "./0003-governance.js";
import { checkpoints } from "./0004-checkpoints.js";
import { toolCounts } from "./0005-tool-counts.js";
import { executionClaims } from "./0006-execution-claims.js";
import { partialEventIndex } from "./0007-partial-event-index.js";
import { dropCountsIndex } from "./0008-drop-counts-index.js";
import { sessionIndexInBatches } from "./0009-session-index-in-batches.js";
import type { AnyKysely } from "./columns.js";

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
    "0009_session_index_in_batches": sessionIndexInBatches(dialect),
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
