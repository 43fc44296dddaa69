/**
 * The time source for every rule that depends on time. Inject a fixed or manual clock in tests instead of sleeping.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** RFC 3339 UTC with milliseconds, the one timestamp format vargate stores and returns. */
export function timestamp(clock: Clock): string {
  return clock.now().toISOString();
}
