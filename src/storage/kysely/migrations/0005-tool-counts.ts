import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { addCounts, COUNTED_SOURCE, countRows } from "../tool-counts.js";
import { type AnyKysely, columnTypes, tableOptions } from "./columns.js";

/**
 * Running per-tool counts of governed records (policy counters read them instead of scanning the log), filled from
 * the records already stored.
 */
export function toolCounts(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      await tableOptions(
        dialect,
        db.schema
          .createTable(T.toolCounts)
          .addColumn("counter_key", c.hash, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("scope", c.label, (col) => col.notNull())
          .addColumn("scope_id", c.id, (col) => col.notNull())
          .addColumn("tool", c.text, (col) => col.notNull())
          .addColumn("bucket", c.label, (col) => col.notNull())
          .addColumn("count", c.bigint, (col) => col.notNull()),
      ).execute();
      await db.schema
        .createIndex("vargate_tool_counts_scope_idx")
        .on(T.toolCounts)
        .columns(["tenant_id", "scope", "scope_id", "bucket"])
        .execute();
      // Backfill, a page of the log at a time (by primary key), so a large log does not sit in memory.
      let after: { tenant_id: string; seq: number } | undefined;
      for (;;) {
        let query = db
          .selectFrom(T.auditLog)
          .select(["tenant_id", "seq", "source", "session_id", "agent_id", "tool", "requested_at"])
          .where("source", "=", COUNTED_SOURCE)
          .orderBy("tenant_id")
          .orderBy("seq")
          .limit(5000);
        if (after) {
          const { tenant_id, seq } = after;
          query = query.where((eb) =>
            eb.or([eb("tenant_id", ">", tenant_id), eb.and([eb("tenant_id", "=", tenant_id), eb("seq", ">", seq)])]),
          );
        }
        const records = await query.execute();
        if (records.length === 0) break;
        await addCounts(db, dialect, countRows(records));
        const last = records[records.length - 1] as { tenant_id: string; seq: number | string };
        after = { tenant_id: last.tenant_id, seq: Number(last.seq) };
      }
    },
    async down(db: AnyKysely) {
      await db.schema.dropTable(T.toolCounts).ifExists().execute();
    },
  };
}
