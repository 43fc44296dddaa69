import type { Logger } from "../logger.js";

/** Everything a CLI run touches outside itself, so `run()` can be tested in-process. */
export interface CliIo {
  /** Standard output: results only (JSON, the listening line, help). */
  stdout(text: string): void;
  /** Standard error: messages for people. */
  stderr(text: string): void;
  /** Environment variables (`PORT`, `VARGATE_DATABASE_URL`, `VARGATE_JWT_SECRET`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Aborting it stops a running `vargate serve` cleanly; main.ts aborts it on SIGINT and SIGTERM. */
  signal?: AbortSignal;
  /** Where `vargate serve` logs. @default consoleLogger (JSON lines on stderr) */
  logger?: Logger;
  /** Reads all of standard input (secrets are read from here, never from arguments). */
  readStdin?: () => Promise<string>;
}

/** Exit codes: 0 success, 1 failure (broken chain, duplicate tenant, database down), 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure already explained in words; `run()` prints the message and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Bad arguments: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

/** Replaces every occurrence of the given secrets with `***`. Secrets shorter than 4 characters are ignored. */
export type Redact = (text: string) => string;

export function redactor(secrets: readonly (string | undefined)[]): Redact {
  const values = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 4))];
  // Longest first, so a secret that contains another is replaced whole.
  values.sort((a, b) => b.length - a.length);
  return (text) => values.reduce((out, secret) => out.split(secret).join("***"), text);
}

/** A logger that redacts secrets from the message and every string value before passing the entry on. */
export function redactingLogger(base: Logger, redact: Redact): Logger {
  const clean = (data?: Record<string, unknown>) =>
    data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? redact(v) : v]));
  return {
    debug: (message, data) => base.debug(redact(message), clean(data)),
    info: (message, data) => base.info(redact(message), clean(data)),
    warn: (message, data) => base.warn(redact(message), clean(data)),
    error: (message, data) => base.error(redact(message), clean(data)),
  };
}

/** Prints a value as indented JSON on one stdout write. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
