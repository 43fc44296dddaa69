/** A missing value, as distinct from JSON `null`. */
export const MISSING: unique symbol = Symbol("vargate.missing");
export type Missing = typeof MISSING;

/** Dot-path syntax: segments of 1+ characters other than `.`, separated by single dots (`recipient.email`, `items.0.amount`). */
export const FIELD_PATH_PATTERN = /^[^.]+(?:\.[^.]+)*$/;
export const MAX_FIELD_PATH_LENGTH = 256;
export const MAX_FIELD_PATH_SEGMENTS = 16;

/** Splits a dot path into its segments. The path must already satisfy `FIELD_PATH_PATTERN`. */
export function splitFieldPath(path: string): readonly string[] {
  return path.split(".");
}

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,8})$/;

/**
 * Reads a value at a dot path. Only own properties are read (a field named `constructor` or `__proto__` is an
 * ordinary key, never something inherited), and a numeric segment indexes an array. Returns `MISSING` when any
 * step does not exist.
 */
export function readFieldPath(root: unknown, segments: readonly string[]): unknown {
  let current: unknown = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (typeof current !== "object" || current === null) return MISSING;
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(segment)) return MISSING;
      const index = Number(segment);
      if (index >= current.length) return MISSING;
      current = current[index];
    } else {
      if (!Object.hasOwn(current, segment)) return MISSING;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current === undefined ? MISSING : current;
}
