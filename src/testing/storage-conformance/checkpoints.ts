import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { CheckpointRecord } from "../../checkpoints/types.js";
import { at, type SuiteContext, uid } from "./fixtures.js";

/** A signed checkpoint as the checkpoint service stores it; the signature is not checked by storage. */
const checkpoint = (tenantId: string, treeSize: number, fields: Partial<CheckpointRecord> = {}): CheckpointRecord => ({
  ...{ tenant_id: tenantId, tree_size: treeSize, root_hash: randomBytes(32).toString("hex") },
  ...{ timestamp: at(treeSize % 60), key_id: randomBytes(8).toString("hex") },
  ...{ signature: randomBytes(64).toString("base64") },
  ...fields,
});

/** Merkle checkpoints: one per tree size and tenant, insert-if-absent, read newest first. */
export function describeCheckpoints(ctx: SuiteContext): void {
  describe(`checkpoints (${ctx.name})`, () => {
    it("stores checkpoints and reads them back exactly: latest, by size, and listed largest first", async () => {
      const storage = ctx.storage();
      const tenant = uid("t");
      expect(await storage.checkpoints.latest(tenant)).toBeNull();
      expect(await storage.checkpoints.get(tenant, 1)).toBeNull();
      expect(await storage.checkpoints.list(tenant, { limit: 10 })).toEqual([]);

      // Added out of order; sizes beyond 2^31 round-trip as numbers.
      const sizes = [3, 1, 2 ** 40 + 7, 17, 2];
      const stored: CheckpointRecord[] = [];
      for (const size of sizes) {
        const record = checkpoint(tenant, size, { timestamp: "2026-01-02T03:04:05.678Z" });
        expect(await storage.checkpoints.add(record)).toEqual(record);
        stored.push(record);
      }
      const bySize = [...stored].sort((a, b) => b.tree_size - a.tree_size);
      expect(await storage.checkpoints.latest(tenant)).toEqual(bySize[0]);
      expect(await storage.checkpoints.get(tenant, 17)).toEqual(stored[3]);
      expect(await storage.checkpoints.get(tenant, 2 ** 40 + 7)).toEqual(stored[2]);
      expect(await storage.checkpoints.get(tenant, 4)).toBeNull();
      expect(await storage.checkpoints.list(tenant, { limit: 10 })).toEqual(bySize);
      expect(await storage.checkpoints.list(tenant, { limit: 2 })).toEqual(bySize.slice(0, 2));
      expect(await storage.checkpoints.list(tenant, { limit: 0 })).toEqual([]);
    });

    it("keeps the first checkpoint of a tree size: a second add returns the stored one and changes nothing", async () => {
      const storage = ctx.storage();
      const tenant = uid("t");
      const first = checkpoint(tenant, 5);
      expect(await storage.checkpoints.add(first)).toEqual(first);
      const second = checkpoint(tenant, 5, { timestamp: at(59) });
      expect(await storage.checkpoints.add(second)).toEqual(first);
      expect(await storage.checkpoints.get(tenant, 5)).toEqual(first);
      expect(await storage.checkpoints.list(tenant, { limit: 10 })).toEqual([first]);
    });

    it("lets exactly one of racing adds of one size win; every caller gets the winner", async () => {
      const storage = ctx.storage();
      const tenant = uid("t");
      const racers = Array.from({ length: 10 }, () => checkpoint(tenant, 9));
      const results = await Promise.all(racers.map((record) => storage.checkpoints.add(record)));
      const stored = await storage.checkpoints.get(tenant, 9);
      expect(racers).toContainEqual(stored);
      expect(results).toEqual(racers.map(() => stored));
      expect(await storage.checkpoints.list(tenant, { limit: 100 })).toHaveLength(1);
    });

    it("keeps tenants apart: the same tree size in two tenants, and another tenant's never returned", async () => {
      const storage = ctx.storage();
      const mine = uid("t");
      const theirs = uid("t");
      const a = checkpoint(mine, 4);
      const b = checkpoint(theirs, 4);
      expect(await storage.checkpoints.add(a)).toEqual(a);
      expect(await storage.checkpoints.add(b)).toEqual(b);
      const later = checkpoint(theirs, 8);
      await storage.checkpoints.add(later);
      expect(await storage.checkpoints.latest(mine)).toEqual(a);
      expect(await storage.checkpoints.get(mine, 8)).toBeNull();
      expect(await storage.checkpoints.list(mine, { limit: 10 })).toEqual([a]);
      expect(await storage.checkpoints.list(theirs, { limit: 10 })).toEqual([later, b]);
    });
  });
}
