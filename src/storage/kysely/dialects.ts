import type { KyselyDialectName } from "./schema.js";

/** The driver's error code (`23505`, `ER_DUP_ENTRY`, `SQLITE_BUSY`, `ECONNREFUSED`), if it has a safe one. */
export function driverErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  // Only short upper-case tokens: anything else might echo SQL or a connection string.
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}

/** A unique or primary-key constraint rejected the write. */
export function isUniqueViolation(dialect: KyselyDialectName, error: unknown): boolean {
  const code = driverErrorCode(error);
  switch (dialect) {
    case "postgres":
      return code === "23505";
    case "mysql":
      return code === "ER_DUP_ENTRY";
    case "sqlite":
      return code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
  }
}

/** Another connection holds SQLite's lock. Waiting and trying again is safe: nothing was written. */
export function isBusy(dialect: KyselyDialectName, error: unknown): boolean {
  if (dialect !== "sqlite") return false;
  const code = driverErrorCode(error) ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

/** The server rolled the transaction back to break a deadlock or a serialisation conflict; retrying is safe. */
export function isDeadlock(dialect: KyselyDialectName, error: unknown): boolean {
  const code = driverErrorCode(error);
  if (dialect === "postgres") return code === "40P01" || code === "40001";
  if (dialect === "mysql") return code === "ER_LOCK_DEADLOCK";
  return false;
}

/** Resolves after `ms` milliseconds without blocking the event loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
