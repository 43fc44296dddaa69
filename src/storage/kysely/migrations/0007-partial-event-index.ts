import { type Migration, sql } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import type { AnyKysely } from "./columns.js";

/**
 * The per-session uniqueness of upstream event ids (from `0002_sessions`) made partial on SQLite and PostgreSQL:
 * only records with an event id are in it. Governed calls and control-plane records have none, and NULLs never
 * conflict, so uniqueness is unchanged; their appends write one index entry fewer (on SQLite, with 16 sessions in
 * a batch, 16 fewer pages per commit). MySQL has no partial indexes and keeps the full one.
 */
export function partialEventIndex(dialect: KyselyDialectName): Migration {
  const name = "vargate_audit_log_event_unique";
  const rebuild = async (db: AnyKysely, partial: boolean) => {
    if (dialect === "mysql") return;
    await db.schema.dropIndex(name).execute();
    const index = db.schema.createIndex(name).on(T.auditLog).columns(["tenant_id", "session_id", "event_id"]).unique();
    await (partial ? index.where(sql.ref("event_id"), "is not", null) : index).execute();
  };
  return {
    up: (db: AnyKysely) => rebuild(db, true),
    down: (db: AnyKysely) => rebuild(db, false),
  };
}
