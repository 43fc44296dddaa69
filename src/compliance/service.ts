import { createHash, type Hash } from "node:crypto";
import { ChainWalk, canonicalJson, sha256Hex } from "../audit/chain.js";
import {
  checkScannedHashes,
  type HashVerdict,
  parseStoredJson,
  readPageRecords,
  scanStoredRecords,
} from "../audit/stored.js";
import type { ChainVerification, ScannedAuditRecord, StoredAuditField, StoredAuditRecord } from "../audit/types.js";
import type { CheckpointRecord, Checkpoints } from "../checkpoints/index.js";
import { createCheckpointOfVerifiedChain } from "../checkpoints/service.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { isVargateError, VargateError } from "../errors.js";
import { LeafHashes, MerkleTree } from "../merkle/index.js";
import type { SessionRecord } from "../sessions/types.js";
import type { ToolRegistry } from "../tools/registry.js";
import { timelineItemJson, timelineItemOfText } from "./timeline-item.js";
import {
  COMPLIANCE_EXPORT_FORMAT,
  type ComplianceExport,
  type ComplianceExportHeader,
  type ComplianceExportSignature,
  type CompliancePolicyVersion,
  EXPORT_SIGNATURE_CONTEXT,
} from "./types.js";

const SCAN_PAGE = 1000;
// Timeline items are encoded into chunks of this many bytes before they are handed on.
const CHUNK_BYTES = 256 * 1024;
const MAX_APPROVALS = 10_000;

export interface ComplianceDependencies {
  context: GovernorContext;
  checkpoints: Checkpoints;
  tools: ToolRegistry;
}

/** What the first pass over the chain learns about one session. */
interface SessionScan {
  verification: ChainVerification;
  /** The chain head when the export started: the timeline holds the session's records up to it. */
  cutoff: number;
  leaves: LeafHashes;
  firstSeq: number;
  lastSeq: number;
  governed: number;
  observed: number;
  denied: number;
  anomalies: number;
  governedWithoutActionId: number;
  policyVersions: Map<number | null, number>;
  brokered: Map<string, number>;
  // Governed calls of credentialed tools that asked for approval, and the approvals granted, by action id.
  credentialedApprovals: Map<string, string>;
  approvedActionIds: Set<string>;
  /** The session's records whose joined text matched their hash in the scan: written without hashing again. */
  canonical: Set<number>;
}

/**
 * Compliance exports of governed sessions: `governor.compliance`. An export is the seed's artifact plus
 * everything needed to verify it offline (see docs/concepts/compliance-export.md and `verifyComplianceExport`).
 */
export class Compliance {
  readonly #context: GovernorContext;
  readonly #checkpoints: Checkpoints;
  readonly #tools: ToolRegistry;

  constructor(dependencies: ComplianceDependencies) {
    this.#context = dependencies.context;
    this.#checkpoints = dependencies.checkpoints;
    this.#tools = dependencies.tools;
  }

  /**
   * The session's compliance export as an object. Builds the whole export in memory: for large sessions use
   * `exportStream()`. `SESSION_NOT_FOUND` when missing or another tenant's.
   */
  async export(tenantId: string, sessionId: string): Promise<ComplianceExport> {
    let text = "";
    for await (const chunk of await this.exportChunks(tenantId, sessionId)) text += chunk;
    return JSON.parse(text) as ComplianceExport;
  }

  /**
   * The export as a stream of UTF-8 JSON. Everything before the timeline is computed (and errors such as
   * `SESSION_NOT_FOUND` are thrown) before this resolves; the timeline is then read from storage page by page as
   * the stream is pulled.
   */
  async exportStream(tenantId: string, sessionId: string): Promise<ReadableStream<Uint8Array>> {
    const chunks = await this.#chunks(tenantId, sessionId);
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return(undefined);
      },
    });
  }

  /**
   * The export as JSON text in chunks. The text is the RFC 8785 canonical JSON of the export without
   * `export_hash` and `export_signature` (every other key sorts before `timeline`, which comes last), with those two
   * keys appended at the end; the export hash is computed over the canonical part as it is written.
   */
  async exportChunks(tenantId: string, sessionId: string): Promise<AsyncGenerator<string, void, undefined>> {
    const chunks = await this.#chunks(tenantId, sessionId);
    return (async function* () {
      // Chunks end between timeline items, so none splits a character.
      for await (const chunk of chunks) yield chunk.toString("utf8");
    })();
  }

  // The export as UTF-8 chunks: encoded once, and the export hash is computed over those same bytes.
  async #chunks(tenantId: string, sessionId: string): Promise<AsyncGenerator<Buffer, void, undefined>> {
    const { storage } = this.#context;
    const session = await storage.sessions.get(tenantId, sessionId);
    if (!session || session.tenant_id !== tenantId) throw new VargateError("SESSION_NOT_FOUND");
    const scan = await this.#scan(tenantId, sessionId);
    const checkpoint = await this.#checkpoint(tenantId, scan);
    const tree = checkpoint ? await this.#tree(tenantId, scan.leaves, checkpoint.tree_size) : null;
    // The tree holds its own copy of the leaves.
    scan.leaves = new LeafHashes(1);
    const header = await this.#header(tenantId, session, scan, checkpoint);
    return this.#write(tenantId, sessionId, header, scan, tree);
  }

  // One pass over the tenant's chain up to the head: verifies it (like `governor.audit.verify`), collects the
  // Merkle leaves and counts the session's records. Nothing per record is kept but its 32-byte leaf hash.
  async #scan(tenantId: string, sessionId: string): Promise<SessionScan> {
    const { storage } = this.#context;
    const head = await storage.audit.head(tenantId);
    const scan: SessionScan = {
      verification: { tenant_id: tenantId, valid: true, record_count: 0, head_hash: head.hash },
      cutoff: head.seq,
      leaves: new LeafHashes(Math.max(1, Math.min(head.seq, 1 << 20))),
      firstSeq: 0,
      lastSeq: 0,
      governed: 0,
      observed: 0,
      denied: 0,
      anomalies: 0,
      governedWithoutActionId: 0,
      policyVersions: new Map(),
      brokered: new Map(),
      credentialedApprovals: new Map(),
      approvedActionIds: new Set(),
      canonical: new Set(),
    };
    let afterSeq = 0;
    const collect = (record: ScanRecord, whole: StoredAuditRecord | undefined) => {
      afterSeq = record.seq;
      // A leaf per position; a gap in a broken chain leaves the tree unprovable, which the proofs then show.
      if (record.seq === scan.leaves.size + 1) scan.leaves.appendLeaf(record.record_hash);
      if (record.session_id !== sessionId) return;
      if (record.source === "control_plane") {
        if (record.method === "approve_action") {
          const input = storedInput(record, whole) as { action_id?: unknown } | null;
          if (typeof input?.action_id === "string") scan.approvedActionIds.add(input.action_id);
        }
        return;
      }
      if (scan.firstSeq === 0) scan.firstSeq = record.seq;
      scan.lastSeq = record.seq;
      if (record.source === "mcp_governed") {
        scan.governed += 1;
        if (record.decision === "deny") scan.denied += 1;
        if (typeof record.action_id !== "string" || record.action_id.length === 0) scan.governedWithoutActionId += 1;
        scan.policyVersions.set(record.policy_version, (scan.policyVersions.get(record.policy_version) ?? 0) + 1);
        if ((this.#tools.get(record.tool)?.credentials.length ?? 0) > 0) {
          if (record.decision === "allow") scan.brokered.set(record.tool, (scan.brokered.get(record.tool) ?? 0) + 1);
          else if (record.decision === "requires_human") scan.credentialedApprovals.set(record.action_id, record.tool);
        }
      } else if (record.source === "mcp_observed") {
        scan.observed += 1;
        if (record.severity !== "none") scan.anomalies += 1;
      }
    };
    // Verified like `verifyChain`, a page at a time; a broken chain stops the verification, not the counting.
    const walk = new ChainWalk(tenantId);
    let broken: ChainVerification | null = null;
    reading: while (afterSeq < head.seq) {
      // The fields counted and the hashed text the storage joins (see `AuditLog.verify`).
      const page = await scanStoredRecords(storage.audit, tenantId, {
        afterSeq,
        limit: Math.min(SCAN_PAGE, head.seq - afterSeq),
        fields: SCAN_FIELDS,
      });
      if (page.length === 0) break;
      const { verdicts, whole } = await checkScannedHashes(storage.audit, tenantId, page);
      for (let i = 0; i < page.length; i++) {
        const record = page[i] as ScanRecord;
        if (record.seq > head.seq) break reading;
        collect(record, whole.get(record.seq));
        const verdict = verdicts[i] as HashVerdict;
        broken ??= walk.nextChecked(record, () => verdict !== "mismatch");
        if (verdict === "canonical" && record.session_id === sessionId) scan.canonical.add(record.seq);
      }
    }
    scan.verification = broken ?? walk.end(head);
    for (const [actionId, tool] of scan.credentialedApprovals) {
      if (scan.approvedActionIds.has(actionId)) scan.brokered.set(tool, (scan.brokered.get(tool) ?? 0) + 1);
    }
    return scan;
  }

  // The latest checkpoint if it covers the session's last record, else a new one. `null` when none can be
  // signed (the chain is broken): the export then says so and does not verify.
  async #checkpoint(tenantId: string, scan: SessionScan): Promise<CheckpointRecord | null> {
    const latest = await this.#checkpoints.latest(tenantId);
    if (latest && latest.tree_size >= Math.max(scan.lastSeq, 1)) return latest;
    if (scan.cutoff === 0) return null;
    try {
      // The scan has just verified records 1..cutoff: sign over its leaves instead of reading the chain again.
      if (scan.verification.valid && scan.leaves.size === scan.cutoff) {
        const head = { seq: scan.cutoff, hash: scan.verification.head_hash };
        return await createCheckpointOfVerifiedChain(this.#checkpoints, tenantId, head, scan.leaves);
      }
      return await this.#checkpoints.create(tenantId);
    } catch (error) {
      if (!isVargateError(error, "INTERNAL_ERROR")) throw error;
      this.#context.logger.error("Compliance export without a checkpoint", {
        tenant_id: tenantId,
        error: error.message,
      });
      return null;
    }
  }

  // The proof tree over records 1..treeSize: the scanned leaves, extended when the checkpoint is newer.
  async #tree(tenantId: string, leaves: LeafHashes, treeSize: number): Promise<MerkleTree> {
    while (leaves.size < treeSize) {
      const page = await scanStoredRecords(this.#context.storage.audit, tenantId, {
        afterSeq: leaves.size,
        limit: Math.min(SCAN_PAGE, treeSize - leaves.size),
        fields: ["record_hash"],
      });
      if (page.length === 0 || page[0]?.seq !== leaves.size + 1) break;
      for (const record of page) {
        if (record.seq !== leaves.size + 1) break;
        leaves.appendLeaf(record.record_hash);
      }
    }
    return new MerkleTree(treeSize >= leaves.size ? leaves : leaves.prefix(treeSize));
  }

  async #header(
    tenantId: string,
    session: SessionRecord,
    scan: SessionScan,
    checkpoint: CheckpointRecord | null,
  ): Promise<ComplianceExportHeader> {
    const { storage } = this.#context;
    const generatedAt = timestamp(this.#context.clock);
    const [agent, approvals, publicKey] = await Promise.all([
      storage.agents.get(tenantId, session.agent_id),
      storage.approvals.list(tenantId, { session_id: session.id, limit: MAX_APPROVALS }),
      this.#checkpoints.publicKey(tenantId),
    ]);
    const pending = approvals.filter((approval) => approval.status === "pending").length;
    const decided = approvals.filter((a) => a.status === "approved" || a.status === "rejected").length;
    const total = scan.governed + scan.observed;
    const policyVersions: CompliancePolicyVersion[] = [];
    const versions = [...scan.policyVersions.keys()].sort((a, b) => (a ?? 0) - (b ?? 0));
    for (const version of versions) {
      const record = version === null ? null : await storage.policies.get(tenantId, version);
      policyVersions.push({
        version,
        document_hash: record ? sha256Hex(canonicalJson(record.document)) : null,
        created_at: record?.created_at ?? null,
        governed_calls: scan.policyVersions.get(version) ?? 0,
      });
    }
    const end = session.ended_at ?? generatedAt;
    return {
      format: COMPLIANCE_EXPORT_FORMAT,
      session: {
        id: session.id,
        agent_id: session.agent_id,
        status: session.status,
        system_prompt_hash: session.system_prompt_hash,
        created_at: session.created_at,
        ended_at: session.ended_at,
        duration_seconds: Math.max(0, Math.round((Date.parse(end) - Date.parse(session.created_at)) / 1000)),
      },
      governance_profile: {
        allowed_tools: [...(agent?.allowed_tools ?? [])],
        require_human_approval: [...(agent?.require_human_approval ?? [])],
      },
      summary: {
        total_events: total,
        governed_calls: scan.governed,
        observed_calls: scan.observed,
        denied: scan.denied,
        pending,
        anomalies_detected: scan.anomalies,
        denial_rate: denialRate(scan.denied, total),
        approvals_used: decided,
      },
      agcs_controls: controls(scan, policyVersions, approvals.length),
      chain_verification: scan.verification,
      checkpoint,
      public_key: publicKey,
      policy_versions: policyVersions,
      generated_at: generatedAt,
    };
  }

  // Pass two: the session's records from its first to its last, page by page, hashed as they are written.
  async *#write(
    tenantId: string,
    sessionId: string,
    header: ComplianceExportHeader,
    scan: SessionScan,
    tree: MerkleTree | null,
  ): AsyncGenerator<Buffer, void, undefined> {
    const digest = createHash("sha256");
    const headerText = canonicalJson(header);
    const chunk = new ChunkBuilder(digest);
    chunk.add(`${headerText.slice(0, -1)},"timeline":[`);
    let first = true;
    let afterSeq = scan.firstSeq - 1;
    const last = scan.firstSeq === 0 ? 0 : scan.lastSeq;
    const { audit } = this.#context.storage;
    while (afterSeq < last) {
      // Only the session's records, as the text their hash covers.
      const page = await scanStoredRecords(audit, tenantId, {
        afterSeq,
        limit: Math.min(SCAN_PAGE, last - afterSeq),
        sessionId,
        fields: WRITE_FIELDS,
      });
      if (page.length === 0) break;
      // A record the scan found canonical is written from its text without hashing it again (were it edited
      // since, its item would no longer hash to the leaf its proof is for, and the export would not verify); the
      // others are read whole, in one read per page, and checked again.
      const fromText = page.map((record) =>
        scan.canonical.has(record.seq) && record.hashed_text !== null
          ? timelineItemOfText(record.hashed_text, record.seq, record.record_hash, tree)
          : null,
      );
      const whole = await readPageRecords(audit, tenantId, page, (i) => fromText[i] === null, { sessionId });
      for (let i = 0; i < page.length; i++) {
        const record = page[i] as (typeof page)[number];
        afterSeq = record.seq;
        if (record.seq > last) break;
        if (record.session_id !== sessionId || record.source === "control_plane") continue;
        const text = fromText[i] ?? timelineItemJson(wholeRecord(whole, record.seq), tree);
        const item = first ? text : `,${text}`;
        first = false;
        // Full chunks are handed on between items, so none splits a character.
        const full = chunk.add(item);
        if (full) yield full;
      }
    }
    const rest = chunk.take() ?? Buffer.alloc(0);
    // The hash covers the canonical export without its last two keys, which close it instead of "]}".
    digest.update("]}", "utf8");
    const exportHash = digest.digest("hex");
    const signed = await this.#checkpoints.sign(tenantId, `${EXPORT_SIGNATURE_CONTEXT}${exportHash}`);
    const signature: ComplianceExportSignature = {
      algorithm: "Ed25519",
      key_id: signed.key_id,
      signature: signed.signature,
    };
    yield Buffer.concat([
      rest,
      Buffer.from(
        `],"export_hash":${JSON.stringify(exportHash)},"export_signature":${canonicalJson(signature)}}`,
        "utf8",
      ),
    ]);
  }
}

/**
 * Export text encoded to UTF-8 into chunks of about `CHUNK_BYTES`, each added to `digest` as it is handed on.
 * Each piece is encoded on its own: encoding one long string built by concatenation was far slower, above all
 * once a single non-ASCII character made the whole string two-byte.
 */
class ChunkBuilder {
  readonly #digest: Hash;
  #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #length = 0;

  constructor(digest: Hash) {
    this.#digest = digest;
  }

  /** Appends `text`; returns the chunk it filled, if any (hashed, and no longer written to). */
  add(text: string): Buffer | null {
    // At most 3 bytes per UTF-16 code unit.
    if (this.#length + text.length * 3 <= this.#buffer.length) {
      this.#length += this.#buffer.write(text, this.#length, "utf8");
      return null;
    }
    const full = this.take();
    if (text.length * 3 > this.#buffer.length) {
      const bytes = Buffer.from(text, "utf8");
      this.#digest.update(bytes);
      return full ? Buffer.concat([full, bytes]) : bytes;
    }
    this.#length = this.#buffer.write(text, 0, "utf8");
    return full;
  }

  /** The bytes added since the last chunk was handed on (hashed), or null if none. */
  take(): Buffer | null {
    if (this.#length === 0) return null;
    const full = this.#buffer.subarray(0, this.#length);
    this.#digest.update(full);
    this.#buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#length = 0;
    return full;
  }
}

/** What the export's scan reads of each record. */
const SCAN_FIELDS = [
  "tenant_id",
  "action_id",
  "session_id",
  "source",
  "method",
  "tool",
  "decision",
  "severity",
  "policy_version",
  "prev_hash",
  "record_hash",
  "hashed_text",
] as const satisfies readonly StoredAuditField[];
type ScanRecord = Pick<ScannedAuditRecord, (typeof SCAN_FIELDS)[number] | "seq">;

/** What the export's second pass reads of each record of the session. */
const WRITE_FIELDS = [
  "session_id",
  "source",
  "record_hash",
  "hashed_text",
] as const satisfies readonly StoredAuditField[];

/**
 * A scanned record's stored input, parsed: from the whole record when the scan read it again, else from its hashed
 * text (which matched its hash, unless the record has since gone).
 */
function storedInput(record: ScanRecord, whole: StoredAuditRecord | undefined): unknown {
  if (whole) return parseStoredJson(whole.input);
  const text = record.hashed_text === null ? null : parseStoredJson(record.hashed_text);
  return typeof text === "object" && text !== null && !Array.isArray(text) ? text.input : null;
}

/** A record read whole for the slow path; one gone since the scan fails the export. */
function wholeRecord(whole: ReadonlyMap<number, StoredAuditRecord>, seq: number): StoredAuditRecord {
  const stored = whole.get(seq);
  if (!stored) throw new VargateError("INTERNAL_ERROR", `Audit record ${seq} changed during the export`);
  return stored;
}

/** `denied / total` as a percentage with two decimals: `"5.88%"`, `"0.00%"` without events. */
export function denialRate(denied: number, total: number): string {
  return `${total === 0 ? "0.00" : ((denied / total) * 100).toFixed(2)}%`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function versionName(version: number | null): string {
  return version === null ? "the empty policy (no tenant policy stored)" : `policy version ${version}`;
}

// The AGCS controls, each stated from what the scan found.
function controls(
  scan: SessionScan,
  policyVersions: readonly CompliancePolicyVersion[],
  approvals: number,
): Record<string, string> {
  const result: Record<string, string> = {};
  result["AG-1.1"] =
    scan.governed === 0
      ? "Policy evaluation active: no governed calls in this session"
      : `Policy evaluation active: ${plural(scan.governed, "governed call")} evaluated under ${policyVersions
          .map((p) => versionName(p.version))
          .join(", ")}`;
  const chain = scan.verification;
  result["AG-1.2"] = chain.valid
    ? `Hash-chained audit trail verified: ${plural(chain.record_count, "record")} of tenant ${chain.tenant_id}, head ${chain.head_hash}`
    : `Hash-chained audit trail BROKEN at seq ${chain.failed_at_seq}${
        chain.failed_at_action_id ? ` (action ${chain.failed_at_action_id})` : ""
      }: ${chain.reason}`;
  result["AG-1.3"] =
    scan.governedWithoutActionId === 0
      ? `Action IDs assigned to all governed calls (${scan.governed})`
      : `Action IDs missing on ${scan.governedWithoutActionId} of ${scan.governed} governed calls`;
  result["AG-1.6"] = `${plural(approvals, "action")} routed through approval queue`;
  if (scan.brokered.size > 0) {
    const calls = [...scan.brokered.values()].reduce((a, b) => a + b, 0);
    const tools = [...scan.brokered.keys()].sort().join(", ");
    result["AG-1.9"] =
      `Credentials brokered by the governor for ${plural(calls, "governed call")} (${tools}); never exposed to the agent`;
  }
  result["AG-2.1"] =
    `Structured audit schema applied: ${plural(scan.governed + scan.observed, "event")} as hash-chained records (SHA-256 over RFC 8785 JSON)`;
  return result;
}
