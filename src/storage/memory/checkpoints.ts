import type { CheckpointRecord } from "../../checkpoints/types.js";
import type { CheckpointStore } from "../port.js";
import { type MemoryState, sortedCheckpoints } from "./state.js";

/** Signed checkpoints, in memory. */
export function memoryCheckpointsStore(state: MemoryState): CheckpointStore {
  const { checkpoints, open } = state;
  return {
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
  };
}
