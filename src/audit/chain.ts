import { hash } from "node:crypto";
import { canonicalize } from "json-canonicalize";
import type { AuditEntry, AuditHead, AuditRecord, ChainPartCheck, ChainVerification } from "./types.js";

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

const HASHED_SHAPE = canonicalShape(HASHED_FIELDS);

/** RFC 8785 (JCS) canonical JSON text, the exact bytes vargate hashes. */
export function canonicalJson(value: unknown): string {
  try {
    return canonicalValue(value, 0);
  } catch (error) {
    if (error !== UNSUPPORTED) throw error;
    // Anything but plain JSON data (toJSON, non-finite numbers, functions, cycles): the reference implementation
    // decides, with its own output or error.
    return canonicalize(value);
  }
}

/**
 * `canonicalJson(value)` when `value` is JSON data that a JSON round trip gives back as it is (plain objects and
 * arrays, strings, finite numbers other than -0, booleans, null; no `undefined`, no `toJSON`); `undefined`
 * otherwise. Such a value needs no copy through JSON text to be stored as it will read back.
 */
export function plainCanonicalJson(value: unknown): string | undefined {
  try {
    return canonicalValue(value, 0, true);
  } catch (error) {
    if (error !== UNSUPPORTED) throw error;
    return undefined;
  }
}

export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

/** Hashes a record's audited fields plus `prev_hash`. */
export function computeRecordHash(record: Omit<AuditRecord, "record_hash" | "result">): string {
  return sha256Hex(recordCanonicalJson(record));
}

/** The canonical JSON of a record's `HASHED_FIELDS` (the text `record_hash` is computed over); other keys ignored. */
export function recordCanonicalJson(record: Omit<AuditRecord, "record_hash" | "result">): string {
  return canonicalFields(record, HASHED_SHAPE);
}

/** A fixed set of keys, sorted once, for `canonicalFields`. */
export interface CanonicalShape {
  readonly keys: readonly string[];
  readonly prefixes: readonly string[];
}

export function canonicalShape(keys: readonly string[]): CanonicalShape {
  const sorted = [...keys].sort();
  return { keys: sorted, prefixes: sorted.map((key) => `${JSON.stringify(key)}:`) };
}

/**
 * `canonicalJson` of the object made of `value`'s `shape.keys` only, without building that object or sorting its
 * keys per call: for the record shapes serialized once per record.
 */
export function canonicalFields(value: object, shape: CanonicalShape): string {
  const object = value as Record<string, unknown>;
  try {
    let out = "{";
    for (let i = 0; i < shape.keys.length; i++) {
      const member = object[shape.keys[i] as string];
      // Like JCS implementations (and JSON.stringify), an undefined member is left out rather than written.
      if (member === undefined) continue;
      if (out.length > 1) out += ",";
      out += shape.prefixes[i] as string;
      out += canonicalValue(member, 1);
    }
    return `${out}}`;
  } catch (error) {
    if (error !== UNSUPPORTED) throw error;
    const payload: Record<string, unknown> = {};
    for (const key of shape.keys) payload[key] = object[key];
    return canonicalize(payload);
  }
}

/** The canonical texts of a record's JSON fields: part of the text its hash covers, and what storage keeps. */
export interface CanonicalJsonTexts {
  readonly input: string;
  readonly violations: string;
}

/**
 * The text `record_hash` covers, joined from a record's other hashed fields and the given texts of its JSON fields,
 * spliced in as they are (keys in RFC 8785 order; test/audit checks it). With canonical texts it is the record's
 * canonical text. `null` when a field is not a string, finite number or null.
 */
export function joinRecordText(
  record: Omit<AuditRecord, "record_hash" | "result" | "input" | "violations">,
  texts: CanonicalJsonTexts,
): string | null {
  try {
    return `{"action_id":${token(record.action_id)},"actor":${token(record.actor)},"agent_id":${token(
      record.agent_id,
    )},"decision":${token(record.decision)},"event_id":${token(record.event_id)},"input":${texts.input},"method":${token(
      record.method,
    )},"policy_version":${token(record.policy_version)},"prev_hash":${token(record.prev_hash)},"requested_at":${token(
      record.requested_at,
    )},"seq":${token(record.seq)},"session_id":${token(record.session_id)},"severity":${token(
      record.severity,
    )},"source":${token(record.source)},"tenant_id":${token(record.tenant_id)},"tool":${token(
      record.tool,
    )},"violations":${texts.violations}}`;
  } catch (error) {
    if (error !== NOT_SPLICEABLE) throw error;
    return null;
  }
}

/** The JSON token of a string, number or null field; throws on anything else (the caller falls back). */
function token(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" && Number.isFinite(value)) return JSON.stringify(value);
  throw NOT_SPLICEABLE;
}
const NOT_SPLICEABLE = Symbol("not spliceable");

// A fast RFC 8785 serializer for plain JSON data, byte for byte what `json-canonicalize` writes for it (the test
// in test/audit/canonical.test.ts compares them over varied values). It gives up (throws UNSUPPORTED) on anything
// else, and `canonicalJson` then falls back to the reference implementation.
const UNSUPPORTED = Symbol("unsupported");
// Deeper than this is either a cycle or unusual enough to leave to the reference implementation.
const MAX_DEPTH = 100;

// `plain`: also give up on what a JSON round trip would change (see `plainCanonicalJson`).
function canonicalValue(value: unknown, depth: number, plain = false): string {
  switch (typeof value) {
    case "string":
      // ECMAScript string serialization is exactly JCS's (RFC 8785 §3.2.2.2).
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value) || (plain && Object.is(value, -0))) throw UNSUPPORTED;
      // Number.prototype.toString is JCS's number format (§3.2.2.3); -0 becomes "0" as required.
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (depth > MAX_DEPTH || (value as { toJSON?: unknown }).toJSON != null) throw UNSUPPORTED;
      if (Array.isArray(value)) {
        if (plain && Object.getPrototypeOf(value) !== Array.prototype) throw UNSUPPORTED;
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          const element: unknown = value[i];
          if (element === undefined) {
            if (plain) throw UNSUPPORTED;
            out += "null";
          } else {
            out += canonicalValue(element, depth + 1, plain);
          }
        }
        return `${out}]`;
      }
      if (plain) {
        const prototype = Object.getPrototypeOf(value);
        if (prototype !== Object.prototype && prototype !== null) throw UNSUPPORTED;
      }
      const object = value as Record<string, unknown>;
      // Default sort: by UTF-16 code units, as §3.2.3 requires.
      const keys = Object.keys(object).sort();
      let out = "{";
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const member = object[key];
        if (member === undefined) {
          if (plain) throw UNSUPPORTED;
          continue;
        }
        if (!first) out += ",";
        first = false;
        out += JSON.stringify(key);
        out += ":";
        out += canonicalValue(member, depth + 1, plain);
      }
      return `${out}}`;
    }
    default:
      // undefined at the top, functions, symbols, bigints.
      throw UNSUPPORTED;
  }
}

/** Binds `entry` to the chain after `head`. Pure: storage calls it while holding the tenant's head lock. */
export function sealAuditRecord(tenantId: string, head: AuditHead, entry: AuditEntry): AuditRecord {
  return sealWithTexts(tenantId, head, entry).record;
}

/** Seals several entries in order; returns the records and the new head. */
export function sealAuditRecords(
  tenantId: string,
  head: AuditHead,
  entries: readonly AuditEntry[],
): { records: AuditRecord[]; head: AuditHead } {
  const { records, head: sealedHead } = sealAuditRecordsWithTexts(tenantId, head, entries);
  return { records, head: sealedHead };
}

/**
 * `sealAuditRecords`, with each record's `CanonicalJsonTexts` (`texts[i]` for `records[i]`): serialized once for
 * the hash, so storage does not serialize them again. `known[i]`, when given, must be entry i's texts already
 * serialized (`canonicalJson` of its `input` and `violations`).
 */
export function sealAuditRecordsWithTexts(
  tenantId: string,
  head: AuditHead,
  entries: readonly AuditEntry[],
  known?: readonly CanonicalJsonTexts[],
): { records: AuditRecord[]; texts: CanonicalJsonTexts[]; head: AuditHead } {
  const records: AuditRecord[] = [];
  const texts: CanonicalJsonTexts[] = [];
  let current = head;
  for (const [index, entry] of entries.entries()) {
    const sealed = sealWithTexts(tenantId, current, entry, known?.[index]);
    records.push(sealed.record);
    texts.push(sealed.texts);
    current = { seq: sealed.record.seq, hash: sealed.record.record_hash };
  }
  return { records, texts, head: current };
}

function sealWithTexts(
  tenantId: string,
  head: AuditHead,
  entry: AuditEntry,
  known?: CanonicalJsonTexts,
): { record: AuditRecord; texts: CanonicalJsonTexts } {
  // Built field by field, in the order a spread of the entry gave: an object spread cost more than the hash.
  const record: AuditRecord = {
    action_id: entry.action_id,
    session_id: entry.session_id,
    agent_id: entry.agent_id,
    event_id: entry.event_id,
    actor: entry.actor,
    source: entry.source,
    tool: entry.tool,
    method: entry.method,
    decision: entry.decision,
    severity: entry.severity,
    violations: entry.violations,
    input: entry.input,
    policy_version: entry.policy_version,
    requested_at: entry.requested_at,
    tenant_id: tenantId,
    seq: head.seq + 1,
    prev_hash: head.hash,
    record_hash: "",
    result: null,
  };
  const texts = known ?? { input: canonicalJson(entry.input), violations: canonicalJson(entry.violations) };
  // An entry whose fields are not all JSON scalars (only a caller outside storage makes one) is serialized whole.
  record.record_hash = sha256Hex(joinRecordText(record, texts) ?? recordCanonicalJson(record));
  return { record, texts };
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
  const walk = new ChainWalk(tenantId);
  for await (const record of records) {
    const broken = walk.next(record);
    if (broken) return broken;
  }
  return walk.end(head);
}

/**
 * How far checked parts vouch for the chain: the end of the parts that are clean and join up from the start, each
 * starting where the one before it ended (the first at the genesis hash). Walking the records up to there would
 * find nothing wrong, so a walk can resume after it (`new ChainWalk(tenantId, from)`).
 */
export function verifiedPrefix(parts: readonly ChainPartCheck[]): AuditHead {
  let seq = 0;
  let hash = GENESIS_HASH;
  for (const part of parts) {
    const joins = part.clean && part.afterSeq === seq && part.throughSeq > seq && part.firstPrevHash === hash;
    if (!joins || part.lastHash === null) break;
    seq = part.throughSeq;
    hash = part.lastHash;
  }
  return { seq, hash };
}

/**
 * Whether checked parts make up the whole chain up to `head` (`verifiedPrefix` ends at the head). When they do,
 * walking the chain record by record would find it valid, with `head.seq` records.
 */
export function chainPartsJoin(parts: readonly ChainPartCheck[], head: AuditHead): boolean {
  const verified = verifiedPrefix(parts);
  return verified.seq === head.seq && verified.hash === head.hash;
}

/** The fields of a record that place it in its chain. */
export type ChainLink = Pick<AuditRecord, "tenant_id" | "seq" | "action_id" | "prev_hash" | "record_hash">;

const hashMatches = (record: AuditRecord) => computeRecordHash(record) === record.record_hash;

/**
 * `verifyChain` one record at a time, synchronously, for callers that read records in pages: `next` for each
 * record in `seq` order until it returns a result (the chain is broken there), then `end` with the stored head.
 */
export class ChainWalk {
  readonly #tenantId: string;
  #seq: number;
  #hash: string;
  #count: number;

  /**
   * A walk from the chain's start, or resumed after `from`, a point up to which the chain is known to be valid
   * (`verifiedPrefix`); the records up to it count as checked.
   */
  constructor(tenantId: string, from: AuditHead = { seq: 0, hash: GENESIS_HASH }) {
    this.#tenantId = tenantId;
    this.#seq = from.seq;
    this.#hash = from.hash;
    this.#count = from.seq;
  }

  /** Records checked so far. */
  get count(): number {
    return this.#count;
  }

  /** Checks the next record; the verdict if the chain breaks at it, else null. */
  next(record: AuditRecord): ChainVerification | null {
    return this.nextChecked(record, hashMatches);
  }

  /**
   * `next` for a record in any form: `hashMatches` tells whether its `record_hash` matches its fields (called only
   * when the record is in its place), e.g. from `checkScannedHashes`' verdicts.
   */
  nextChecked<Link extends ChainLink>(record: Link, hashMatches: (record: Link) => boolean): ChainVerification | null {
    this.#count += 1;
    const expected = this.#seq + 1;
    if (record.tenant_id !== this.#tenantId) return this.#broken(record, "tenant_id mismatch");
    // A missing record (deleted, or moved to another tenant) is named by the position it should hold.
    if (record.seq > expected) return this.#broken(null, `record at seq ${expected} is missing`);
    if (record.seq !== expected) return this.#broken(record, `sequence out of order: expected seq ${expected}`);
    if (record.prev_hash !== this.#hash) return this.#broken(record, "prev_hash mismatch");
    if (!hashMatches(record)) return this.#broken(record, "record_hash mismatch");
    this.#seq = record.seq;
    this.#hash = record.record_hash;
    return null;
  }

  /** The verdict once every record was checked: a chain that ends before `head` is broken. */
  end(head: AuditHead): ChainVerification {
    if (this.#seq !== head.seq || this.#hash !== head.hash) {
      return this.#broken(null, `chain ends at seq ${this.#seq} but the head is at seq ${head.seq}`);
    }
    return { tenant_id: this.#tenantId, valid: true, record_count: this.#count, head_hash: this.#hash };
  }

  #broken(record: ChainLink | null, reason: string): ChainVerification {
    return {
      tenant_id: this.#tenantId,
      valid: false,
      record_count: this.#count,
      head_hash: this.#hash,
      failed_at_seq: record ? record.seq : this.#seq + 1,
      failed_at_action_id: record ? record.action_id : null,
      reason,
    };
  }
}
