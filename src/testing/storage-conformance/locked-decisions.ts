import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../audit/types.js";
import { readDecisionInputs } from "../../storage/decision-inputs.js";
import type { DecisionCounters, LockedDecision } from "../../storage/port.js";
import {
  approvalRecord,
  at,
  entry,
  failure,
  openApproval,
  records,
  type SuiteContext,
  uid,
  verify,
} from "./fixtures.js";

/** A governed call's record. */
const governed = (tool: string, fields: Partial<AuditEntry> = {}) =>
  entry({ source: "mcp_governed", tool, method: "tools/call", decision: "allow", ...fields });

/**
 * A call that allows `tool` while the session has fewer than `limit` records of it, and keeps what it saw; with
 * `known`, it brings counters read earlier.
 */
function limited(
  target: { session_id: string; agent_id: string; since: string },
  tool: string,
  limit: number,
  known?: LockedDecision["known"],
) {
  const seen: DecisionCounters[] = [];
  const call: LockedDecision = {
    counters: target,
    ...(known && { known }),
    decide(counters) {
      seen.push(counters);
      const before = counters.session[tool] ?? 0;
      const fields = { session_id: target.session_id, agent_id: target.agent_id, requested_at: target.since };
      return {
        entry: governed(tool, { ...fields, decision: before < limit ? "allow" : "deny", input: { before } }),
        approval: null,
      };
    },
  };
  return { call, seen };
}

/** `audit.decideAndAppend`: a governed call decided on its counters under the tenant's head lock. */
export function describeLockedDecisions(ctx: SuiteContext): void {
  describe(`audit decisions under the head lock (${ctx.name})`, () => {
    it("decides on the counters as they stand, and stores the record and the approval it returns", async () => {
      const storage = ctx.storage();
      const { id } = await ctx.newTenant();
      const [session, agent] = [uid("vs"), uid("agent")];
      await storage.audit.append(id, [
        governed("send_payment", { session_id: session, agent_id: agent, requested_at: at(10) }),
        governed("send_payment", { session_id: session, agent_id: agent, requested_at: at(20), decision: "deny" }),
        governed("read_crm", { session_id: uid("vs"), agent_id: agent, requested_at: at(30) }),
        entry({ source: "mcp_observed", tool: "bash", decision: "observed", session_id: session, agent_id: agent }),
      ]);
      // Another tenant's records with the same ids never count.
      await storage.audit.append(uid("t"), [governed("send_payment", { session_id: session, agent_id: agent })]);
      const target = { session_id: session, agent_id: agent, since: at(15) };
      const approval = approvalRecord(id, { session_id: session, agent_id: agent });
      const decided = governed("send_payment", {
        ...{ action_id: approval.action_id, session_id: session, agent_id: agent, requested_at: at(40) },
        ...{ decision: "requires_human", severity: "medium", violations: ["needs a human"] },
      });
      const counted = (await readDecisionInputs(storage, id, target)).counters;
      let seen: DecisionCounters | undefined;

      const stored = await storage.audit.decideAndAppend(id, {
        counters: target,
        decide(counters) {
          seen = counters;
          return { entry: decided, approval };
        },
      });

      expect(seen).toEqual({ session: { send_payment: 2 }, agent_since: { send_payment: 1, read_crm: 1 } });
      expect(seen).toEqual(counted);
      expect(stored.approval).toEqual(approval);
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(approval);
      const all = await records(storage, id);
      expect(stored.record).toEqual(all.at(-1));
      expect(stored.record).toMatchObject({ ...decided, seq: 6, input: decided.input });
      expect((await verify(storage, id)).valid).toBe(true);
      // The stored call counts toward the next decision.
      const next = await storage.audit.decideAndAppend(id, limited(target, "send_payment", 3).call);
      expect(next.record).toMatchObject({ decision: "deny", input: { before: 3 } });
      expect(next.approval).toBeNull();
    });

    it("lets exactly K of N racing calls under a counter limit of K through, each on its own count", async () => {
      const storage = ctx.storage();
      const { id } = await ctx.newTenant();
      const agent = uid("agent");
      const sessions = [uid("vs"), uid("vs")];
      const n = Math.min(ctx.concurrency, 40);
      const target = (i: number) => ({ session_id: sessions[i % 2] as string, agent_id: agent, since: at(0) });
      // Half of them bring the counters read before the race, which every other call makes stale.
      const read = await Promise.all([0, 1].map((i) => readDecisionInputs(storage, id, target(i))));
      const calls = Array.from({ length: n }, (_, i) => {
        const { seq, counters } = read[i % 2] as (typeof read)[number];
        return limited(target(i), "send_email", 5, i % 4 < 2 && seq !== null ? { seq, counters } : undefined);
      });

      const stored = await Promise.all(calls.map(({ call }) => storage.audit.decideAndAppend(id, call)));

      for (const session of sessions) {
        const mine = stored.filter(({ record }) => record.session_id === session);
        expect(mine.filter(({ record }) => record.decision === "allow")).toHaveLength(5);
        // Each call saw the count of every call of its session stored before it: 0, 1, 2, ... in chain order.
        const counts = mine.sort((a, b) => a.record.seq - b.record.seq).map(({ record }) => record.input);
        expect(counts).toEqual(counts.map((_, before) => ({ before })));
      }
      // The agent's counter, shared by both sessions, saw every earlier call too.
      const agentCounts = calls
        .map(({ seen }, i) => ({ seq: (stored[i] as (typeof stored)[number]).record.seq, seen: seen.at(-1) }))
        .sort((a, b) => a.seq - b.seq)
        .map(({ seen }) => seen?.agent_since.send_email ?? 0);
      expect(agentCounts).toEqual(agentCounts.map((_, before) => before));
      expect(await verify(storage, id)).toMatchObject({ valid: true });
    });

    it("brings counters read at an earlier head up to date with the records stored since", async () => {
      const storage = ctx.storage();
      const { id } = await ctx.newTenant();
      const [session, agent] = [uid("vs"), uid("agent")];
      const target = { session_id: session, agent_id: agent, since: at(15) };
      await storage.audit.append(id, [governed("pay", { session_id: session, agent_id: agent, requested_at: at(20) })]);
      const earlier = await readDecisionInputs(storage, id, target);
      await storage.audit.append(id, [
        governed("pay", { session_id: session, agent_id: agent, requested_at: at(30) }),
        governed("pay", { session_id: session, agent_id: agent, requested_at: at(10) }),
        governed("read", { session_id: uid("vs"), agent_id: agent, requested_at: at(40) }),
        governed("pay", { session_id: session, agent_id: uid("agent"), requested_at: at(40) }),
        entry({ source: "mcp_observed", tool: "pay", session_id: session, agent_id: agent, requested_at: at(40) }),
      ]);
      const now = await readDecisionInputs(storage, id, target);
      expect(now.counters).toEqual({ session: { pay: 4 }, agent_since: { pay: 2, read: 1 } });
      const known = earlier.seq === null ? undefined : { seq: earlier.seq, counters: earlier.counters };

      const { call, seen } = limited(target, "pay", 10, known);
      await storage.audit.decideAndAppend(id, call);

      expect(seen).toEqual([now.counters]);
    });

    it("stores nothing for a call whose decision throws; racing calls are still stored", async () => {
      const storage = ctx.storage();
      const { id } = await ctx.newTenant();
      const target = { session_id: uid("vs"), agent_id: uid("agent"), since: at(0) };
      const before = await storage.audit.head(id);
      const broken: LockedDecision = {
        counters: target,
        decide() {
          throw new Error("the policy failed");
        },
      };
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          storage.audit.decideAndAppend(id, i === 4 ? broken : limited(target, "send_email", 100).call),
        ),
      );

      expect(outcomes.map((outcome) => outcome.status)).toEqual(
        Array.from({ length: 10 }, (_, i) => (i === 4 ? "rejected" : "fulfilled")),
      );
      expect(((outcomes[4] as PromiseRejectedResult).reason as Error).message).toBe("the policy failed");
      expect(await storage.audit.head(id)).toMatchObject({ seq: before.seq + 9 });
      expect(await verify(storage, id)).toMatchObject({ valid: true });
    });

    it("stores neither the record nor the approval when the approval cannot be stored", async () => {
      const storage = ctx.storage();
      const { id } = await ctx.newTenant();
      const taken = approvalRecord(id);
      await openApproval(storage, taken);
      const before = await storage.audit.head(id);
      const target = { session_id: taken.session_id, agent_id: taken.agent_id, since: at(0) };
      const decided = governed("send_payment", { decision: "requires_human", session_id: target.session_id });

      await failure(
        storage.audit.decideAndAppend(id, {
          counters: target,
          decide: () => ({ entry: decided, approval: { ...taken, note: "a second one" } }),
        }),
      );
      // Another tenant's approval is refused too.
      await failure(
        storage.audit.decideAndAppend(id, {
          counters: target,
          decide: () => ({ entry: decided, approval: approvalRecord(uid("t")) }),
        }),
      );

      expect(await storage.audit.head(id)).toEqual(before);
      expect(await storage.audit.get(id, decided.action_id)).toBeNull();
      expect(await storage.approvals.get(id, taken.action_id)).toEqual(taken);
    });
  });
}
