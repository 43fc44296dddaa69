import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { type AnyKysely, columnTypes, tableOptions } from "./columns.js";

/** Signed Merkle checkpoints of each tenant's audit chain. */
export function checkpoints(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      // The primary key makes a checkpoint of one tree size unique per tenant; latest and list read it backwards.
      await tableOptions(
        dialect,
        db.schema
          .createTable(T.checkpoints)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("tree_size", c.bigint, (col) => col.notNull())
          .addColumn("root_hash", c.hash, (col) => col.notNull())
          .addColumn("timestamp", c.time, (col) => col.notNull())
          .addColumn("key_id", c.id, (col) => col.notNull())
          .addColumn("signature", c.text, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_checkpoints_pk", ["tenant_id", "tree_size"]),
      ).execute();
    },
    async down(db: AnyKysely) {
      await db.schema.dropTable(T.checkpoints).ifExists().execute();
    },
  };
}
