import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { READ_BATCH } from "../../src/storage/kysely/decision-inputs.js";
import { kyselyStorage, type VargateDatabase } from "../../src/storage/kysely/index.js";
import type { VargateStorage } from "../../src/storage/port.js";

// The reads of governed calls issued together share one statement (the conformance suite checks that each still
// gets its own values); this counts the statements.
describe("decision input reads issued together", () => {
  let dir: string;
  let storage: VargateStorage;
  const statements: string[] = [];
  const reads = () => statements.filter((text) => text.includes("'policy' as")).length;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "vargate-reads-"));
    const db = new Kysely<VargateDatabase>({
      dialect: new SqliteDialect({ database: new Database(join(dir, "reads.db")) }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    });
    storage = kyselyStorage({ db, dialect: "sqlite", destroyOnClose: true });
    await storage.migrate();
    statements.length = 0;
  });
  afterEach(async () => {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  });

  const since = "2026-04-10T14:30:00.000Z";
  const readAll = (count: number, filter: (index: number) => { tenant?: string; agent?: string; since?: string }) =>
    Promise.all(
      Array.from({ length: count }, (_, index) => {
        const chosen = filter(index);
        return storage.decisionInputs?.read(chosen.tenant ?? "t", {
          session_id: `vs-${index}`,
          agent_id: chosen.agent ?? "agent-1",
          since: chosen.since ?? since,
        });
      }),
    );

  it("share one statement, up to READ_BATCH calls per statement", async () => {
    await readAll(READ_BATCH, () => ({}));
    expect(reads()).toBe(1);
    statements.length = 0;
    await readAll(READ_BATCH + 1, () => ({}));
    expect(reads()).toBe(2);
  });

  it("share one only within a tenant, an agent and the hour their window starts in", async () => {
    await readAll(
      6,
      (index) => [{}, { tenant: "t2" }, { agent: "agent-2" }, { since: "2026-04-10T15:00:00.000Z" }][index % 4] ?? {},
    );
    expect(reads()).toBe(4);
  });

  it("run at once when issued alone", async () => {
    await readAll(1, () => ({}));
    await readAll(1, () => ({}));
    expect(reads()).toBe(2);
  });
});
