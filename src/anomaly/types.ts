import type { Severity } from "../audit/types.js";

/** Anomaly rules are never `none`. */
export type AnomalySeverity = Exclude<Severity, "none">;

interface AnomalyRuleBase {
  /** Stable id, reported in hits and named by `disabled_rules`. */
  id: string;
  description: string;
  severity: AnomalySeverity;
  /** Tool-name globs the rule applies to. */
  tools: readonly string[];
  /** Fields of the tool input the rule reads: top-level names or dot paths. Only string values are checked. */
  fields: readonly string[];
}

/** Hits when the regular expression matches a field's string value. */
export interface PatternAnomalyRule extends AnomalyRuleBase {
  kind: "pattern";
  /** Never carries the `g` or `y` flag (they make `test` stateful). */
  pattern: RegExp;
}

/** Hits when a field's string value is longer than `max_length` characters (very large writes). */
export interface LengthAnomalyRule extends AnomalyRuleBase {
  kind: "max_length";
  max_length: number;
}

/**
 * Hits when a field names a host outside the tenant's `domain_allowlist`: a URL (`url`), or a search query's
 * `site:` operands and URLs (`query`). It does nothing when no allowlist is configured.
 */
export interface DomainAnomalyRule extends AnomalyRuleBase {
  kind: "domain_allowlist";
}

export type AnomalyRule = PatternAnomalyRule | LengthAnomalyRule | DomainAnomalyRule;

/** One rule that fired on one tool use. */
export interface AnomalyHit {
  rule: string;
  severity: AnomalySeverity;
  /** What matched, with the field it was found in; at most 200 characters, never the whole input. */
  detail: string;
}
