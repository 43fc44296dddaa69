import type { AuditEntry } from "../../src/audit/types.js";
import type { JsonObject } from "../../src/json.js";
import type { EvaluationInput } from "../../src/policy/evaluate.js";

/** A candidate tenant policy that denies transfers over `limit`: what the replay tests replay against. */
export function denyTransfersOver(limit: number) {
  return {
    rules: [
      {
        id: `transfers-over-${limit}`,
        when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: limit }] },
        effect: "deny",
        severity: "high",
        message: `Transfers over ${limit} are denied`,
      },
    ],
  };
}

/** Where a governed record belongs. */
export interface GovernedScope {
  tenantId: string;
  sessionId: string;
  agentId: string;
}

/**
 * Governed call `i` of a session as the pipeline records it: a `create_transfer` of `amount`, allowed, with the
 * evaluation input it was decided on; `overrides` replace fields of the record.
 */
export function governedTransfer(
  scope: GovernedScope,
  i: number,
  amount: number,
  overrides: Partial<AuditEntry> = {},
): AuditEntry {
  const input: EvaluationInput = {
    tenant_id: scope.tenantId,
    tool: "create_transfer",
    input: { amount, to: "acct" },
    agent: { id: scope.agentId, version: 1, allowed_tools: ["create_transfer"], require_human_approval: [] },
    session: { id: scope.sessionId },
    now: "2026-04-11T14:30:00.000Z",
    counters: { session: { create_transfer: i }, agent_24h: { create_transfer: i } },
  };
  return {
    action_id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
    session_id: scope.sessionId,
    agent_id: scope.agentId,
    event_id: null,
    actor: null,
    source: "mcp_governed",
    tool: "create_transfer",
    method: "tools/call",
    decision: "allow",
    severity: "none",
    violations: [],
    input: input as unknown as JsonObject,
    policy_version: null,
    requested_at: "2026-04-11T14:30:00.000Z",
    ...overrides,
  };
}
