import { describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/audit/types.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import { entry } from "../../src/testing/storage-conformance/fixtures.js";
import { storeSession } from "../compliance/helpers.js";
import { denyTransfersOver, governedTransfer } from "./helpers.js";

const RECORDS = 100_000;
const BATCH = 2000;

describe("replay at scale", () => {
  it("replays 100,000 governed records of one session, and the tenant's newest 100,000", async () => {
    const governor = new VargateGovernor({ storage: memoryStorage() });
    await governor.migrate();
    const { tenant } = await governor.tenants.create({ tenant_id: "scale" });
    const sessionId = "vs-00000000000000aa";
    const agentId = await storeSession(governor, tenant.tenant_id, sessionId);
    await governor.storage.sessions.activate(
      tenant.tenant_id,
      sessionId,
      { anthropic_session_id: "sess_1", environment_id: null, upstream_vault_id: null },
      entry({
        method: "create_session",
        session_id: sessionId,
        agent_id: agentId,
        requested_at: new Date().toISOString(),
      }),
    );
    for (let start = 0; start < RECORDS; start += BATCH) {
      const entries: AuditEntry[] = [];
      for (let i = start; i < start + BATCH; i++) {
        entries.push(governedTransfer({ tenantId: tenant.tenant_id, sessionId, agentId }, i, i % 200));
      }
      await governor.storage.audit.append(tenant.tenant_id, entries);
    }
    const candidate = denyTransfersOver(100);
    // amount = i % 200 > 100 for 99 of every 200 records.
    const expectedChanged = (RECORDS / 200) * 99;
    const session = await governor.replay.session(tenant.tenant_id, sessionId, { policy: candidate });
    expect(session).toMatchObject({ total_replayed: RECORDS, changed: expectedChanged });
    const tenantWide = await governor.replay.tenant(tenant.tenant_id, { policy: candidate, limit: RECORDS });
    expect(tenantWide).toMatchObject({ total_replayed: RECORDS, changed: expectedChanged });
    expect(tenantWide.changes[0]?.action_id).toBe(session.changes[0]?.action_id);
  }, 120_000);
});
