import { compileToolPatterns } from "./tool-patterns.js";

const GLOB_CHARS = /[*?[\]{}()!+@\\]/;

/**
 * Compiles tool-name globs into a matcher, like `compileToolPatterns`, with a fast path: a list of plain names
 * (no glob characters) becomes a set lookup. Both give the same answers; the set is just cheaper per call.
 */
export function compileToolMatcher(patterns: readonly string[]): (toolName: string) => boolean {
  if (patterns.length === 0) return () => false;
  if (patterns.every((pattern) => !GLOB_CHARS.test(pattern))) {
    if (patterns.length === 1) {
      const only = patterns[0];
      return (toolName) => toolName === only;
    }
    const names = new Set(patterns);
    return (toolName) => names.has(toolName);
  }
  return compileToolPatterns(patterns);
}
