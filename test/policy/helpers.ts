import type { JsonObject } from "../../src/json.js";
import { type TenantPolicyInput, tenantPolicySchema } from "../../src/policy/document.js";
import { type EvaluationInput, evaluatePolicy, type PolicyDecision } from "../../src/policy/evaluate.js";

export interface InputOverrides {
  tool?: string;
  input?: JsonObject;
  allowed_tools?: string[];
  require_human_approval?: string[];
  now?: string;
  session?: Record<string, number>;
  agent_24h?: Record<string, number>;
}

/** An evaluation input for `tool` (default `vargate_transfer`), allowed by the agent unless overridden. */
export function makeInput(overrides: InputOverrides = {}): EvaluationInput {
  const tool = overrides.tool ?? "vargate_transfer";
  return {
    tenant_id: "acme",
    tool,
    input: overrides.input ?? {},
    agent: {
      id: "agent-a1b2c3d4e5f6",
      version: 3,
      allowed_tools: overrides.allowed_tools ?? [tool],
      require_human_approval: overrides.require_human_approval ?? [],
    },
    session: { id: "vs-0123456789abcdef" },
    now: overrides.now ?? "2026-04-15T12:00:00Z",
    counters: { session: overrides.session ?? {}, agent_24h: overrides.agent_24h ?? {} },
  };
}

/** Parses `document` (so a test document that is invalid fails loudly) and evaluates `input` against it. */
export function decide(document: TenantPolicyInput, input: EvaluationInput): PolicyDecision {
  return evaluatePolicy(input, tenantPolicySchema.parse(document));
}

/** A one-rule policy: deny with severity high and message "hit" when `when` holds. */
export function denyWhen(when: TenantPolicyInput["rules"][number]["when"]): TenantPolicyInput {
  return { rules: [{ id: "r", when, effect: "deny", severity: "high", message: "hit" }] };
}

/** Whether the one-rule policy of `denyWhen(when)` fires on `input`. */
export function fires(when: TenantPolicyInput["rules"][number]["when"], input: EvaluationInput): boolean {
  const decision = decide(denyWhen(when), input);
  if (decision.matched_rules.includes("builtin:evaluation_error")) throw new Error(decision.violations.join("; "));
  return decision.matched_rules.includes("r");
}
