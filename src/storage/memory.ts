import type { AgentConfigRecord } from "../agents/types.js";
import type { ApprovalRecord } from "../approvals/types.js";
import { GENESIS_HASH, sealAuditRecords } from "../audit/chain.js";
import type { AuditEntry, AuditHead, AuditRecord } from "../audit/types.js";
import type { CheckpointRecord } from "../checkpoints/types.js";
import type { CredentialRecord } from "../credentials/types.js";
import { StorageError, VargateError } from "../errors.js";
import type { PolicyRecord } from "../policy/record.js";
import { assertWithinLimits } from "../sessions/limits.js";
import type { ConsumerState, SessionRecord, SessionRecordCount } from "../sessions/types.js";
import type { ApiKeyRecord, TenantChanges, TenantRecord } from "../tenants/types.js";
import type { VargateStorage } from "./port.js";

/**
 * In-process storage for tests and throwaway setups. Nothing survives the process.
 *
 * Share one instance between governors to simulate several instances; it does not span processes.
 */
export function memoryStorage(): VargateStorage {
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
  let closed = false;

  const open = () => {
    if (closed) throw new StorageError("memory", "Storage is closed");
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
    const { records, head } = sealAuditRecords(tenantId, chain.head, structuredClone(entries));
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
    name: "memory",
    capabilities: { multiProcess: false },
    async migrate() {
      open();
    },
    async close() {
      closed = true;
    },

    tenants: {
      async create(tenant, firstKey, audit) {
        open();
        if (tenants.has(tenant.tenant_id)) throw new VargateError("TENANT_EXISTS");
        appendNow(tenant.tenant_id, [audit]);
        tenants.set(tenant.tenant_id, structuredClone(tenant));
        apiKeys.set(firstKey.key_hash, structuredClone(firstKey));
      },
      async get(tenantId) {
        open();
        return structuredClone(tenants.get(tenantId) ?? null);
      },
      async list() {
        open();
        return [...tenants.values()].sort((a, b) => compare(a.tenant_id, b.tenant_id)).map((t) => structuredClone(t));
      },
      async update(tenantId, changes, audit) {
        open();
        const stored = tenants.get(tenantId);
        if (!stored) return null;
        appendNow(tenantId, [audit]);
        const updated = { ...stored, ...definedChanges(structuredClone(changes)) };
        tenants.set(tenantId, updated);
        return structuredClone(updated);
      },
    },

    apiKeys: {
      async create(key, audit, options = {}) {
        open();
        appendNow(key.tenant_id, [audit]);
        if (options.revokeOthersAt !== undefined) revokeNow(key.tenant_id, options.revokeOthersAt);
        apiKeys.set(key.key_hash, structuredClone(key));
      },
      async findByHash(keyHash) {
        open();
        return structuredClone(apiKeys.get(keyHash) ?? null);
      },
      async list(tenantId) {
        open();
        return [...apiKeys.values()]
          .filter((key) => key.tenant_id === tenantId)
          .sort((a, b) => compare(b.created_at, a.created_at) || compare(b.key_id, a.key_id))
          .map((key) => structuredClone(key));
      },
      async revoke(tenantId, revokedAt, audit, keyId) {
        open();
        const targets = activeKeys(tenantId, keyId);
        if (targets.length === 0) return 0;
        appendNow(tenantId, [audit]);
        return revokeNow(tenantId, revokedAt, keyId);
      },
    },

    agents: {
      async create(config, audit) {
        open();
        appendNow(config.tenant_id, [audit]);
        agents.set(agentKey(config.tenant_id, config.id), structuredClone(config));
      },
      async get(tenantId, agentId) {
        open();
        return structuredClone(agents.get(agentKey(tenantId, agentId)) ?? null);
      },
      async list(tenantId) {
        open();
        return [...agents.values()]
          .filter((config) => config.tenant_id === tenantId)
          .sort((a, b) => compare(b.created_at, a.created_at) || compare(b.id, a.id))
          .map((config) => structuredClone(config));
      },
      async update(tenantId, agentId, changes, { expectedVersion, updatedAt, audit }) {
        open();
        const stored = agents.get(agentKey(tenantId, agentId));
        if (!stored || stored.version !== expectedVersion) return null;
        appendNow(tenantId, [audit]);
        const updated = { ...stored, ...structuredClone(changes), version: stored.version + 1, updated_at: updatedAt };
        agents.set(agentKey(tenantId, agentId), updated);
        return structuredClone(updated);
      },
      async setUpstreamAgent(tenantId, agentId, upstreamAgentId) {
        open();
        const stored = agents.get(agentKey(tenantId, agentId));
        if (!stored) return null;
        stored.anthropic_agent_id ??= upstreamAgentId;
        return stored.anthropic_agent_id;
      },
    },

    audit: {
      async append(tenantId, entries) {
        open();
        return structuredClone(appendNow(tenantId, entries));
      },
      async head(tenantId) {
        open();
        return { ...(chains.get(tenantId)?.head ?? { seq: 0, hash: GENESIS_HASH }) };
      },
      async scan(tenantId, { afterSeq, limit }) {
        open();
        const records = chains.get(tenantId)?.records ?? [];
        // seq is 1-based and dense, so the record after `afterSeq` sits at index `afterSeq`.
        return structuredClone(records.slice(afterSeq, afterSeq + limit));
      },
      async listBySession(tenantId, sessionId, { limit }) {
        open();
        const records = chains.get(tenantId)?.records ?? [];
        return structuredClone(records.filter((record) => record.session_id === sessionId).slice(0, limit));
      },
      async get(tenantId, actionId) {
        open();
        const records = chains.get(tenantId)?.records ?? [];
        return structuredClone(records.find((record) => record.action_id === actionId) ?? null);
      },
      async appendEvents(tenantId, entries) {
        open();
        const stored = new Set(
          (chains.get(tenantId)?.records ?? [])
            .filter((record) => record.event_id !== null)
            .map((record) => eventKey(record.session_id, record.event_id)),
        );
        const fresh = entries.filter((entry) => {
          if (entry.event_id === null) return true;
          const key = eventKey(entry.session_id, entry.event_id);
          if (stored.has(key)) return false;
          stored.add(key);
          return true;
        });
        return structuredClone(appendNow(tenantId, fresh));
      },
      async setResult(tenantId, sessionId, eventId, result) {
        open();
        const record = chains
          .get(tenantId)
          ?.records.find((candidate) => candidate.session_id === sessionId && candidate.event_id === eventId);
        if (!record) return false;
        record.result = structuredClone(result);
        return true;
      },
      async countBySession(tenantId, sessionIds) {
        open();
        const wanted = new Set(sessionIds);
        const counts = new Map<string, SessionRecordCount>();
        for (const record of chains.get(tenantId)?.records ?? []) {
          if (record.session_id === null || !wanted.has(record.session_id)) continue;
          const key = `${record.session_id}\u0000${record.source}\u0000${record.decision}`;
          const flagged = record.severity === "none" ? 0 : 1;
          const count = counts.get(key);
          if (count) {
            count.count += 1;
            count.flagged += flagged;
          } else {
            counts.set(key, {
              session_id: record.session_id,
              source: record.source,
              decision: record.decision,
              count: 1,
              flagged,
            });
          }
        }
        return [...counts.values()];
      },
      async countByTool(tenantId, filter) {
        open();
        // A Map, then own properties: a tool called `__proto__` must stay a count.
        const counts = new Map<string, number>();
        for (const record of chains.get(tenantId)?.records ?? []) {
          if (record.source !== filter.source) continue;
          if (filter.session_id !== undefined && record.session_id !== filter.session_id) continue;
          if (filter.agent_id !== undefined && record.agent_id !== filter.agent_id) continue;
          if (filter.since !== undefined && record.requested_at < filter.since) continue;
          counts.set(record.tool, (counts.get(record.tool) ?? 0) + 1);
        }
        return Object.fromEntries(counts);
      },
      async setActionResult(tenantId, actionId, result) {
        open();
        const record = chains.get(tenantId)?.records.find((candidate) => candidate.action_id === actionId);
        if (!record) return false;
        record.result = structuredClone(result);
        return true;
      },
    },

    sessions: {
      async reserve(session, limits) {
        open();
        if (!tenants.has(session.tenant_id)) throw new VargateError("TENANT_NOT_FOUND");
        const mine = [...sessions.values()].filter((other) => other.tenant_id === session.tenant_id);
        const concurrent = mine.filter((other) => other.status === "pending" || other.status === "active").length;
        const daily = mine.filter((other) => other.created_at >= limits.windowStart);
        const agentDaily = daily.filter((other) => other.agent_id === session.agent_id).length;
        assertWithinLimits({ concurrent, daily: daily.length, agentDaily }, limits);
        sessions.set(session.id, structuredClone(session));
      },
      async release(tenantId, sessionId) {
        open();
        if (sessionOf(tenantId, sessionId)?.status === "pending") sessions.delete(sessionId);
      },
      async activate(tenantId, sessionId, upstream, audit) {
        open();
        const session = sessionOf(tenantId, sessionId);
        if (session?.status !== "pending") return null;
        appendNow(tenantId, [audit]);
        Object.assign(session, upstream, { status: "active" });
        return structuredClone(session);
      },
      async end(tenantId, sessionId, ending, audit) {
        open();
        const session = sessionOf(tenantId, sessionId);
        if (session?.status !== "active") return null;
        appendNow(tenantId, [audit]);
        Object.assign(session, ending);
        return structuredClone(session);
      },
      async get(tenantId, sessionId) {
        open();
        return structuredClone(sessionOf(tenantId, sessionId) ?? null);
      },
      async findByMcpTokenHash(tokenHash) {
        open();
        return structuredClone([...sessions.values()].find((session) => session.mcp_token_hash === tokenHash) ?? null);
      },
      async list(tenantId, filter) {
        open();
        return [...sessions.values()]
          .filter(
            (session) =>
              session.tenant_id === tenantId &&
              (filter.status === undefined || session.status === filter.status) &&
              (filter.agent_id === undefined || session.agent_id === filter.agent_id),
          )
          .sort((a, b) => compare(b.created_at, a.created_at) || compare(b.id, a.id))
          .slice(0, filter.limit)
          .map((session) => structuredClone(session));
      },
      async listActive() {
        open();
        return [...sessions.values()]
          .filter((session) => session.status === "active")
          .sort((a, b) => compare(a.created_at, b.created_at) || compare(a.id, b.id))
          .map((session) => structuredClone(session));
      },
    },

    consumers: {
      async claim(tenantId, sessionId, { owner, now, expiresAt }) {
        open();
        const current = consumers.get(sessionId);
        if (current && current.tenant_id !== tenantId) return null;
        const free =
          !current || current.owner === null || current.owner === owner || (current.lease_expires_at ?? "") < now;
        if (!free) return null;
        const claimed: ConsumerState = {
          session_id: sessionId,
          tenant_id: tenantId,
          cursor: current?.cursor ?? null,
          events_processed: current?.events_processed ?? 0,
          owner,
          lease_expires_at: expiresAt,
          status: current?.owner === owner ? current.status : "reconnecting",
          connected_since: current?.owner === owner ? current.connected_since : null,
        };
        consumers.set(sessionId, claimed);
        return structuredClone(claimed);
      },
      async advance(tenantId, sessionId, progress) {
        open();
        const current = consumers.get(sessionId);
        if (!current || current.tenant_id !== tenantId || current.owner !== progress.owner) return false;
        current.cursor = progress.cursor;
        current.events_processed += progress.processed;
        current.status = progress.status;
        current.connected_since = progress.connectedSince;
        current.lease_expires_at = progress.expiresAt;
        return true;
      },
      async release(tenantId, sessionId, owner) {
        open();
        const current = consumers.get(sessionId);
        if (!current || current.tenant_id !== tenantId || current.owner !== owner) return;
        Object.assign(current, { owner: null, lease_expires_at: null, status: "stopped", connected_since: null });
      },
      async get(tenantId, sessionId) {
        open();
        const current = consumers.get(sessionId);
        return current && current.tenant_id === tenantId ? structuredClone(current) : null;
      },
      async list(tenantId) {
        open();
        // Oldest session first (a consumer whose session is gone first), as the port promises.
        const createdAt = (consumer: ConsumerState) => sessionOf(tenantId, consumer.session_id)?.created_at ?? "";
        return [...consumers.values()]
          .filter((consumer) => consumer.tenant_id === tenantId && consumer.status !== "stopped")
          .sort((a, b) => compare(createdAt(a), createdAt(b)) || compare(a.session_id, b.session_id))
          .map((consumer) => structuredClone(consumer));
      },
    },

    settings: {
      async get(key) {
        open();
        return settings.get(key) ?? null;
      },
      async putIfAbsent(key, value) {
        open();
        if (!settings.has(key)) settings.set(key, value);
        return settings.get(key) as string;
      },
    },

    policies: {
      async current(tenantId) {
        open();
        return structuredClone(policies.get(tenantId)?.at(-1) ?? null);
      },
      async get(tenantId, version) {
        open();
        return structuredClone(policies.get(tenantId)?.find((record) => record.version === version) ?? null);
      },
      async put(record, audit) {
        open();
        const versions = policies.get(record.tenant_id) ?? [];
        // Compare-and-set: versions are dense from 1, so the current version is the count.
        if (record.version !== versions.length + 1) return false;
        appendNow(record.tenant_id, [audit]);
        versions.push(structuredClone(record));
        policies.set(record.tenant_id, versions);
        return true;
      },
    },

    approvals: {
      async create(approval, audit) {
        open();
        const key = approvalKey(approval.tenant_id, approval.action_id);
        if (approvals.has(key)) throw new StorageError("memory", `Duplicate approval ${approval.action_id}`);
        if (audit) appendNow(approval.tenant_id, [audit]);
        approvals.set(key, structuredClone(approval));
      },
      async get(tenantId, actionId) {
        open();
        return structuredClone(approvals.get(approvalKey(tenantId, actionId)) ?? null);
      },
      async list(tenantId, filter) {
        open();
        return [...approvals.values()]
          .filter(
            (approval) =>
              approval.tenant_id === tenantId &&
              (filter.status === undefined || approval.status === filter.status) &&
              (filter.session_id === undefined || approval.session_id === filter.session_id),
          )
          .sort((a, b) => compare(b.requested_at, a.requested_at) || compare(b.action_id, a.action_id))
          .slice(0, filter.limit)
          .map((approval) => structuredClone(approval));
      },
      async decide(tenantId, actionId, decision, audit) {
        open();
        const stored = approvals.get(approvalKey(tenantId, actionId));
        if (stored?.status !== "pending") return null;
        appendNow(tenantId, [audit]);
        Object.assign(stored, {
          status: decision.status,
          decided_at: decision.decided_at,
          decided_by: decision.decided_by,
          note: decision.note,
        });
        return structuredClone(stored);
      },
      async claimExecution(tenantId, actionId) {
        open();
        const stored = approvals.get(approvalKey(tenantId, actionId));
        if (stored?.status !== "approved" || stored.execution !== "none") return false;
        stored.execution = "claimed";
        return true;
      },
      async completeExecution(tenantId, actionId, result) {
        open();
        const stored = approvals.get(approvalKey(tenantId, actionId));
        // Only a claimed execution completes, once: a finished result is never overwritten.
        if (stored?.execution !== "claimed") return;
        stored.execution = "done";
        stored.result = structuredClone(result);
      },
      async listExpired(now) {
        open();
        return [...approvals.values()]
          .filter((approval) => approval.status === "pending" && approval.expires_at <= now)
          .sort(
            (a, b) =>
              compare(a.expires_at, b.expires_at) ||
              compare(a.tenant_id, b.tenant_id) ||
              compare(a.action_id, b.action_id),
          )
          .map((approval) => structuredClone(approval));
      },
    },

    credentials: {
      async put(record, audit) {
        open();
        appendNow(record.tenant_id, [audit]);
        credentials.set(credentialKey(record.tenant_id, record.name), structuredClone(record));
      },
      async get(tenantId, name) {
        open();
        return structuredClone(credentials.get(credentialKey(tenantId, name)) ?? null);
      },
      async list(tenantId) {
        open();
        return [...credentials.values()]
          .filter((record) => record.tenant_id === tenantId)
          .map((record) => record.name)
          .sort(compare);
      },
      async delete(tenantId, name, audit) {
        open();
        const key = credentialKey(tenantId, name);
        if (!credentials.has(key)) return false;
        appendNow(tenantId, [audit]);
        credentials.delete(key);
        return true;
      },
    },

    checkpoints: {
      async add(checkpoint) {
        open();
        let bySize = checkpoints.get(checkpoint.tenant_id);
        if (!bySize) {
          bySize = new Map();
          checkpoints.set(checkpoint.tenant_id, bySize);
        }
        if (!bySize.has(checkpoint.tree_size)) bySize.set(checkpoint.tree_size, structuredClone(checkpoint));
        return structuredClone(bySize.get(checkpoint.tree_size) as CheckpointRecord);
      },
      async latest(tenantId) {
        open();
        const sorted = sortedCheckpoints(checkpoints.get(tenantId));
        return structuredClone(sorted[0] ?? null);
      },
      async get(tenantId, treeSize) {
        open();
        return structuredClone(checkpoints.get(tenantId)?.get(treeSize) ?? null);
      },
      async list(tenantId, { limit }) {
        open();
        return sortedCheckpoints(checkpoints.get(tenantId))
          .slice(0, Math.max(0, limit))
          .map((checkpoint) => structuredClone(checkpoint));
      },
    },
  };
}

/** Largest tree first. */
function sortedCheckpoints(bySize: Map<number, CheckpointRecord> | undefined): CheckpointRecord[] {
  return [...(bySize?.values() ?? [])].sort((a, b) => b.tree_size - a.tree_size);
}

/** `changes` without the fields set to `undefined`: those are left alone, as in the databases. */
function definedChanges(changes: TenantChanges): TenantChanges {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) as TenantChanges;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
