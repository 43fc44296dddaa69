import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../audit/types.js";
import { at, entry, type SuiteContext, UNICODE, uid, verify } from "./fixtures.js";

/** A governed call's record. */
const governed = (tool: string, fields: Partial<AuditEntry> = {}) =>
  entry({ source: "mcp_governed", tool, method: "tools/call", decision: "allow", ...fields });

const sorted = (counts: Record<string, number>) =>
  Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Per-tool record counts (policy counters) and results set by action id. */
export function describeToolCounts(ctx: SuiteContext): void {
  describe(`audit tool counts and action results (${ctx.name})`, () => {
    it("counts a source's records per tool, filtered by session, agent and since (inclusive)", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const [s1, s2] = [uid("vs"), uid("vs")];
      const [a1, a2] = [uid("agent"), uid("agent")];
      await storage.audit.append(id, [
        governed("send_payment", { session_id: s1, agent_id: a1, requested_at: at(10) }),
        governed("send_payment", { session_id: s1, agent_id: a1, requested_at: at(20), decision: "deny" }),
        governed("send_payment", { session_id: s2, agent_id: a2, requested_at: at(30) }),
        governed("read_crm", { session_id: s1, agent_id: a1, requested_at: at(5), decision: "requires_human" }),
        governed(`tool ${UNICODE}`, { session_id: s2, agent_id: a1, requested_at: at(40) }),
        governed("__proto__", { session_id: s2, agent_id: a2, requested_at: at(50) }),
        entry({ source: "mcp_observed", tool: "bash", decision: "observed", session_id: s1, agent_id: a1 }),
        entry({ source: "control_plane", tool: "send_payment", session_id: s1 }),
      ]);
      // Another tenant's records never count.
      await storage.audit.append(uid("t"), [governed("send_payment", { session_id: s1, agent_id: a1 })]);

      const count = async (filter: Parameters<typeof storage.audit.countByTool>[1]) =>
        sorted(await storage.audit.countByTool(id, filter));
      expect(await count({ source: "mcp_governed" })).toEqual([
        ["__proto__", 1],
        ["read_crm", 1],
        ["send_payment", 3],
        [`tool ${UNICODE}`, 1],
      ]);
      expect(await count({ source: "mcp_governed", session_id: s1 })).toEqual([
        ["read_crm", 1],
        ["send_payment", 2],
      ]);
      expect(await count({ source: "mcp_governed", agent_id: a1 })).toEqual([
        ["read_crm", 1],
        ["send_payment", 2],
        [`tool ${UNICODE}`, 1],
      ]);
      expect(await count({ source: "mcp_governed", agent_id: a1, since: at(20) })).toEqual([
        ["send_payment", 1],
        [`tool ${UNICODE}`, 1],
      ]);
      expect(await count({ source: "mcp_governed", session_id: s2, agent_id: a2, since: at(30) })).toEqual([
        ["__proto__", 1],
        ["send_payment", 1],
      ]);
      expect(await count({ source: "mcp_observed" })).toEqual([["bash", 1]]);
      expect(await count({ source: "control_plane", session_id: s1 })).toEqual([["send_payment", 1]]);
      expect(await count({ source: "mcp_governed", since: at(51) })).toEqual([]);
      expect(await count({ source: "mcp_governed", session_id: uid("vs") })).toEqual([]);
      expect(await storage.audit.countByTool(uid("t"), { source: "mcp_governed" })).toEqual({});
      // Counts are numbers on every engine.
      const counts = await storage.audit.countByTool(id, { source: "mcp_governed" });
      expect(Object.values(counts).every((value) => typeof value === "number")).toBe(true);
    });

    it("counts per agent over a window that spans hours, across many appends, exactly at each boundary", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const [agent, other] = [uid("agent"), uid("agent")];
      const session = uid("vs");
      const hour = 3600;
      // Records across four UTC hours, appended one by one and in batches, with another agent's in between.
      const times = [0, 59, 1800, hour - 1, hour, hour + 1, 2 * hour + 30, 3 * hour - 1, 3 * hour + 5];
      for (const [index, second] of times.entries()) {
        const fields = { session_id: session, agent_id: agent, requested_at: at(second) };
        if (index % 3 === 0) await storage.audit.append(id, [governed("pay", fields), governed("read", fields)]);
        else await storage.audit.append(id, [governed("pay", fields)]);
        await storage.audit.append(id, [governed("pay", { agent_id: other, requested_at: at(second) })]);
      }
      const reads = times.filter((_, index) => index % 3 === 0);
      for (const since of [0, 1, 59, 60, 1800, hour - 1, hour, hour + 1, 2 * hour + 30, 3 * hour, 4 * hour]) {
        const expected: [string, number][] = [];
        const pays = times.filter((second) => second >= since).length;
        const readsIn = reads.filter((second) => second >= since).length;
        if (pays > 0) expected.push(["pay", pays]);
        if (readsIn > 0) expected.push(["read", readsIn]);
        expect(
          sorted(await storage.audit.countByTool(id, { source: "mcp_governed", agent_id: agent, since: at(since) })),
          `since ${since}`,
        ).toEqual(expected);
      }
      expect(sorted(await storage.audit.countByTool(id, { source: "mcp_governed", session_id: session }))).toEqual([
        ["pay", times.length],
        ["read", reads.length],
      ]);
      // A time in another format still compares as text, as stored.
      await storage.audit.append(id, [governed("pay", { agent_id: agent, requested_at: "not a timestamp" })]);
      expect(
        await storage.audit.countByTool(id, { source: "mcp_governed", agent_id: agent, since: at(3 * hour) }),
      ).toEqual({
        pay: 2,
      });
      expect(await storage.audit.countByTool(id, { source: "mcp_governed", agent_id: agent, since: "m" })).toEqual({
        pay: 1,
      });
    });

    it("stores appends, counts and results of every batch size around the statements compiled per size", async () => {
      // A storage may compile small writes once per row count (vargate's Kysely storage does, up to 32 rows): sizes
      // on both sides of such a limit must store the same as any other.
      const storage = ctx.storage();
      const id = uid("t");
      const agent = uid("agent");
      let appended = 0;
      for (const size of [1, 2, 16, 17, 31, 32, 33, 40]) {
        // One session each and one agent: `size` session count rows and one agent hour row.
        const sessions = Array.from({ length: size }, () => uid("vs"));
        const records = await storage.audit.append(
          id,
          sessions.map((session_id, index) =>
            governed(`tool ${size}`, { session_id, agent_id: agent, requested_at: at(index), input: { size, index } }),
          ),
        );
        appended += size;
        expect(records.map((record) => record.input)).toEqual(sessions.map((_, index) => ({ size, index })));
        for (const session_id of sessions) {
          expect(await storage.audit.countByTool(id, { source: "mcp_governed", session_id }), `size ${size}`).toEqual({
            [`tool ${size}`]: 1,
          });
        }
        expect(await storage.audit.countByTool(id, { source: "mcp_governed", agent_id: agent, since: at(0) })).toEqual(
          expect.objectContaining({ [`tool ${size}`]: size }),
        );
        const answers = await Promise.all(
          records.map((record, index) => storage.audit.setActionResult(id, record.action_id, { size, index })),
        );
        expect(answers).toEqual(Array(size).fill(true));
        for (const [index, record] of records.entries()) {
          expect((await storage.audit.get(id, record.action_id))?.result, `size ${size}`).toEqual({ size, index });
        }
      }
      expect(await storage.audit.head(id)).toMatchObject({ seq: appended });
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: appended });
    });

    it("sets a record's result by action id outside the hash, without touching the chain", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const [record] = await storage.audit.append(id, [governed("send_payment")]);
      const actionId = record?.action_id ?? "";
      const head = await storage.audit.head(id);
      const result = { content: [{ type: "text", text: UNICODE }], isError: false, amount: 12.5 };
      expect(await storage.audit.setActionResult(id, actionId, result)).toBe(true);
      expect(await storage.audit.get(id, actionId)).toEqual({ ...record, result });
      // The same result again still matches (MySQL reports no changed row for it).
      expect(await storage.audit.setActionResult(id, actionId, result)).toBe(true);
      expect(await storage.audit.setActionResult(id, actionId, "replaced")).toBe(true);
      expect((await storage.audit.get(id, actionId))?.result).toBe("replaced");
      expect(await storage.audit.setActionResult(id, uid("missing"), result)).toBe(false);
      expect(await storage.audit.setActionResult(uid("t"), actionId, result)).toBe(false);
      expect(await storage.audit.head(id)).toEqual(head);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 1 });
    });
  });
}
