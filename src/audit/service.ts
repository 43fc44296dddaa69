import type { GovernorContext } from "../context.js";
import { verifyChain } from "./chain.js";
import type { AuditRecord, ChainVerification } from "./types.js";

/** Records read per round trip when walking a chain. */
const SCAN_PAGE = 1000;

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

  /** Every record of the tenant in chain order, read page by page. */
  async *records(tenantId: string): AsyncGenerator<AuditRecord> {
    let afterSeq = 0;
    for (;;) {
      const page = await this.#context.storage.audit.scan(tenantId, { afterSeq, limit: SCAN_PAGE });
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < SCAN_PAGE) return;
      afterSeq = last.seq;
    }
  }

  /** Walks the tenant's chain and reports the first broken record with a reason. */
  async verify(tenantId: string): Promise<ChainVerification> {
    // Read the head first: records appended while we walk lie beyond it and are checked next time.
    const head = await this.#context.storage.audit.head(tenantId);
    return verifyChain(tenantId, this.#recordsUpTo(tenantId, head.seq), head);
  }

  /** Verifies every tenant's chain. */
  async verifyAll(): Promise<ChainVerification[]> {
    const tenants = await this.#context.storage.tenants.list();
    const results: ChainVerification[] = [];
    for (const tenant of tenants) results.push(await this.verify(tenant.tenant_id));
    return results;
  }

  async *#recordsUpTo(tenantId: string, lastSeq: number): AsyncGenerator<AuditRecord> {
    for await (const record of this.records(tenantId)) {
      if (record.seq > lastSeq) return;
      yield record;
    }
  }
}
