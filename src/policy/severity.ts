import type { Severity } from "../audit/types.js";

/** Every severity, lowest first. */
export const SEVERITIES = ["none", "low", "medium", "high", "critical"] as const satisfies readonly Severity[];

/** Rank of each severity: none 0 < low 1 < medium 2 < high 3 < critical 4. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { none: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

export function isSeverity(value: unknown): value is Severity {
  return typeof value === "string" && Object.hasOwn(SEVERITY_RANK, value);
}
