import { expect, it } from "vitest";
import { computeRecordHash } from "../../src/audit/chain.js";
import type { AuditRecord } from "../../src/audit/types.js";
import { verifyCheckpointSignature } from "../../src/checkpoints/index.js";
import {
  consistencyProof,
  LeafHashes,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
} from "../../src/merkle/index.js";
import { forEachTestDatabase, useSharedGovernor } from "../setup/databases.js";
import { grow } from "./helpers.js";

// Someone with write access to the database rewrites history consistently: a record's content, then every hash
// after it and the chain head. The chain alone verifies again; the signed checkpoints do not.

forEachTestDatabase("checkpoints against rewritten history", (database) => {
  const shared = useSharedGovernor(database);

  const records = async (tenantId: string) => {
    const all: AuditRecord[] = [];
    for await (const record of shared.governor.audit.records(tenantId)) all.push(record);
    return all;
  };

  it("refuses a broken chain, and proofs against signed checkpoints fail once history is rewritten", async () => {
    const tenantId = `acme-${database.name}`;
    await shared.governor.tenants.create({ tenant_id: tenantId });
    await grow(shared.governor, tenantId, 5);
    const old = await shared.governor.checkpoints.create(tenantId);
    await grow(shared.governor, tenantId, 4);
    const newer = await shared.governor.checkpoints.create(tenantId);
    expect([old.tree_size, newer.tree_size]).toEqual([6, 10]);
    const { public_key_pem } = await shared.governor.checkpoints.publicKey(tenantId);
    const before = await shared.governor.checkpoints.consistencyProof(tenantId, 6, 10);
    expect(verifyConsistency(6, 10, before.hashes, old.root_hash, newer.root_hash)).toBe(true);

    // 1. A single edited record_hash breaks the links: nothing is signed or proven over it.
    const original = (await records(tenantId))[2] as AuditRecord;
    const table = shared.test.db.updateTable("vargate_audit_log").where("tenant_id", "=", tenantId);
    await table
      .set({ record_hash: "e".repeat(64) })
      .where("seq", "=", 3)
      .execute();
    await grow(shared.governor, tenantId, 1);
    await expect(shared.governor.checkpoints.create(tenantId)).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    await expect(shared.governor.checkpoints.inclusionProof(tenantId, 3)).rejects.toMatchObject({
      code: "INTERNAL_ERROR",
    });
    await table.set({ record_hash: original.record_hash }).where("seq", "=", 3).execute();

    // 2. A consistent rewrite: record 3's input changed, every later hash recomputed, the head moved along.
    const chain = await records(tenantId);
    let prev = (chain[1] as AuditRecord).record_hash;
    for (const record of chain.slice(2)) {
      const input = record.seq === 3 ? { rewritten: true } : record.input;
      const record_hash = computeRecordHash({ ...record, input, prev_hash: prev });
      await shared.test.db
        .updateTable("vargate_audit_log")
        .set({ input: JSON.stringify(input), prev_hash: prev, record_hash })
        .where("tenant_id", "=", tenantId)
        .where("seq", "=", record.seq)
        .execute();
      prev = record_hash;
    }
    await shared.test.db
      .updateTable("vargate_audit_heads")
      .set({ hash: prev })
      .where("tenant_id", "=", tenantId)
      .execute();
    expect(await shared.governor.audit.verify(tenantId)).toMatchObject({ valid: true, record_count: 11 });

    // The stored, signed checkpoints are untouched and still verify...
    expect(verifyCheckpointSignature(old, public_key_pem)).toBe(true);
    // ...but the rewritten records no longer prove against them.
    const after = await shared.governor.checkpoints.consistencyProof(tenantId, 6, 10);
    expect(verifyConsistency(6, 10, after.hashes, old.root_hash, newer.root_hash)).toBe(false);
    const inclusion = await shared.governor.checkpoints.inclusionProof(tenantId, 3, 10);
    expect(verifyInclusion(inclusion.leaf_hash, inclusion.leaf_index, 10, inclusion.hashes, inclusion.root_hash)).toBe(
      false,
    );
    // The new history's own root, proven against the old signed checkpoint: fails.
    const leaves = new LeafHashes();
    for (const record of await records(tenantId)) leaves.appendLeaf(record.record_hash);
    const rewrittenRoot = merkleRoot(leaves);
    expect(verifyConsistency(6, 11, consistencyProof(leaves, 6, 11), old.root_hash, rewrittenRoot)).toBe(false);
    // And vargate refuses to sign the rewritten chain.
    await expect(shared.governor.checkpoints.create(tenantId)).rejects.toMatchObject({ code: "INTERNAL_ERROR" });
    expect((await shared.governor.checkpoints.latest(tenantId))?.tree_size).toBe(10);
  });
});
