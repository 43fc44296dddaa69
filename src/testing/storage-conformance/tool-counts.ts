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
