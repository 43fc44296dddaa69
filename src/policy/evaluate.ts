import * as z from "zod";
import type { Severity } from "../audit/types.js";
import { ConfigError } from "../errors.js";
import type { JsonObject } from "../json.js";
import {
  type ConditionContext,
  type CounterTest,
  compileCounterCondition,
  compileInputCondition,
  compileTimeCondition,
  type InputTest,
  PolicyInputError,
  type TimeTest,
} from "./conditions.js";
import { type PolicyRule, RULE_EFFECTS, type RuleEffect, type TenantPolicy, tenantPolicySchema } from "./document.js";
import { compileToolMatcher } from "./matchers.js";
import { isSeverity, SEVERITY_RANK } from "./severity.js";
import { type LocalTime, localTimeReader, parseRfc3339, RFC3339_SHAPE } from "./time.js";
import { compileToolPatterns } from "./tool-patterns.js";

/**
 * Version of the evaluation semantics. It changes when the same input and policy could give a different
 * decision, so replay can tell a policy change from an evaluator change.
 */
export const POLICY_EVALUATOR_VERSION = 1;

/**
 * Everything a decision depends on, as one plain JSON document. The caller builds it, evaluates it, and stores
 * it with the governed audit record, so replay re-evaluates exactly the same document.
 *
 * It is a `type` (not an `interface`) so that it is assignable to `JsonValue`.
 */
export type EvaluationInput = {
  tenant_id: string;
  /** The governed tool's name. */
  tool: string;
  /** The tool's input, as the agent sent it. */
  input: JsonObject;
  agent: {
    id: string;
    version: number;
    /** Exact governed tool names the agent may call. */
    allowed_tools: string[];
    /** Tool-name globs whose calls need a human's approval. */
    require_human_approval: string[];
  };
  session: { id: string } | null;
  /** The decision time, RFC 3339 (read from the injectable clock). Time-of-day rules read it. */
  now: string;
  /**
   * Counts of earlier governed calls (every decision) per tool name, BEFORE this call: in this session, and by
   * this agent config in the 24 hours before `now`. A tool with no entry counts 0.
   */
  counters: { session: Record<string, number>; agent_24h: Record<string, number> };
};

export type PolicyDecisionValue = "allow" | "deny" | "requires_human";

export interface PolicyDecision {
  decision: PolicyDecisionValue;
  /** The messages of the rules that determined the decision (built-in ones first). Empty for an allow. */
  violations: string[];
  /** The highest severity among those rules; `none` for an allow. */
  severity: Severity;
  /**
   * Every rule that matched, in evaluation order, whatever its effect: built-ins as `builtin:<name>`, tenant
   * rules by id, code rules as `code:<id>`.
   */
  matched_rules: string[];
}

/** What a code rule says about a call. */
export interface RuleOutcome {
  effect: RuleEffect;
  severity: Severity;
  message: string;
}

/**
 * A rule written in code by the embedding application. It must be pure and synchronous: it reads only the
 * evaluation input (never the clock, storage or the network), so replay gives the same answer. Return `null`
 * or `undefined` when the rule does not apply. A rule that throws, or returns anything else than an outcome,
 * makes the whole evaluation fail closed (deny).
 */
export interface CodeRule {
  id: string;
  evaluate(input: EvaluationInput): RuleOutcome | null | undefined;
}

export interface CompilePolicyOptions {
  /** Evaluated after the tenant's rules, in order. Ids must be unique among code rules. */
  codeRules?: readonly CodeRule[];
}

/** A policy prepared for fast, repeated evaluation. */
export interface CompiledPolicy {
  /** The document it was compiled from (`null`: no tenant policy, only the built-in checks and code rules). */
  readonly policy: TenantPolicy | null;
  /** Decides one call. Never throws: any failure is a fail-closed deny. */
  evaluate(input: EvaluationInput): PolicyDecision;
  /**
   * Whether a deny rule with no condition other than `tool` (or no condition at all) matches `tool`, so every
   * call of it is denied whatever its input. Used to disable forbidden built-in tools upstream.
   */
  forbidsTool(tool: string): boolean;
}

/** Ids under which built-in checks appear in `matched_rules`. */
export const BUILTIN_RULES = {
  allowedTools: "builtin:allowed_tools",
  requireHumanApproval: "builtin:require_human_approval",
  defaultEffect: "builtin:default_effect",
  evaluationError: "builtin:evaluation_error",
} as const;

const EFFECT_DENY = 0;
const EFFECT_HUMAN = 1;
const EFFECT_ALLOW = 2;

interface CompiledRule {
  id: string;
  effect: 0 | 1 | 2;
  severity: Severity;
  message: string;
  tool: ((tool: string) => boolean) | null;
  input: readonly InputTest[];
  time: TimeTest | null;
  counters: readonly CounterTest[];
  /** Only a tool condition (or none). */
  toolOnly: boolean;
}

interface CompiledCodeRule {
  id: string;
  matchedId: string;
  rule: CodeRule;
}

const MAX_CACHED_TOOLS = 1024;
const MAX_CACHED_PATTERNS = 4096;
const MAX_MESSAGE = 500;
const MAX_REASON = 300;

/**
 * Compiles a policy once so each evaluation only runs prepared matchers: tool globs, regexes, email domain
 * sets and time-zone formatters are built here, and the rules that can apply to each tool name are cached.
 *
 * The document is validated again with `tenantPolicySchema` (it may come from storage or be built in code); an
 * invalid document or bad code rules throw a `ConfigError`. `evaluatePolicy` turns that into a deny; callers of
 * `compilePolicy` must do the same (validate tenant input with `parseTenantPolicy` first, which gives a 422).
 */
export function compilePolicy(policy: TenantPolicy | null, options: CompilePolicyOptions = {}): CompiledPolicy {
  const document = policy === null ? null : parsePolicyForCompile(policy);
  const zones: string[] = [];
  const zoneReaders: ((epochMs: number) => LocalTime)[] = [];
  const zoneIndex = (zone: string): number => {
    let index = zones.indexOf(zone);
    if (index < 0) {
      index = zones.push(zone) - 1;
      zoneReaders.push(localTimeReader(zone));
    }
    return index;
  };
  const rules = (document?.rules ?? []).map((rule) => compileRule(rule, zoneIndex));
  const codeRules = compileCodeRules(options.codeRules ?? []);
  const defaultDeny = document?.default_effect === "deny";
  const rulesByTool = new Map<string, readonly CompiledRule[]>();
  const patternMatchers = new Map<string, (tool: string) => boolean>();

  const rulesFor = (tool: string): readonly CompiledRule[] => {
    const cached = rulesByTool.get(tool);
    if (cached) return cached;
    const found = rules.filter((rule) => rule.tool === null || rule.tool(tool));
    if (rulesByTool.size < MAX_CACHED_TOOLS) rulesByTool.set(tool, found);
    return found;
  };

  const patternMatcher = (pattern: string): ((tool: string) => boolean) => {
    let matcher = patternMatchers.get(pattern);
    if (!matcher) {
      matcher = compileToolPatterns([pattern]);
      if (patternMatchers.size >= MAX_CACHED_PATTERNS) patternMatchers.clear();
      patternMatchers.set(pattern, matcher);
    }
    return matcher;
  };

  const evaluate = (input: EvaluationInput): PolicyDecision => {
    try {
      checkEvaluationInput(input);
      const tool = input.tool;
      const matched: string[] = [];
      const denyViolations: string[] = [];
      let denySeverity: Severity = "none";
      const humanViolations: string[] = [];
      let humanSeverity: Severity = "none";
      let allowed = false;

      if (!input.agent.allowed_tools.includes(tool)) {
        matched.push(BUILTIN_RULES.allowedTools);
        denyViolations.push(`Tool ${quote(tool)} is not in the agent's allowed_tools`);
        denySeverity = "high";
      }
      for (const pattern of input.agent.require_human_approval) {
        if (patternMatcher(pattern)(tool)) {
          matched.push(BUILTIN_RULES.requireHumanApproval);
          humanViolations.push(
            `Tool ${quote(tool)} requires human approval (require_human_approval: ${quote(pattern)})`,
          );
          humanSeverity = "medium";
          break;
        }
      }

      const candidates = rulesFor(tool);
      if (candidates.length > 0) {
        let epochMs: number | undefined;
        let locals: (LocalTime | undefined)[] | undefined;
        const context: ConditionContext = {
          tool,
          counters: input.counters,
          localTime(index) {
            locals ??= [];
            let local = locals[index];
            if (local === undefined) {
              epochMs ??= parseNow(input.now);
              local = (zoneReaders[index] as (epochMs: number) => LocalTime)(epochMs);
              locals[index] = local;
            }
            return local;
          },
        };
        for (let i = 0; i < candidates.length; i++) {
          const rule = candidates[i] as CompiledRule;
          if (!ruleMatches(rule, input.input, context)) continue;
          matched.push(rule.id);
          if (rule.effect === EFFECT_DENY) {
            denyViolations.push(rule.message);
            if (SEVERITY_RANK[rule.severity] > SEVERITY_RANK[denySeverity]) denySeverity = rule.severity;
          } else if (rule.effect === EFFECT_HUMAN) {
            humanViolations.push(rule.message);
            if (SEVERITY_RANK[rule.severity] > SEVERITY_RANK[humanSeverity]) humanSeverity = rule.severity;
          } else allowed = true;
        }
      }

      for (let i = 0; i < codeRules.length; i++) {
        const { id, matchedId, rule } = codeRules[i] as CompiledCodeRule;
        let outcome: unknown;
        try {
          outcome = rule.evaluate(input);
        } catch (error) {
          throw new PolicyInputError(`code rule ${quote(id)} threw: ${describeError(error)}`);
        }
        if (outcome === null || outcome === undefined) continue;
        const checked = checkOutcome(outcome, id);
        matched.push(matchedId);
        if (checked.effect === "deny") {
          denyViolations.push(checked.message);
          if (SEVERITY_RANK[checked.severity] > SEVERITY_RANK[denySeverity]) denySeverity = checked.severity;
        } else if (checked.effect === "requires_human") {
          humanViolations.push(checked.message);
          if (SEVERITY_RANK[checked.severity] > SEVERITY_RANK[humanSeverity]) humanSeverity = checked.severity;
        } else allowed = true;
      }

      if (denyViolations.length > 0) {
        return { decision: "deny", violations: unique(denyViolations), severity: denySeverity, matched_rules: matched };
      }
      if (humanViolations.length > 0) {
        return {
          decision: "requires_human",
          violations: unique(humanViolations),
          severity: humanSeverity,
          matched_rules: matched,
        };
      }
      if (defaultDeny && !allowed) {
        matched.push(BUILTIN_RULES.defaultEffect);
        return {
          decision: "deny",
          violations: [`No policy rule allows tool ${quote(tool)} (default_effect is deny)`],
          severity: "high",
          matched_rules: matched,
        };
      }
      return { decision: "allow", violations: [], severity: "none", matched_rules: matched };
    } catch (error) {
      return failClosed(error);
    }
  };

  const forbidsTool = (tool: string): boolean =>
    rules.some((rule) => rule.effect === EFFECT_DENY && rule.toolOnly && (rule.tool === null || rule.tool(tool)));

  return { policy: document, evaluate, forbidsTool };
}

/**
 * Evaluates one call: compiles the policy and evaluates. Never throws; an invalid policy, a bad input or a
 * failing code rule gives a fail-closed deny. For repeated calls, `compilePolicy` once and reuse it.
 */
export function evaluatePolicy(
  input: EvaluationInput,
  policy: TenantPolicy | null,
  options: CompilePolicyOptions = {},
): PolicyDecision {
  let compiled: CompiledPolicy;
  try {
    compiled = compilePolicy(policy, options);
  } catch (error) {
    return failClosed(error, "the policy could not be compiled: ");
  }
  return compiled.evaluate(input);
}

/** The fail-closed decision: deny, high, with a violation saying why (never a stack trace). */
export function failClosedDecision(reason: string): PolicyDecision {
  return {
    decision: "deny",
    violations: [`Policy evaluation failed: ${truncate(reason, MAX_REASON)}`],
    severity: "high",
    matched_rules: [BUILTIN_RULES.evaluationError],
  };
}

function failClosed(error: unknown, prefix = ""): PolicyDecision {
  return failClosedDecision(prefix + describeError(error));
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === "string") return error;
  return "unknown error";
}

function parsePolicyForCompile(policy: TenantPolicy): TenantPolicy {
  const result = tenantPolicySchema.safeParse(policy);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ConfigError(
    `Invalid policy document: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid"}`,
  );
}

function compileRule(rule: PolicyRule, zoneIndex: (zone: string) => number): CompiledRule {
  const when = rule.when;
  const effect = rule.effect === "deny" ? EFFECT_DENY : rule.effect === "requires_human" ? EFFECT_HUMAN : EFFECT_ALLOW;
  const restrictive = effect !== EFFECT_ALLOW;
  const patterns = when.tool === undefined ? null : typeof when.tool === "string" ? [when.tool] : when.tool;
  return {
    id: rule.id,
    effect,
    severity: rule.severity ?? "none",
    message: rule.message ?? "",
    tool: patterns === null ? null : compileToolMatcher(patterns),
    input: (when.input ?? []).map((condition) => compileInputCondition(condition, restrictive)),
    time: when.time === undefined ? null : compileTimeCondition(when.time, zoneIndex(when.time.timezone ?? "UTC")),
    counters: (when.counters ?? []).map(compileCounterCondition),
    toolOnly: when.input === undefined && when.time === undefined && when.counters === undefined,
  };
}

function ruleMatches(rule: CompiledRule, input: JsonObject, context: ConditionContext): boolean {
  const inputTests = rule.input;
  for (let i = 0; i < inputTests.length; i++) if (!(inputTests[i] as InputTest)(input)) return false;
  if (rule.time !== null && !rule.time(context)) return false;
  const counterTests = rule.counters;
  for (let i = 0; i < counterTests.length; i++) if (!(counterTests[i] as CounterTest)(context)) return false;
  return true;
}

function compileCodeRules(codeRules: readonly CodeRule[]): CompiledCodeRule[] {
  const seen = new Set<string>();
  return codeRules.map((rule, index) => {
    if (typeof rule?.id !== "string" || rule.id.length === 0 || rule.id.length > 128) {
      throw new ConfigError(`codeRules[${index}].id must be a string of 1-128 characters`);
    }
    if (typeof rule.evaluate !== "function") {
      throw new ConfigError(`codeRules[${index}] (${rule.id}) must have an evaluate(input) function`);
    }
    if (seen.has(rule.id)) throw new ConfigError(`Duplicate code rule id '${rule.id}'`);
    seen.add(rule.id);
    return { id: rule.id, matchedId: `code:${rule.id}`, rule };
  });
}

function checkOutcome(outcome: unknown, id: string): RuleOutcome {
  const value = outcome as Partial<RuleOutcome>;
  if (
    typeof outcome !== "object" ||
    !RULE_EFFECTS.includes(value.effect as RuleEffect) ||
    !isSeverity(value.severity) ||
    typeof value.message !== "string" ||
    value.message.length === 0
  ) {
    throw new PolicyInputError(
      `code rule ${quote(id)} returned an invalid outcome (expected {effect, severity, message} or null, synchronously)`,
    );
  }
  return {
    effect: value.effect as RuleEffect,
    severity: value.severity,
    message: truncate(value.message, MAX_MESSAGE),
  };
}

function parseNow(now: string): number {
  const ms = parseRfc3339(now);
  if (ms === null) throw new PolicyInputError("now must be an RFC 3339 timestamp");
  return ms;
}

/** The cheap structural checks of the hot path; `evaluationInputSchema` is the full schema. */
function checkEvaluationInput(input: EvaluationInput): void {
  if (!isPlainObject(input)) throw new PolicyInputError("the evaluation input must be an object");
  if (typeof input.tenant_id !== "string") throw new PolicyInputError("tenant_id must be a string");
  if (typeof input.tool !== "string" || input.tool.length === 0)
    throw new PolicyInputError("tool must be a non-empty string");
  if (!isPlainObject(input.input)) throw new PolicyInputError("input must be a JSON object");
  const agent = input.agent;
  if (!isPlainObject(agent)) throw new PolicyInputError("agent must be an object");
  if (typeof agent.id !== "string") throw new PolicyInputError("agent.id must be a string");
  if (typeof agent.version !== "number") throw new PolicyInputError("agent.version must be a number");
  if (!isStringArray(agent.allowed_tools)) throw new PolicyInputError("agent.allowed_tools must be a list of strings");
  if (!isStringArray(agent.require_human_approval)) {
    throw new PolicyInputError("agent.require_human_approval must be a list of strings");
  }
  const session = input.session;
  if (session !== null && !(isPlainObject(session) && typeof session.id === "string")) {
    throw new PolicyInputError("session must be null or an object with a string id");
  }
  if (typeof input.now !== "string" || !RFC3339_SHAPE.test(input.now)) {
    throw new PolicyInputError("now must be an RFC 3339 timestamp");
  }
  const counters = input.counters;
  if (!isPlainObject(counters) || !isPlainObject(counters.session) || !isPlainObject(counters.agent_24h)) {
    throw new PolicyInputError("counters must be an object with session and agent_24h objects");
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false;
  return true;
}

function unique(values: string[]): string[] {
  return values.length < 2 ? values : [...new Set(values)];
}

function quote(name: string): string {
  return `'${truncate(name, 128)}'`;
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

const countsSchema = z.record(z.string(), z.number().int().min(0));

/**
 * The full schema of an evaluation input, for documents read back from storage (replay, impact analysis).
 * Unknown fields are kept. Live evaluation does not need it: `evaluate` checks the structure itself.
 */
export const evaluationInputSchema = z.looseObject({
  tenant_id: z.string(),
  tool: z.string().min(1),
  input: z.record(z.string(), z.json()),
  agent: z.looseObject({
    id: z.string(),
    version: z.number(),
    allowed_tools: z.array(z.string()),
    require_human_approval: z.array(z.string()),
  }),
  session: z.looseObject({ id: z.string() }).nullable(),
  now: z.string().refine((value) => parseRfc3339(value) !== null, { error: "Must be an RFC 3339 timestamp" }),
  counters: z.looseObject({ session: countsSchema, agent_24h: countsSchema }),
});

export { PolicyInputError } from "./conditions.js";
