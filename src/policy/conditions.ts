import type { JsonObject } from "../json.js";
import type { CounterCondition, InputCondition, TimeCondition } from "./document.js";
import { WEEKDAYS } from "./document.js";
import { MISSING, readFieldPath, splitFieldPath } from "./field-path.js";
import { compileToolMatcher } from "./matchers.js";
import { clockMinutes, type LocalTime } from "./time.js";

/** An error in the evaluation input itself; evaluation turns it into a fail-closed deny. */
export class PolicyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyInputError";
  }
}

/** What conditions may read besides the tool input. Built once per evaluation, lazily where it costs. */
export interface ConditionContext {
  tool: string;
  counters: { session: Record<string, number>; agent_24h: Record<string, number> };
  /** Local time in the policy's `zoneIndex`-th time zone. */
  localTime(zoneIndex: number): LocalTime;
}

export type InputTest = (input: JsonObject) => boolean;
export type TimeTest = (context: ConditionContext) => boolean;
export type CounterTest = (context: ConditionContext) => boolean;

/**
 * Compiles one input condition. `restrictive` is true for deny and requires_human rules: it decides how an
 * email condition treats a missing or invalid address (see `compileEmailTest`).
 */
export function compileInputCondition(condition: InputCondition, restrictive: boolean): InputTest {
  const segments = splitFieldPath(condition.field);
  const read =
    segments.length === 1 ? readTopLevel(segments[0] as string) : (input: JsonObject) => readFieldPath(input, segments);
  switch (condition.op) {
    case "equals": {
      const expected = condition.value;
      return (input) => jsonEquals(read(input), expected);
    }
    case "not_equals": {
      const expected = condition.value;
      return (input) => !jsonEquals(read(input), expected);
    }
    case "in": {
      const values = new Set<unknown>(condition.value);
      return (input) => {
        const value = read(input);
        return isPrimitive(value) && values.has(value);
      };
    }
    case "not_in": {
      const values = new Set<unknown>(condition.value);
      return (input) => {
        const value = read(input);
        return !(isPrimitive(value) && values.has(value));
      };
    }
    case "gt": {
      const bound = condition.value;
      return (input) => {
        const value = read(input);
        return typeof value === "number" && Number.isFinite(value) && value > bound;
      };
    }
    case "gte": {
      const bound = condition.value;
      return (input) => {
        const value = read(input);
        return typeof value === "number" && Number.isFinite(value) && value >= bound;
      };
    }
    case "lt": {
      const bound = condition.value;
      return (input) => {
        const value = read(input);
        return typeof value === "number" && Number.isFinite(value) && value < bound;
      };
    }
    case "lte": {
      const bound = condition.value;
      return (input) => {
        const value = read(input);
        return typeof value === "number" && Number.isFinite(value) && value <= bound;
      };
    }
    case "matches": {
      const pattern = new RegExp(condition.value, condition.flags ?? "");
      return (input) => {
        const value = read(input);
        return typeof value === "string" && pattern.test(value);
      };
    }
    case "email_domain_in":
    case "email_domain_not_in": {
      const test = compileEmailTest(condition.value, condition.op === "email_domain_not_in", restrictive);
      return (input) => test(read(input));
    }
    case "exists":
      return (input) => {
        const value = read(input);
        return value !== MISSING && value !== null;
      };
    case "not_exists":
      return (input) => {
        const value = read(input);
        return value === MISSING || value === null;
      };
  }
}

function readTopLevel(key: string): (input: JsonObject) => unknown {
  return (input) => {
    if (!Object.hasOwn(input, key)) return MISSING;
    const value = input[key];
    return value === undefined ? MISSING : value;
  };
}

function isPrimitive(value: unknown): boolean {
  return value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean";
}

/** Deep equality of JSON values: no type coercion, object key order ignored. A missing value equals nothing. */
export function jsonEquals(a: unknown, b: unknown): boolean {
  if (a === b) return a !== MISSING;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEquals(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!Object.hasOwn(b, key)) return false;
    if (!jsonEquals((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

const EMAIL =
  /^[^\s@<>(),;:"[\]\\]{1,64}@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)$/i;

// A one-entry memo: several rules usually read the same recipient in one evaluation. It only caches a pure
// function's last answer, so it cannot change any result.
let lastAddress: string | undefined;
let lastDomain: string | null = null;

/** The lower-cased domain of a plain address (`local@domain`), or `null` when it is not one. */
export function emailDomain(address: string): string | null {
  if (address === lastAddress) return lastDomain;
  const match = address.length > 254 ? null : EMAIL.exec(address);
  const domain = match ? (match[1] as string).toLowerCase() : null;
  lastAddress = address;
  lastDomain = domain;
  return domain;
}

/** Whether `domain` or one of its parent domains is in `domains`. */
export function domainCovered(domain: string, domains: ReadonlySet<string>): boolean {
  let candidate = domain;
  for (;;) {
    if (domains.has(candidate)) return true;
    const dot = candidate.indexOf(".");
    if (dot < 0) return false;
    candidate = candidate.slice(dot + 1);
  }
}

/**
 * A matcher for "this domain or a parent domain is listed" over lower-cased domains. Short lists compare
 * suffixes directly; long ones walk the parent domains through a set.
 */
export function compileDomainMatcher(domainList: readonly string[]): (domain: string) => boolean {
  const domains = [...new Set(domainList.map((domain) => domain.toLowerCase()))];
  if (domains.length > 8) {
    const set = new Set(domains);
    return (domain) => domainCovered(domain, set);
  }
  const suffixes = domains.map((domain) => `.${domain}`);
  return (domain) => {
    for (let i = 0; i < domains.length; i++) {
      if (domain === domains[i] || domain.endsWith(suffixes[i] as string)) return true;
    }
    return false;
  };
}

/**
 * Email domain conditions read a string or a list of strings, each a plain address (`local@domain`; display
 * names, comments and quoted local parts are not accepted). Per address the condition is "its domain (or a
 * parent domain) is in the list" (`email_domain_in`) or "is not" (`email_domain_not_in`). Then:
 * - a restrictive rule (deny, requires_human) matches when ANY address satisfies it, and also when the field is
 *   missing, null or not a string/list, or any entry is not a valid address (fails closed: the rule fires);
 * - an allow rule matches only when EVERY address satisfies it and all are valid (fails closed: it does not);
 * - an empty list has no addresses, and matches neither.
 */
export function compileEmailTest(
  domainList: readonly string[],
  negate: boolean,
  restrictive: boolean,
): (value: unknown) => boolean {
  const covered = compileDomainMatcher(domainList);
  const satisfies = (item: unknown): boolean | null => {
    if (typeof item !== "string") return null;
    const domain = emailDomain(item);
    if (domain === null) return null;
    return covered(domain) !== negate;
  };
  return (value) => {
    if (typeof value === "string") return satisfies(value) ?? restrictive;
    if (!Array.isArray(value)) return restrictive;
    if (value.length === 0) return false;
    let any = false;
    let all = true;
    for (const item of value) {
      const result = satisfies(item);
      if (result === null) return restrictive;
      if (result) any = true;
      else all = false;
    }
    return restrictive ? any : all;
  };
}

/**
 * A time window in one zone: from `after` (inclusive) to `before` (exclusive), wrapping midnight when `after` is
 * later than `before`; either bound alone runs to or from midnight. `days` are checked against the local
 * calendar day of the instant itself (so 02:00 on Saturday is a Saturday even in a window that opened Friday).
 */
export function compileTimeCondition(time: TimeCondition, zoneIndex: number): TimeTest {
  const after = time.after === undefined ? null : clockMinutes(time.after);
  const before = time.before === undefined ? null : clockMinutes(time.before);
  let dayMask = 0;
  for (const day of time.days ?? WEEKDAYS) dayMask |= 1 << WEEKDAYS.indexOf(day);
  return (context) => {
    const local = context.localTime(zoneIndex);
    if ((dayMask & (1 << local.weekday)) === 0) return false;
    const t = local.minutes;
    if (after !== null && before !== null) return after < before ? t >= after && t < before : t >= after || t < before;
    if (after !== null) return t >= after;
    if (before !== null) return t < before;
    return true;
  };
}

/**
 * A counter condition compares the number of earlier governed calls in a scope (`session`, `agent_24h`) with
 * a value. Without `tool` it counts calls of the tool being evaluated; with globs, the sum over every tool name
 * they match. A tool with no entry counts 0. A count that is not a non-negative finite number is an input
 * error (evaluation fails closed).
 */
export function compileCounterCondition(condition: CounterCondition): CounterTest {
  const scope = condition.scope;
  const bound = condition.value;
  const compare = comparator(condition.op);
  const patterns =
    condition.tool === undefined ? null : typeof condition.tool === "string" ? [condition.tool] : condition.tool;
  const matches = patterns === null ? null : compileToolMatcher(patterns);
  return (context) => {
    const counts = context.counters[scope];
    let total = 0;
    if (matches === null) {
      if (Object.hasOwn(counts, context.tool)) total = checkedCount(counts, scope, context.tool);
    } else {
      for (const key of Object.keys(counts)) if (matches(key)) total += checkedCount(counts, scope, key);
    }
    return compare(total, bound);
  };
}

function checkedCount(counts: Record<string, number>, scope: string, key: string): number {
  const value = counts[key];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new PolicyInputError(`counters.${scope}[${JSON.stringify(key.slice(0, 128))}] must be a non-negative number`);
  }
  return value;
}

function comparator(op: CounterCondition["op"]): (a: number, b: number) => boolean {
  switch (op) {
    case "gt":
      return (a, b) => a > b;
    case "gte":
      return (a, b) => a >= b;
    case "lt":
      return (a, b) => a < b;
    case "lte":
      return (a, b) => a <= b;
    case "equals":
      return (a, b) => a === b;
  }
}
