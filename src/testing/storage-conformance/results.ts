import { describe, expect, it } from "vitest";
import { entry, type SuiteContext, UNICODE, uid, verify } from "./fixtures.js";

/** Results set by many callers at once, which a storage may commit together. */
export function describeConcurrentResults(ctx: SuiteContext): void {
  describe(`concurrent results (${ctx.name})`, () => {
    it("gives each of many racing result writes its own answer, the later write of a key winning", async () => {
      const storage = ctx.storage();
      const id = uid("t");
      const session = uid("vs");
      const records = await storage.audit.append(
        id,
        Array.from({ length: 40 }, (_, index) =>
          entry({ source: "mcp_observed", session_id: session, event_id: `sevt_${index}`, tool: "bash" }),
        ),
      );
      const head = await storage.audit.head(id);
      const byAction = records.slice(0, 20);
      const answers = await Promise.all([
        ...byAction.map((record, index) => storage.audit.setActionResult(id, record.action_id, { index, UNICODE })),
        ...records
          .slice(20)
          .map((_, index) => storage.audit.setResult(id, session, `sevt_${index + 20}`, { event: index + 20 })),
        // Missing records, another tenant's, another session's: no match, and nothing written.
        storage.audit.setActionResult(id, uid("missing"), "x"),
        storage.audit.setActionResult(uid("t"), byAction[0]?.action_id ?? "", "x"),
        storage.audit.setResult(id, uid("vs"), "sevt_25", "x"),
        storage.audit.setResult(id, session, "sevt_missing", "x"),
      ]);
      expect(answers).toEqual([...Array(40).fill(true), false, false, false, false]);
      // The same key twice at once: both match, and one of the two values is stored whole.
      const [first] = records;
      const twice = await Promise.all([
        storage.audit.setActionResult(id, first?.action_id ?? "", "one"),
        storage.audit.setActionResult(id, first?.action_id ?? "", "two"),
        // The value already stored (MySQL reports no changed row for it) still matches.
        storage.audit.setResult(id, session, "sevt_30", { event: 30 }),
      ]);
      expect(twice).toEqual([true, true, true]);
      expect(["one", "two"]).toContain((await storage.audit.get(id, first?.action_id ?? ""))?.result);
      const stored = await storage.audit.scan(id, { afterSeq: 0, limit: 100 });
      for (const [index, record] of stored.entries()) {
        if (index === 0) continue;
        expect(record.result).toEqual(index < 20 ? { index, UNICODE } : { event: index });
      }
      expect(await storage.audit.head(id)).toEqual(head);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 40 });
    });
  });
}
