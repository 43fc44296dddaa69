import { describe, expect, it } from "vitest";
import { agentRecord, at, entry, failure, type SuiteContext, UNICODE, uid, verify } from "./fixtures.js";

/** Agent configs: round trips, listing, compare-and-set updates, the upstream agent. */
export function describeAgents(ctx: SuiteContext): void {
  const { newTenant } = ctx;
  describe(`agent configs (${ctx.name})`, () => {
    it("round-trips every field exactly, JSON included", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const parent = agentRecord(id);
      const config = agentRecord(id, {
        name: UNICODE,
        system_prompt: `Line 1\nLine 2 ${UNICODE}\t"quoted" \\ backslash`,
        allowed_tools: ["read_file", "🔧-tool"],
        require_human_approval: ["bash*", "write_*"],
        max_session_hours: 0.1,
        max_daily_sessions: 1000,
        max_delegation_depth: 5,
        governance_profile: { nested: { list: [1, 2.5, -0.125, 1e21, null, true, UNICODE] }, ключ: "値", e: {} },
        parent_agent_id: parent.id,
        anthropic_agent_id: `agent_${UNICODE}`,
        created_at: "2025-01-01T00:00:00.123456789Z",
        updated_at: "2025-01-01T00:00:00Z",
      });
      await storage.agents.create(parent, entry());
      await storage.agents.create(config, entry());
      expect(await storage.agents.get(id, parent.id)).toEqual(parent);
      expect(await storage.agents.get(id, config.id)).toEqual(config);
    });

    it("lists newest first, ties by id descending, and keeps tenants apart", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: otherTenant } = await newTenant();
      const configs = [at(2), at(5), at(5), at(1)].map((created_at, i) =>
        agentRecord(id, { created_at, id: `agent-${i}${uid("")}` }),
      );
      for (const config of configs) await storage.agents.create(config, entry());
      const foreign = agentRecord(otherTenant);
      await storage.agents.create(foreign, entry());
      const [c0, c1, c2, c3] = configs;
      expect(await storage.agents.list(id)).toEqual([c2, c1, c0, c3]);
      expect(await storage.agents.get(id, foreign.id)).toBeNull();
      expect(await storage.agents.get(otherTenant, configs[0]?.id ?? "")).toBeNull();
      expect(await storage.agents.list(uid("nobody"))).toEqual([]);
    });

    it("updates by compare-and-set: changes applied, version bumped, one audit record", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const config = agentRecord(id, { system_prompt: "old" });
      await storage.agents.create(config, entry());
      const audit = entry({ method: "update_agent" });
      const changes = { name: "renamed", system_prompt: null, governance_profile: { level: UNICODE } };
      const updated = await storage.agents.update(id, config.id, changes, {
        expectedVersion: 1,
        updatedAt: at(30),
        audit,
      });
      expect(updated).toEqual({ ...config, ...changes, version: 2, updated_at: at(30) });
      expect(await storage.agents.get(id, config.id)).toEqual(updated);
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ seq: 3 });

      const stale = entry();
      const options = { expectedVersion: 1, updatedAt: at(31), audit: stale };
      expect(await storage.agents.update(id, config.id, { name: "stale" }, options)).toBeNull();
      expect(await storage.agents.update(id, uid("agent"), { name: "missing" }, options)).toBeNull();
      expect(await storage.agents.update(uid("t"), config.id, { name: "foreign" }, options)).toBeNull();
      expect(await storage.agents.get(id, config.id)).toEqual(updated);
      expect(await storage.audit.get(id, stale.action_id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(3);
    });

    it("lets exactly one of two racing updates from the same version win, with one audit record", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const config = agentRecord(id);
      await storage.agents.create(config, entry());
      const results = await Promise.all(
        ["a", "b"].map((name) =>
          storage.agents.update(id, config.id, { name }, { expectedVersion: 1, updatedAt: at(40), audit: entry() }),
        ),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect(await storage.agents.get(id, config.id)).toEqual(winners[0]);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 3 });
    });

    it("stores no config and no change when the audit record cannot be written", async () => {
      const storage = ctx.storage();
      const { id, audit } = await newTenant();
      const config = agentRecord(id);
      await failure(storage.agents.create(config, { ...audit }));
      expect(await storage.agents.get(id, config.id)).toBeNull();
      await storage.agents.create(config, entry());
      const options = { expectedVersion: 1, updatedAt: at(50), audit: { ...audit } };
      await failure(storage.agents.update(id, config.id, { name: "never" }, options));
      expect(await storage.agents.get(id, config.id)).toEqual(config);
      expect((await storage.audit.head(id)).seq).toBe(2);
    });

    it("records the upstream agent once (set-if-null) without bumping the version or writing audit", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const config = agentRecord(id);
      await storage.agents.create(config, entry());
      const head = await storage.audit.head(id);
      expect(await storage.agents.setUpstreamAgent(id, config.id, "agent_01first")).toBe("agent_01first");
      expect(await storage.agents.setUpstreamAgent(id, config.id, "agent_02second")).toBe("agent_01first");
      expect(await storage.agents.get(id, config.id)).toEqual({ ...config, anthropic_agent_id: "agent_01first" });
      expect(await storage.agents.setUpstreamAgent(id, uid("agent"), "agent_03")).toBeNull();
      const { id: other } = await newTenant();
      expect(await storage.agents.setUpstreamAgent(other, config.id, "agent_04")).toBeNull();
      expect(await storage.audit.head(id)).toEqual(head);

      // An update leaves it alone; a config created with one keeps it.
      const options = { expectedVersion: 1, updatedAt: at(60), audit: entry() };
      expect(await storage.agents.update(id, config.id, { name: "renamed" }, options)).toMatchObject({
        version: 2,
        anthropic_agent_id: "agent_01first",
      });
      const mirrored = agentRecord(id, { anthropic_agent_id: "agent_05preset" });
      await storage.agents.create(mirrored, entry());
      expect(await storage.agents.get(id, mirrored.id)).toEqual(mirrored);
      expect(await storage.agents.setUpstreamAgent(id, mirrored.id, "agent_06")).toBe("agent_05preset");
    });

    it("lets exactly one of racing upstream agents be recorded; every caller learns the winner", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const config = agentRecord(id);
      await storage.agents.create(config, entry());
      const candidates = Array.from({ length: 10 }, (_, i) => `agent_racer${i}`);
      const results = await Promise.all(
        candidates.map((candidate) => storage.agents.setUpstreamAgent(id, config.id, candidate)),
      );
      const winner = (await storage.agents.get(id, config.id))?.anthropic_agent_id;
      expect(candidates).toContain(winner);
      expect(results).toEqual(candidates.map(() => winner));
    });
  });
}
