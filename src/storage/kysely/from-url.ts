import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";
import { type Dialect, Kysely, MysqlDialect, type MysqlPool, PostgresDialect, SqliteDialect } from "kysely";
import type { Pool as PgPool } from "pg";
import { ConfigError } from "../../errors.js";
import type { VargateStorage } from "../port.js";
import type { KyselyDialectName, VargateDatabase } from "./schema.js";
import { kyselyStorage } from "./storage.js";

/** Where a database URL points. */
export type DatabaseTarget =
  | { dialect: "sqlite"; filename: string }
  | { dialect: "postgres"; connectionString: string }
  | { dialect: "mysql"; uri: string };

export interface KyselyStorageFromUrlOptions {
  /** PostgreSQL and MySQL: connections in the pool. @default 10 */
  poolSize?: number;
  /** SQLite: how long an operation waits for another connection's write lock before failing. @default 15000 */
  busyTimeoutMs?: number;
  /** SQLite files: worker threads that verify a long chain side by side (see `KyselyStorageOptions`). */
  verifyThreads?: number;
}

/**
 * Storage for a database URL, built synchronously. The driver (`better-sqlite3`, `pg` or `mysql2`, optional peer
 * dependencies) is imported on first use, so only the one you use needs installing; a missing driver fails that
 * first operation with a `ConfigError` that says what to install.
 *
 * - a file path, `sqlite:<path>`, `sqlite:///abs/path`, `file:` URL: SQLite in WAL mode (created if missing);
 * - `:memory:` (or `sqlite::memory:`): a private in-memory SQLite database, gone on close;
 * - `postgres://` or `postgresql://`: PostgreSQL (`?options=-c search_path=myschema` picks a schema);
 * - `mysql://` or `mariadb://`: MySQL or MariaDB.
 *
 * `close()` releases the connections. An unsupported URL throws a `ConfigError` naming only its scheme.
 */
export function kyselyStorageFromUrl(url: string, options: KyselyStorageFromUrlOptions = {}): VargateStorage {
  const target = parseDatabaseUrl(url);
  const db = new Kysely<VargateDatabase>({ dialect: createDialect(target, options) });
  const memory = target.dialect === "sqlite" && target.filename === ":memory:";
  return kyselyStorage({
    dialect: target.dialect,
    db,
    multiProcess: !memory,
    destroyOnClose: true,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    ...(options.verifyThreads === undefined ? {} : { verifyThreads: options.verifyThreads }),
  });
}

/**
 * Classifies a database URL without touching the network or the file system. Throws `ConfigError` for an empty
 * string or an unknown scheme; the message never repeats the URL (it may hold a password).
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (typeof url !== "string" || url.trim() === "") throw new ConfigError("database URL: expected a non-empty string");
  const value = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();

  if (scheme === "postgres" || scheme === "postgresql") return { dialect: "postgres", connectionString: value };
  if (scheme === "mysql") return { dialect: "mysql", uri: value };
  if (scheme === "mariadb") return { dialect: "mysql", uri: `mysql:${value.slice("mariadb:".length)}` };
  if (scheme === "file") return { dialect: "sqlite", filename: fileURLToPath(value) };
  if (scheme === "sqlite") {
    let filename = value.slice("sqlite:".length);
    if (filename.startsWith("//")) filename = filename.slice(2);
    if (filename === "") throw new ConfigError("database URL: sqlite: needs a file path or :memory:");
    return { dialect: "sqlite", filename };
  }
  // Anything else that looks like a URL is a mistake, not a file name.
  if (scheme !== undefined && value.slice(scheme.length + 1).startsWith("//")) {
    throw new ConfigError(
      `database URL: unsupported scheme "${scheme}:"; use a SQLite file path, :memory:, postgres:// or mysql://`,
    );
  }
  return { dialect: "sqlite", filename: value };
}

function createDialect(target: DatabaseTarget, options: KyselyStorageFromUrlOptions): Dialect {
  const poolSize = options.poolSize ?? 10;
  switch (target.dialect) {
    case "sqlite":
      return new SqliteDialect({ database: () => openSqlite(target.filename) });
    case "postgres":
      return new PostgresDialect({
        pool: async () => {
          const pg = await loadDriver<{ Pool: typeof PgPool }>("pg", "postgres");
          const pool = new pg.Pool({ connectionString: target.connectionString, max: poolSize });
          // An idle client that loses its server emits "error" on the pool; unhandled, it would end the process.
          // The next query reports the failure instead.
          pool.on("error", () => undefined);
          return pool;
        },
      });
    case "mysql":
      return new MysqlDialect({
        pool: async () => {
          const mysql = await loadDriver<MysqlModule>("mysql2", "mysql");
          return mysql.createPool({ uri: target.uri, connectionLimit: poolSize });
        },
      });
  }
}

type MysqlModule = { createPool(config: { uri: string; connectionLimit: number }): MysqlPool };

async function openSqlite(filename: string) {
  const Database = await loadDriver<typeof BetterSqlite3>("better-sqlite3", "sqlite");
  // Opening may wait (blocking) for another process to finish recovery or the switch to WAL.
  const database = new Database(filename, { timeout: 5000 });
  if (filename !== ":memory:" && database.pragma("journal_mode", { simple: true }) !== "wal") {
    // WAL: readers never block the writer and the writer never blocks readers.
    database.pragma("journal_mode = WAL");
  }
  // Every commit reaches the disk before it returns, so an appended audit record survives a power loss. Set
  // explicitly: SQLite's default depends on whether the file was already in WAL mode when opened (FULL the first
  // time, NORMAL on every later open), and durability must not.
  if (filename !== ":memory:") database.pragma("synchronous = FULL");
  // From here on vargate waits for locks itself, asynchronously (see Runner.retrying): a blocking busy wait
  // would freeze the event loop, and could not end while another connection in this process holds the lock.
  database.pragma("busy_timeout = 0");
  return withStatementCache(database);
}

/** Distinct SQL texts whose prepared statements are kept; Kysely prepares every query anew otherwise. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The database as Kysely's SQLite dialect sees it, with prepared statements reused by SQL text (least recently used
 * first out). Reuse is safe: the dialect runs one query at a time on its single connection, so a cached statement
 * is never executing when it is handed out again.
 */
function withStatementCache(database: BetterSqlite3.Database) {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

const DRIVER_LABELS: Record<KyselyDialectName, string> = {
  sqlite: "SQLite",
  postgres: "PostgreSQL",
  mysql: "MySQL/MariaDB",
};

async function loadDriver<T>(specifier: "better-sqlite3" | "pg" | "mysql2", dialect: KyselyDialectName): Promise<T> {
  let module: { default?: unknown };
  try {
    module = (await import(specifier)) as { default?: unknown };
  } catch {
    throw new ConfigError(
      `${DRIVER_LABELS[dialect]} storage needs the optional peer dependency "${specifier}": npm install ${specifier}`,
    );
  }
  return (module.default ?? module) as T;
}
