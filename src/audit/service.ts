import type { GovernorContext } from "../context.js";
import { ChainWalk, chainPartsJoin, verifiedPrefix } from "./chain.js";
import { checkScannedHashes, scanStoredRecords } from "./stored.js";
import type { AuditHead, AuditRecord, ChainVerification, StoredAuditField } from "./types.js";

/** Records read per round trip when walking a chain. */
const SCAN_PAGE = 1000;
/** Records read per round trip when verifying. */
const VERIFY_PAGE = 1000;
/** What verification reads of a record. */
const VERIFY_FIELDS = [
  "tenant_id",
  "action_id",
  "prev_hash",
  "record_hash",
  "hashed_text",
] as const satisfies readonly StoredAuditField[];

/** The audit log: `governor.audit`. Appends happen inside the operations that are audited. */
export class AuditLog {
  readonly #context: GovernorContext;

  constructor(context: GovernorContext) {
    this.#context = context;
  }

  /** A session's records in chain order. @default limit 200 */
  async listBySession(tenantId: string, sessionId: string, options: { limit?: number } = {}): Promise<AuditRecord[]> {
    return this.#context.storage.audit.listBySession(tenantId, sessionId, { limit: options.limit ?? 200 });
  }

  /** The tenant's records in chain order after `afterSeq`, read page by page. */
  async *records(tenantId: string, options: { afterSeq?: number } = {}): AsyncGenerator<AuditRecord> {
    let afterSeq = options.afterSeq ?? 0;
    for (;;) {
      const page = await this.#context.storage.audit.scan(tenantId, { afterSeq, limit: SCAN_PAGE });
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < SCAN_PAGE) return;
      afterSeq = last.seq;
    }
  }

  /**
   * Walks the tenant's chain and reports the first broken record with a reason. Records stored beyond the chain
   * head (inserted, or moved in from another tenant) break it too.
   */
  async verify(tenantId: string): Promise<ChainVerification> {
    // Read the head first: records appended while we walk lie beyond it and are checked next time.
    const head = await this.#context.storage.audit.head(tenantId);
    const verification = await this.#check(tenantId, head);
    if (!verification.valid && verification.failed_at_action_id !== null) return verification;
    const stray = await this.#recordBeyondHead(tenantId, head.seq);
    if (!verification.valid) {
      // A record missing from its place may have been moved out of it (its seq edited): name it if so.
      if (!stray) return verification;
      return {
        ...verification,
        failed_at_action_id: stray.action_id,
        reason: `${verification.reason}; record ${stray.action_id} lies beyond the chain head at seq ${stray.seq}`,
      };
    }
    if (!stray) return verification;
    return {
      ...verification,
      valid: false,
      failed_at_seq: stray.seq,
      failed_at_action_id: stray.action_id,
      reason: "record lies beyond the chain head",
    };
  }

  /** Verifies every tenant's chain. */
  async verifyAll(): Promise<ChainVerification[]> {
    const tenants = await this.#context.storage.tenants.list();
    const results: ChainVerification[] = [];
    for (const tenant of tenants) results.push(await this.verify(tenant.tenant_id));
    return results;
  }

  // Scan first, then re-read the head: every record committed before the scan is then at or below the new head,
  // so anything above it was never appended through the chain.
  async #recordBeyondHead(tenantId: string, verifiedSeq: number): Promise<AuditRecord | null> {
    const later: AuditRecord[] = [];
    for await (const record of this.records(tenantId, { afterSeq: verifiedSeq })) later.push(record);
    if (later.length === 0) return null;
    const head = await this.#context.storage.audit.head(tenantId);
    return later.find((record) => record.seq > head.seq) ?? null;
  }

  // The storage's parts, when it checks the chain side by side and they join up to `head`: the verdict a walk would
  // reach. Anything else is left to the walk, which names the broken record; it resumes after the parts that are
  // clean and join up from the start, rather than reading them again.
  async #check(tenantId: string, head: AuditHead): Promise<ChainVerification> {
    const parts = await this.#context.storage.audit.checkChainParts?.(tenantId, head.seq);
    if (parts && chainPartsJoin(parts, head)) {
      return { tenant_id: tenantId, valid: true, record_count: head.seq, head_hash: head.hash };
    }
    return this.#walk(tenantId, head, parts ? verifiedPrefix(parts) : undefined);
  }

  // `verifyChain` over the records up to `head`, page by page: a loop per page rather than an async generator
  // step per record, which cost more than hashing the record.
  async #walk(tenantId: string, head: AuditHead, from?: AuditHead): Promise<ChainVerification> {
    const { audit } = this.#context.storage;
    const walk = new ChainWalk(tenantId, from);
    let afterSeq = from?.seq ?? 0;
    for (;;) {
      // Only the chain links and the hashed text the storage joins: a record written as canonical text hashes
      // without its row being built or its JSON parsed; other records are read whole and checked the slow way.
      const page = await scanStoredRecords(audit, tenantId, { afterSeq, limit: VERIFY_PAGE, fields: VERIFY_FIELDS });
      const { verdicts } = await checkScannedHashes(audit, tenantId, page);
      for (let i = 0; i < page.length; i++) {
        const record = page[i] as (typeof page)[number];
        if (record.seq > head.seq) return walk.end(head);
        const broken = walk.nextChecked(record, () => verdicts[i] !== "mismatch");
        if (broken) return broken;
      }
      const last = page.at(-1);
      if (!last || page.length < VERIFY_PAGE) return walk.end(head);
      afterSeq = last.seq;
    }
  }
}
