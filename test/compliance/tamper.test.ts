import { describe, expect, it } from "vitest";
import { computeRecordHash, GENESIS_HASH } from "../../src/audit/chain.js";
import type { AuditRecord } from "../../src/audit/types.js";
import { verifyComplianceExport } from "../../src/compliance/verify.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory-entry.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { createTestStorage } from "../setup/databases.js";
import { sessionEntry, storeSession } from "./helpers.js";

// Storage whose audit reads pass through `rewrite`: someone with write access to the database. It offers no
// `scanStored`, so vargate reads every record through `scan` (and this rewrite).
function tamperable(base: VargateStorage) {
  let rewrite: ((records: AuditRecord[]) => AuditRecord[]) | null = null;
  const audit = new Proxy(base.audit, {
    get(target, property) {
      if (property === "scanStored") return undefined;
      if (property === "scan") {
        return async (tenantId: string, options: { afterSeq: number; limit: number }) => {
          const page = await target.scan(tenantId, options);
          return rewrite ? rewrite(page) : page;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const storage = new Proxy(base, {
    get(target, property) {
      if (property === "audit") return audit;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { storage, setRewrite: (fn: typeof rewrite) => (rewrite = fn) };
}

async function setup() {
  const { storage, setRewrite } = tamperable(memoryStorage());
  const governor = new VargateGovernor({ storage });
  await governor.migrate();
  const { tenant } = await governor.tenants.create({ tenant_id: "acme" });
  const sessionId = "vs-00000000000000cd";
  const agentId = await storeSession(governor, tenant.tenant_id, sessionId);
  await storage.audit.append(
    tenant.tenant_id,
    Array.from({ length: 20 }, (_, i) => sessionEntry(sessionId, agentId, i)),
  );
  await governor.checkpoints.create(tenant.tenant_id);
  const { public_key_pem } = await governor.checkpoints.publicKey(tenant.tenant_id);
  return { governor, tenantId: tenant.tenant_id, sessionId, setRewrite, key: public_key_pem };
}

describe("compliance export of a tampered chain", () => {
  it("names where the chain broke in AG-1.2 and chain_verification, and does not verify", async () => {
    const { governor, tenantId, sessionId, setRewrite, key } = await setup();
    const clean = await governor.compliance.export(tenantId, sessionId);
    expect(verifyComplianceExport(clean, { publicKey: key }).valid).toBe(true);
    const target = clean.timeline[4] as { seq: number; action_id: string };

    setRewrite((page) => page.map((r) => (r.seq === target.seq ? { ...r, input: { edited: true } } : r)));
    const broken = await governor.compliance.export(tenantId, sessionId);
    expect(broken.chain_verification).toMatchObject({
      valid: false,
      failed_at_seq: target.seq,
      failed_at_action_id: target.action_id,
      reason: "record_hash mismatch",
    });
    expect(broken.agcs_controls["AG-1.2"]).toBe(
      `Hash-chained audit trail BROKEN at seq ${target.seq} (action ${target.action_id}): record_hash mismatch`,
    );
    // The summary still counts every record, and the export is signed as it is: evidence of the break.
    expect(broken.summary.total_events).toBe(20);
    const result = verifyComplianceExport(broken, { publicKey: key });
    expect(result.valid).toBe(false);
    expect(result.failures.map((f) => f.check)).toEqual(["record_hashes", "chain_verification"]);
    expect(result.failures[0]).toMatchObject({ action_id: target.action_id, seq: target.seq });
  });

  it("catches a consistent rewrite (every later hash recomputed) with the proofs against the signed checkpoint", async () => {
    const { governor, tenantId, sessionId, setRewrite, key } = await setup();
    const clean = await governor.compliance.export(tenantId, sessionId);
    const target = (clean.timeline[4] as { seq: number }).seq;
    const rewritten = new Map<number, AuditRecord>();
    setRewrite((page) =>
      page.map((record) => {
        if (record.seq < target) return record;
        const cached = rewritten.get(record.seq);
        if (cached) return cached;
        const prev = record.seq === 1 ? GENESIS_HASH : (rewritten.get(record.seq - 1)?.record_hash ?? record.prev_hash);
        const input = record.seq === target ? { rewritten: true } : record.input;
        const next = { ...record, input, prev_hash: prev };
        const sealed = { ...next, record_hash: computeRecordHash(next) };
        rewritten.set(record.seq, sealed);
        return sealed;
      }),
    );
    // Reading everything once fills the rewrite; the chain alone now looks fine up to the (untouched) head.
    const forged = await governor.compliance.export(tenantId, sessionId);
    const result = verifyComplianceExport(forged, { publicKey: key });
    expect(result.valid).toBe(false);
    const checks = new Set(result.failures.map((f) => f.check));
    expect(checks.has("inclusion_proofs")).toBe(true);
    expect(checks.has("record_hashes")).toBe(false);
  });

  it("catches a record edited between the export's scan and its timeline: the item no longer hashes to its leaf", async () => {
    const { governor, tenantId, sessionId, setRewrite, key } = await setup();
    const clean = await governor.compliance.export(tenantId, sessionId);
    const target = clean.timeline[4] as { seq: number; action_id: string };
    // The first read is the scan that verifies the chain; the edit shows only in the reads that write the timeline.
    let reads = 0;
    setRewrite((page) =>
      ++reads === 1 ? page : page.map((r) => (r.seq === target.seq ? { ...r, input: { edited: true } } : r)),
    );
    const edited = await governor.compliance.export(tenantId, sessionId);
    expect(reads).toBeGreaterThan(1);
    expect(edited.chain_verification.valid).toBe(true);
    expect((edited.timeline[4] as { input: unknown }).input).toEqual({ edited: true });
    const result = verifyComplianceExport(edited, { publicKey: key });
    expect(result.valid).toBe(false);
    expect(result.failures[0]).toMatchObject({ check: "record_hashes", action_id: target.action_id, seq: target.seq });
  });
});

describe("compliance export over a session index edited by hand", () => {
  // The SQL storage finds a session's records through `vargate_audit_sessions`, which the hash chain does not
  // cover. Editing it can neither slip another session's record into an export nor hide one unnoticed.
  it("leaves out a record added to another session's index, and fails offline verification when one is removed", async () => {
    const test = await createTestStorage("sqlite-file");
    try {
      const governor = new VargateGovernor({ storage: test.storage });
      const { tenant } = await governor.tenants.create({ tenant_id: "acme" });
      const sessionId = "vs-00000000000000cd";
      const otherId = "vs-00000000000000ef";
      const agentId = await storeSession(governor, tenant.tenant_id, sessionId);
      await storeSession(governor, tenant.tenant_id, otherId);
      // More than one batch of the session index (256 records), two sessions interleaved.
      await test.storage.audit.append(
        tenant.tenant_id,
        Array.from({ length: 600 }, (_, i) => sessionEntry(i % 2 === 0 ? sessionId : otherId, agentId, i)),
      );
      await governor.checkpoints.create(tenant.tenant_id);
      const { public_key_pem: key } = await governor.checkpoints.publicKey(tenant.tenant_id);
      const clean = await governor.compliance.export(tenant.tenant_id, sessionId);
      expect(clean.summary.total_events).toBe(300);
      expect(clean.timeline).toHaveLength(300);
      expect(verifyComplianceExport(clean, { publicKey: key }).valid).toBe(true);

      const indexed = await test.db
        .selectFrom("vargate_audit_sessions")
        .select(["seq", "session_id"])
        .where("tenant_id", "=", tenant.tenant_id)
        .orderBy("seq")
        .execute();
      const mine = indexed.filter((row) => row.session_id === sessionId);
      const theirs = indexed.find((row) => row.session_id === otherId);
      expect(mine.length).toBeGreaterThan(200);
      await test.db
        .insertInto("vargate_audit_sessions")
        .values({ tenant_id: tenant.tenant_id, session_id: sessionId, seq: Number(theirs?.seq) })
        .execute();
      const injected = await governor.compliance.export(tenant.tenant_id, sessionId);
      expect(injected.timeline.map((item) => item.seq)).toEqual(clean.timeline.map((item) => item.seq));
      const listed = await test.storage.audit.listBySession(tenant.tenant_id, sessionId, { limit: 1000 });
      expect(listed.every((record) => record.session_id === sessionId)).toBe(true);
      expect(listed).toHaveLength(300);

      const hidden = Number(mine[10]?.seq);
      await test.db
        .deleteFrom("vargate_audit_sessions")
        .where("tenant_id", "=", tenant.tenant_id)
        .where("session_id", "=", sessionId)
        .where("seq", "=", hidden)
        .execute();
      const edited = await governor.compliance.export(tenant.tenant_id, sessionId);
      expect(edited.timeline.map((item) => item.seq)).not.toContain(hidden);
      // The summary counts the chain itself, so the export no longer agrees with its timeline.
      expect(edited.summary.total_events).toBe(300);
      const result = verifyComplianceExport(edited, { publicKey: key });
      expect(result.valid).toBe(false);
      expect(result.failures.map((failure) => failure.check)).toContain("summary");
    } finally {
      await test.cleanup();
    }
  });
});
