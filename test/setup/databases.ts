import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, sql } from "kysely";
import { createPool } from "mysql2";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from "vitest";
import { VargateGovernor } from "../../src/governor.js";
import {
  type KyselyDialectName,
  kyselyStorage,
  kyselyStorageFromUrl,
  type VargateDatabase,
} from "../../src/storage/kysely/index.js";
import type { VargateStorage } from "../../src/storage/port.js";

// The databases tests run against, after Kysely's DIALECTS pattern. SQLite always runs; PostgreSQL and
// MySQL/MariaDB run when their URL is set. VARGATE_TEST_REQUIRE_DATABASES=postgres,mysql turns a missing URL
// into a failing test instead of a skipped block.

export type TestDatabaseName = "sqlite-file" | "sqlite-memory" | "postgres" | "mysql";

export interface TestDatabase {
  name: TestDatabaseName;
  /** Shown in describe titles. */
  label: string;
  dialect: KyselyDialectName;
  /** The server URL from the environment (postgres, mysql); undefined for SQLite or when unset. */
  serverUrl: string | undefined;
  /** The environment variable that enables it, if any. */
  envVar: string | undefined;
  available: boolean;
  /** Listed in VARGATE_TEST_REQUIRE_DATABASES: a missing URL fails instead of skipping. */
  required: boolean;
  /** Whether a second storage opened on the same database (see `TestStorage.connect`) has its own connections. */
  sharedAcrossConnections: boolean;
}

const required = new Set(
  (process.env.VARGATE_TEST_REQUIRE_DATABASES ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .map((name) => (name === "mariadb" ? "mysql" : name))
    .filter(Boolean),
);

function serverDatabase(name: "postgres" | "mysql", label: string, envVar: string): TestDatabase {
  const serverUrl = process.env[envVar] || undefined;
  return {
    name,
    label,
    dialect: name,
    serverUrl,
    envVar,
    available: serverUrl !== undefined,
    required: required.has(name),
    sharedAcrossConnections: true,
  };
}

export const TEST_DATABASES: readonly TestDatabase[] = [
  {
    name: "sqlite-file",
    label: "SQLite file",
    dialect: "sqlite",
    serverUrl: undefined,
    envVar: undefined,
    available: true,
    required: false,
    sharedAcrossConnections: true,
  },
  {
    name: "sqlite-memory",
    label: "SQLite :memory:",
    dialect: "sqlite",
    serverUrl: undefined,
    envVar: undefined,
    available: true,
    required: false,
    sharedAcrossConnections: false,
  },
  serverDatabase("postgres", "PostgreSQL", "VARGATE_TEST_POSTGRES_URL"),
  serverDatabase("mysql", "MySQL/MariaDB", "VARGATE_TEST_MYSQL_URL"),
];

/** The test database called `name`. */
export function testDatabase(name: TestDatabaseName): TestDatabase {
  const database = TEST_DATABASES.find((candidate) => candidate.name === name);
  if (!database) throw new Error(`Unknown test database ${name}`);
  return database;
}

/**
 * Registers `describe("<title> [<label>]")` once per test database (or those named in `only`). An unconfigured
 * database shows as a skipped block, or as a failing test when VARGATE_TEST_REQUIRE_DATABASES lists it.
 */
export function forEachTestDatabase(
  title: string,
  fn: (database: TestDatabase) => void | Promise<void>,
  options: { only?: readonly TestDatabaseName[] } = {},
): void {
  for (const database of TEST_DATABASES) {
    if (options.only && !options.only.includes(database.name)) continue;
    const name = `${title} [${database.label}]`;
    if (!database.available && database.required) {
      describe(name, () => {
        it(`is required but ${database.envVar} is not set`, () => {
          throw new Error(`VARGATE_TEST_REQUIRE_DATABASES lists ${database.name}, but ${database.envVar} is not set`);
        });
      });
      continue;
    }
    describe.skipIf(!database.available)(name, () => fn(database));
  }
}

/** An isolated, migrated storage: its own SQLite file, PostgreSQL schema or MySQL database. */
export interface TestStorage {
  database: TestDatabase;
  storage: VargateStorage;
  /** The Kysely instance behind `storage`, for direct SQL (e.g. tampering with the audit log). */
  db: Kysely<VargateDatabase>;
  /** A URL that reaches this isolated database: for `kyselyStorageFromUrl` or `vargate serve --database`. */
  url: string;
  /** Another storage on the same database with its own connections (SQLite :memory: shares `db`). */
  connect(): VargateStorage;
  /** Closes every storage and connection, then drops the schema, database or file. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Creates an isolated storage on `database`, migrated unless `migrate: false`. Call `cleanup()` when done. */
export async function createTestStorage(
  database: TestDatabase | TestDatabaseName,
  options: { migrate?: boolean } = {},
): Promise<TestStorage> {
  const target = typeof database === "string" ? testDatabase(database) : database;
  const namespace = await createNamespace(target);
  const storage = kyselyStorage({
    dialect: target.dialect,
    db: namespace.db,
    multiProcess: target.sharedAcrossConnections,
  });
  const others: VargateStorage[] = [];
  let cleaned = false;
  const result: TestStorage = {
    database: target,
    storage,
    db: namespace.db,
    url: namespace.url,
    connect() {
      const other = target.sharedAcrossConnections
        ? kyselyStorageFromUrl(namespace.url)
        : kyselyStorage({ dialect: target.dialect, db: namespace.db, multiProcess: false });
      others.push(other);
      return other;
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      for (const other of others) await other.close();
      await storage.close();
      await namespace.db.destroy();
      await namespace.drop();
    },
  };
  if (options.migrate !== false) {
    try {
      await storage.migrate();
    } catch (error) {
      await result.cleanup();
      throw error;
    }
  }
  return result;
}

/**
 * Registers hooks that give the tests of the enclosing describe one `TestStorage` on `database` and a governor over
 * it, set up before the first test and cleaned up after the last. Read them from the returned object in tests.
 */
export function useSharedGovernor(database: TestDatabase | TestDatabaseName): {
  readonly test: TestStorage;
  readonly governor: VargateGovernor;
} {
  let test: TestStorage | undefined;
  let governor: VargateGovernor | undefined;
  beforeAll(async () => {
    test = await createTestStorage(database);
    governor = new VargateGovernor({ storage: test.storage });
  });
  afterAll(async () => {
    await test?.cleanup();
  });
  const missing = () => new Error("useSharedGovernor: no storage outside the describe's tests");
  return {
    get test() {
      if (!test) throw missing();
      return test;
    },
    get governor() {
      if (!governor) throw missing();
      return governor;
    },
  };
}

/**
 * Registers hooks that give every test in the enclosing describe a fresh `TestStorage` on `database`, cleaned
 * up after the test. Returns an accessor for the current one.
 */
export function useTestStorage(database: TestDatabase | TestDatabaseName): () => TestStorage {
  let current: TestStorage | undefined;
  beforeEach(async () => {
    current = await createTestStorage(database);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error("useTestStorage: no storage outside a test");
    return current;
  };
}

interface Namespace {
  db: Kysely<VargateDatabase>;
  url: string;
  drop(): Promise<void>;
}

const uniqueName = () => `vargate_test_${randomBytes(6).toString("hex")}`;

async function createNamespace(database: TestDatabase): Promise<Namespace> {
  switch (database.name) {
    case "sqlite-memory":
      return {
        db: new Kysely({ dialect: new SqliteDialect({ database: new Database(":memory:") }) }),
        url: ":memory:",
        drop: async () => undefined,
      };
    case "sqlite-file": {
      const dir = await mkdtemp(join(tmpdir(), "vargate-test-"));
      const url = join(dir, "vargate.db");
      const file = new Database(url);
      file.pragma("journal_mode = WAL");
      file.pragma("busy_timeout = 0");
      return {
        db: new Kysely({ dialect: new SqliteDialect({ database: file }) }),
        url,
        drop: () => rm(dir, { recursive: true, force: true }),
      };
    }
    case "postgres":
      return createPostgresSchema(requireUrl(database));
    case "mysql":
      return createMysqlDatabase(requireUrl(database));
  }
}

function requireUrl(database: TestDatabase): string {
  if (!database.serverUrl) throw new Error(`${database.envVar} is not set`);
  return database.serverUrl;
}

async function createPostgresSchema(serverUrl: string): Promise<Namespace> {
  const schema = uniqueName();
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create schema "${schema}"`);
  const url = new URL(serverUrl);
  // libpq's `options` parameter: every connection of the pool starts with the schema first on its search path.
  url.searchParams.set("options", `-c search_path=${schema}`);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 10 });
  pool.on("error", () => undefined);
  return {
    db: new Kysely({ dialect: new PostgresDialect({ pool }) }),
    url: url.toString(),
    drop: () => admin(`drop schema if exists "${schema}" cascade`),
  };
}

async function createMysqlDatabase(serverUrl: string): Promise<Namespace> {
  const name = uniqueName();
  const admin = async (statement: string) => {
    const db = new Kysely({ dialect: new MysqlDialect({ pool: createPool({ uri: serverUrl, connectionLimit: 1 }) }) });
    try {
      await sql.raw(statement).execute(db);
    } finally {
      await db.destroy();
    }
  };
  await admin(`create database \`${name}\` character set utf8mb4 collate utf8mb4_bin`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    db: new Kysely({ dialect: new MysqlDialect({ pool: createPool({ uri: url.toString(), connectionLimit: 10 }) }) }),
    url: url.toString(),
    drop: () => admin(`drop database if exists \`${name}\``),
  };
}
