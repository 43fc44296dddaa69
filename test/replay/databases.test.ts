import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import type { AuditEntry, AuditRecord } from "../../src/audit/types.js";
import { systemClock } from "../../src/clock.js";
import { randomIds } from "../../src/ids.js";
import { silentLogger } from "../../src/logger.js";
import { parseTenantPolicy } from "../../src/policy/document.js";
import { compilePolicy } from "../../src/policy/evaluate.js";
import { replayRecord } from "../../src/replay/compare.js";
import { Replays } from "../../src/replay/service.js";
import type { AuditStore, VargateStorage } from "../../src/storage/port.js";
import { entry } from "../../src/testing/storage-conformance/fixtures.js";
import { storeSession } from "../compliance/helpers.js";
import { forEachTestDatabase, useSharedGovernor } from "../setup/databases.js";
import { denyTransfersOver, governedTransfer } from "./helpers.js";

// Replay reads a session's governed records for their decisions only, and reads the changed ones again to report
// them. These tests check, on every engine and with small pages, that the changes reported are exactly those a
// replay of each whole record gives, when the session's records are interleaved with another session's and with
// observed ones.

const candidate = denyTransfersOver(200);

type ScanStored = NonNullable<AuditStore["scanStored"]>;

/** `storage` with its `audit.scanStored` replaced by what `replace` makes of it (`undefined`: none). */
function withAuditRead(storage: VargateStorage, replace: (scanStored: ScanStored) => ScanStored | undefined) {
  const scanStored = storage.audit.scanStored?.bind(storage.audit) as ScanStored;
  const audit = new Proxy(storage.audit, {
    get(target, property) {
      if (property === "scanStored") return replace(scanStored);
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return new Proxy(storage, {
    get(target, property) {
      if (property === "audit") return audit;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

forEachTestDatabase("replay", (database) => {
  const shared = useSharedGovernor(database);

  async function activeSession(tenantId: string, sessionId: string): Promise<string> {
    const { governor } = shared;
    const agentId = await storeSession(governor, tenantId, sessionId);
    await governor.storage.sessions.activate(
      tenantId,
      sessionId,
      { anthropic_session_id: `sess_${sessionId}`, environment_id: null, upstream_vault_id: null },
      entry({
        method: "create_session",
        session_id: sessionId,
        agent_id: agentId,
        requested_at: "2026-04-11T14:00:00.000Z",
      }),
    );
    return agentId;
  }

  function governed(sessionId: string, agentId: string, i: number, tenantId: string): AuditEntry {
    const notActive = i === 17;
    return governedTransfer({ tenantId, sessionId, agentId }, i, (i * 37) % 400, {
      // A renamed tool (a change names the record's tool), a deny for an inactive session (replayed as it was),
      // and an input that is not an evaluation input (a fail-closed change).
      ...(i === 7 && { tool: "create_transfer_v1" }),
      ...(notActive && {
        decision: "deny",
        severity: "high",
        violations: ["Session is not active (status: terminated)"],
      }),
      ...(i === 29 && { input: { tool: "create_transfer", note: "not an evaluation input" } }),
      requested_at: new Date(Date.UTC(2026, 3, 11, 14, 30, 0, i)).toISOString(),
    });
  }

  it("reports exactly the changes a whole-record replay gives, with small pages and interleaved sessions", async () => {
    const { governor } = shared;
    const tenantId = `t-${randomBytes(5).toString("hex")}`;
    await governor.tenants.create({ tenant_id: tenantId });
    const sessionA = `vs-${randomBytes(8).toString("hex")}`;
    const sessionB = `vs-${randomBytes(8).toString("hex")}`;
    const agentA = await activeSession(tenantId, sessionA);
    const agentB = await activeSession(tenantId, sessionB);
    const entries: AuditEntry[] = [];
    for (let i = 0; i < 60; i++) {
      entries.push(i % 3 === 0 ? governed(sessionB, agentB, i, tenantId) : governed(sessionA, agentA, i, tenantId));
      if (i % 4 === 0) {
        entries.push(
          entry({
            session_id: sessionA,
            agent_id: agentA,
            source: "mcp_observed",
            event_id: `sevt_${i}`,
            tool: "bash",
          }),
        );
      }
    }
    await governor.storage.audit.append(tenantId, entries);

    const records: AuditRecord[] = [];
    for await (const record of governor.audit.records(tenantId)) records.push(record);
    const compiled = compilePolicy(parseTenantPolicy(candidate));
    const configs = new Map([
      [agentA, await governor.agents.get(tenantId, agentA)],
      [agentB, await governor.agents.get(tenantId, agentB)],
    ]);
    const expected = (sessionId: string | null) =>
      records
        .filter((r) => r.source === "mcp_governed" && (sessionId === null || r.session_id === sessionId))
        .map((r) => replayRecord(r, compiled, (id) => configs.get(id) ?? null).change)
        .filter((change) => change !== null);

    // Also through a storage of one's own: one without `scanStored` (read through `scan`), and one written before
    // `throughSeq`, which it ignores.
    const storages = [
      shared.test.storage,
      withAuditRead(shared.test.storage, () => undefined),
      withAuditRead(
        shared.test.storage,
        (scanStored) =>
          (id, { throughSeq: _, ...options }) =>
            scanStored(id, options),
      ),
    ];
    for (const [storage, pageSize] of storages.flatMap((storage) =>
      [3, 4, 1000].map((size) => [storage, size] as const),
    )) {
      const context = { storage, clock: systemClock, ids: randomIds, logger: silentLogger };
      const replays = new Replays({ context, policies: governor.policy, read: { pageSize } });
      const session = await replays.session(tenantId, sessionA, { policy: candidate });
      const changes = expected(sessionA);
      // The fail-closed input, the renamed tool and transfers over 200 all change; the inactive session's deny not.
      expect(changes.length).toBeGreaterThan(10);
      expect(changes.find((change) => change.replayable === false)?.action_id).toMatch(/^0{8}-/);
      expect(changes.some((change) => change.tool === "create_transfer_v1")).toBe(true);
      expect(session).toMatchObject({ total_replayed: 40, changed: changes.length, unreplayable: 1 });
      expect(session.changes).toEqual(changes);

      const tenant = await replays.tenant(tenantId, { policy: candidate, limit: 60 });
      expect(tenant).toMatchObject({ total_replayed: 60, changed: expected(null).length });
      expect(tenant.changes).toEqual(expected(null));
    }
  });
});
