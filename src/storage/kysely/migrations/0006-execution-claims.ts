import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { type AnyKysely, columnTypes } from "./columns.js";

/**
 * When an approved call's execution was claimed, so that one whose runner stopped before it finished can be found
 * (`approvals.listStaleExecutions`). Executions claimed before this migration count from their approval.
 */
export function executionClaims(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      await db.schema.alterTable(T.approvals).addColumn("execution_claimed_at", c.time).execute();
      await db
        .updateTable(T.approvals)
        .set((eb) => ({ execution_claimed_at: eb.ref("decided_at") }))
        .where("execution", "=", "claimed")
        .execute();
      await db.schema
        .createIndex("vargate_approvals_claims_idx")
        .on(T.approvals)
        .columns(["execution", "execution_claimed_at"])
        .execute();
    },
    async down(db: AnyKysely) {
      const drop = db.schema.dropIndex("vargate_approvals_claims_idx");
      await (dialect === "mysql" ? drop.on(T.approvals) : drop).execute();
      await db.schema.alterTable(T.approvals).dropColumn("execution_claimed_at").execute();
    },
  };
}
