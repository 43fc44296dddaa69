import { describe, expect, it } from "vitest";
import type { ApprovalRecord } from "../../approvals/types.js";
import {
  approvalRecord,
  at,
  entry,
  failure,
  openApproval,
  type SuiteContext,
  UNICODE,
  uid,
  verify,
} from "./fixtures.js";

const decision = (status: "approved" | "rejected" | "expired" = "approved", fields: { note?: string | null } = {}) => ({
  status,
  decided_at: at(600),
  decided_by: status === "expired" ? "expiry" : "key-approver",
  note: fields.note === undefined ? null : fields.note,
});

const byActionId = (approvals: ApprovalRecord[]) =>
  [...approvals].sort((a, b) => (a.action_id < b.action_id ? -1 : a.action_id > b.action_id ? 1 : 0));

/** The `requires_human` record of a governed call, stored with its approval. */
const queued = (approval: ApprovalRecord) =>
  entry({
    ...{ action_id: approval.action_id, session_id: approval.session_id, agent_id: approval.agent_id },
    ...{ source: "mcp_governed", tool: approval.tool, method: "tools/call", decision: "requires_human" },
    ...{ severity: "medium", violations: ["needs a human"], input: approval.input },
  });

/** Approvals: the queue, decisions by compare-and-set on `pending`, executions claimed exactly once. */
export function describeApprovals(ctx: SuiteContext): void {
  const { newTenant } = ctx;

  /** Opens `approval` (with its governed record) and approves it. */
  async function approved(approval: ApprovalRecord): Promise<ApprovalRecord> {
    const storage = ctx.storage();
    await openApproval(storage, approval, queued(approval));
    const decided = await storage.approvals.decide(approval.tenant_id, approval.action_id, decision(), entry());
    if (!decided) throw new Error("expected the approval to be decided");
    return decided;
  }

  describe(`approvals (${ctx.name})`, () => {
    it("stores a pending approval with its governed record and reads it back exactly", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const approval = approvalRecord(id, {
        tool: `tool ${UNICODE}`,
        input: {
          amount: 1e21,
          fractions: [0.1, -0.125, 0],
          text: `Line 1\nLine 2\t"quoted" \\ ${UNICODE}`,
          nested: { list: [null, true, false, {}], ключ: "値" },
          large: "x".repeat(70_000),
        },
        requested_at: "2025-06-01T12:00:00.123456+02:00",
        expires_at: "2025-06-01T13:00:00.123456+02:00",
      });
      const audit = queued(approval);
      await openApproval(storage, approval, audit);
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(approval);
      expect(await storage.audit.get(id, approval.action_id)).toMatchObject({ ...audit, seq: 2 });
      expect(await storage.approvals.get(id, uid("missing"))).toBeNull();
    });

    it("stores a built-in tool's approval with the observed record of its tool use", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const approval = approvalRecord(id, {
        kind: "builtin_tool",
        tool: "bash",
        input: { command: "rm -rf ./build" },
        upstream_event_id: "sevt_01tooluse",
      });
      await openApproval(storage, approval);
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(approval);
      expect(await storage.audit.get(id, approval.action_id)).toMatchObject({
        ...{ seq: 2, source: "mcp_observed", event_id: "sevt_01tooluse", input: approval.input },
      });
    });

    it("refuses a second approval with the same action_id, and stores nothing of it", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const approval = approvalRecord(id);
      await openApproval(storage, approval, queued(approval));
      const audit = entry();
      await failure(openApproval(storage, { ...approval, tool: "other" }, audit));
      await failure(openApproval(storage, { ...approval, tool: "other" }));
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(approval);
      expect(await storage.audit.get(id, audit.action_id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(2);
      // The same action id in another tenant is another approval.
      const { id: other } = await newTenant();
      const theirs = { ...approval, tenant_id: other };
      await openApproval(storage, theirs);
      expect(await storage.approvals.get(other, approval.action_id)).toEqual(theirs);
    });

    it("stores no approval when its audit record cannot be written", async () => {
      const storage = ctx.storage();
      const { id, audit } = await newTenant();
      const approval = approvalRecord(id);
      await failure(openApproval(storage, approval, { ...audit }));
      expect(await storage.approvals.get(id, approval.action_id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(1);
    });

    it("lists newest first (ties by action_id, descending), filtered by status and session, tenant-scoped", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const [s1, s2] = [uid("vs"), uid("vs")];
      const made = [
        approvalRecord(id, { session_id: s1, requested_at: at(3), action_id: `a-0-${uid("x")}` }),
        approvalRecord(id, { session_id: s2, requested_at: at(5), action_id: `a-1-${uid("x")}` }),
        approvalRecord(id, { session_id: s1, requested_at: at(5), action_id: `a-2-${uid("x")}` }),
        approvalRecord(id, { session_id: s1, requested_at: at(1), action_id: `a-3-${uid("x")}` }),
      ];
      for (const approval of made) await openApproval(storage, approval, queued(approval));
      await openApproval(storage, approvalRecord(other, { session_id: s1 }));
      const [a0, a1, a2, a3] = made;
      const decided = await storage.approvals.decide(id, a2?.action_id ?? "", decision("rejected"), entry());

      expect(await storage.approvals.list(id, { limit: 10 })).toEqual([decided, a1, a0, a3]);
      expect(await storage.approvals.list(id, { limit: 2 })).toEqual([decided, a1]);
      expect(await storage.approvals.list(id, { status: "pending", limit: 10 })).toEqual([a1, a0, a3]);
      expect(await storage.approvals.list(id, { status: "rejected", limit: 10 })).toEqual([decided]);
      expect(await storage.approvals.list(id, { status: "approved", limit: 10 })).toEqual([]);
      expect(await storage.approvals.list(id, { session_id: s1, limit: 10 })).toEqual([decided, a0, a3]);
      expect(await storage.approvals.list(id, { session_id: s1, status: "pending", limit: 1 })).toEqual([a0]);
      expect(await storage.approvals.list(uid("t"), { limit: 10 })).toEqual([]);
      expect(await storage.approvals.list(other, { limit: 10 })).toHaveLength(1);
    });

    it("keeps tenants apart: another tenant's approval is never returned, decided or claimed", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const approval = approvalRecord(id);
      await openApproval(storage, approval, queued(approval));
      const audit = entry();
      expect(await storage.approvals.get(other, approval.action_id)).toBeNull();
      expect(await storage.approvals.decide(other, approval.action_id, decision(), audit)).toBeNull();
      expect(await storage.audit.get(other, audit.action_id)).toBeNull();
      expect((await storage.audit.head(other)).seq).toBe(1);
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(approval);

      await storage.approvals.decide(id, approval.action_id, decision(), entry());
      expect(await storage.approvals.claimExecution(other, approval.action_id, at(60))).toBe(false);
      await storage.approvals.completeExecution(other, approval.action_id, { stolen: true });
      expect(await storage.approvals.get(id, approval.action_id)).toMatchObject({ execution: "none", result: null });
    });

    it("decides a pending approval once, with its audit record; later decisions return null and write nothing", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      for (const status of ["approved", "rejected", "expired"] as const) {
        const approval = approvalRecord(id);
        await openApproval(storage, approval, queued(approval));
        const audit = entry({ method: status === "approved" ? "approve" : "reject", input: { note: UNICODE } });
        const ruling = decision(status, { note: status === "expired" ? null : `Note ${UNICODE}` });
        const decided = await storage.approvals.decide(id, approval.action_id, ruling, audit);
        expect(decided).toEqual({ ...approval, ...ruling });
        expect(await storage.approvals.get(id, approval.action_id)).toEqual(decided);
        expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ method: audit.method });

        const head = await storage.audit.head(id);
        const again = entry();
        for (const next of ["approved", "rejected", "expired"] as const) {
          expect(await storage.approvals.decide(id, approval.action_id, decision(next), again)).toBeNull();
        }
        expect(await storage.approvals.get(id, approval.action_id)).toEqual(decided);
        expect(await storage.audit.get(id, again.action_id)).toBeNull();
        expect(await storage.audit.head(id)).toEqual(head);
      }
      const missing = entry();
      expect(await storage.approvals.decide(id, uid("missing"), decision(), missing)).toBeNull();
      expect(await storage.audit.get(id, missing.action_id)).toBeNull();
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 7 });
    });

    it("leaves the approval pending when the decision's audit record cannot be written", async () => {
      const storage = ctx.storage();
      const { id, audit } = await newTenant();
      const approval = approvalRecord(id);
      await openApproval(storage, approval, queued(approval));
      await failure(storage.approvals.decide(id, approval.action_id, decision(), { ...audit }));
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(approval);
      expect((await storage.audit.head(id)).seq).toBe(2);
    });

    it("lets exactly one of 10 racing decisions win, with one audit record", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const approval = approvalRecord(id);
      await openApproval(storage, approval, queued(approval));
      const racers = Array.from({ length: 10 }, (_, i) => ({
        ruling: { ...decision(i % 3 === 0 ? "rejected" : "approved"), decided_by: `approver-${i}` },
        audit: entry({ method: "approve" }),
      }));
      const results = await Promise.all(
        racers.map(({ ruling, audit }) => storage.approvals.decide(id, approval.action_id, ruling, audit)),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      const winner = racers[results.findIndex((result) => result !== null)];
      expect(await storage.approvals.get(id, approval.action_id)).toEqual({ ...approval, ...winner?.ruling });
      const stored = await Promise.all(racers.map(({ audit }) => storage.audit.get(id, audit.action_id)));
      expect(stored.filter(Boolean).map((record) => record?.action_id)).toEqual([winner?.audit.action_id]);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 3 });
    });

    it("claims an approved execution exactly once, then stores its result once", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const pending = approvalRecord(id);
      await openApproval(storage, pending, queued(pending));
      expect(await storage.approvals.claimExecution(id, pending.action_id, at(60))).toBe(false);
      // Completing what was never claimed changes nothing.
      await storage.approvals.completeExecution(id, pending.action_id, { early: true });
      expect(await storage.approvals.get(id, pending.action_id)).toEqual(pending);

      const rejected = approvalRecord(id);
      await openApproval(storage, rejected, queued(rejected));
      await storage.approvals.decide(id, rejected.action_id, decision("rejected"), entry());
      expect(await storage.approvals.claimExecution(id, rejected.action_id, at(60))).toBe(false);
      expect(await storage.approvals.claimExecution(id, uid("missing"), at(60))).toBe(false);

      const approval = await approved(approvalRecord(id));
      const head = await storage.audit.head(id);
      expect(await storage.approvals.claimExecution(id, approval.action_id, at(60))).toBe(true);
      expect(await storage.approvals.claimExecution(id, approval.action_id, at(60))).toBe(false);
      expect(await storage.approvals.get(id, approval.action_id)).toEqual({ ...approval, execution: "claimed" });
      const result = { content: [{ type: "text", text: `paid ${UNICODE}` }], isError: false, amount: 12.5 };
      await storage.approvals.completeExecution(id, approval.action_id, result);
      const done = { ...approval, execution: "done", result };
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(done);
      // Neither a second result nor a second claim changes it; none of this touches the chain.
      await storage.approvals.completeExecution(id, approval.action_id, { again: true });
      expect(await storage.approvals.claimExecution(id, approval.action_id, at(60))).toBe(false);
      expect(await storage.approvals.get(id, approval.action_id)).toEqual(done);
      expect(await storage.audit.head(id)).toEqual(head);

      // A JSON null result: done, with no result.
      const empty = await approved(approvalRecord(id));
      expect(await storage.approvals.claimExecution(id, empty.action_id, at(60))).toBe(true);
      await storage.approvals.completeExecution(id, empty.action_id, null);
      expect(await storage.approvals.get(id, empty.action_id)).toEqual({ ...empty, execution: "done", result: null });
    });

    it("lets exactly one of 10 racing claims execute", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const approval = await approved(approvalRecord(id));
      const results = await Promise.all(
        Array.from({ length: 10 }, () => storage.approvals.claimExecution(id, approval.action_id, at(60))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await storage.approvals.get(id, approval.action_id))?.execution).toBe("claimed");
    });

    it("lists claimed executions not done, claimed at or before a time, across tenants, earliest first", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const claimed = async (tenantId: string, second: number) => {
        const approval = await approved(approvalRecord(tenantId));
        expect(await storage.approvals.claimExecution(tenantId, approval.action_id, at(second))).toBe(true);
        return { ...approval, execution: "claimed" };
      };
      const late = await claimed(id, 30);
      const early = await claimed(other, 10);
      const done = await claimed(id, 5);
      await storage.approvals.completeExecution(id, done.action_id, { ok: true });
      // Approved but never claimed, and pending: not runs at all.
      await approved(approvalRecord(id));
      const pending = approvalRecord(id);
      await openApproval(storage, pending, queued(pending));

      expect(await storage.approvals.listStaleExecutions(at(9))).toEqual([]);
      expect(await storage.approvals.listStaleExecutions(at(10))).toEqual([early]);
      expect(await storage.approvals.listStaleExecutions(at(60))).toEqual([early, late]);
      await storage.approvals.completeExecution(other, early.action_id, { ok: false });
      expect(await storage.approvals.listStaleExecutions(at(60))).toEqual([late]);
    });

    it("lists pending approvals expired at or before now, across tenants", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const make = (tenantId: string, expires: number) =>
        approvalRecord(tenantId, { requested_at: at(0), expires_at: at(expires) });
      const early = make(other, 5);
      const boundary = make(id, 10);
      const later = make(id, 11);
      const decided = make(id, 1);
      const mine = make(id, 7);
      for (const approval of [early, boundary, later, decided, mine]) await openApproval(storage, approval);
      await storage.approvals.decide(id, decided.action_id, decision("rejected"), entry());

      // Only these two tenants (a shared storage may hold other tests' approvals), in any order (the port names none).
      const expired = async (now: string) =>
        byActionId(
          (await storage.approvals.listExpired(now)).filter((a) => a.tenant_id === id || a.tenant_id === other),
        );
      expect(await expired(at(10))).toEqual(byActionId([early, mine, boundary]));
      expect(await expired(at(4))).toEqual([]);
      expect(await expired(at(100))).toEqual(byActionId([early, mine, boundary, later]));

      // Expiring one (a decision like any other) takes it off the list.
      await storage.approvals.decide(other, early.action_id, decision("expired"), entry());
      expect(await expired(at(10))).toEqual(byActionId([mine, boundary]));
    });
  });
}
