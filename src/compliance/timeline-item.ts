import { canonicalFields, canonicalShape, sha256Hex } from "../audit/chain.js";
import { parseStoredRecord, storedRecordCanonicalJson } from "../audit/stored.js";
import type { AuditRecord, StoredAuditRecord } from "../audit/types.js";
import type { MerkleTree } from "../merkle/index.js";
import { itemTextOfRecordText } from "./item-text.js";
import type { ComplianceTimelineItem } from "./types.js";

// A compliance export's timeline item: a record with its `inclusion_proof` in the export's Merkle tree.

export const TIMELINE_SHAPE = canonicalShape([
  "action_id",
  "tool",
  "decision",
  "source",
  "requested_at",
  "tenant_id",
  "seq",
  "session_id",
  "agent_id",
  "event_id",
  "actor",
  "method",
  "severity",
  "violations",
  "input",
  "policy_version",
  "prev_hash",
  "record_hash",
  "inclusion_proof",
] satisfies (keyof ComplianceTimelineItem)[]);

/**
 * The canonical JSON of a record's timeline item (`canonicalFields(timelineItem(record, tree), TIMELINE_SHAPE)`):
 * from the record's joined text when that hashes to its `record_hash` (`timelineItemOfText`), else (rows written
 * before vargate stored canonical text, or edited ones) with the JSON fields parsed and serialized canonically.
 */
export function timelineItemJson(stored: StoredAuditRecord, tree: MerkleTree | null): string {
  const text = storedRecordCanonicalJson(stored);
  const item =
    text !== null && sha256Hex(text) === stored.record_hash
      ? timelineItemOfText(text, stored.seq, stored.record_hash, tree)
      : null;
  return item ?? canonicalFields(timelineItem(parseStoredRecord(stored), tree), TIMELINE_SHAPE);
}

/**
 * A record's timeline item from the canonical text its `record_hash` covers (the caller has checked that it
 * does), by `itemTextOfRecordText`. `null` if the places of the item's two extra members are not found.
 */
export function timelineItemOfText(
  text: string,
  seq: number,
  recordHash: string,
  tree: MerkleTree | null,
): string | null {
  return itemTextOfRecordText(text, proofJson(seq, tree), JSON.stringify(recordHash));
}

/** The canonical JSON of a record's `inclusion_proof`: hex hashes need no escaping. */
function proofJson(seq: number, tree: MerkleTree | null): string {
  if (!tree || seq > tree.size) return "null";
  const hashes = tree.inclusionProof(seq - 1);
  return `{"hashes":${hashes.length === 0 ? "[]" : `["${hashes.join('","')}"]`},"leaf_index":${seq - 1}}`;
}

/** A record's timeline item. */
export function timelineItem(record: Omit<AuditRecord, "result">, tree: MerkleTree | null): ComplianceTimelineItem {
  return {
    action_id: record.action_id,
    tool: record.tool,
    decision: record.decision,
    source: record.source as ComplianceTimelineItem["source"],
    requested_at: record.requested_at,
    tenant_id: record.tenant_id,
    seq: record.seq,
    session_id: record.session_id,
    agent_id: record.agent_id,
    event_id: record.event_id,
    actor: record.actor,
    method: record.method,
    severity: record.severity,
    violations: record.violations,
    input: record.input,
    policy_version: record.policy_version,
    prev_hash: record.prev_hash,
    record_hash: record.record_hash,
    inclusion_proof:
      tree && record.seq <= tree.size
        ? { leaf_index: record.seq - 1, hashes: tree.inclusionProof(record.seq - 1) }
        : null,
  };
}
