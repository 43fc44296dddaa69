import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sealAuditRecords } from "../../audit/chain.js";
import type { AuditEntry, AuditRecord } from "../../audit/types.js";
import { isVargateError } from "../../errors.js";
import type { JsonValue } from "../../json.js";
import type { SessionRecordCount } from "../../sessions/types.js";
import {
  approvalRecord,
  entry,
  failure,
  openApproval,
  records,
  type SuiteContext,
  UNICODE,
  uid,
  verify,
} from "./fixtures.js";

/** An observed record derived from upstream event `eventId` of `sessionId`. */
const observed = (sessionId: string | null, eventId: string | null, fields: Partial<AuditEntry> = {}) =>
  entry({
    ...{ session_id: sessionId, event_id: eventId, source: "mcp_observed", decision: "observed" },
    ...{ tool: "bash", method: "agent.tool_use", input: { event: eventId } },
    ...fields,
  });

const eventsOf = (stored: readonly AuditRecord[]) => stored.map((record) => [record.session_id, record.event_id]);

const byKey = (counts: readonly SessionRecordCount[]) =>
  [...counts].sort((a, b) =>
    `${a.session_id} ${a.source} ${a.decision}` < `${b.session_id} ${b.source} ${b.decision}` ? -1 : 1,
  );

/** Records derived from upstream events: dedupe by `(session_id, event_id)`, results, counts. */
export function describeAuditEvents(ctx: SuiteContext): void {
  describe(`audit events (${ctx.name})`, () => {
    it("appendEvents drops events already stored or repeated in the batch and returns only what it stored", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const [s1, s2] = [uid("vs"), uid("vs")];
      expect(await storage.audit.appendEvents(id, [])).toEqual([]);
      expect((await storage.audit.head(id)).seq).toBe(0);

      const batch = [
        observed(s1, "sevt_1"),
        observed(s1, "sevt_2"),
        observed(s1, "sevt_1", { tool: "repeated in the batch" }),
        observed(s2, "sevt_1"),
        // No event id: never deduplicated, however many there are (NULLs never collide).
        observed(s1, null),
        observed(s1, null),
        observed(null, "sevt_no_session"),
      ];
      const first = await storage.audit.appendEvents(id, batch);
      expect(eventsOf(first)).toEqual([
        [s1, "sevt_1"],
        [s1, "sevt_2"],
        [s2, "sevt_1"],
        [s1, null],
        [s1, null],
        [null, "sevt_no_session"],
      ]);
      // The first occurrence is the one kept; records are sealed as `append` seals them.
      expect(first.map((record) => record.action_id)).toEqual([0, 1, 3, 4, 5, 6].map((i) => batch[i]?.action_id));
      expect(first.map((record) => record.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(first.every((record) => record.result === null)).toBe(true);

      // Re-reading history is a no-op: nothing stored, the head does not move.
      const head = await storage.audit.head(id);
      const replay = [observed(s1, "sevt_2"), observed(s2, "sevt_1"), observed(null, "sevt_no_session")];
      expect(await storage.audit.appendEvents(id, replay)).toEqual([]);
      expect(await storage.audit.head(id)).toEqual(head);

      const second = await storage.audit.appendEvents(id, [
        observed(s1, "sevt_1"),
        observed(s1, "sevt_3"),
        observed(s1, null),
        observed(s2, "sevt_2"),
      ]);
      expect(eventsOf(second)).toEqual([
        [s1, "sevt_3"],
        [s1, null],
        [s2, "sevt_2"],
      ]);
      expect(second.map((record) => record.seq)).toEqual([7, 8, 9]);
      expect(await records(storage, id)).toEqual([...first, ...second]);
      expect(await storage.audit.listBySession(id, s1, { limit: 100 })).toHaveLength(6);

      // Another tenant's events are its own.
      expect(await storage.audit.appendEvents(uid("t"), [observed(s1, "sevt_1")])).toHaveLength(1);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 9 });
    });

    it("appendEvents stores results it is given with their records, outside the hash, and only with new ones", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      const [before] = await storage.audit.appendEvents(id, [observed(session, "sevt_old")]);
      const results = new Map<string, JsonValue>([
        ["sevt_1", { stdout: UNICODE, code: 0 }],
        ["sevt_old", "not written: stored before"],
        ["sevt_elsewhere", "no such entry"],
        ["sevt_null", null],
      ]);
      const batch = [
        observed(session, "sevt_old"),
        observed(session, "sevt_1"),
        observed(session, "sevt_2"),
        observed(session, "sevt_null"),
      ];
      const stored = await storage.audit.appendEvents(id, batch, { results });
      expect(stored.map((record) => [record.event_id, record.result])).toEqual([
        ["sevt_1", { stdout: UNICODE, code: 0 }],
        ["sevt_2", null],
        ["sevt_null", null],
      ]);
      expect(await records(storage, id)).toEqual([{ ...before, result: null }, ...stored]);
      // The hash is the one the same entries get without results.
      const [plain] = sealAuditRecords(id, { seq: 1, hash: before?.record_hash as string }, [
        batch[1] as AuditEntry,
      ]).records;
      expect(stored[0]?.record_hash).toBe(plain?.record_hash);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
    });

    it("appendEvents opens the approvals it is given with the records it stores, and only with new ones", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      await storage.audit.appendEvents(id, [observed(session, "sevt_old")]);
      const batch = [observed(session, "sevt_old"), observed(session, "sevt_1"), observed(session, "sevt_2")];
      const approval = (event: string, actionId: string) =>
        approvalRecord(id, {
          action_id: actionId,
          session_id: session,
          kind: "builtin_tool",
          upstream_event_id: event,
        });
      const opening = new Map([
        ["sevt_old", approval("sevt_old", randomUUID())],
        ["sevt_1", approval("sevt_1", (batch[1] as AuditEntry).action_id)],
        ["sevt_elsewhere", approval("sevt_elsewhere", randomUUID())],
      ]);

      const stored = await storage.audit.appendEvents(id, batch, { approvals: opening });

      expect(eventsOf(stored)).toEqual([
        [session, "sevt_1"],
        [session, "sevt_2"],
      ]);
      expect(await storage.approvals.list(id, { limit: 10 })).toEqual([opening.get("sevt_1")]);
      // A re-read opens nothing.
      expect(await storage.audit.appendEvents(id, batch, { approvals: opening })).toEqual([]);
      expect(await storage.approvals.list(id, { limit: 10 })).toHaveLength(1);
    });

    it("appendEvents stores neither records nor approvals when an approval cannot be stored", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      const taken = approvalRecord(id, { kind: "builtin_tool" });
      await openApproval(storage, taken);
      const head = await storage.audit.head(id);
      const batch = [observed(session, "sevt_1"), observed(session, "sevt_2")];

      await failure(storage.audit.appendEvents(id, batch, { approvals: new Map([["sevt_2", taken]]) }));
      const elsewhere = approvalRecord(uid("t"), { kind: "builtin_tool" });
      await failure(storage.audit.appendEvents(id, batch, { approvals: new Map([["sevt_1", elsewhere]]) }));

      expect(await storage.audit.head(id)).toEqual(head);
      expect(await storage.approvals.list(id, { limit: 10 })).toEqual([taken]);
      expect(await storage.approvals.get(elsewhere.tenant_id, elsewhere.action_id)).toBeNull();
      // Nothing was half stored: the same events and a usable approval go in now.
      const fresh = approvalRecord(id, { kind: "builtin_tool", session_id: session });
      const stored = await storage.audit.appendEvents(id, batch, { approvals: new Map([["sevt_2", fresh]]) });
      expect(eventsOf(stored)).toEqual([
        [session, "sevt_1"],
        [session, "sevt_2"],
      ]);
      expect(await storage.approvals.get(id, fresh.action_id)).toEqual(fresh);
    });

    it("append refuses, whole, an event its session already has", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      const [kept] = await storage.audit.append(id, [observed(session, "sevt_1")]);
      const head = await storage.audit.head(id);
      const fresh = observed(session, "sevt_2");
      const error = await failure(storage.audit.append(id, [fresh, observed(session, "sevt_1")]));
      expect(isVargateError(error, "STORAGE_ERROR")).toBe(true);
      await failure(storage.audit.append(id, [observed(session, "sevt_3"), observed(session, "sevt_3")]));
      expect(await storage.audit.head(id)).toEqual(head);
      expect(await records(storage, id)).toEqual([kept]);
      expect(await storage.audit.get(id, fresh.action_id)).toBeNull();
      // The same id in another session is another event; records without an event id repeat freely.
      const more = [observed(uid("vs"), "sevt_1"), observed(session, null), observed(session, null)];
      expect(await storage.audit.append(id, more)).toHaveLength(3);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
    });

    it("racing appendEvents of overlapping batches store every event exactly once", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      const events = Array.from({ length: 30 }, (_, i) => `sevt_${String(i).padStart(2, "0")}`);
      // Like consumers re-reading overlapping pages of history: the same events, each mapped afresh.
      const batches = Array.from({ length: 20 }, (_, call) =>
        events.slice(call % 11, (call % 11) + 20).map((eventId) => observed(session, eventId, { input: { call } })),
      );
      const results = await Promise.all(batches.map((batch) => storage.audit.appendEvents(id, batch)));
      const stored = await records(storage, id);
      expect(stored.map((record) => record.event_id).sort()).toEqual(events);
      expect(results.flat().sort((a, b) => a.seq - b.seq)).toEqual(stored);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: events.length });
      const again = events.map((eventId) => observed(session, eventId));
      expect(await storage.audit.appendEvents(id, again)).toEqual([]);
      expect((await storage.audit.head(id)).seq).toBe(events.length);
    });

    it("setResult fills the result of an event's record, outside the hash, and reads return it", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      const [tool, other] = await storage.audit.appendEvents(id, [
        observed(session, "sevt_tool"),
        observed(session, "sevt_other"),
      ]);
      if (!tool || !other) throw new Error("expected two records");
      const head = await storage.audit.head(id);
      const result = { excerpt: `${UNICODE} "quoted"\n`, exit_code: 0, nested: [1.5, null, true, {}, [1e21]] };
      expect(await storage.audit.setResult(id, session, "sevt_tool", result)).toBe(true);
      // Writing the same result again still finds the record.
      expect(await storage.audit.setResult(id, session, "sevt_tool", result)).toBe(true);
      expect(await storage.audit.get(id, tool.action_id)).toEqual({ ...tool, result });
      expect(await storage.audit.listBySession(id, session, { limit: 10 })).toEqual([{ ...tool, result }, other]);
      expect(await storage.audit.scan(id, { afterSeq: 0, limit: 10 })).toEqual([{ ...tool, result }, other]);

      expect(await storage.audit.setResult(id, session, "sevt_missing", result)).toBe(false);
      expect(await storage.audit.setResult(id, uid("vs"), "sevt_tool", result)).toBe(false);
      expect(await storage.audit.setResult(uid("t"), session, "sevt_tool", result)).toBe(false);

      const large = "x".repeat(200_000);
      expect(await storage.audit.setResult(id, session, "sevt_other", large)).toBe(true);
      expect(await storage.audit.setResult(id, session, "sevt_tool", 42)).toBe(true);
      expect(await records(storage, id)).toEqual([
        { ...tool, result: 42 },
        { ...other, result: large },
      ]);
      // Never touches the chain.
      expect(await storage.audit.head(id)).toEqual(head);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 2 });
    });

    it("countBySession counts a tenant's records by session, source and decision, with findings", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const [a, b, c] = [uid("vs"), uid("vs"), uid("vs")];
      const governed = (session: string, decision: AuditEntry["decision"]) =>
        entry({ session_id: session, source: "mcp_governed", decision });
      await storage.audit.append(id, [
        governed(a, "allow"),
        { ...governed(a, "deny"), severity: "high" },
        governed(a, "allow"),
        { ...governed(a, "requires_human"), severity: "medium" },
        observed(a, null),
        entry({ session_id: a }),
        { ...observed(b, "sevt_1"), severity: "critical" },
        observed(b, "sevt_2"),
        observed(b, "sevt_3"),
        governed(c, "deny"),
        entry(),
      ]);
      await storage.audit.append(uid("t"), [governed(a, "allow")]);
      const counts = await storage.audit.countBySession(id, [a, b, uid("vs")]);
      expect(byKey(counts)).toEqual(
        byKey([
          { session_id: a, source: "mcp_governed", decision: "allow", count: 2, flagged: 0 },
          { session_id: a, source: "mcp_governed", decision: "deny", count: 1, flagged: 1 },
          { session_id: a, source: "mcp_governed", decision: "requires_human", count: 1, flagged: 1 },
          { session_id: a, source: "mcp_observed", decision: "observed", count: 1, flagged: 0 },
          { session_id: a, source: "control_plane", decision: "allow", count: 1, flagged: 0 },
          { session_id: b, source: "mcp_observed", decision: "observed", count: 3, flagged: 1 },
        ]),
      );
      expect(await storage.audit.countBySession(id, [])).toEqual([]);
      expect(await storage.audit.countBySession(uid("t"), [a, b])).toEqual([]);
    });

    it("keeps the action ids of dropped events free", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      await storage.audit.appendEvents(id, [observed(session, "sevt_1")]);
      const dropped = observed(session, "sevt_1", { action_id: randomUUID() });
      expect(await storage.audit.appendEvents(id, [dropped])).toEqual([]);
      expect(await storage.audit.get(id, dropped.action_id)).toBeNull();
      expect(await storage.audit.append(id, [entry({ action_id: dropped.action_id })])).toHaveLength(1);
    });
  });
}
