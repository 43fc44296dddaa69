import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { CamelCasePlugin, Kysely, SqliteDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isVargateError } from "../../src/errors.js";
import { VargateGovernor } from "../../src/governor.js";
import { kyselyStorage, kyselyStorageFromUrl, parseDatabaseUrl } from "../../src/storage/kysely/index.js";
import { createTestStorage, forEachTestDatabase } from "../setup/databases.js";

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a failure");
}

describe("parseDatabaseUrl", () => {
  it.each([
    ["./vargate.db", { dialect: "sqlite", filename: "./vargate.db" }],
    ["/var/lib/vargate/vargate.db", { dialect: "sqlite", filename: "/var/lib/vargate/vargate.db" }],
    ["C:\\data\\vargate.db", { dialect: "sqlite", filename: "C:\\data\\vargate.db" }],
    [":memory:", { dialect: "sqlite", filename: ":memory:" }],
    ["sqlite::memory:", { dialect: "sqlite", filename: ":memory:" }],
    ["sqlite:data/vargate.db", { dialect: "sqlite", filename: "data/vargate.db" }],
    ["sqlite://data/vargate.db", { dialect: "sqlite", filename: "data/vargate.db" }],
    ["sqlite:///srv/vargate.db", { dialect: "sqlite", filename: "/srv/vargate.db" }],
    ["file:///srv/vargate.db", { dialect: "sqlite", filename: "/srv/vargate.db" }],
    ["postgres://u:p@db:5432/app", { dialect: "postgres", connectionString: "postgres://u:p@db:5432/app" }],
    ["postgresql://db/app", { dialect: "postgres", connectionString: "postgresql://db/app" }],
    ["mysql://root@db:3306/app", { dialect: "mysql", uri: "mysql://root@db:3306/app" }],
    ["mariadb://root@db/app", { dialect: "mysql", uri: "mysql://root@db/app" }],
  ])("reads %s", (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  it("refuses an unknown scheme without repeating the URL (it may hold a password)", () => {
    const error = (() => {
      try {
        parseDatabaseUrl("redis://user:s3cret@cache:6379/0");
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(isVargateError(error, "INVALID_CONFIG")).toBe(true);
    expect(error?.message).toContain('"redis:"');
    expect(error?.message).not.toContain("s3cret");
  });

  it("refuses an empty URL", () => {
    expect(() => parseDatabaseUrl("  ")).toThrow(/non-empty/);
    expect(() => parseDatabaseUrl("sqlite:")).toThrow(/file path/);
  });
});

describe("kyselyStorageFromUrl", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vargate-url-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds synchronously and connects only on first use", async () => {
    const storage = kyselyStorageFromUrl("postgres://user:s3cret@127.0.0.1:1/nothing");
    expect(storage.name).toBe("kysely:postgres");
    expect(storage.capabilities.multiProcess).toBe(true);
    await storage.close();
    expect(kyselyStorageFromUrl("mariadb://root@127.0.0.1:1/x").name).toBe("kysely:mysql");
    const memory = kyselyStorageFromUrl(":memory:");
    expect(memory).toMatchObject({ name: "kysely:sqlite", capabilities: { multiProcess: false } });
    await memory.close();
  });

  it.each([
    ["PostgreSQL", "postgres://user:s3cret@127.0.0.1:1/nothing"],
    ["MySQL", "mysql://user:s3cret@127.0.0.1:1/nothing"],
  ])("reports an unreachable %s server as a StorageError without the URL", async (_label, url) => {
    const storage = kyselyStorageFromUrl(url);
    const error = await failure(storage.migrate());
    await storage.close();
    expect(isVargateError(error, "STORAGE_ERROR")).toBe(true);
    expect(error.message).not.toMatch(/s3cret|127\.0\.0\.1|user/);
    expect(error.cause).toBeDefined();
  });

  it("keeps a SQLite file in WAL mode and its data across reopening", async () => {
    const file = join(dir, "durable.db");
    const first = new VargateGovernor({ storage: kyselyStorageFromUrl(file) });
    await first.migrate();
    const { api_key } = await first.tenants.create({ tenant_id: "acme" });
    await first.close();
    const journal = new Database(file);
    expect(journal.pragma("journal_mode", { simple: true })).toBe("wal");
    journal.close();

    const second = new VargateGovernor({ storage: kyselyStorageFromUrl(`sqlite:${file}`) });
    await second.migrate();
    expect(await second.tenants.list()).toHaveLength(1);
    const identity = await second.authenticate(
      new Request("http://local/", { headers: { authorization: `Bearer ${api_key}` } }),
    );
    expect(identity.tenantId).toBe("acme");
    expect(await second.audit.verify("acme")).toMatchObject({ valid: true, record_count: 1 });
    await second.close();
  });

  it("refuses work after close with a StorageError", async () => {
    const storage = kyselyStorageFromUrl(":memory:");
    await storage.migrate();
    await storage.close();
    await storage.close();
    expect(isVargateError(await failure(storage.tenants.list()), "STORAGE_ERROR")).toBe(true);
  });
});

describe("kyselyStorage with your own Kysely", () => {
  it("refuses an unknown dialect or something that is not Kysely", () => {
    const db = new Kysely({ dialect: new SqliteDialect({ database: new Database(":memory:") }) });
    expect(() => kyselyStorage({ dialect: "oracle" as "sqlite", db })).toThrow(/dialect/);
    expect(() => kyselyStorage({ dialect: "sqlite", db: {} as Kysely<unknown> })).toThrow(/Kysely/);
  });

  it("ignores the application's plugins and leaves the instance open on close", async () => {
    // The application's view of the table, through its CamelCasePlugin.
    const db = new Kysely<{ vargate_tenants: { tenantId: string } }>({
      dialect: new SqliteDialect({ database: new Database(":memory:") }),
      plugins: [new CamelCasePlugin()],
    });
    const governor = new VargateGovernor({ storage: kyselyStorage({ dialect: "sqlite", db, multiProcess: false }) });
    await governor.migrate();
    await governor.tenants.create({ tenant_id: "acme", max_session_hours: 2.5 });
    expect(await governor.tenants.get("acme")).toMatchObject({ tenant_id: "acme", max_session_hours: 2.5 });
    await governor.close();
    // Still usable by its owner, through the owner's plugins.
    const rows = await db.selectFrom("vargate_tenants").select("tenantId").execute();
    expect(rows).toEqual([{ tenantId: "acme" }]);
    await db.destroy();
  });
});

forEachTestDatabase("driver failures", (database) => {
  it("become StorageErrors without SQL, keeping the driver error as cause", async () => {
    const test = await createTestStorage(database);
    try {
      await test.db.schema.dropTable("vargate_tenants").execute();
      const error = await failure(test.storage.tenants.list());
      expect(isVargateError(error, "STORAGE_ERROR")).toBe(true);
      expect(error.message).toMatch(/tenants\.list/);
      expect(error.message).not.toMatch(/select|from|vargate_tenants|:\/\//i);
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      await test.cleanup();
    }
  });
});
