// policyTester(): unit-test a tenant policy document in-process, the way vargate decides live calls.
import { compileAnomalyRules, detectAnomalies } from "../anomaly/detect.js";
import { maxHitSeverity, nextAnomalyScore, shouldInterrupt } from "../anomaly/score.js";
import type { AnomalyHit } from "../anomaly/types.js";
import type { Severity } from "../audit/types.js";
import type { JsonObject } from "../json.js";
import { parseTenantPolicy, type TenantPolicy } from "../policy/document.js";
import { type CodeRule, compilePolicy, type EvaluationInput, type PolicyDecision } from "../policy/evaluate.js";

/** The instant decisions are made at unless a call says otherwise: a Wednesday, noon UTC. */
export const POLICY_TESTER_NOW = "2026-01-07T12:00:00.000Z";

export interface PolicyTesterOptions {
  /** The agent config the calls are made under: its tool lists are the built-in checks. */
  agent: {
    /** Exact governed tool names the agent may call; any other tool is denied before tenant rules apply. */
    allowed_tools: string[];
    /** Tool-name globs whose calls need a human. @default [] */
    require_human_approval?: string[];
    /** @default "agent-000000000000" */
    id?: string;
    /** @default 1 */
    version?: number;
  };
  /** The application's code rules, as given to `new VargateGovernor({ codeRules })`. */
  codeRules?: readonly CodeRule[];
  /** @default "test-tenant" */
  tenantId?: string;
  /** The decision time of every call (RFC 3339 or a Date). @default POLICY_TESTER_NOW */
  now?: string | Date;
}

/** What may vary per call; everything else comes from the tester's options. */
export interface PolicyCallContext {
  now?: string | Date;
  /** Earlier governed calls per tool name: in this session, and by this agent in the last 24 hours. */
  counters?: { session?: Record<string, number>; agent_24h?: Record<string, number> };
  /** `null` for a call outside a session. @default "vs-0000000000000000" */
  sessionId?: string | null;
}

/** What the tenant's anomaly settings make of one observed (built-in) tool use. */
export interface ObservedVerdict {
  /** One hit per rule that fired, in rule order. */
  hits: AnomalyHit[];
  /** The observed record's severity: the highest among the hits, `none` without any. */
  severity: Severity;
  /** The session's anomaly score after this use. */
  score: number;
  /** Whether that score reaches the tenant's threshold, so the session would be interrupted. */
  interrupts: boolean;
}

export interface PolicyTester {
  /** The parsed document under test (`null`: built-in checks and code rules only). */
  readonly policy: TenantPolicy | null;
  /** Decides one governed call exactly as the MCP endpoint would: `{ decision, violations, severity, matched_rules }`. */
  decide(tool: string, input?: JsonObject, context?: PolicyCallContext): PolicyDecision;
  /** The evaluation input `decide` evaluates: the document a governed audit record stores, and replay re-reads. */
  evaluationInput(tool: string, input?: JsonObject, context?: PolicyCallContext): EvaluationInput;
  /** Checks one observed tool use (`bash`, `write`, …) against the document's `anomaly` settings. */
  observe(tool: string, input: JsonObject, context?: { previousScore?: number }): ObservedVerdict;
}

/**
 * Compiles a tenant policy document once, for unit tests: `policyTester(policy, { agent: { allowed_tools } })`,
 * then `decide(tool, input)` for governed calls and `observe(tool, input)` for observed ones. Uses the same pure
 * evaluator and anomaly rules as live calls, with a fixed clock and empty counters unless a call sets them.
 *
 * An invalid document throws the `ValidationError` that `PUT /managed/policy` would answer with (422, naming each
 * field), so a test fails loudly instead of seeing fail-closed denies.
 */
export function policyTester(policy: unknown, options: PolicyTesterOptions): PolicyTester {
  const document = policy === null ? null : parseTenantPolicy(policy);
  const compiled = compilePolicy(document, { codeRules: options.codeRules ?? [] });
  const anomalyRules = compileAnomalyRules(document?.anomaly);
  const agent = {
    id: options.agent.id ?? "agent-000000000000",
    version: options.agent.version ?? 1,
    allowed_tools: [...options.agent.allowed_tools],
    require_human_approval: [...(options.agent.require_human_approval ?? [])],
  };

  const evaluationInput = (tool: string, input: JsonObject = {}, context: PolicyCallContext = {}): EvaluationInput => {
    const sessionId = context.sessionId === undefined ? "vs-0000000000000000" : context.sessionId;
    return {
      tenant_id: options.tenantId ?? "test-tenant",
      tool,
      input,
      agent: {
        ...agent,
        allowed_tools: [...agent.allowed_tools],
        require_human_approval: [...agent.require_human_approval],
      },
      session: sessionId === null ? null : { id: sessionId },
      now: toTimestamp(context.now ?? options.now ?? POLICY_TESTER_NOW),
      counters: { session: { ...context.counters?.session }, agent_24h: { ...context.counters?.agent_24h } },
    };
  };

  return {
    policy: document,
    evaluationInput,
    decide: (tool, input, context) => compiled.evaluate(evaluationInput(tool, input, context)),
    observe(tool, input, context = {}) {
      const hits = detectAnomalies(tool, input, anomalyRules);
      const score = nextAnomalyScore(context.previousScore ?? 0, hits);
      return {
        hits,
        severity: maxHitSeverity(hits),
        score,
        interrupts: shouldInterrupt(score, anomalyRules.threshold),
      };
    },
  };
}

function toTimestamp(value: string | Date): string {
  return typeof value === "string" ? value : value.toISOString();
}
