import { describe, expect, it } from "vitest";
import { at, entry, failure, policyRecord, type SuiteContext, UNICODE, uid, verify } from "./fixtures.js";

/** Policy documents: versions by compare-and-set, each with its audit record. */
export function describePolicies(ctx: SuiteContext): void {
  const { newTenant } = ctx;
  describe(`policies (${ctx.name})`, () => {
    it("has no policy before the first put; stores version 1 with its audit record and reads it back exactly", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      expect(await storage.policies.current(id)).toBeNull();
      expect(await storage.policies.currentVersion(id)).toBeNull();
      expect(await storage.policies.get(id, 1)).toBeNull();
      const record = policyRecord(id, {
        document: {
          version_note: UNICODE,
          rules: [
            {
              id: "large-amounts",
              tool: ["payments_*", "🔧-tool"],
              input: [{ field: "amount", op: "gt", value: 1e21 }],
              limits: [1, 2.5, -0.125, 0, null, true, false],
              effect: "requires_human",
              message: `Line 1\nLine 2\t"quoted" \\ ${UNICODE}`,
            },
          ],
          empty: {},
          ключ: "値",
        },
        created_at: "2025-06-01T12:00:00.123456+02:00",
        created_by: null,
      });
      const audit = entry({ method: "update_policy", input: { version: 1 } });
      expect(await storage.policies.put(record, audit)).toBe(true);
      expect(await storage.policies.current(id)).toEqual(record);
      expect(await storage.policies.get(id, 1)).toEqual(record);
      expect(await storage.policies.get(id, 2)).toBeNull();
      expect(await storage.audit.get(id, audit.action_id)).toMatchObject({ ...audit, seq: 2 });
    });

    it("stores only the next version: a stale or skipping put returns false and writes nothing", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const v1 = policyRecord(id, { version: 1 });
      expect(await storage.policies.put(v1, entry())).toBe(true);
      const refused = entry();
      for (const version of [1, 3, 0, -1, 1.5]) {
        const stale = policyRecord(id, { version, document: { stale: true } });
        expect(await storage.policies.put(stale, refused)).toBe(false);
      }
      expect(await storage.policies.current(id)).toEqual(v1);
      expect(await storage.policies.get(id, 3)).toBeNull();
      expect(await storage.audit.get(id, refused.action_id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(2);

      const v2 = policyRecord(id, { version: 2, document: { rules: [] }, created_at: at(20), created_by: "jwt:ops" });
      expect(await storage.policies.put(v2, entry())).toBe(true);
      const v3 = policyRecord(id, { version: 3, document: { rules: [], note: "third" }, created_at: at(30) });
      expect(await storage.policies.put(v3, entry())).toBe(true);
      // Earlier versions never change.
      expect(await storage.policies.get(id, 1)).toEqual(v1);
      expect(await storage.policies.get(id, 2)).toEqual(v2);
      expect(await storage.policies.current(id)).toEqual(v3);
      expect(await storage.policies.currentVersion(id)).toBe(3);
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
    });

    it("keeps tenants apart: versions are per tenant, and another tenant's are never returned", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      const { id: other } = await newTenant();
      const mine = policyRecord(id);
      expect(await storage.policies.put(mine, entry())).toBe(true);
      expect(await storage.policies.put(policyRecord(id, { version: 2 }), entry())).toBe(true);
      expect(await storage.policies.current(other)).toBeNull();
      expect(await storage.policies.get(other, 1)).toBeNull();
      // The other tenant starts at version 1, not 3.
      expect(await storage.policies.put(policyRecord(other, { version: 3 }), entry())).toBe(false);
      const theirs = policyRecord(other, { document: { theirs: true } });
      expect(await storage.policies.put(theirs, entry())).toBe(true);
      expect(await storage.policies.current(other)).toEqual(theirs);
      expect(await storage.policies.currentVersion(other)).toBe(theirs.version);
      expect(await storage.policies.currentVersion(uid("t"))).toBeNull();
      expect(await storage.policies.get(id, 1)).toEqual(mine);
      expect(await storage.policies.current(uid("t"))).toBeNull();
    });

    it("lets exactly one of racing puts from the same version win, with one audit record", async () => {
      const storage = ctx.storage();
      const { id } = await newTenant();
      expect(await storage.policies.put(policyRecord(id), entry())).toBe(true);
      for (const racers of [2, 10]) {
        const version = ((await storage.policies.current(id))?.version ?? 0) + 1;
        const candidates = Array.from({ length: racers }, (_, i) => ({
          record: policyRecord(id, { version, document: { racer: i } }),
          audit: entry({ method: "update_policy" }),
        }));
        const results = await Promise.all(candidates.map(({ record, audit }) => storage.policies.put(record, audit)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = candidates[results.indexOf(true)];
        expect(await storage.policies.current(id)).toEqual(winner?.record);
        const stored = await Promise.all(candidates.map(({ audit }) => storage.audit.get(id, audit.action_id)));
        expect(stored.filter(Boolean).map((record) => record?.action_id)).toEqual([winner?.audit.action_id]);
      }
      expect(await verify(storage, id)).toMatchObject({ valid: true, record_count: 4 });
    });

    it("stores no version when the audit record cannot be written", async () => {
      const storage = ctx.storage();
      const { id, audit } = await newTenant();
      await failure(storage.policies.put(policyRecord(id), { ...audit }));
      expect(await storage.policies.current(id)).toBeNull();
      expect((await storage.audit.head(id)).seq).toBe(1);
      // The version is still free.
      expect(await storage.policies.put(policyRecord(id), entry())).toBe(true);
    });
  });
}
