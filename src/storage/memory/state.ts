import type { AgentConfigRecord } from "../../agents/types.js";
import type { ApprovalRecord } from "../../approvals/types.js";
import { GENESIS_HASH, sealAuditRecords } from "../../audit/chain.js";
import type { AuditEntry, AuditHead, AuditRecord } from "../../audit/types.js";
import type { CheckpointRecord } from "../../checkpoints/types.js";
import type { CredentialRecord } from "../../credentials/types.js";
import { StorageError } from "../../errors.js";
import { jsonRoundTrip } from "../../json.js";
import type { PolicyRecord } from "../../policy/record.js";
import type { ConsumerState, SessionRecord } from "../../sessions/types.js";
import type { ApiKeyRecord, TenantChanges, TenantRecord } from "../../tenants/types.js";

/** The shared state of one memory storage; every store reads and writes it. */
export function createMemoryState() {
  const tenants = new Map<string, TenantRecord>();
  const apiKeys = new Map<string, ApiKeyRecord>();
  const agents = new Map<string, AgentConfigRecord>();
  const chains = new Map<
    string,
    { head: AuditHead; records: AuditRecord[]; actionIds: Set<string>; eventKeys: Set<string> }
  >();
  const sessions = new Map<string, SessionRecord>();
  const consumers = new Map<string, ConsumerState>();
  const settings = new Map<string, string>();
  // Each tenant's policy versions, in order: index i holds version i + 1.
  const policies = new Map<string, PolicyRecord[]>();
  const approvals = new Map<string, ApprovalRecord>();
  const credentials = new Map<string, CredentialRecord>();
  // Each tenant's checkpoints by tree size.
  const checkpoints = new Map<string, Map<number, CheckpointRecord>>();
  const lifecycle = { closed: false };

  const open = () => {
    if (lifecycle.closed) throw new StorageError("memory", "Storage is closed");
  };
  const chainOf = (tenantId: string) => {
    let chain = chains.get(tenantId);
    if (!chain) {
      chain = { head: { seq: 0, hash: GENESIS_HASH }, records: [], actionIds: new Set(), eventKeys: new Set() };
      chains.set(tenantId, chain);
    }
    return chain;
  };
  // Keys of rows owned by a tenant: `(tenant_id, id)`, like the databases' primary keys.
  const agentKey = (tenantId: string, agentId: string) => `${tenantId}\u0000${agentId}`;
  const approvalKey = agentKey;
  const credentialKey = agentKey;
  const sessionOf = (tenantId: string, sessionId: string) => {
    const session = sessions.get(sessionId);
    return session && session.tenant_id === tenantId ? session : undefined;
  };
  const eventKey = (sessionId: string | null, eventId: string | null) => `${sessionId}\u0000${eventId}`;

  // Synchronous, so it is the per-tenant lock: nothing interleaves between reading the head and moving it.
  // Mutations call it first: it throws before they change anything.
  const appendNow = (tenantId: string, entries: readonly AuditEntry[]): AuditRecord[] => {
    const chain = chainOf(tenantId);
    const seen = new Set<string>();
    // Like the databases' unique (tenant_id, session_id, event_id) index: NULLs never collide.
    const seenEvents = new Set<string>();
    for (const entry of entries) {
      if (chain.actionIds.has(entry.action_id) || seen.has(entry.action_id)) {
        throw new StorageError("memory", `Duplicate audit action_id ${entry.action_id}`);
      }
      seen.add(entry.action_id);
      if (entry.session_id === null || entry.event_id === null) continue;
      const key = eventKey(entry.session_id, entry.event_id);
      if (chain.eventKeys.has(key) || seenEvents.has(key)) {
        throw new StorageError("memory", `Duplicate audit event_id ${entry.event_id} in session ${entry.session_id}`);
      }
      seenEvents.add(key);
    }
    // JSON fields as a database's JSON text gives them back (and copies, so no caller can change a stored one).
    const stored = entries.map((entry) => ({
      ...entry,
      violations: jsonRoundTrip(entry.violations) as string[],
      input: jsonRoundTrip(entry.input),
    }));
    const { records, head } = sealAuditRecords(tenantId, chain.head, stored);
    chain.records.push(...records);
    for (const id of seen) chain.actionIds.add(id);
    for (const key of seenEvents) chain.eventKeys.add(key);
    chain.head = head;
    return records;
  };
  const activeKeys = (tenantId: string, keyId?: string) =>
    [...apiKeys.values()].filter(
      (key) => key.tenant_id === tenantId && key.revoked_at === null && (keyId === undefined || key.key_id === keyId),
    );
  const revokeNow = (tenantId: string, revokedAt: string, keyId?: string): number => {
    const targets = activeKeys(tenantId, keyId);
    for (const key of targets) key.revoked_at = revokedAt;
    return targets.length;
  };

  return {
    tenants,
    apiKeys,
    agents,
    chains,
    sessions,
    consumers,
    settings,
    policies,
    approvals,
    credentials,
    checkpoints,
    lifecycle,
    open,
    chainOf,
    agentKey,
    approvalKey,
    credentialKey,
    sessionOf,
    eventKey,
    appendNow,
    activeKeys,
    revokeNow,
  };
}

export type MemoryState = ReturnType<typeof createMemoryState>;

/** Largest tree first. */
export function sortedCheckpoints(bySize: Map<number, CheckpointRecord> | undefined): CheckpointRecord[] {
  return [...(bySize?.values() ?? [])].sort((a, b) => b.tree_size - a.tree_size);
}

/** `changes` without the fields set to `undefined`: those are left alone, as in the databases. */
export function definedChanges(changes: TenantChanges): TenantChanges {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as TenantChanges;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
