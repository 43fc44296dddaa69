import { VargateError } from "../errors.js";
import type { SessionLimits } from "./types.js";

/**
 * Throws `SESSION_LIMIT_EXCEEDED` naming the first limit reached and the count, e.g.
 * `Max concurrent sessions exceeded (10/10)`. Storage calls it under the tenant's lock.
 */
export function assertWithinLimits(
  counts: { concurrent: number; daily: number; agentDaily: number },
  limits: SessionLimits,
): void {
  const checks = [
    ["Max concurrent sessions", counts.concurrent, limits.maxConcurrent],
    ["Max daily sessions", counts.daily, limits.maxDaily],
    ["Agent daily session limit", counts.agentDaily, limits.agentMaxDaily],
  ] as const;
  for (const [label, count, limit] of checks) {
    if (count >= limit) throw new VargateError("SESSION_LIMIT_EXCEEDED", `${label} exceeded (${count}/${limit})`);
  }
}
