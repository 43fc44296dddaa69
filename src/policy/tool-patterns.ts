import picomatch from "picomatch";

const GLOB_OPTIONS = { strictBrackets: true, dot: true } as const;

/**
 * Compiles tool-name globs (`vargate_send_*`, `mcp__*__write`) into one matcher. An empty list matches nothing.
 */
export function compileToolPatterns(patterns: readonly string[]): (toolName: string) => boolean {
  if (patterns.length === 0) return () => false;
  return picomatch([...patterns], GLOB_OPTIONS);
}

/** Whether `pattern` is a glob that compiles. */
export function isValidToolPattern(pattern: string): boolean {
  try {
    picomatch.makeRe(pattern, GLOB_OPTIONS);
    return true;
  } catch {
    return false;
  }
}
