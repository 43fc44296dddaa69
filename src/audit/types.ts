import type { JsonValue } from "../json.js";
import { HASHED_FIELDS } from "./chain.js";

/** Where an audit record came from. */
export type AuditSource = "mcp_governed" | "mcp_observed" | "control_plane";

/** Governed calls use allow/deny/requires_human, stream records use observed. */
export type AuditDecision = "allow" | "deny" | "requires_human" | "observed";

export type Severity = "none" | "low" | "medium" | "high" | "critical";

/** What a caller appends. Every field here is covered by the record hash. */
export interface AuditEntry {
  /** Unique per tenant. A time-ordered UUIDv7 for records vargate creates. */
  action_id: string;
  session_id: string | null;
  agent_id: string | null;
  /** Id of the upstream event the record derives from (`sevt_…`), if any. */
  event_id: string | null;
  /** Who caused a control-plane record (API key id, JWT subject), if anyone. */
  actor: string | null;
  source: AuditSource;
  tool: string;
  method: string;
  decision: AuditDecision;
  severity: Severity;
  violations: string[];
  /** The exact evaluation input (or, for control-plane records, the change made). */
  input: JsonValue;
  policy_version: number | null;
  /** RFC 3339 UTC. */
  requested_at: string;
}

/** A sealed record: its place in the tenant's chain and the hashes that bind it there. */
export interface AuditRecord extends AuditEntry {
  tenant_id: string;
  /** 1-based position in the tenant's chain. */
  seq: number;
  prev_hash: string;
  record_hash: string;
  /**
   * Filled in after the record is sealed (an observed tool's result excerpt, a governed call's execution result)
   * and therefore outside the hash. `null` until set.
   */
  result: JsonValue | null;
}

/** The tenant's chain head: the last sealed position and hash. `seq` 0 means an empty chain. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface ChainVerification {
  tenant_id: string;
  valid: boolean;
  /** Records checked, up to and including the broken one when `valid` is false. */
  record_count: number;
  /** Hash of the last valid record (the genesis hash for an empty chain). */
  head_hash: string;
  failed_at_seq?: number;
  failed_at_action_id?: string | null;
  reason?: string;
}

/**
 * One part of a tenant's chain, as `AuditStore.checkChainParts` checked it: the records with `seq` in
 * `(afterSeq, throughSeq]`.
 */
export interface ChainPartCheck {
  afterSeq: number;
  throughSeq: number;
  /**
   * Every record of the part is there, in `seq` order, links to the one before it by `prev_hash`, and has a
   * `hashed_text` (as `scanStored` joins it) that hashes to its `record_hash`.
   */
  clean: boolean;
  /** The `prev_hash` of the part's first record; `null` unless `clean`. */
  firstPrevHash: string | null;
  /** The `record_hash` of the part's last record; `null` unless `clean`. */
  lastHash: string | null;
}

/**
 * An audit record as stored, for the read paths that need no parsed JSON (chain verification, exports, replay):
 * `input` and `violations` are the stored JSON text, and `result` is left out. Records written since vargate
 * stores RFC 8785 canonical JSON text hold exactly the text the record hash covers; older rows may hold any JSON
 * text, and a text that does not parse reads as that string (as `scan` reads it).
 */
export interface StoredAuditRecord extends Omit<AuditRecord, "input" | "violations" | "result"> {
  /** The stored JSON text of `input`. */
  input: string;
  /** The stored JSON text of `violations`. */
  violations: string;
}

/**
 * A stored record with `scanStored`'s one computed field, `hashed_text`: the text `record_hash` covers, joined from
 * the stored columns as `storedRecordCanonicalJson` joins it, or `null` where that join would not be sound (the
 * input text is not one JSON value, or a column holds a value of the wrong type). A storage may join it in the
 * database; its text may then differ from `storedRecordCanonicalJson`'s only where neither hashes to the record's
 * `record_hash` (vargate then reads the record whole and checks it the slow way).
 */
export interface ScannedAuditRecord extends StoredAuditRecord {
  hashed_text: string | null;
}

/** The fields a `scanStored` read may be limited to: the stored columns, and `hashed_text`. */
export type StoredAuditField = keyof ScannedAuditRecord;

/** Every field of a `StoredAuditRecord`, in the order the databases hold them. */
export const STORED_AUDIT_FIELDS = [...HASHED_FIELDS, "record_hash"] as const satisfies readonly StoredAuditField[];

/** What `AuditStore.scanStored` reads. */
export interface StoredAuditScan<Field extends StoredAuditField = StoredAuditField> {
  /** Records with `seq > afterSeq`, ascending. */
  afterSeq: number;
  /**
   * Only records with `seq <= throughSeq`. Added after `scanStored`: a storage of your own may ignore it, so a
   * caller must still drop the records beyond it.
   */
  throughSeq?: number;
  /** At most this many (matching) records. */
  limit: number;
  /** Only this session's records. */
  sessionId?: string;
  /** Only records of this source. */
  source?: AuditSource;
  /** Only these fields (and `seq`, always read). @default every stored column (`STORED_AUDIT_FIELDS`) */
  fields?: readonly Field[];
}
