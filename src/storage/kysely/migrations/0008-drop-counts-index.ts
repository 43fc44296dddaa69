import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import type { AnyKysely } from "./columns.js";

/**
 * Drops the index of `(tenant_id, session_id, source, decision)`: since `countBySession` also sums `severity`, it
 * reads table rows anyway and the session index serves it as well, while every append paid for one more index
 * entry (on SQLite, a page per session of the batch in every commit).
 */
export function dropCountsIndex(dialect: KyselyDialectName): Migration {
  const name = "vargate_audit_log_counts_idx";
  return {
    async up(db: AnyKysely) {
      const drop = db.schema.dropIndex(name);
      await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
    },
    async down(db: AnyKysely) {
      await db.schema
        .createIndex(name)
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "source", "decision"])
        .execute();
    },
  };
}
