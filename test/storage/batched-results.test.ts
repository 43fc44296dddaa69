import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/types.js";
import { kyselyStorage, type VargateDatabase } from "../../src/storage/kysely/index.js";
import type { VargateStorage } from "../../src/storage/port.js";

// Results set together share a batch (the conformance suite checks each still gets its own answer); this counts
// what the database is asked to run for them.
describe("audit results set together", () => {
  let dir: string;
  let storage: VargateStorage;
  const statements: string[] = [];
  const count = (prefix: string) => statements.filter((text) => text.toLowerCase().startsWith(prefix)).length;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vargate-results-"));
    const database = new Database(join(dir, "results.db"));
    // Every statement Kysely's driver runs is prepared first, transaction control included.
    const prepare = database.prepare.bind(database);
    database.prepare = ((source: string) => {
      statements.push(source);
      return prepare(source);
    }) as typeof database.prepare;
    const db = new Kysely<VargateDatabase>({ dialect: new SqliteDialect({ database }) });
    storage = kyselyStorage({ db, dialect: "sqlite", destroyOnClose: true });
    await storage.migrate();
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const entries = (count: number, fields: Partial<AuditEntry> = {}): AuditEntry[] =>
    Array.from({ length: count }, (_, index) => ({
      action_id: randomUUID(),
      session_id: "vs-1",
      agent_id: null,
      event_id: `sevt_${index}`,
      actor: null,
      source: "mcp_observed",
      tool: "bash",
      method: "tool_use",
      decision: "observed",
      severity: "none",
      violations: [],
      input: { index },
      policy_version: null,
      requested_at: "2026-04-10T14:30:00.000Z",
      ...fields,
    }));

  it("run as one UPDATE without a transaction when one statement sets them all", async () => {
    const records = await storage.audit.append("t", entries(10));
    statements.length = 0;
    const answers = await Promise.all(
      records.map((record, index) => storage.audit.setActionResult("t", record.action_id, { index })),
    );
    expect(answers).toEqual(Array(10).fill(true));
    expect(count("update")).toBe(1);
    expect(count("begin")).toBe(0);
    expect((await storage.audit.get("t", records[9]?.action_id ?? ""))?.result).toEqual({ index: 9 });
  });

  it("run in one transaction when they need more than one statement", async () => {
    const first = await storage.audit.append("t", entries(3, { session_id: "vs-1" }));
    const second = await storage.audit.append("t", entries(3, { session_id: "vs-2" }));
    statements.length = 0;
    const answers = await Promise.all([
      ...first.map((_, index) => storage.audit.setResult("t", "vs-1", `sevt_${index}`, { session: 1, index })),
      ...second.map((_, index) => storage.audit.setResult("t", "vs-2", `sevt_${index}`, { session: 2, index })),
    ]);
    expect(answers).toEqual(Array(6).fill(true));
    expect(count("update")).toBe(2);
    expect(count("begin")).toBe(1);
  });
});
