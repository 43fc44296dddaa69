import { randomUUID } from "node:crypto";
import type { AuditEntry } from "../../src/audit/types.js";
import type { VargateGovernor } from "../../src/governor.js";

/** An audit entry for growing a chain. */
export const entry = (i: number, fields: Partial<AuditEntry> = {}): AuditEntry => ({
  ...{ action_id: randomUUID(), session_id: null, agent_id: null, event_id: null, actor: "key-test" },
  ...{ source: "control_plane", tool: "control_plane", method: `test_${i}`, decision: "allow", severity: "none" },
  ...{ violations: [], input: { i }, policy_version: null, requested_at: "2026-01-01T00:00:00.000Z" },
  ...fields,
});

/** Appends `count` records to the tenant's chain; returns the new head's seq. */
export async function grow(governor: VargateGovernor, tenantId: string, count: number): Promise<number> {
  const start = (await governor.storage.audit.head(tenantId)).seq;
  const entries = Array.from({ length: count }, (_, i) => entry(start + i + 1));
  for (let i = 0; i < entries.length; i += 500)
    await governor.storage.audit.append(tenantId, entries.slice(i, i + 500));
  return (await governor.storage.audit.head(tenantId)).seq;
}
