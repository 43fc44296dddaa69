/** Longest regular-expression source a policy or anomaly rule may carry. */
export const MAX_REGEX_LENGTH = 512;

/** Flags a rule may use: `i`, `m`, `s`, `u`, each at most once. `g` and `y` are refused (they make `test` stateful). */
export const REGEX_FLAGS_PATTERN = /^(?!.*(.).*\1)[imsu]*$/;

/**
 * Checks a rule's regular expression. Returns `null` when it is usable, otherwise a message saying why not:
 * it does not compile, or it nests an unbounded quantifier inside another (`(a+)+`, `(\w*)*`), the usual shape
 * of catastrophic backtracking. The nesting check is a heuristic: it refuses some safe patterns (`(\d+\.)+`,
 * rewrite as `[\d.]+`) and cannot prove the rest linear, so keep tenant patterns simple.
 */
export function regexProblem(source: string, flags = ""): string | null {
  if (source.length > MAX_REGEX_LENGTH) return `Must be at most ${MAX_REGEX_LENGTH} characters`;
  if (!REGEX_FLAGS_PATTERN.test(flags)) return "Flags may only be i, m, s and u, each at most once";
  try {
    new RegExp(source, flags);
  } catch (error) {
    return error instanceof Error ? error.message : "Invalid regular expression";
  }
  if (hasNestedUnboundedQuantifier(source)) {
    return "Nested unbounded quantifiers such as (a+)+ can take exponential time; rewrite the pattern without them";
  }
  return null;
}

function hasNestedUnboundedQuantifier(source: string): boolean {
  // For each open group: whether it contains an unbounded quantifier so far.
  const open: boolean[] = [];
  let inClass = false;
  let closedGroupHadUnbounded = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === "\\") {
      i++;
      closedGroupHadUnbounded = false;
      continue;
    }
    if (inClass) {
      if (ch === "]") inClass = false;
      continue;
    }
    if (ch === "[") {
      inClass = true;
      closedGroupHadUnbounded = false;
      continue;
    }
    if (ch === "(") {
      open.push(false);
      closedGroupHadUnbounded = false;
      continue;
    }
    if (ch === ")") {
      const inner = open.pop() ?? false;
      if (inner && open.length > 0) open[open.length - 1] = true;
      closedGroupHadUnbounded = inner;
      continue;
    }
    const unbounded = ch === "*" || ch === "+" || (ch === "{" && /^\{\d*,\}/.test(source.slice(i, i + 24)));
    if (unbounded) {
      if (closedGroupHadUnbounded) return true;
      if (open.length > 0) open[open.length - 1] = true;
    }
    // A lazy or possessive marker right after a quantifier does not end the quantified atom.
    if (!(ch === "?" && closedGroupHadUnbounded)) closedGroupHadUnbounded = false;
  }
  return false;
}
