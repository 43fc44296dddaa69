import type { AgentConfigRecord } from "../agents/types.js";
import { GENESIS_HASH, sealAuditRecords } from "../audit/chain.js";
import type { AuditEntry, AuditHead, AuditRecord } from "../audit/types.js";
import { StorageError, VargateError } from "../errors.js";
import type { ApiKeyRecord, TenantRecord } from "../tenants/types.js";
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
  const chains = new Map<string, { head: AuditHead; records: AuditRecord[]; actionIds: Set<string> }>();
  let closed = false;

  const open = () => {
    if (closed) throw new StorageError("memory", "Storage is closed");
  };
  const chainOf = (tenantId: string) => {
    let chain = chains.get(tenantId);
    if (!chain) {
      chain = { head: { seq: 0, hash: GENESIS_HASH }, records: [], actionIds: new Set() };
      chains.set(tenantId, chain);
    }
    return chain;
  };
  const agentKey = (tenantId: string, agentId: string) => `${tenantId}\u0000${agentId}`;

  // Synchronous, so it is the per-tenant lock: nothing interleaves between reading the head and moving it.
  // Mutations call it first: it throws before they change anything.
  const appendNow = (tenantId: string, entries: readonly AuditEntry[]): AuditRecord[] => {
    const chain = chainOf(tenantId);
    const seen = new Set<string>();
    for (const entry of entries) {
      if (chain.actionIds.has(entry.action_id) || seen.has(entry.action_id)) {
        throw new StorageError("memory", `Duplicate audit action_id ${entry.action_id}`);
      }
      seen.add(entry.action_id);
    }
    const { records, head } = sealAuditRecords(tenantId, chain.head, structuredClone(entries));
    chain.records.push(...records);
    for (const id of seen) chain.actionIds.add(id);
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
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
