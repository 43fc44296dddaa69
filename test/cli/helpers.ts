import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CliIo } from "../../src/cli/run.js";
import type { Logger } from "../../src/logger.js";

/** Budget for tests that start CLI processes (each compiles TypeScript through tsx); generous for loaded CI machines. */
export const SPAWN_TIMEOUT_MS = 120_000;

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI_SOURCE = join(ROOT, "src/cli/main.ts");
// Absolute, so spawned CLIs can run from a temp directory that has no node_modules.
const TSX_LOADER = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

/** A temp directory per test file; `cleanup()` removes it. */
export function tempDir(prefix = "vargate-cli-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
  logs: { level: string; message: string; data?: Record<string, unknown> }[];
  /** Resolves with the first stdout text matching `pattern`. */
  waitForStdout: (pattern: RegExp) => Promise<RegExpMatchArray>;
}

/** An in-memory CliIo: captures stdout, stderr and log entries. */
export function captureIo(env: Record<string, string | undefined> = {}, signal?: AbortSignal): CapturedIo {
  let out = "";
  let err = "";
  const waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  const logs: CapturedIo["logs"] = [];
  const log =
    (level: string) =>
    (message: string, data?: Record<string, unknown>): void => {
      logs.push({ level, message, ...(data && { data }) });
    };
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  return {
    env,
    ...(signal && { signal }),
    logger,
    logs,
    stdout(text) {
      out += text;
      for (const waiter of [...waiters]) {
        const match = out.match(waiter.pattern);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match);
        }
      }
    },
    stderr(text) {
      err += text;
    },
    out: () => out,
    err: () => err,
    waitForStdout: (pattern) =>
      new Promise((resolve) => {
        const match = out.match(pattern);
        if (match) resolve(match);
        else waiters.push({ pattern, resolve });
      }),
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment for spawned CLIs: the parent's, minus anything that would change what the CLI does. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    "PORT",
    "VARGATE_DATABASE_URL",
    "VARGATE_JWT_SECRET",
    "VARGATE_PUBLIC_URL",
    "VARGATE_ENVIRONMENT_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "NODE_OPTIONS",
  ]) {
    delete env[name];
  }
  return { ...env, ...extra };
}

/** Runs `vargate <args>` as a real process (`node --import tsx src/cli/main.ts`) and waits for it to exit. */
export function runCli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function spawnCli(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  return spawn(process.execPath, ["--import", TSX_LOADER, CLI_SOURCE, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}
