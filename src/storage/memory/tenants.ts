import { VargateError } from "../../errors.js";
import type { ApiKeyStore, TenantStore } from "../port.js";
import { compare, definedChanges, type MemoryState } from "./state.js";

/** Tenants, in memory. */
export function memoryTenantsStore(state: MemoryState): TenantStore {
  const { tenants, apiKeys, open, appendNow } = state;
  return {
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
  };
}

/** API keys, stored by hash, in memory. */
export function memoryApiKeysStore(state: MemoryState): ApiKeyStore {
  const { apiKeys, open, appendNow, activeKeys, revokeNow } = state;
  return {
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
  };
}
