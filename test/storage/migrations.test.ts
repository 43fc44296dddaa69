import { type Kysely, sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { vargateMigrator } from "../../src/storage/kysely/index.js";
import { createTestStorage, forEachTestDatabase, type TestStorage } from "../setup/databases.js";

// biome-ignore lint/suspicious/noExplicitAny: raw queries against tables that may not exist yet.
async function migrationNames(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from vargate_migrations order by name`.execute(db);
  return rows.map((row) => row.name);
}

// biome-ignore lint/suspicious/noExplicitAny: raw queries against tables that may not exist yet.
async function tableExists(db: Kysely<any>, table: string): Promise<boolean> {
  return sql`select 1 from ${sql.table(table)}`.execute(db).then(
    () => true,
    () => false,
  );
}

const TABLES = [
  "vargate_tenants",
  "vargate_api_keys",
  "vargate_agent_configs",
  "vargate_audit_log",
  "vargate_audit_heads",
  "vargate_migrations",
  "vargate_migrations_lock",
];

forEachTestDatabase("migrations", (database) => {
  const opened: TestStorage[] = [];
  const open = async (options: { migrate?: boolean } = {}) => {
    const test = await createTestStorage(database, options);
    opened.push(test);
    return test;
  };
  afterEach(async () => {
    for (const test of opened.splice(0)) await test.cleanup();
  });

  it("migrates an empty database to the latest version, with prefixed tables only", async () => {
    const { storage, db } = await open({ migrate: false });
    for (const table of TABLES) expect(await tableExists(db, table)).toBe(false);
    await storage.migrate();
    for (const table of TABLES) expect(await tableExists(db, table)).toBe(true);
    expect(await migrationNames(db)).toEqual(["0001_init"]);
    // Kysely's default bookkeeping tables stay free for the application's own migrations.
    expect(await tableExists(db, "kysely_migration")).toBe(false);
  });

  it("is a no-op when run again, and keeps the data", async () => {
    const { storage, db } = await open();
    await storage.audit.append("acme", [
      {
        action_id: "a-1",
        session_id: null,
        agent_id: null,
        event_id: null,
        actor: null,
        source: "control_plane",
        tool: "control_plane",
        method: "test",
        decision: "allow",
        severity: "none",
        violations: [],
        input: {},
        policy_version: null,
        requested_at: "2025-01-01T00:00:00.000Z",
      },
    ]);
    await storage.migrate();
    await storage.migrate();
    expect(await migrationNames(db)).toEqual(["0001_init"]);
    expect(await storage.audit.head("acme")).toMatchObject({ seq: 1 });
  });

  it("lets two storages migrate the same empty database at once", async () => {
    const test = await open({ migrate: false });
    const other = test.connect();
    await Promise.all([test.storage.migrate(), other.migrate(), test.storage.migrate()]);
    expect(await migrationNames(test.db)).toEqual(["0001_init"]);
    await other.audit.append("acme", []);
    expect(await test.storage.tenants.list()).toEqual([]);
  });

  it("migrates down and up again", async () => {
    const { storage, db } = await open();
    const schema =
      database.dialect === "postgres"
        ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
        : undefined;
    const { error } = await vargateMigrator(db, database.dialect, schema).migrateDown();
    expect(error).toBeUndefined();
    expect(await tableExists(db, "vargate_audit_log")).toBe(false);
    await storage.migrate();
    expect(await tableExists(db, "vargate_audit_log")).toBe(true);
  });

  if (database.name === "postgres") {
    it("migrates a schema while another schema of the same database already has vargate's tables", async () => {
      const first = await open();
      const second = await open({ migrate: false });
      await second.storage.migrate();
      expect(await migrationNames(second.db)).toEqual(["0001_init"]);
      expect(await tableExists(second.db, "vargate_audit_log")).toBe(true);
      expect(await first.storage.tenants.list()).toEqual([]);
    });
  }
});

describe("migration helpers", () => {
  it("names every migration so they sort in the order they run", async () => {
    const { vargateMigrations } = await import("../../src/storage/kysely/index.js");
    const names = Object.keys(vargateMigrations("sqlite"));
    expect(names).toEqual([...names].sort());
    expect(names[0]).toBe("0001_init");
  });
});
