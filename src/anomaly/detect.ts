import { domainCovered } from "../policy/conditions.js";
import { readFieldPath, splitFieldPath } from "../policy/field-path.js";
import { compileToolMatcher } from "../policy/matchers.js";
import { parseInput } from "../validation.js";
import {
  type AnomalyConfig,
  type AnomalyConfigInput,
  anomalyConfigSchema,
  DEFAULT_ANOMALY_THRESHOLD,
} from "./config.js";
import { DEFAULT_ANOMALY_RULES } from "./rules.js";
import type { AnomalyHit, AnomalyRule } from "./types.js";

/** Pattern rules read at most this many characters of a field; longer values are checked on their prefix. */
export const MAX_SCANNED_CHARS = 1_000_000;
const MAX_DETAIL = 200;
const MAX_EXCERPT = 120;

interface CompiledAnomalyRule {
  rule: AnomalyRule;
  tool: (tool: string) => boolean;
  fields: readonly { name: string; segments: readonly string[] }[];
}

/**
 * A tenant's anomaly rules, ready to run: the default rules minus `disabled_rules`, then the tenant's own rules,
 * with the threshold and domain allowlist. Build it with `compileAnomalyRules` and reuse it.
 */
export class AnomalyRuleSet {
  /** The active rules, in the order they are checked. */
  readonly rules: readonly AnomalyRule[];
  /** The score at which a session is interrupted. */
  readonly threshold: number;
  /** Lower-cased allowed domains, or `null` when the tenant configured none (the domain rule is then idle). */
  readonly domainAllowlist: readonly string[] | null;
  readonly #compiled: readonly CompiledAnomalyRule[];
  readonly #allowed: ReadonlySet<string>;

  constructor(rules: readonly AnomalyRule[], threshold: number, domainAllowlist: readonly string[] | null) {
    this.rules = Object.freeze([...rules]);
    this.threshold = threshold;
    this.domainAllowlist = domainAllowlist === null ? null : Object.freeze(domainAllowlist.map((d) => d.toLowerCase()));
    this.#allowed = new Set(this.domainAllowlist ?? []);
    this.#compiled = this.rules.map((rule) => ({
      rule,
      tool: compileToolMatcher(rule.tools),
      fields: rule.fields.map((name) => ({ name, segments: splitFieldPath(name) })),
    }));
  }

  /** Runs every rule that applies to `tool` over `input`. At most one hit per rule, in rule order. */
  detect(tool: string, input: unknown): AnomalyHit[] {
    const hits: AnomalyHit[] = [];
    if (typeof input !== "object" || input === null || Array.isArray(input)) return hits;
    for (const compiled of this.#compiled) {
      if (!compiled.tool(tool)) continue;
      for (const field of compiled.fields) {
        const value = readFieldPath(input, field.segments);
        if (typeof value !== "string") continue;
        const detail = this.#check(compiled.rule, field.name, value);
        if (detail !== null) {
          hits.push({ rule: compiled.rule.id, severity: compiled.rule.severity, detail: truncate(detail, MAX_DETAIL) });
          break;
        }
      }
    }
    return hits;
  }

  #check(rule: AnomalyRule, field: string, value: string): string | null {
    switch (rule.kind) {
      case "pattern": {
        const text = value.length > MAX_SCANNED_CHARS ? value.slice(0, MAX_SCANNED_CHARS) : value;
        const match = rule.pattern.exec(text);
        if (!match) return null;
        // A short value is quoted whole (a path, a one-line command); a long one around what matched.
        const shown = value.length <= MAX_EXCERPT ? value : around(value, match.index, match[0].length);
        return `${field}: ${JSON.stringify(excerpt(shown))}`;
      }
      case "max_length":
        return value.length > rule.max_length
          ? `${field} is ${value.length} characters (over ${rule.max_length})`
          : null;
      case "domain_allowlist": {
        if (this.domainAllowlist === null) return null;
        const hosts = field === "query" ? hostsInQuery(value) : [hostOfUrl(value)];
        for (const host of hosts) {
          if (host === null) return `${field}: unparseable URL ${JSON.stringify(excerpt(value))}`;
          if (!domainCovered(host, this.#allowed))
            return `${field}: ${JSON.stringify(excerpt(host))} is not in domain_allowlist`;
        }
        return null;
      }
    }
  }
}

/**
 * Builds a tenant's anomaly rule set from the `anomaly` section of its policy document (or none: the defaults,
 * threshold 0.8, no allowlist). The config is validated; an invalid one throws a `ValidationError` whose issues
 * start with `"options"`.
 */
export function compileAnomalyRules(config?: AnomalyConfig | AnomalyConfigInput | null): AnomalyRuleSet {
  const parsed = parseInput(anomalyConfigSchema, config ?? {}, "options");
  const disabled = new Set(parsed.disabled_rules ?? []);
  const rules: AnomalyRule[] = DEFAULT_ANOMALY_RULES.filter((rule) => !disabled.has(rule.id));
  for (const custom of parsed.rules ?? []) {
    rules.push({
      kind: "pattern",
      id: custom.id,
      description: custom.description,
      severity: custom.severity,
      tools: custom.tools,
      fields: custom.fields,
      pattern: new RegExp(custom.pattern, custom.flags ?? ""),
    });
  }
  return new AnomalyRuleSet(rules, parsed.threshold ?? DEFAULT_ANOMALY_THRESHOLD, parsed.domain_allowlist ?? null);
}

let defaultRuleSet: AnomalyRuleSet | undefined;

/** The default rule set (no tenant config). Built on first use; it is immutable. */
export function defaultAnomalyRules(): AnomalyRuleSet {
  defaultRuleSet ??= compileAnomalyRules();
  return defaultRuleSet;
}

/**
 * Checks one observed tool use. Pure: the same tool, input and rule set always give the same hits. Only string
 * fields are read; anything else in the input is ignored. Each hit's `detail` names the field and quotes what
 * matched (at most 200 characters, never the whole input).
 */
export function detectAnomalies(
  tool: string,
  input: unknown,
  ruleSet: AnomalyRuleSet = defaultAnomalyRules(),
): AnomalyHit[] {
  return ruleSet.detect(tool, input);
}

function hostOfUrl(value: string): string | null {
  const trimmed = value.trim();
  let url: URL | null = null;
  try {
    url = new URL(trimmed);
  } catch {
    try {
      url = new URL(`https://${trimmed}`);
    } catch {
      return null;
    }
  }
  return normaliseHost(url.hostname);
}

const QUERY_HOSTS = /(?:\bsite:|\bhttps?:\/\/)([^\s/?#"'<>]+)/gi;

function hostsInQuery(query: string): (string | null)[] {
  const hosts: (string | null)[] = [];
  for (const match of query.matchAll(QUERY_HOSTS)) {
    hosts.push(normaliseHost((match[1] as string).replace(/:\d+$/, "").replace(/^[^@]*@/, "")));
  }
  return hosts;
}

function normaliseHost(host: string): string | null {
  const lower = host
    .toLowerCase()
    .replace(/\.$/, "")
    .replace(/^\[|\]$/g, "");
  return lower.length === 0 ? null : lower;
}

function around(value: string, index: number, length: number): string {
  const context = Math.max(0, Math.floor((MAX_EXCERPT - length) / 2));
  const start = Math.max(0, index - context);
  const end = Math.min(value.length, index + length + context);
  return `${start > 0 ? "…" : ""}${value.slice(start, end)}${end < value.length ? "…" : ""}`;
}

function excerpt(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being removed
  return truncate(text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim(), MAX_EXCERPT);
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}
