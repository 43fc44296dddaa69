import type { VargateStorage } from "../port.js";
import { memoryAgentsStore } from "./agents.js";
import { memoryAuditStore } from "./audit.js";
import { memoryCheckpointsStore } from "./checkpoints.js";
import { memoryApprovalsStore, memoryCredentialsStore, memoryPoliciesStore } from "./governance.js";
import { memoryConsumersStore, memorySessionsStore, memorySettingsStore } from "./sessions.js";
import { createMemoryState } from "./state.js";
import { memoryApiKeysStore, memoryTenantsStore } from "./tenants.js";

/**
 * In-process storage for tests and throwaway setups. Nothing survives the process.
 *
 * Share one instance between governors to simulate several instances; it does not span processes. Each store
 * lives in its own file and shares this storage's state; synchronous JavaScript makes every operation atomic.
 */
export function memoryStorage(): VargateStorage {
  const state = createMemoryState();
  return {
    name: "memory",
    capabilities: { multiProcess: false },
    async migrate() {
      state.open();
    },
    async close() {
      state.lifecycle.closed = true;
    },
    tenants: memoryTenantsStore(state),
    apiKeys: memoryApiKeysStore(state),
    agents: memoryAgentsStore(state),
    audit: memoryAuditStore(state),
    sessions: memorySessionsStore(state),
    consumers: memoryConsumersStore(state),
    settings: memorySettingsStore(state),
    policies: memoryPoliciesStore(state),
    approvals: memoryApprovalsStore(state),
    credentials: memoryCredentialsStore(state),
    checkpoints: memoryCheckpointsStore(state),
  };
}
