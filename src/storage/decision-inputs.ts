import type { DecisionInputs, VargateStorage } from "./port.js";

/** What a governed call's decision reads: through `decisionInputs` when the storage has it, else separately. */
export function readDecisionInputs(
  storage: VargateStorage,
  tenantId: string,
  filter: { session_id: string; agent_id: string; since: string },
): Promise<DecisionInputs> {
  return storage.decisionInputs
    ? storage.decisionInputs.read(tenantId, filter)
    : readDecisionInputsSeparately(storage, tenantId, filter);
}

/**
 * `decisionInputs.read` from the other stores, one read each: for storages without `decisionInputs` (the memory
 * storage), and the SQL storage's fallback for the rare shapes its single statement does not cover.
 */
export async function readDecisionInputsSeparately(
  storage: Pick<VargateStorage, "policies" | "agents" | "audit">,
  tenantId: string,
  filter: { session_id: string; agent_id: string; since: string },
): Promise<DecisionInputs> {
  const [policyVersion, agent, session, agentSince] = await Promise.all([
    storage.policies.currentVersion(tenantId),
    storage.agents.get(tenantId, filter.agent_id),
    storage.audit.countByTool(tenantId, { source: "mcp_governed", session_id: filter.session_id }),
    storage.audit.countByTool(tenantId, { source: "mcp_governed", agent_id: filter.agent_id, since: filter.since }),
  ]);
  return {
    policy_version: policyVersion,
    agent: agent && {
      version: agent.version,
      allowed_tools: agent.allowed_tools,
      require_human_approval: agent.require_human_approval,
    },
    counters: { session, agent_since: agentSince },
    // Separate reads: no one snapshot to name.
    seq: null,
  };
}
