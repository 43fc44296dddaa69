import type { Severity } from "../audit/types.js";
import { SEVERITY_RANK } from "../policy/severity.js";
import { DEFAULT_ANOMALY_THRESHOLD } from "./config.js";
import type { AnomalyHit, AnomalySeverity } from "./types.js";

/**
 * How much one hit raises a session's anomaly score. One critical hit alone reaches the default threshold
 * (0.8); a medium one does not (it takes six); three high hits do. Bumps add up within one tool use.
 */
export const ANOMALY_SEVERITY_BUMPS: Readonly<Record<AnomalySeverity, number>> = Object.freeze({
  low: 0.05,
  medium: 0.15,
  high: 0.3,
  critical: 0.8,
});

/**
 * The session's score after a tool use with these hits: the previous score plus each hit's bump, capped at 1
 * and rounded to 4 decimals (so the stored value is stable). The score never decays within a session. A
 * previous score that is not a finite number counts as 0; one outside [0, 1] is clamped.
 */
export function nextAnomalyScore(previous: number, hits: readonly AnomalyHit[]): number {
  let score = Number.isFinite(previous) ? Math.min(1, Math.max(0, previous)) : 0;
  for (const hit of hits) score += ANOMALY_SEVERITY_BUMPS[hit.severity] ?? 0;
  return Math.min(1, Math.round(score * 10_000) / 10_000);
}

/** Whether a score has reached the threshold (`score >= threshold`). */
export function shouldInterrupt(score: number, threshold: number = DEFAULT_ANOMALY_THRESHOLD): boolean {
  return score >= threshold;
}

/** The highest severity among hits; `none` when there are none (an observed record's severity). */
export function maxHitSeverity(hits: readonly AnomalyHit[]): Severity {
  let max: Severity = "none";
  for (const hit of hits) if (SEVERITY_RANK[hit.severity] > SEVERITY_RANK[max]) max = hit.severity;
  return max;
}

const MAX_NAMED_RULES = 10;

/**
 * The reason recorded with an automatic interrupt, naming the rules that fired, most severe first:
 * `Automatic interrupt: anomaly score 1.00 reached threshold 0.80 (rules: destructive_root_delete (critical),
 * destructive_recursive_delete (high))`. Without a score it names the rules only.
 */
export function interruptReason(
  hits: readonly AnomalyHit[],
  options: { score?: number; threshold?: number } = {},
): string {
  const firstSeen = new Map<string, AnomalySeverity>();
  for (const hit of hits) {
    const known = firstSeen.get(hit.rule);
    if (known === undefined || SEVERITY_RANK[hit.severity] > SEVERITY_RANK[known])
      firstSeen.set(hit.rule, hit.severity);
  }
  const named = [...firstSeen.entries()]
    .map(([rule, severity], order) => ({ rule, severity, order }))
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.order - b.order);
  const listed = named.slice(0, MAX_NAMED_RULES).map(({ rule, severity }) => `${rule} (${severity})`);
  if (named.length > MAX_NAMED_RULES) listed.push(`and ${named.length - MAX_NAMED_RULES} more`);
  const rules = listed.length > 0 ? listed.join(", ") : "none";
  if (options.score === undefined) return `Automatic interrupt: anomaly rules ${rules}`;
  const threshold = options.threshold ?? DEFAULT_ANOMALY_THRESHOLD;
  return `Automatic interrupt: anomaly score ${options.score.toFixed(2)} reached threshold ${threshold.toFixed(2)} (rules: ${rules})`;
}
