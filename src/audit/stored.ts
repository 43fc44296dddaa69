import type { JsonValue } from "../json.js";
import type { AuditStore } from "../storage/port.js";
import { canonicalJson, joinRecordText, recordCanonicalJson, sha256Hex } from "./chain.js";
import {
  type AuditRecord,
  type ScannedAuditRecord,
  STORED_AUDIT_FIELDS,
  type StoredAuditField,
  type StoredAuditRecord,
  type StoredAuditScan,
} from "./types.js";

/**
 * Stored JSON text as vargate reads it back: parsed, or, for text that does not parse (vargate only writes valid
 * JSON, so it was edited by hand), the text itself as a string; verification then reports the record as broken
 * instead of every read failing.
 */
export function parseStoredJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/** A stored `violations` text as `parseStoredJson` reads it; most records have none, so `[]` is not parsed. */
export function parseStoredViolations(text: string): JsonValue {
  return text === "[]" ? [] : parseStoredJson(text);
}

/** A stored record (or some of its fields) with its JSON fields parsed as `scan` parses them. */
export function parseStoredRecord<Stored extends Pick<StoredAuditRecord, "input" | "violations">>(
  stored: Stored,
): Omit<Stored, "input" | "violations"> & Pick<AuditRecord, "input" | "violations"> {
  return {
    ...stored,
    violations: parseStoredViolations(stored.violations) as string[],
    input: parseStoredJson(stored.input),
  };
}

/**
 * `scanStored` of `store`, or, for a storage without it, `scan` with the JSON fields written back as canonical
 * text, `hashed_text` joined here and the filters applied here.
 */
export async function scanStoredRecords<Field extends StoredAuditField = StoredAuditField>(
  store: AuditStore,
  tenantId: string,
  options: StoredAuditScan<Field>,
): Promise<Pick<ScannedAuditRecord, Field | "seq">[]> {
  if (store.scanStored) return store.scanStored(tenantId, options);
  const hashedText = options.fields?.includes("hashed_text" as Field) ?? false;
  const out: (StoredAuditRecord | ScannedAuditRecord)[] = [];
  let afterSeq = options.afterSeq;
  while (out.length < options.limit) {
    const page = await store.scan(tenantId, { afterSeq, limit: options.limit });
    for (const record of page) {
      if (options.throughSeq !== undefined && record.seq > options.throughSeq) break;
      if (options.sessionId !== undefined && record.session_id !== options.sessionId) continue;
      if (options.source !== undefined && record.source !== options.source) continue;
      const stored = storedRecordOf(record);
      out.push(hashedText ? withHashedText(stored) : stored);
      if (out.length === options.limit) break;
    }
    const last = page.at(-1);
    if (!last || page.length < options.limit || last.seq >= (options.throughSeq ?? Number.POSITIVE_INFINITY)) break;
    afterSeq = last.seq;
  }
  return out as Pick<ScannedAuditRecord, Field | "seq">[];
}

/** A record as the databases store it: without `result`, its JSON fields as canonical text. */
export function storedRecordOf(record: AuditRecord): StoredAuditRecord {
  const { result: _result, ...rest } = record;
  return { ...rest, input: canonicalJson(record.input), violations: canonicalJson(record.violations) };
}

/**
 * `stored` with its `hashed_text` joined in JavaScript: for a storage of your own whose `scanStored` is asked for
 * `hashed_text` (read every stored column, then join it with this).
 */
export function withHashedText(stored: StoredAuditRecord): ScannedAuditRecord {
  return { ...stored, hashed_text: storedRecordCanonicalJson(stored) };
}

/**
 * The text `record_hash` covers, joined from the stored record without parsing its JSON fields: every other
 * field is written exactly as `recordCanonicalJson` writes it (keys in RFC 8785 order), and the stored `input`
 * and `violations` texts are spliced in as they are. `null` when that cannot be sound: the input text is not
 * one JSON value, or a field is not a string, finite number or null.
 *
 * It equals the record's canonical text whenever the stored JSON texts are canonical (what vargate writes), and
 * a match of its hash is then as good as the full parse-and-canonicalize path:
 *
 * If SHA-256(S) = record_hash then S is the text C0 the record was sealed over (collision resistance), and C0 is
 * canonical JSON: no whitespace, every token complete. Read left to right, the fields before `input` are JSON
 * tokens in both texts (each self-delimiting: a string ends at its closing quote, a number or `null` at the next
 * `,`), so they are the same tokens, and `input` starts at the same offset in S and C0. There C0 holds the
 * canonical input c, and S holds the stored text t. JSON.parse(t) succeeded, so t is one complete JSON value;
 * a proper prefix of a JSON object, array, string or literal is never complete, and a number in S is followed by
 * `,` where a longer one in C0 would continue with a digit; so t and c end at the same offset (trailing
 * whitespace in t would stand where C0 has `,`), and t = c. The fields after `input` are then equal tokens again,
 * and `violations`, last, is pinned by both ends: its stored text equals its canonical text. So both JSON texts
 * are canonical, parsing and canonicalizing them gives them back, and the full path hashes S too. Without the
 * JSON.parse check that fails: input `{"a":1` plus a method column starting `x","method":...` could shift the
 * boundary and still join to C0.
 */
export function storedRecordCanonicalJson(stored: StoredAuditRecord): string | null {
  if (typeof stored.input !== "string" || typeof stored.violations !== "string") return null;
  try {
    JSON.parse(stored.input);
  } catch {
    return null;
  }
  return joinRecordText(stored, stored);
}

/**
 * Whether a stored record's `record_hash` matches its fields: `"canonical"` when its joined text does (its stored
 * JSON texts are then canonical, see `storedRecordCanonicalJson`), `"parsed"` when only parsing the JSON fields
 * (as `scan` reads them) and hashing their canonical form does (older rows), `"mismatch"` when neither does.
 */
export type HashVerdict = "canonical" | "parsed" | "mismatch";

/** The `HashVerdict` of a whole stored record. */
export function checkStoredRecordHash(stored: StoredAuditRecord): HashVerdict {
  const spliced = storedRecordCanonicalJson(stored);
  if (spliced !== null && sha256Hex(spliced) === stored.record_hash) return "canonical";
  let parsed: string;
  try {
    parsed = recordCanonicalJson(parseStoredRecord(stored));
  } catch {
    // No canonical form (an edited column read as a non-finite number, say): it cannot be what was sealed.
    return "mismatch";
  }
  return sha256Hex(parsed) === stored.record_hash ? "parsed" : "mismatch";
}

/** What `checkScannedHashes` needs of each record of a page. */
export type HashedScan = Pick<ScannedAuditRecord, "seq" | "record_hash" | "hashed_text">;

/**
 * The stored records of the entries of `page` (ascending, as read with `filter`) for which `wanted` holds, in one
 * read: from the first wanted to the last, with the page's filter, so exactly those records come back; only
 * `fields` of them (by default all). A record gone since the page was read is missing from the map.
 */
export async function readPageRecords<Field extends StoredAuditField = StoredAuditField>(
  store: AuditStore,
  tenantId: string,
  page: readonly { seq: number }[],
  wanted: (index: number) => boolean,
  filter: Pick<StoredAuditScan, "sessionId" | "source"> = {},
  fields: readonly Field[] = STORED_AUDIT_FIELDS as readonly StoredAuditField[] as readonly Field[],
): Promise<Map<number, Pick<ScannedAuditRecord, Field | "seq">>> {
  let first = -1;
  let last = -1;
  for (let i = 0; i < page.length; i++) {
    if (!wanted(i)) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return new Map();
  const records = await scanStoredRecords(store, tenantId, {
    ...filter,
    afterSeq: (page[first] as { seq: number }).seq - 1,
    limit: last - first + 1,
    fields,
  });
  return new Map(records.map((record) => [record.seq, record]));
}

/**
 * The `HashVerdict` of each record of a page read with `hashed_text` and no filter: `"canonical"` when that text
 * hashes to the record's `record_hash`. The others (older rows, edited ones, texts the storage would not join) are
 * read again whole, in one read, and checked by `checkStoredRecordHash`; `whole` holds them by `seq`, for callers
 * that need more of them. A record gone by then is a mismatch.
 */
export async function checkScannedHashes(
  store: AuditStore,
  tenantId: string,
  page: readonly HashedScan[],
): Promise<{ verdicts: HashVerdict[]; whole: Map<number, StoredAuditRecord> }> {
  // Not a string: not joined (or a storage of your own that leaves the field out).
  const joined = page.map(
    (record) => typeof record.hashed_text === "string" && sha256Hex(record.hashed_text) === record.record_hash,
  );
  const whole = await readPageRecords(store, tenantId, page, (i) => !joined[i]);
  const verdicts = page.map((record, i): HashVerdict => {
    if (joined[i]) return "canonical";
    const stored = whole.get(record.seq);
    return stored ? checkStoredRecordHash(stored) : "mismatch";
  });
  return { verdicts, whole };
}
