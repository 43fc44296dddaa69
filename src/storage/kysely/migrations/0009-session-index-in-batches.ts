import { type Migration, sql } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { type AnyKysely, columnTypes, tableOptions } from "./columns.js";

const SESSION_INDEX = "vargate_audit_log_session_idx";

/**
 * Replaces the audit log's `(tenant_id, session_id, seq)` index with `vargate_audit_sessions`, which appends fill
 * in batches (see `session-records.ts`). An index entry goes into its session's part of the index, so every
 * append wrote one index page per session in the batch: on SQLite, whose WAL writes whole pages, 19 of the 36
 * pages of a 16-session commit. The table is filled from the records already stored.
 */
export function sessionIndexInBatches(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = db.schema
        .createTable(T.auditSessions)
        .addColumn("tenant_id", c.id, (col) => col.notNull())
        .addColumn("session_id", c.id, (col) => col.notNull())
        .addColumn("seq", c.bigint, (col) => col.notNull())
        .addPrimaryKeyConstraint("vargate_audit_sessions_pk", ["tenant_id", "session_id", "seq"]);
      // Rows are their key: SQLite stores them in the key's B-tree alone.
      await tableOptions(dialect, dialect === "sqlite" ? create.modifyEnd(sql`without rowid`) : create).execute();
      await db.schema
        .alterTable(T.auditHeads)
        .addColumn("session_indexed_seq", c.bigint, (col) => col.notNull().defaultTo(0))
        .execute();
      await db
        .insertInto(T.auditSessions)
        .columns(["tenant_id", "session_id", "seq"])
        .expression(
          db.selectFrom(T.auditLog).select(["tenant_id", "session_id", "seq"]).where("session_id", "is not", null),
        )
        .execute();
      await db
        .updateTable(T.auditHeads)
        .set({ session_indexed_seq: sql.ref("seq") })
        .execute();
      const drop = db.schema.dropIndex(SESSION_INDEX);
      await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
    },
    async down(db: AnyKysely) {
      await db.schema.createIndex(SESSION_INDEX).on(T.auditLog).columns(["tenant_id", "session_id", "seq"]).execute();
      await db.schema.alterTable(T.auditHeads).dropColumn("session_indexed_seq").execute();
      await db.schema.dropTable(T.auditSessions).ifExists().execute();
    },
  };
}
