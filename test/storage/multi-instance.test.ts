import { afterEach, expect, it } from "vitest";
import { VargateGovernor } from "../../src/governor.js";
import { createTestStorage, forEachTestDatabase, type TestStorage } from "../setup/databases.js";

// Two governors, each with its own storage and connections, on one database: what two processes would do.
forEachTestDatabase(
  "two governor instances on one database",
  (database) => {
    let test: TestStorage | undefined;
    afterEach(async () => {
      await test?.cleanup();
    });

    async function twoGovernors() {
      test = await createTestStorage(database, { migrate: false });
      const first = new VargateGovernor({ storage: test.storage });
      const second = new VargateGovernor({ storage: test.connect() });
      await Promise.all([first.migrate(), second.migrate()]);
      return [first, second] as const;
    }

    it("200 concurrent appends for one tenant leave one linear chain that verifies", async () => {
      const [first, second] = await twoGovernors();
      await first.tenants.create({ tenant_id: "acme" });
      const created = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : second).agents.create("acme", { name: `a${i}` })),
      );
      expect(new Set(created.map((config) => config.id)).size).toBe(200);

      for (const governor of [first, second]) {
        expect(await governor.audit.verify("acme")).toMatchObject({ valid: true, record_count: 201 });
      }
      const seqs: number[] = [];
      for await (const record of first.audit.records("acme")) seqs.push(record.seq);
      expect(seqs).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
      expect(await second.agents.list("acme")).toHaveLength(200);
    });

    it("racing appends through the storage port from both instances never fork the chain", async () => {
      const [first, second] = await twoGovernors();
      const entry = (i: number) => ({
        action_id: `action-${i}`,
        session_id: `vs-${i % 7}`,
        agent_id: null,
        event_id: null,
        actor: null,
        source: "mcp_observed" as const,
        tool: "bash",
        method: "tools/call",
        decision: "observed" as const,
        severity: "none" as const,
        violations: [],
        input: { i },
        policy_version: null,
        requested_at: "2025-01-01T00:00:00.000Z",
      });
      // Batches of different sizes interleave; each must land contiguously.
      const batches = Array.from({ length: 40 }, (_, b) => Array.from({ length: (b % 5) + 1 }, (_, j) => b * 10 + j));
      const results = await Promise.all(
        batches.map((batch, b) => (b % 2 === 0 ? first : second).storage.audit.append("acme", batch.map(entry))),
      );
      for (const records of results) {
        const seqs = records.map((record) => record.seq);
        expect(seqs).toEqual(seqs.map((_, j) => (seqs[0] ?? 0) + j));
      }
      const total = batches.flat().length;
      expect(await second.audit.verify("acme")).toMatchObject({ valid: true, record_count: total });
    });
  },
  { only: ["sqlite-file", "postgres", "mysql"] },
);
