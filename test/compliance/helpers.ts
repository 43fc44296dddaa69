import type { AuditEntry } from "../../src/audit/types.js";
import type { VargateGovernor } from "../../src/governor.js";
import { sessionRecord } from "../../src/testing/storage-conformance/fixtures.js";

/** Stores an active-looking session directly, for exports of records appended straight to storage. */
export async function storeSession(governor: VargateGovernor, tenantId: string, sessionId: string): Promise<string> {
  const agent = await governor.agents.create(tenantId, {
    name: "bulk",
    allowed_tools: ["create_transfer"],
    require_human_approval: [],
  });
  await governor.storage.sessions.reserve(
    sessionRecord(tenantId, {
      id: sessionId,
      agent_id: agent.id,
      agent_version: agent.version,
      created_at: new Date().toISOString(),
    }),
    { maxConcurrent: 10, maxDaily: 50, agentMaxDaily: 50, windowStart: new Date(0).toISOString() },
  );
  return agent.id;
}

/** A governed (every 10th, every 500th of them denied) or observed record of event `i` of a session. */
export function sessionEntry(sessionId: string, agentId: string, i: number): AuditEntry {
  const isGoverned = i % 10 === 0;
  const isDenied = isGoverned && i % 500 === 0;
  return {
    action_id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
    session_id: sessionId,
    agent_id: agentId,
    event_id: isGoverned ? null : `sevt_${i}`,
    actor: null,
    source: isGoverned ? "mcp_governed" : "mcp_observed",
    tool: isGoverned ? "create_transfer" : "bash",
    method: isGoverned ? "tools/call" : "agent.tool_use",
    decision: isGoverned ? (isDenied ? "deny" : "allow") : "observed",
    severity: isDenied ? "high" : "none",
    violations: isDenied ? ["too big"] : [],
    input: { i },
    policy_version: null,
    requested_at: "2026-04-11T14:30:00.000Z",
  };
}
