import { createHash } from "node:crypto";
import { canonicalize } from "json-canonicalize";
import type { AuditEntry, AuditHead, AuditRecord, ChainVerification } from "./types.js";

/** `prev_hash` of a tenant's first record: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/** The fields covered by `record_hash`, in no particular order (RFC 8785 fixes the order). */
export const HASHED_FIELDS = [
  "tenant_id",
  "seq",
  "action_id",
  "session_id",
  "agent_id",
  "event_id",
  "actor",
  "source",
  "tool",
  "method",
  "decision",
  "severity",
  "violations",
  "input",
  "policy_version",
  "requested_at",
  "prev_hash",
] as const satisfies readonly (keyof AuditRecord)[];

/** RFC 8785 (JCS) canonical JSON text, the exact bytes vargate hashes. */
export function canonicalJson(value: unknown): string {
  return canonicalize(value);
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Hashes a record's audited fields plus `prev_hash`. */
export function computeRecordHash(record: Omit<AuditRecord, "record_hash" | "result">): string {
  const payload: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) payload[field] = record[field];
  return sha256Hex(canonicalJson(payload));
}

/** Binds `entry` to the chain after `head`. Pure: storage calls it while holding the tenant's head lock. */
export function sealAuditRecord(tenantId: string, head: AuditHead, entry: AuditEntry): AuditRecord {
  const unsealed = { ...entry, tenant_id: tenantId, seq: head.seq + 1, prev_hash: head.hash };
  return { ...unsealed, record_hash: computeRecordHash(unsealed), result: null };
}

/** Seals several entries in order; returns the records and the new head. */
export function sealAuditRecords(
  tenantId: string,
  head: AuditHead,
  entries: readonly AuditEntry[],
): { records: AuditRecord[]; head: AuditHead } {
  const records: AuditRecord[] = [];
  let current = head;
  for (const entry of entries) {
    const record = sealAuditRecord(tenantId, current, entry);
    records.push(record);
    current = { seq: record.seq, hash: record.record_hash };
  }
  return { records, head: current };
}

/**
 * Walks a tenant's records in `seq` order and reports the first broken one.
 *
 * `head` is the stored chain head; a chain that ends before the head (a deleted tail) is broken too.
 */
export async function verifyChain(
  tenantId: string,
  records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>,
  head: AuditHead,
): Promise<ChainVerification> {
  let expected: AuditHead = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  const broken = (record: AuditRecord | null, reason: string): ChainVerification => ({
    tenant_id: tenantId,
    valid: false,
    record_count: count,
    head_hash: expected.hash,
    failed_at_seq: record ? record.seq : expected.seq + 1,
    failed_at_action_id: record ? record.action_id : null,
    reason,
  });

  for await (const record of records) {
    count += 1;
    if (record.tenant_id !== tenantId) return broken(record, "tenant_id mismatch");
    // A missing record (deleted, or moved to another tenant) is named by the position it should hold.
    if (record.seq > expected.seq + 1) return broken(null, `record at seq ${expected.seq + 1} is missing`);
    if (record.seq !== expected.seq + 1)
      return broken(record, `sequence out of order: expected seq ${expected.seq + 1}`);
    if (record.prev_hash !== expected.hash) return broken(record, "prev_hash mismatch");
    const { record_hash, ...unsealed } = record;
    if (computeRecordHash(unsealed) !== record_hash) return broken(record, "record_hash mismatch");
    expected = { seq: record.seq, hash: record_hash };
  }
  if (expected.seq !== head.seq || expected.hash !== head.hash) {
    return broken(null, `chain ends at seq ${expected.seq} but the head is at seq ${head.seq}`);
  }
  return { tenant_id: tenantId, valid: true, record_count: count, head_hash: expected.hash };
}
