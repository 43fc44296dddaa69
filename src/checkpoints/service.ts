import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { GENESIS_HASH } from "../audit/chain.js";
import { scanStoredRecords } from "../audit/stored.js";
import type { AuditHead, StoredAuditField } from "../audit/types.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { ConfigError, ValidationError, VargateError } from "../errors.js";
import { consistencyProof, LeafHashes, MerkleTree, merkleRoot } from "../merkle/index.js";
import {
  CHECKPOINT_SIGNATURE_CONTEXT,
  type CheckpointPublicKey,
  checkpointKeyId,
  exportPublicKey,
  signCheckpoint,
  signMessage,
  toEd25519PrivateKey,
  verifyCheckpointSignature,
  verifySignature,
} from "./signing.js";
import type { CheckpointRecord } from "./types.js";

export interface CheckpointOptions {
  /**
   * The Ed25519 private key that signs every tenant's checkpoints: a KeyObject or PKCS #8 PEM. Recommended in
   * production. @default a key generated per tenant on first use and stored, unencrypted, in the storage's
   * settings (`checkpoint_key:<tenant_id>`)
   */
  privateKey?: KeyObject | string;
  /**
   * How often `start()` takes a checkpoint of every tenant whose chain grew since its latest one, in ms; `0` turns
   * the schedule off. @default 3600000 (one hour)
   */
  intervalMs?: number;
  /**
   * Receives every new checkpoint, e.g. to publish it somewhere the database's owners cannot rewrite. Awaited; a
   * witness that throws or rejects is logged and the checkpoint is kept.
   */
  witness?: (checkpoint: CheckpointRecord) => Promise<void> | void;
}

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 3_600_000;

type VerifiedCreate = (tenantId: string, head: AuditHead, leaves: LeafHashes) => Promise<CheckpointRecord>;
const verifiedCreates = new WeakMap<Checkpoints, VerifiedCreate>();

/**
 * Internal (not exported from the package): `checkpoints.create(tenantId)` over leaves the caller has just
 * verified, for the compliance export, which has read and verified the whole chain already. Kept off the class so
 * that no public method signs leaves it was handed.
 */
export function createCheckpointOfVerifiedChain(
  checkpoints: Checkpoints,
  tenantId: string,
  head: AuditHead,
  leaves: LeafHashes,
): Promise<CheckpointRecord> {
  const create = verifiedCreates.get(checkpoints);
  if (!create) throw new TypeError("not a Checkpoints instance");
  return create(tenantId, head, leaves);
}

/** An inclusion proof of one audit record in a checkpointed tree. */
export interface InclusionProofView {
  /** The record's `seq`; its leaf index is `seq - 1`. */
  seq: number;
  leaf_index: number;
  tree_size: number;
  /** The record's `record_hash` (the leaf's bytes, hex). */
  record_hash: string;
  /** `leafHash(record_hash)`. */
  leaf_hash: string;
  /** The audit path, leaf to root, hex. */
  hashes: string[];
  /** The signed root of the checkpoint of `tree_size`. */
  root_hash: string;
}

/** A consistency proof between two checkpoints of one tenant. */
export interface ConsistencyProofView {
  from_size: number;
  to_size: number;
  /** The signed roots of the two checkpoints. */
  from_root_hash: string;
  to_root_hash: string;
  /** RFC 9162 §2.1.4 consistency proof, hex. */
  hashes: string[];
}

const SCAN_PAGE = 1000;
/** What building the tree reads of each record. */
const LEAF_FIELDS = ["tenant_id", "prev_hash", "record_hash"] as const satisfies readonly StoredAuditField[];
const SETTING_PREFIX = "checkpoint_key:";
const MAX_LIST = 1000;
// How often the schedule looks for due checkpoints, at most.
const MAX_CHECK_PERIOD_MS = 60_000;

/**
 * Signed Merkle checkpoints of each tenant's audit chain, and proofs against them: `governor.checkpoints`.
 *
 * The tree is RFC 9162's over the tenant's `record_hash` values in `seq` order (see `vargate/merkle`); a
 * checkpoint signs its size, root and time with Ed25519.
 */
export class Checkpoints {
  readonly #context: GovernorContext;
  readonly #configuredKey: KeyObject | undefined;
  readonly #witness: CheckpointOptions["witness"];
  readonly #keys = new Map<string, KeyObject>();
  readonly #intervalMs: number;
  #running = false;

  constructor(context: GovernorContext, options: CheckpointOptions = {}) {
    this.#context = context;
    verifiedCreates.set(this, (tenantId, head, leaves) => this.#create(tenantId, { head, leaves }));
    if (options.privateKey !== undefined) {
      try {
        this.#configuredKey = toEd25519PrivateKey(options.privateKey);
      } catch {
        throw new ConfigError("checkpoints.privateKey: expected an Ed25519 private key (a KeyObject or PKCS #8 PEM)");
      }
    }
    const interval = options.intervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    if (!Number.isFinite(interval) || interval < 0) {
      throw new ConfigError("checkpoints.intervalMs: expected a number of milliseconds, 0 to disable");
    }
    if (options.witness !== undefined && typeof options.witness !== "function") {
      throw new ConfigError("checkpoints.witness: expected a function");
    }
    this.#intervalMs = interval;
    this.#witness = options.witness;
  }

  /** The schedule's interval in ms; 0 when it is off. */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  /** How often `start()` should call `runDue()`: the interval, at most a minute. `0` when the schedule is off. */
  get checkPeriodMs(): number {
    return Math.min(this.#intervalMs, MAX_CHECK_PERIOD_MS);
  }

  /**
   * Takes a checkpoint of the tenant's chain now: the tree over records `1..head`, signed, stored and given to the
   * witness. Returns the stored checkpoint; when one of this size exists already, returns it (no new signature).
   * Refuses (`INTERNAL_ERROR`) to sign a chain that is broken or no longer extends the latest checkpoint.
   */
  async create(tenantId: string): Promise<CheckpointRecord> {
    return this.#create(tenantId, null);
  }

  // `verified`: the leaves of records 1..head.seq that the caller has just verified (record hashes recomputed,
  // links checked, ending at head.hash), so they need not be read again.
  async #create(tenantId: string, verified: { head: AuditHead; leaves: LeafHashes } | null): Promise<CheckpointRecord> {
    const { storage } = this.#context;
    if (!(await storage.tenants.get(tenantId))) throw new VargateError("TENANT_NOT_FOUND");
    const head = verified?.head ?? (await storage.audit.head(tenantId));
    const existing = await storage.checkpoints.get(tenantId, head.seq);
    if (existing) return existing;
    const latest = await storage.checkpoints.latest(tenantId);
    if (latest && latest.tree_size > head.seq) {
      // The verified head was read earlier; a checkpoint taken since covers it.
      if (verified) return latest;
      throw this.#rewritten(tenantId, `the chain head (seq ${head.seq}) is below checkpoint ${latest.tree_size}`);
    }
    if (verified && verified.leaves.size !== head.seq) throw new RangeError("verified leaves do not match the head");
    const leaves = verified?.leaves ?? (await this.#leaves(tenantId, head.seq, { lastHash: head.hash })).leaves;
    if (latest && merkleRoot(leaves.prefix(latest.tree_size)) !== latest.root_hash) {
      throw this.#rewritten(tenantId, `records 1..${latest.tree_size} no longer match checkpoint ${latest.tree_size}`);
    }
    const key = await this.#key(tenantId);
    const body = {
      tenant_id: tenantId,
      tree_size: head.seq,
      root_hash: merkleRoot(leaves),
      timestamp: timestamp(this.#context.clock),
    };
    const checkpoint: CheckpointRecord = {
      ...body,
      key_id: checkpointKeyId(key),
      signature: signCheckpoint(body, key),
    };
    const stored = await storage.checkpoints.add(checkpoint);
    // Another instance stored this size first: it called the witness.
    if (stored.signature === checkpoint.signature) await this.#callWitness(stored);
    return stored;
  }

  /** The tenant's latest checkpoint (largest tree), or `null` before the first. */
  async latest(tenantId: string): Promise<CheckpointRecord | null> {
    return this.#context.storage.checkpoints.latest(tenantId);
  }

  /** The tenant's checkpoint of `treeSize`, or `null`. */
  async get(tenantId: string, treeSize: number): Promise<CheckpointRecord | null> {
    return this.#context.storage.checkpoints.get(tenantId, treeSize);
  }

  /** The tenant's checkpoints, largest tree first. @default limit 100 (at most 1000) */
  async list(tenantId: string, options: { limit?: number } = {}): Promise<CheckpointRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 0), MAX_LIST);
    return this.#context.storage.checkpoints.list(tenantId, { limit });
  }

  /**
   * Proves that the record with `seq` is in the checkpoint of `treeSize` (default: the latest checkpoint).
   * `NOT_FOUND` without such a checkpoint; `VALIDATION_FAILED` when `seq` is outside it. The proof is computed
   * from the stored records and checked against nothing: if history was rewritten it does not verify against
   * the signed `root_hash`, which is the point.
   */
  async inclusionProof(tenantId: string, seq: number, treeSize?: number): Promise<InclusionProofView> {
    const [proof] = await this.inclusionProofs(tenantId, [seq], treeSize);
    return proof as InclusionProofView;
  }

  /** `inclusionProof` for many records of one checkpoint, reading the chain once. Proofs in the order of `seqs`. */
  async inclusionProofs(tenantId: string, seqs: readonly number[], treeSize?: number): Promise<InclusionProofView[]> {
    const checkpoint = await this.#checkpoint(tenantId, treeSize, "tree_size");
    for (const seq of seqs) {
      if (!Number.isSafeInteger(seq) || seq < 1 || seq > checkpoint.tree_size) {
        throw invalid("seq", `seq must be an integer from 1 to the checkpoint's tree_size ${checkpoint.tree_size}`);
      }
    }
    const { leaves, recordHashes } = await this.#leaves(tenantId, checkpoint.tree_size, { keep: new Set(seqs) });
    // The whole tree once, then O(log n) per proof: an export proves every record of a session.
    const tree = new MerkleTree(leaves);
    return seqs.map((seq) => ({
      seq,
      leaf_index: seq - 1,
      tree_size: checkpoint.tree_size,
      record_hash: recordHashes.get(seq) as string,
      leaf_hash: tree.leaf(seq - 1),
      hashes: tree.inclusionProof(seq - 1),
      root_hash: checkpoint.root_hash,
    }));
  }

  /**
   * Proves that the checkpoint of `fromSize` is a prefix of the checkpoint of `toSize` (default: the latest).
   * Both must be stored checkpoints (`NOT_FOUND` otherwise); `fromSize` may not exceed `toSize`.
   */
  async consistencyProof(tenantId: string, fromSize: number, toSize?: number): Promise<ConsistencyProofView> {
    const to = await this.#checkpoint(tenantId, toSize, "to");
    if (!Number.isSafeInteger(fromSize) || fromSize < 1 || fromSize > to.tree_size) {
      throw invalid("from", `from must be an integer from 1 to ${to.tree_size}`);
    }
    const from = await this.#checkpoint(tenantId, fromSize, "from");
    const { leaves } = await this.#leaves(tenantId, to.tree_size);
    return {
      from_size: from.tree_size,
      to_size: to.tree_size,
      from_root_hash: from.root_hash,
      to_root_hash: to.root_hash,
      hashes: consistencyProof(leaves, from.tree_size, to.tree_size),
    };
  }

  /** The public key that signs the tenant's checkpoints (generating the tenant's key on first use). */
  async publicKey(tenantId: string): Promise<CheckpointPublicKey> {
    return exportPublicKey(await this.#key(tenantId));
  }

  /**
   * Signs `message` (its UTF-8 bytes) with the tenant's checkpoint key: plain Ed25519, checked by
   * `verifySignature(publicKeyPem, message, signature)`. Text that starts like a checkpoint's signed bytes is
   * refused, so a signed message can never pass for a checkpoint.
   */
  async sign(tenantId: string, message: string): Promise<{ key_id: string; signature: string }> {
    if (typeof message !== "string") throw invalid("message", "message must be a string");
    if (message.startsWith(CHECKPOINT_SIGNATURE_CONTEXT)) {
      throw invalid("message", `message may not start with ${JSON.stringify(CHECKPOINT_SIGNATURE_CONTEXT)}`);
    }
    const key = await this.#key(tenantId);
    return { key_id: checkpointKeyId(key), signature: signMessage(message, key) };
  }

  /** Whether `signatureBase64` is a valid Ed25519 signature of `message` by `publicKeyPem`. Never throws. */
  verifySignature(publicKeyPem: KeyObject | string, message: string, signatureBase64: string): boolean {
    return verifySignature(publicKeyPem, message, signatureBase64);
  }

  /** Whether a checkpoint's signature and key id match `publicKeyPem`. Never throws. */
  verifyCheckpoint(checkpoint: CheckpointRecord, publicKeyPem: KeyObject | string): boolean {
    return verifyCheckpointSignature(checkpoint, publicKeyPem);
  }

  /**
   * One pass of the schedule: a checkpoint of every tenant whose chain grew since its latest checkpoint and whose
   * latest checkpoint is at least `intervalMs` old by the governor's clock (or who has none). A tenant that fails
   * is logged and skipped. Returns the checkpoints taken. `start()` calls it every `checkPeriodMs`.
   */
  async runDue(): Promise<CheckpointRecord[]> {
    if (this.#running) return [];
    this.#running = true;
    try {
      const { storage, clock, logger } = this.#context;
      const taken: CheckpointRecord[] = [];
      for (const tenant of await storage.tenants.list()) {
        try {
          const [head, latest] = await Promise.all([
            storage.audit.head(tenant.tenant_id),
            storage.checkpoints.latest(tenant.tenant_id),
          ]);
          if (head.seq === 0 || head.seq === latest?.tree_size) continue;
          if (latest && clock.now().getTime() - Date.parse(latest.timestamp) < this.#intervalMs) continue;
          taken.push(await this.create(tenant.tenant_id));
        } catch (error) {
          logger.error("Scheduled checkpoint failed", {
            tenant_id: tenant.tenant_id,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      return taken;
    } finally {
      this.#running = false;
    }
  }

  async #checkpoint(tenantId: string, treeSize: number | undefined, field: string): Promise<CheckpointRecord> {
    const { checkpoints } = this.#context.storage;
    if (treeSize === undefined) {
      const latest = await checkpoints.latest(tenantId);
      if (!latest) throw new VargateError("NOT_FOUND", "No checkpoint yet");
      return latest;
    }
    if (!Number.isSafeInteger(treeSize) || treeSize < 1) throw invalid(field, `${field} must be a positive integer`);
    const checkpoint = await checkpoints.get(tenantId, treeSize);
    if (!checkpoint) throw new VargateError("NOT_FOUND", `No checkpoint of tree size ${treeSize}`);
    return checkpoint;
  }

  // The leaf hashes of records 1..size, read page by page. The records must be contiguous and linked
  // (`prev_hash`), and the last one must carry `lastHash` when given; otherwise the chain is broken and nothing
  // is proven or signed over it.
  async #leaves(
    tenantId: string,
    size: number,
    options: { lastHash?: string; keep?: ReadonlySet<number> } = {},
  ): Promise<{ leaves: LeafHashes; recordHashes: Map<number, string> }> {
    const leaves = new LeafHashes(Math.max(1, Math.min(size, 1 << 20)));
    const recordHashes = new Map<number, string>();
    let previous = GENESIS_HASH;
    while (leaves.size < size) {
      // Only the columns that place a record in the chain: no row is built and no JSON parsed.
      const page = await scanStoredRecords(this.#context.storage.audit, tenantId, {
        afterSeq: leaves.size,
        limit: Math.min(SCAN_PAGE, size - leaves.size),
        fields: LEAF_FIELDS,
      });
      if (page.length === 0) throw this.#broken(tenantId, leaves.size + 1, "missing");
      for (const record of page) {
        const seq = leaves.size + 1;
        if (record.seq !== seq || record.tenant_id !== tenantId) throw this.#broken(tenantId, seq, "missing");
        if (record.prev_hash !== previous) throw this.#broken(tenantId, seq, "not linked to the record before it");
        leaves.appendLeaf(record.record_hash);
        if (options.keep?.has(seq)) recordHashes.set(seq, record.record_hash);
        previous = record.record_hash;
      }
    }
    if (options.lastHash !== undefined && size > 0 && previous !== options.lastHash) {
      throw this.#broken(tenantId, size, "not the chain head");
    }
    return { leaves, recordHashes };
  }

  #broken(tenantId: string, seq: number, what: string): VargateError {
    const message = `The audit chain of tenant ${tenantId} is broken: the record at seq ${seq} is ${what}. Run audit verify.`;
    this.#context.logger.error("Audit chain broken; no checkpoint or proof over it", { tenant_id: tenantId, seq });
    return new VargateError("INTERNAL_ERROR", message);
  }

  #rewritten(tenantId: string, why: string): VargateError {
    this.#context.logger.error("Audit history rewritten since the latest checkpoint; not signing", {
      tenant_id: tenantId,
      reason: why,
    });
    return new VargateError("INTERNAL_ERROR", `Refusing to sign a checkpoint of tenant ${tenantId}: ${why}`);
  }

  async #callWitness(checkpoint: CheckpointRecord): Promise<void> {
    if (!this.#witness) return;
    try {
      await this.#witness(structuredClone(checkpoint));
    } catch (error) {
      this.#context.logger.error("Checkpoint witness failed; the checkpoint is kept", {
        tenant_id: checkpoint.tenant_id,
        tree_size: checkpoint.tree_size,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  // The configured key, else the tenant's stored key, generated (insert-if-absent) on first use.
  async #key(tenantId: string): Promise<KeyObject> {
    if (this.#configuredKey) return this.#configuredKey;
    const cached = this.#keys.get(tenantId);
    if (cached) return cached;
    const { settings, tenants } = this.#context.storage;
    const name = `${SETTING_PREFIX}${tenantId}`;
    let pem = await settings.get(name);
    if (pem === null) {
      if (!(await tenants.get(tenantId))) throw new VargateError("TENANT_NOT_FOUND");
      const { privateKey } = generateKeyPairSync("ed25519");
      pem = await settings.putIfAbsent(name, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    }
    const key = toEd25519PrivateKey(pem);
    this.#keys.set(tenantId, key);
    return key;
  }
}

function invalid(field: string, msg: string): ValidationError {
  return new ValidationError([{ loc: [field], msg, type: "value_error" }]);
}
