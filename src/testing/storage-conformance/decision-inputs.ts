import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../audit/types.js";
import { readDecisionInputs } from "../../storage/decision-inputs.js";
import type { DecisionInputs } from "../../storage/port.js";
import { agentRecord, at, entry, policyRecord, type SuiteContext, UNICODE, uid } from "./fixtures.js";

const governed = (tool: string, fields: Partial<AuditEntry> = {}) =>
  entry({ source: "mcp_governed", tool, method: "tools/call", decision: "allow", ...fields });

/** `decisionInputs.read` (or its fallback, for storages without it): the same values as the separate reads. */
export function describeDecisionInputs(ctx: SuiteContext): void {
  describe(`decision inputs (${ctx.name})`, () => {
    /** What the separate reads say, in the shape `decisionInputs.read` returns. */
    const separately = async (tenantId: string, filter: { session_id: string; agent_id: string; since: string }) => {
      const storage = ctx.storage();
      const agent = await storage.agents.get(tenantId, filter.agent_id);
      return {
        policy_version: await storage.policies.currentVersion(tenantId),
        agent: agent && {
          version: agent.version,
          allowed_tools: agent.allowed_tools,
          require_human_approval: agent.require_human_approval,
        },
        counters: {
          session: await storage.audit.countByTool(tenantId, { source: "mcp_governed", session_id: filter.session_id }),
          agent_since: await storage.audit.countByTool(tenantId, {
            source: "mcp_governed",
            agent_id: filter.agent_id,
            since: filter.since,
          }),
        },
      };
    };

    /** `read` says what `expected` says, at the tenant's head or (read separately) at none. */
    const expectAgrees = async (tenantId: string, read: DecisionInputs, expected: Omit<DecisionInputs, "seq">) => {
      const { seq, ...values } = read;
      expect(values).toEqual(expected);
      expect([null, (await ctx.storage().audit.head(tenantId)).seq]).toContain(seq);
    };

    it("reads nothing for a tenant without policy, agent or records", async () => {
      const filter = { session_id: uid("vs"), agent_id: uid("agent"), since: at(0) };
      const id = uid("t");
      await expectAgrees(id, await readDecisionInputs(ctx.storage(), id, filter), {
        policy_version: null,
        agent: null,
        counters: { session: {}, agent_since: {} },
      });
    });

    it("combines the policy version, the agent config and both counters, each scoped to its tenant", async () => {
      const storage = ctx.storage();
      const { id } = await ctx.newTenant();
      const agentId = uid("agent");
      const [session, otherSession] = [uid("vs"), uid("vs")];
      const audit = () => entry({ method: "change" });
      await storage.agents.create(
        agentRecord(id, { id: agentId, allowed_tools: ["pay", UNICODE], require_human_approval: ["pay"] }),
        audit(),
      );
      await storage.policies.put(policyRecord(id, { version: 1 }), audit());
      await storage.policies.put(policyRecord(id, { version: 2 }), audit());
      const hour = 3600;
      // Across hours, sessions and tools, with another agent's and another tenant's records that never count.
      for (const second of [0, 59, hour - 1, hour, hour + 30, 2 * hour + 1]) {
        await storage.audit.append(id, [
          governed("pay", { session_id: session, agent_id: agentId, requested_at: at(second) }),
          governed(UNICODE, { session_id: otherSession, agent_id: agentId, requested_at: at(second) }),
          governed("pay", { session_id: session, agent_id: uid("agent"), requested_at: at(second) }),
          entry({
            source: "mcp_observed",
            tool: "pay",
            session_id: session,
            agent_id: agentId,
            requested_at: at(second),
          }),
        ]);
      }
      await storage.audit.append(uid("t"), [governed("pay", { session_id: session, agent_id: agentId })]);

      for (const since of [0, 1, 59, 60, hour - 1, hour, hour + 31, 2 * hour + 1, 3 * hour]) {
        const filter = { session_id: session, agent_id: agentId, since: at(since) };
        await expectAgrees(id, await readDecisionInputs(storage, id, filter), await separately(id, filter));
      }
      const read = await readDecisionInputs(storage, id, { session_id: session, agent_id: agentId, since: at(hour) });
      await expectAgrees(id, read, {
        policy_version: 2,
        agent: { version: 1, allowed_tools: ["pay", UNICODE], require_human_approval: ["pay"] },
        counters: { session: { pay: 12 }, agent_since: { pay: 3, [UNICODE]: 3 } },
      });
      // Numbers are numbers on every engine.
      expect(typeof read.policy_version).toBe("number");
      expect(typeof read.agent?.version).toBe("number");
      // Another tenant sees none of it.
      const other = uid("t");
      await expectAgrees(
        other,
        await readDecisionInputs(storage, other, { session_id: session, agent_id: agentId, since: at(0) }),
        {
          policy_version: null,
          agent: null,
          counters: { session: {}, agent_since: {} },
        },
      );
    });

    it("gives each of many reads issued together its own session's counts and its own window", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const agentId = uid("agent");
      // More sessions than one combined read holds, each with its own count.
      const sessions = Array.from({ length: 21 }, () => uid("vs"));
      await storage.audit.append(
        id,
        sessions.flatMap((session, index) => [
          ...Array.from({ length: (index % 4) + 1 }, () =>
            governed("pay", { session_id: session, agent_id: agentId, requested_at: at(index * 7) }),
          ),
          governed(UNICODE, { session_id: session, agent_id: agentId, requested_at: at(3600 + index) }),
        ]),
      );
      // Windows starting in the same hour between the records (each call counts a different share of them), and
      // in the next hour.
      const filters = sessions.map((session, index) => ({
        session_id: session,
        agent_id: agentId,
        since: at(index < 18 ? index * 7 + (index % 3) : 3600 + index),
      }));
      // Issued neither earliest nor latest window first.
      filters.push(...filters.splice(0, 9));
      const reads = await Promise.all(filters.map((filter) => readDecisionInputs(storage, id, filter)));
      const expected = await Promise.all(filters.map((filter) => separately(id, filter)));
      for (const [index, read] of reads.entries()) await expectAgrees(id, read, expected[index] as typeof read);
      // The windows differ: the reads did not all get one call's counts.
      expect(new Set(reads.map((read) => read.counters.agent_since.pay)).size).toBeGreaterThan(10);
    });

    it("agrees with the separate reads for odd timestamps and windows", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const agentId = uid("agent");
      const session = uid("vs");
      await storage.audit.append(id, [
        governed("pay", { session_id: session, agent_id: agentId, requested_at: at(10) }),
        governed("pay", { session_id: session, agent_id: agentId, requested_at: "not a timestamp" }),
        governed("__proto__", { session_id: session, agent_id: agentId, requested_at: at(20) }),
      ]);
      for (const since of [at(0), at(15), "m", "2025"]) {
        const filter = { session_id: session, agent_id: agentId, since };
        await expectAgrees(id, await readDecisionInputs(storage, id, filter), await separately(id, filter));
      }
    });
  });
}
