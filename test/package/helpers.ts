import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const DIST = join(ROOT, "dist");

export interface PackageJson {
  name: string;
  version: string;
  main: string;
  module: string;
  types: string;
  bin: Record<string, string>;
  files: string[];
  exports: Record<string, string | { import: Conditions; require: Conditions }>;
}

export interface Conditions {
  types: string;
  default: string;
}

export const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;

/** Fails the whole file early with a clear message when the build is missing. */
export function assertBuilt(): void {
  if (!existsSync(join(DIST, "index.js"))) throw new Error("dist/ is missing: run `npm run build` first");
}

export interface NodeResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a script in a fresh Node process from the package root, where the package can import itself by name,
 * exactly as a consumer's Node would resolve it (no vitest or vite resolution involved).
 */
export function runNode(args: string[], options: { input?: string } = {}): NodeResult {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const result = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env,
    input: options.input,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs an ES module given as text; returns its stdout parsed as JSON. */
export function runEsm(source: string): unknown {
  return parseResult(runNode(["--input-type=module"], { input: source }));
}

/** Runs a CommonJS script given as text; returns its stdout parsed as JSON. */
export function runCjs(source: string): unknown {
  return parseResult(runNode(["--input-type=commonjs"], { input: source }));
}

function parseResult(result: NodeResult): unknown {
  if (result.status !== 0) throw new Error(`node exited with ${result.status}:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}
