import type { AgentConfigRecord } from "../agents/types.js";
import type { AuditDecision, AuditRecord } from "../audit/types.js";
import {
  type CompiledPolicy,
  type EvaluationInput,
  evaluationInputSchema,
  type PolicyDecisionValue,
} from "../policy/evaluate.js";
import { parseRfc3339 } from "../policy/time.js";

/** One governed decision whose replay differs from what was recorded. The seed's fields, then extensions. */
export interface ReplayChange {
  action_id: string;
  tool: string;
  original_decision: AuditDecision;
  replayed_decision: PolicyDecisionValue;
  /** Violations of the replayed decision that the original decision did not have. */
  new_violations: string[];
  /** Extension: the session the call belonged to. */
  session_id: string | null;
  /** Extension: when the call was originally decided (RFC 3339). */
  requested_at: string;
  /** Extension: present (and `false`) only when the stored evaluation input could not be replayed. */
  replayable?: false;
}

/** What replaying one governed record gives. */
export interface ReplayOutcome {
  changed: boolean;
  /** Set when `changed`. */
  change: ReplayChange | null;
  /** The stored input did not parse as an `EvaluationInput` (always counted as changed: fail closed). */
  unreplayable: boolean;
}

/** The part of an agent config that replay substitutes into a stored evaluation input. */
export type ReplayAgent = Pick<AgentConfigRecord, "version" | "allowed_tools" | "require_human_approval">;

/**
 * The message the governed-call pipeline records when it denies a call because the session was no longer active
 * (the policy is not consulted then). Session state is replayed as it was, like time and counters.
 */
const SESSION_NOT_ACTIVE_PREFIX = "Session is not active (status: ";

/**
 * The stored input with the CURRENT agent config substituted into `input.agent` (`allowed_tools`,
 * `require_human_approval`, `version`). Everything else (tool, input, session, `now`, counters) is kept as it
 * was. A config that no longer exists gives no allowed tools, exactly as a live call would see it.
 */
export function substituteAgent(stored: EvaluationInput, agent: ReplayAgent | null): EvaluationInput {
  return {
    ...stored,
    agent: {
      ...stored.agent,
      version: agent?.version ?? stored.agent.version,
      allowed_tools: agent ? [...agent.allowed_tools] : [],
      require_human_approval: agent ? [...agent.require_human_approval] : [],
    },
  };
}

/** Violations in `replayed` that `original` did not have, in the replayed order, without duplicates. */
export function newViolations(original: readonly string[], replayed: readonly string[]): string[] {
  const before = new Set(original);
  return [...new Set(replayed.filter((violation) => !before.has(violation)))];
}

/** Whether a replayed decision differs from the recorded one, and the violations it adds. */
export function compareDecisions(
  original: { decision: AuditDecision; violations: readonly string[] },
  replayed: { decision: PolicyDecisionValue; violations: readonly string[] },
): { changed: boolean; new_violations: string[] } {
  const changed = original.decision !== replayed.decision;
  return { changed, new_violations: changed ? newViolations(original.violations, replayed.violations) : [] };
}

/** Parses a stored evaluation input; the reason it is not one otherwise. */
export function parseStoredInput(value: unknown): { ok: true; input: EvaluationInput } | { ok: false; reason: string } {
  // Schema validation cost more than the evaluation itself. Plain data that plainly fits is taken as it is; the
  // schema decides everything else (and names the problem).
  if (isEvaluationInput(value)) return { ok: true, input: value };
  const result = evaluationInputSchema.safeParse(value);
  if (result.success) return { ok: true, input: result.data as unknown as EvaluationInput };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ` : "";
  return { ok: false, reason: `${where}${issue?.message ?? "invalid"}` };
}

/** What replay reads of a stored governed record to decide whether it changed. */
export type ReplayedDecision = Pick<AuditRecord, "decision" | "violations" | "input">;

/** What replaying one governed record's decision gives. */
export interface ReplayVerdict {
  changed: boolean;
  replayed_decision: PolicyDecisionValue;
  /** Violations of the replayed decision that the original did not have; empty unless `changed`. */
  new_violations: string[];
  /** The stored input did not parse as an `EvaluationInput` (always counted as changed: fail closed). */
  unreplayable: boolean;
}

/**
 * Replays one `mcp_governed` record's decision: the stored input, the current agent config (looked up by the
 * caller) and the given compiled policy. Pure: no I/O, no clock.
 *
 * - A record the pipeline denied because its session was no longer active is replayed as it was (deny).
 * - A record whose stored input is not an `EvaluationInput` fails closed: it is changed, replayed as `deny` with
 *   a violation saying why, and `unreplayable`.
 */
export function replayDecision(
  record: ReplayedDecision,
  compiled: CompiledPolicy,
  agentOf: (agentId: string) => ReplayAgent | null,
): ReplayVerdict {
  const parsed = parseStoredInput(record.input);
  if (!parsed.ok) {
    return {
      changed: true,
      replayed_decision: "deny",
      new_violations: [`Stored evaluation input cannot be replayed (${parsed.reason}); failing closed`],
      unreplayable: true,
    };
  }
  const notActive =
    record.decision === "deny"
      ? record.violations.find((violation) => violation.startsWith(SESSION_NOT_ACTIVE_PREFIX))
      : undefined;
  const replayed =
    notActive !== undefined
      ? { decision: "deny" as const, violations: [notActive] }
      : compiled.evaluate(substituteAgent(parsed.input, agentOf(parsed.input.agent.id)));
  const { changed, new_violations } = compareDecisions(record, replayed);
  return { changed, replayed_decision: replayed.decision, new_violations, unreplayable: false };
}

/** The change a verdict reports about a record (`replayable: false` marks an unreplayable one). */
export function replayChange(
  record: Pick<AuditRecord, "action_id" | "session_id" | "tool" | "decision" | "requested_at">,
  verdict: ReplayVerdict,
): ReplayChange {
  return {
    action_id: record.action_id,
    tool: record.tool,
    original_decision: record.decision,
    replayed_decision: verdict.replayed_decision,
    new_violations: verdict.new_violations,
    session_id: record.session_id,
    requested_at: record.requested_at,
    ...(verdict.unreplayable && { replayable: false as const }),
  };
}

/** `replayDecision` of a whole record, with the change it reports. Pure: no I/O, no clock. */
export function replayRecord(
  record: Pick<AuditRecord, "action_id" | "session_id" | "tool" | "decision" | "violations" | "input" | "requested_at">,
  compiled: CompiledPolicy,
  agentOf: (agentId: string) => ReplayAgent | null,
): ReplayOutcome {
  const verdict = replayDecision(record, compiled, agentOf);
  return {
    changed: verdict.changed,
    unreplayable: verdict.unreplayable,
    change: verdict.changed ? replayChange(record, verdict) : null,
  };
}

// A conservative structural check: true only for plain JSON data that `evaluationInputSchema` accepts unchanged
// (the test in test/replay compares them). Anything unusual (class instances, `__proto__` keys, unsafe integers)
// returns false and is left to the schema.
function isEvaluationInput(value: unknown): value is EvaluationInput {
  if (!isPlain(value)) return false;
  const input = value as Record<string, unknown>;
  const agent = input.agent;
  const session = input.session;
  const counters = input.counters;
  return (
    typeof input.tenant_id === "string" &&
    typeof input.tool === "string" &&
    input.tool.length > 0 &&
    isPlain(input.input) &&
    isJsonRecord(input.input as Record<string, unknown>, 0) &&
    isPlain(agent) &&
    typeof agent.id === "string" &&
    typeof agent.version === "number" &&
    Number.isFinite(agent.version) &&
    isStrings(agent.allowed_tools) &&
    isStrings(agent.require_human_approval) &&
    (session === null || (isPlain(session) && typeof session.id === "string")) &&
    typeof input.now === "string" &&
    parseRfc3339(input.now) !== null &&
    isPlain(counters) &&
    isCounts(counters.session) &&
    isCounts(counters.agent_24h)
  );
}

const MAX_JSON_DEPTH = 64;

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return (prototype === Object.prototype || prototype === null) && !Object.hasOwn(value, "__proto__");
}

function isStrings(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "string") return false;
  return true;
}

function isCounts(value: unknown): boolean {
  if (!isPlain(value)) return false;
  for (const key in value) {
    const count = value[key];
    if (!Number.isSafeInteger(count) || (count as number) < 0) return false;
  }
  return true;
}

function isJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      if (value === null) return true;
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) if (!isJson(value[i], depth + 1)) return false;
        return true;
      }
      return isPlain(value) && isJsonRecord(value, depth);
    default:
      return false;
  }
}

function isJsonRecord(value: Record<string, unknown>, depth: number): boolean {
  for (const key in value) if (!isJson(value[key], depth + 1)) return false;
  return true;
}
