import { createHash, type Hash, type KeyObject } from "node:crypto";
import { canonicalJson, GENESIS_HASH, HASHED_FIELDS, recordCanonicalJson, sha256Hex } from "../audit/chain.js";
import type { AuditRecord } from "../audit/types.js";
import {
  type CheckpointRecord,
  exportPublicKey,
  verifyCheckpointSignature,
  verifySignature,
} from "../checkpoints/index.js";
import { inclusionVerifier, leafHash } from "../merkle/index.js";
import { hasSpliceableFields, itemTextOfRecordText } from "./item-text.js";
import { splitExport } from "./json-stream.js";
import { COMPLIANCE_EXPORT_FORMAT, EXPORT_HEADER_KEYS, EXPORT_SIGNATURE_CONTEXT } from "./types.js";

/**
 * The offline verifier of compliance exports. Pure: it needs the export and (ideally) the public key, nothing else:
 * no database, no network, no governor.
 */

export interface VerifyComplianceOptions {
  /**
   * The Ed25519 public key that signs the tenant's checkpoints: SPKI PEM, the raw 32-byte key in base64, or a
   * KeyObject, obtained independently of the export (e.g. `GET /managed/checkpoints/public-key`, published by the
   * operator). @default the key embedded in the export, which proves only that the export is self-consistent; the
   * result then says `public_key_source: "embedded"`
   */
  publicKey?: string | KeyObject;
}

/** One check and whether it passed. */
export interface ComplianceCheck {
  check: CheckName;
  passed: boolean;
  detail: string;
}

/** One thing that failed, naming the timeline record when there is one. */
export interface ComplianceFailure {
  check: CheckName;
  detail: string;
  action_id?: string;
  seq?: number;
}

export interface ComplianceVerification {
  valid: boolean;
  /** Whether the key was supplied by the caller or taken from the export itself (weaker: see the docs). */
  public_key_source: "supplied" | "embedded";
  /** Timeline records checked. */
  records: number;
  checks: ComplianceCheck[];
  failures: ComplianceFailure[];
}

export type CheckName =
  | "format"
  | "public_key"
  | "checkpoint_signature"
  | "record_hashes"
  | "timeline_order"
  | "chain_links"
  | "inclusion_proofs"
  | "summary"
  | "chain_verification"
  | "export_hash"
  | "export_signature";

const CHECKS: readonly CheckName[] = [
  "format",
  "public_key",
  "checkpoint_signature",
  "record_hashes",
  "timeline_order",
  "chain_links",
  "inclusion_proofs",
  "summary",
  "chain_verification",
  "export_hash",
  "export_signature",
];

// Failures listed per check; the rest are counted.
const MAX_FAILURES_PER_CHECK = 100;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verifies a compliance export (its JSON text or the parsed object): every record hash recomputed from the
 * timeline's fields, the chain links between consecutive records, every inclusion proof against the checkpoint's
 * root, the checkpoint signature, timeline order, the summary against the timeline, the export hash and the export
 * signature. Never throws for a malformed export: it reports it.
 */
export function verifyComplianceExport(
  exportJson: string | object,
  options: VerifyComplianceOptions = {},
): ComplianceVerification {
  let parsed: unknown;
  try {
    parsed = typeof exportJson === "string" ? JSON.parse(exportJson) : exportJson;
  } catch (error) {
    return unreadable(options, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(parsed)) return unreadable(options, "the export is not a JSON object");
  const { timeline, ...header } = parsed;
  const verifier = new ExportVerifier(options);
  verifier.header(header);
  if (!Array.isArray(timeline)) verifier.fail("format", "timeline is missing or not an array");
  else for (const item of timeline) verifier.item(item);
  return verifier.finish();
}

/**
 * `verifyComplianceExport` for exports too large to parse at once: `open()` must return the export's bytes (or
 * text) from the start each time it is called, e.g. `() => createReadStream(path)`. It is read twice: once for
 * everything but the timeline, then record by record; no more than one timeline record is held at a time.
 */
export async function verifyComplianceExportStream(
  open: () => AsyncIterable<string | Uint8Array>,
  options: VerifyComplianceOptions = {},
): Promise<ComplianceVerification> {
  const header: Record<string, unknown> = {};
  let hasTimeline = false;
  try {
    for await (const part of splitExport(open(), { items: false })) {
      if (part.kind === "field") header[part.key] = JSON.parse(part.text);
      else hasTimeline = true;
    }
  } catch (error) {
    return unreadable(options, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const verifier = new ExportVerifier(options);
  verifier.header(header);
  if (!hasTimeline) verifier.fail("format", "timeline is missing or not an array");
  else {
    try {
      for await (const part of splitExport(open(), { items: true })) {
        if (part.kind === "item") verifier.item(JSON.parse(part.text));
      }
    } catch (error) {
      verifier.fail("format", `timeline unreadable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return verifier.finish();
}

function unreadable(options: VerifyComplianceOptions, detail: string): ComplianceVerification {
  return {
    valid: false,
    public_key_source: options.publicKey === undefined ? "embedded" : "supplied",
    records: 0,
    checks: CHECKS.map((check) =>
      check === "format" ? { check, passed: false, detail } : { check, passed: false, detail: "not run" },
    ),
    failures: [{ check: "format", detail }],
  };
}

type Json = Record<string, unknown>;

/** Checks an export given its header, then its timeline records one by one. */
class ExportVerifier {
  readonly #supplied: string | KeyObject | undefined;
  readonly #failures = new Map<CheckName, ComplianceFailure[]>();
  readonly #failureCounts = new Map<CheckName, number>();
  readonly #details = new Map<CheckName, string>();
  #header: Json = {};
  #key: KeyObject | string | null = null;
  #checkpoint: CheckpointRecord | null = null;
  // Proofs of neighbouring records share most of their climb: verified against the checkpoint once it is known.
  #verifyInclusion: ReturnType<typeof inclusionVerifier> | null = null;
  #digest: Hash | null = null;
  #sessionId: unknown;
  #records = 0;
  #previous: { seq: number; hash: string } | null = null;
  #linked = 0;
  #proven = 0;
  #counts = { governed: 0, observed: 0, denied: 0, anomalies: 0 };

  constructor(options: VerifyComplianceOptions) {
    this.#supplied = options.publicKey;
  }

  fail(check: CheckName, detail: string, record?: { action_id?: unknown; seq?: unknown }): void {
    const count = (this.#failureCounts.get(check) ?? 0) + 1;
    this.#failureCounts.set(check, count);
    if (count > MAX_FAILURES_PER_CHECK) return;
    const failure: ComplianceFailure = { check, detail };
    if (typeof record?.action_id === "string") failure.action_id = record.action_id;
    if (typeof record?.seq === "number") failure.seq = record.seq;
    const list = this.#failures.get(check) ?? [];
    list.push(failure);
    this.#failures.set(check, list);
  }

  header(header: Json): void {
    this.#header = header;
    if (header.format !== COMPLIANCE_EXPORT_FORMAT) {
      this.fail("format", `format is ${JSON.stringify(header.format)}, expected ${COMPLIANCE_EXPORT_FORMAT}`);
    }
    const allowed = new Set<string>([...EXPORT_HEADER_KEYS, "export_hash", "export_signature"]);
    for (const key of Object.keys(header)) if (!allowed.has(key)) this.fail("format", `unexpected field ${key}`);
    for (const key of allowed) if (!(key in header)) this.fail("format", `missing field ${key}`);
    this.#sessionId = isObject(header.session) ? header.session.id : undefined;

    this.#key = this.#publicKey(header);
    const checkpoint = header.checkpoint;
    if (isCheckpoint(checkpoint)) {
      this.#checkpoint = checkpoint;
      this.#verifyInclusion = inclusionVerifier(checkpoint.tree_size, checkpoint.root_hash);
      if (this.#key === null) this.fail("checkpoint_signature", "no usable public key");
      else if (!verifyCheckpointSignature(checkpoint, this.#key)) {
        this.fail("checkpoint_signature", `the signature of checkpoint ${checkpoint.tree_size} does not verify`);
      } else this.#details.set("checkpoint_signature", `checkpoint of tree size ${checkpoint.tree_size} signed`);
    } else {
      this.fail("checkpoint_signature", "the export has no checkpoint");
    }

    // The canonical export without export_hash/export_signature: every header key sorts before "timeline".
    const hashed: Json = { ...header };
    delete hashed.export_hash;
    delete hashed.export_signature;
    const text = canonicalJson(hashed);
    this.#digest = createHash("sha256").update(
      `${text.slice(0, -1)}${Object.keys(hashed).length > 0 ? "," : ""}"timeline":[`,
      "utf8",
    );
  }

  item(raw: unknown): void {
    const index = this.#records;
    this.#records += 1;
    // The text the record hash covers; the item's own canonical text is that text with its two other members
    // spliced in, when its members are what an item's are (else it is serialized whole).
    const recordText = isObject(raw) ? recordTextOf(raw) : null;
    const spliced = recordText === null ? null : spliceItemText(raw as Json, recordText);
    const text = spliced ?? canonicalTextOrNull(raw);
    this.#digest?.update(index === 0 ? text : `,${text}`, "utf8");
    if (!isObject(raw)) {
      this.fail("format", `timeline[${index}] is not an object`);
      return;
    }
    const item = raw;
    const seq = item.seq;
    const recordHash = item.record_hash;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1 || typeof recordHash !== "string") {
      this.fail("format", `timeline[${index}] has no valid seq or record_hash`, item);
      return;
    }
    for (const field of HASHED_FIELDS) {
      if (!(field in item)) this.fail("format", `timeline[${index}] lacks ${field}`, item);
    }
    if (item.session_id !== this.#sessionId) {
      this.fail("format", `timeline[${index}] belongs to session ${String(item.session_id)}`, item);
    }
    if (item.source !== "mcp_governed" && item.source !== "mcp_observed") {
      this.fail("format", `timeline[${index}] has source ${String(item.source)}`, item);
    }

    // 1. The record hash, recomputed from the hashed fields.
    const recomputed = recordText === null ? null : sha256Hex(recordText);
    if (recomputed !== recordHash) {
      this.fail("record_hashes", `record at seq ${seq}: record_hash does not match its fields`, item);
    }
    if (this.#checkpoint && item.tenant_id !== this.#checkpoint.tenant_id) {
      this.fail("record_hashes", `record at seq ${seq}: tenant_id is not the checkpoint's tenant`, item);
    }

    // 2. Order, and the link to the record before it when that one is in the timeline too.
    const previous = this.#previous;
    if (previous && seq <= previous.seq) {
      this.fail("timeline_order", `record at seq ${seq} follows seq ${previous.seq}`, item);
    }
    if (seq === 1 && item.prev_hash !== GENESIS_HASH) {
      this.fail("chain_links", "the first record of the chain does not start from the genesis hash", item);
    } else if (previous && seq === previous.seq + 1) {
      this.#linked += 1;
      if (item.prev_hash !== previous.hash) {
        this.fail("chain_links", `record at seq ${seq}: prev_hash is not the record_hash of seq ${previous.seq}`, item);
      }
    }
    this.#previous = { seq, hash: recordHash };

    // 3. The inclusion proof against the signed root: the record is leaf seq - 1 of the checkpointed tree.
    const checkpoint = this.#checkpoint;
    const proof = item.inclusion_proof;
    if (!checkpoint) {
      this.fail("inclusion_proofs", `record at seq ${seq}: no checkpoint to prove it against`, item);
    } else if (!isObject(proof) || !Array.isArray(proof.hashes) || proof.hashes.some((h) => typeof h !== "string")) {
      this.fail("inclusion_proofs", `record at seq ${seq}: no inclusion proof`, item);
    } else if (proof.leaf_index !== seq - 1) {
      this.fail("inclusion_proofs", `record at seq ${seq}: proof is for leaf ${String(proof.leaf_index)}`, item);
    } else if (
      !HEX64.test(recordHash) ||
      !this.#verifyInclusion?.(leafHash(recordHash), seq - 1, proof.hashes as string[])
    ) {
      this.fail("inclusion_proofs", `record at seq ${seq}: not in checkpoint ${checkpoint.tree_size}`, item);
    } else {
      this.#proven += 1;
    }

    if (item.source === "mcp_governed") {
      this.#counts.governed += 1;
      if (item.decision === "deny") this.#counts.denied += 1;
    } else if (item.source === "mcp_observed") {
      this.#counts.observed += 1;
      if (item.severity !== "none") this.#counts.anomalies += 1;
    }
  }

  finish(): ComplianceVerification {
    const header = this.#header;
    const records = this.#records;
    this.#checkSummary(header.summary);

    const chain = header.chain_verification;
    if (!isObject(chain)) this.fail("chain_verification", "the export has no chain verification");
    else if (chain.valid !== true) {
      this.fail(
        "chain_verification",
        `the tenant chain was broken at export time: seq ${String(chain.failed_at_seq)}: ${String(chain.reason)}`,
      );
    } else this.#details.set("chain_verification", `the tenant chain verified (${String(chain.record_count)} records)`);

    // The export hash over the canonical export, and its signature.
    const exportHash = header.export_hash;
    if (this.#digest) {
      const recomputed = this.#digest.update("]}", "utf8").digest("hex");
      if (recomputed !== exportHash) this.fail("export_hash", `export_hash does not match the export (${recomputed})`);
      else this.#details.set("export_hash", `SHA-256 ${recomputed}`);
    }
    const signature = header.export_signature;
    if (!isObject(signature) || typeof signature.signature !== "string" || typeof exportHash !== "string") {
      this.fail("export_signature", "the export is not signed");
    } else if (this.#key === null) {
      this.fail("export_signature", "no usable public key");
    } else if (!verifySignature(this.#key, `${EXPORT_SIGNATURE_CONTEXT}${exportHash}`, signature.signature)) {
      this.fail("export_signature", "the export signature does not verify");
    } else if (isObject(header.public_key) && signature.key_id !== keyId(this.#key)) {
      this.fail("export_signature", "the export signature names another key");
    } else this.#details.set("export_signature", `Ed25519, key ${String(signature.key_id)}`);

    this.#details.set("record_hashes", `${records} record hashes recomputed`);
    this.#details.set("timeline_order", `${records} records in ascending seq`);
    this.#details.set("chain_links", `${this.#linked} links between consecutive records checked`);
    this.#details.set("inclusion_proofs", `${this.#proven} of ${records} records proven in the checkpoint`);
    this.#details.set("format", COMPLIANCE_EXPORT_FORMAT);

    const failures: ComplianceFailure[] = [];
    const checks: ComplianceCheck[] = CHECKS.map((check) => {
      const listed = this.#failures.get(check) ?? [];
      const total = this.#failureCounts.get(check) ?? 0;
      failures.push(...listed);
      if (total > listed.length) failures.push({ check, detail: `${total - listed.length} more failures not listed` });
      const detail = total > 0 ? `${total} failure${total === 1 ? "" : "s"}` : (this.#details.get(check) ?? "ok");
      return { check, passed: total === 0, detail };
    });
    return {
      valid: failures.length === 0,
      public_key_source: this.#supplied === undefined ? "embedded" : "supplied",
      records,
      checks,
      failures,
    };
  }

  #checkSummary(summary: unknown): void {
    if (!isObject(summary)) {
      this.fail("summary", "the export has no summary");
      return;
    }
    const { governed, observed, denied, anomalies } = this.#counts;
    const total = governed + observed;
    const expected: [string, unknown][] = [
      ["total_events", total],
      ["governed_calls", governed],
      ["observed_calls", observed],
      ["denied", denied],
      ["anomalies_detected", anomalies],
      ["denial_rate", `${total === 0 ? "0.00" : ((denied / total) * 100).toFixed(2)}%`],
    ];
    for (const [field, value] of expected) {
      if (summary[field] !== value) {
        this.fail("summary", `summary.${field} is ${JSON.stringify(summary[field])}, the timeline gives ${value}`);
      }
    }
    for (const field of ["pending", "approvals_used"]) {
      const value = summary[field];
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
        this.fail("summary", `summary.${field} is not a count`);
      }
    }
    if (this.#failureCounts.get("summary") === undefined) {
      this.#details.set("summary", `${total} events: ${governed} governed (${denied} denied), ${observed} observed`);
    }
  }

  // The supplied key, else the embedded one. Also checks that the embedded key is the supplied one.
  #publicKey(header: Json): KeyObject | string | null {
    const embedded = isObject(header.public_key) ? header.public_key.public_key_pem : undefined;
    if (this.#supplied !== undefined) {
      let suppliedId: string;
      try {
        suppliedId = exportPublicKey(this.#supplied).key_id;
      } catch {
        this.fail("public_key", "the supplied public key is not an Ed25519 key");
        return null;
      }
      if (isObject(header.public_key) && header.public_key.key_id !== suppliedId) {
        this.fail(
          "public_key",
          `the export embeds key ${String(header.public_key.key_id)}, not the supplied ${suppliedId}`,
        );
      } else this.#details.set("public_key", `supplied key ${suppliedId}`);
      return this.#supplied;
    }
    if (typeof embedded !== "string") {
      this.fail("public_key", "no public key supplied and none embedded");
      return null;
    }
    try {
      const id = exportPublicKey(embedded).key_id;
      this.#details.set("public_key", `embedded key ${id}, NOT independently supplied: pass the operator's public key`);
      return embedded;
    } catch {
      this.fail("public_key", "the embedded public key is not an Ed25519 key");
      return null;
    }
  }
}

function keyId(key: KeyObject | string): string | null {
  try {
    return exportPublicKey(key).key_id;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCheckpoint(value: unknown): value is CheckpointRecord {
  return (
    isObject(value) &&
    typeof value.tenant_id === "string" &&
    typeof value.tree_size === "number" &&
    typeof value.root_hash === "string" &&
    typeof value.timestamp === "string" &&
    typeof value.key_id === "string" &&
    typeof value.signature === "string"
  );
}

/** The canonical text of an item's hashed fields (what its `record_hash` covers); `null` if it cannot be written. */
function recordTextOf(item: Json): string | null {
  try {
    // Reads the hashed fields only: the item's other members are left out.
    return recordCanonicalJson(item as unknown as Omit<AuditRecord, "record_hash" | "result">);
  } catch {
    return null;
  }
}

function spliceItemText(item: Json, recordText: string): string | null {
  if (!hasSpliceableFields(item)) return null;
  try {
    return itemTextOfRecordText(recordText, canonicalJson(item.inclusion_proof), JSON.stringify(item.record_hash));
  } catch {
    return null;
  }
}

function canonicalTextOrNull(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return "null";
  }
}
