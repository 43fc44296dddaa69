import { afterEach, beforeEach, describe } from "vitest";
import type { VargateStorage } from "../storage/port.js";
import type { TenantRecord } from "../tenants/types.js";
import { describeAgents } from "./storage-conformance/agents.js";
import { describeApprovals } from "./storage-conformance/approvals.js";
import { describeAuditChain } from "./storage-conformance/audit.js";
import { describeCheckpoints } from "./storage-conformance/checkpoints.js";
import { describeConsumers, describeSettings } from "./storage-conformance/consumers.js";
import { describeCredentials } from "./storage-conformance/credentials.js";
import { describeDecisionInputs } from "./storage-conformance/decision-inputs.js";
import { describeAuditEvents } from "./storage-conformance/events.js";
import { entry, keyRecord, type SuiteContext, tenantRecord } from "./storage-conformance/fixtures.js";
import { describeLockedDecisions } from "./storage-conformance/locked-decisions.js";
import { describePolicies } from "./storage-conformance/policies.js";
import { describeConcurrentResults } from "./storage-conformance/results.js";
import { describeSessions } from "./storage-conformance/sessions.js";
import { describeTenants } from "./storage-conformance/tenants.js";
import { describeToolCounts } from "./storage-conformance/tool-counts.js";

export interface StorageConformanceOptions {
  /** The implementation or database under test; it appears in every describe title. */
  name: string;
  /**
   * Returns a storage for one test. The suite calls `migrate()` on it, then `close()` and `cleanup()` after the
   * test. It may be fresh or shared: the suite uses its own random tenant ids in every test.
   */
  create: () => Promise<{ storage: VargateStorage; cleanup?: () => Promise<void> }>;
  /** Concurrent appends in the chain-linearity test (and racing calls in the other race tests). @default 200 */
  concurrency?: number;
}

/**
 * Registers the storage conformance suite with vitest. Loaded on demand by `describeStorageConformance`.
 *
 * The groups live in `storage-conformance/`, one file per store.
 */
export function registerStorageConformance(options: StorageConformanceOptions): void {
  describe(`storage conformance: ${options.name}`, () => {
    let current: VargateStorage | undefined;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const created = await options.create();
      current = created.storage;
      cleanup = created.cleanup;
      await current.migrate();
    });
    afterEach(async () => {
      await current?.close();
      await cleanup?.();
      current = undefined;
      cleanup = undefined;
    });

    const storage = () => {
      if (!current) throw new Error("storage conformance: no storage outside a test");
      return current;
    };
    const ctx: SuiteContext = {
      name: options.name,
      concurrency: options.concurrency ?? 200,
      storage,
      async newTenant(fields: Partial<TenantRecord> = {}) {
        const tenant = tenantRecord(fields);
        const key = keyRecord(tenant.tenant_id);
        const audit = entry({ method: "create_tenant", input: { tenant_id: tenant.tenant_id } });
        await storage().tenants.create(tenant, key, audit);
        return { tenant, key, audit, id: tenant.tenant_id };
      },
    };

    describeTenants(ctx);
    describeAgents(ctx);
    describeAuditChain(ctx);
    describeAuditEvents(ctx);
    describeToolCounts(ctx);
    describeDecisionInputs(ctx);
    describeLockedDecisions(ctx);
    describeConcurrentResults(ctx);
    describeSessions(ctx);
    describeConsumers(ctx);
    describeSettings(ctx);
    describePolicies(ctx);
    describeApprovals(ctx);
    describeCredentials(ctx);
    describeCheckpoints(ctx);
  });
}
