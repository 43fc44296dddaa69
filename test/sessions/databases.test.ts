// Session limits and the consumer on real databases, with two governor instances sharing one database.
import { afterEach, expect, it } from "vitest";
import { isVargateError } from "../../src/errors.js";
import { createTestStorage, forEachTestDatabase, type TestStorage } from "../setup/databases.js";
import { bashToolUses, eventually, gate, type SessionHarness, startSessionHarness } from "./harness.js";

let harness: SessionHarness | undefined;
let databases: TestStorage[] = [];
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const database of databases) await database.cleanup();
  databases = [];
});

forEachTestDatabase(
  "governed sessions",
  (database) => {
    it("gives exactly 10 of 20 concurrent creates from two governor instances against a limit of 10", async () => {
      const first = await createTestStorage(database);
      const second = await first.connect();
      databases.push(first);
      harness = await startSessionHarness({ storage: first.storage, tenant: { max_concurrent_sessions: 10 } });
      const other = harness.secondGovernor({ storage: second });
      const config = await harness.governor.agents.create(harness.tenantId, { name: "a" });
      const governors = [harness.governor, other];
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          governors[i % 2]?.sessions.create(harness?.tenantId as string, { agent_id: config.id }),
        ),
      );
      const rejected = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
      expect(rejected).toHaveLength(10);
      for (const error of rejected) {
        expect(isVargateError(error, "SESSION_LIMIT_EXCEEDED")).toBe(true);
        expect((error as Error).message).toBe("Max concurrent sessions exceeded (10/10)");
      }
      expect(await harness.governor.sessions.list(harness.tenantId, { status: "active" })).toHaveLength(10);
      await second.close();
    });

    it("records 1,000 scripted tool uses exactly once across drops every 50 frames and a takeover", async () => {
      const first = await createTestStorage(database);
      const second = await first.connect();
      databases.push(first);
      harness = await startSessionHarness({ storage: first.storage });
      const { governor, fake, tenantId } = harness;
      const config = await governor.agents.create(tenantId, { name: "a" });
      const halfway = gate();
      fake.setDefaultScript([
        ...bashToolUses(0, 500),
        { type: "wait", until: halfway.promise },
        ...bashToolUses(500, 500),
      ]);
      fake.faults.dropStreams({ afterFrames: 50, mode: "destroy" });
      const created = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });
      const observed = async () =>
        (await governor.sessions.audit(tenantId, created.session_id, { limit: 10_000 })).filter(
          (record) => record.source === "mcp_observed",
        );

      await eventually(async () => (await observed()).length >= 200, 2000);
      await governor.stop();
      const restarted = harness.secondGovernor({ storage: second });
      restarted.start();
      halfway.release();

      await eventually(async () => {
        const records = await observed();
        return records.length >= 1000 && records.every((record) => record.result !== null);
      }, 4000);
      await fake.settled(created.anthropic_session_id as string, { timeoutMs: 60_000 });
      const records = await observed();
      expect(records).toHaveLength(1000);
      expect(new Set(records.map((record) => record.event_id)).size).toBe(1000);
      expect((await restarted.audit.verify(tenantId)).valid).toBe(true);
      await restarted.stop();
      await second.close();
      // A slow database on a loaded CI machine needs the room; nothing here measures time.
    }, 180_000);
  },
  { only: ["sqlite-file", "postgres", "mysql"] },
);
