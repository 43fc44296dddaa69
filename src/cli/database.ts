import { existsSync } from "node:fs";
import type { VargateStorage } from "../storage/port.js";
import { CliError, type CliIo } from "./io.js";

/** The SQLite file used when neither `--database` nor `VARGATE_DATABASE_URL` is given. */
export const DEFAULT_DATABASE = "./vargate.db";

export interface DatabaseOption {
  database?: string;
}

/** `--database`, else `VARGATE_DATABASE_URL`, else `./vargate.db`. */
export function resolveDatabaseUrl(options: DatabaseOption, io: CliIo): string {
  const value = options.database ?? io.env.VARGATE_DATABASE_URL;
  return value === undefined || value === "" ? DEFAULT_DATABASE : value;
}

/** The password inside a database URL, raw and decoded, so output can redact it. */
export function databaseSecrets(url: string): string[] {
  const password = parseUrl(url)?.password ?? "";
  return password === "" ? [] : [password, safeDecode(password)];
}

/** The database URL with any password replaced by `***`, for messages and logs. */
export function displayDatabase(url: string): string {
  const parsed = parseUrl(url);
  if (!parsed || parsed.password === "") return url;
  parsed.password = "***";
  return parsed.toString();
}

/**
 * Opens the storage and brings its schema up to date (migrations are idempotent).
 *
 * With `mustExist`, a SQLite file that does not exist is an error rather than a new empty database: an audit
 * check against a mistyped path must not report an empty, valid log.
 */
export async function openStorage(url: string, options: { mustExist?: boolean } = {}): Promise<VargateStorage> {
  // Loaded on demand: `--help` and `--version` work without the optional kysely and driver peers installed.
  const { kyselyStorageFromUrl, parseDatabaseUrl } = await import("../storage/kysely/index.js");
  const target = parseDatabaseUrl(url);
  if (options.mustExist && target.dialect === "sqlite" && target.filename !== ":memory:") {
    if (!existsSync(target.filename)) throw new CliError(`database file not found: ${target.filename}`);
  }
  const storage = kyselyStorageFromUrl(url);
  try {
    await storage.migrate();
  } catch (error) {
    await storage.close().catch(() => {});
    throw error;
  }
  return storage;
}

function parseUrl(url: string): URL | null {
  // Only server URLs carry credentials; a SQLite path is never parsed as a URL.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return null;
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
