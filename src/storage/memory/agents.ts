import type { AgentStore } from "../port.js";
import { compare, type MemoryState } from "./state.js";

/** Agent configs, in memory. */
export function memoryAgentsStore(state: MemoryState): AgentStore {
  const { agents, open, agentKey, appendNow } = state;
  return {
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
  };
}
