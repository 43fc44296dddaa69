import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { type AnyKysely, columnTypes, tableOptions } from "./columns.js";

/**
 * Governance: each tenant's governance prompt template, versioned policy documents, the approval queue and
 * credential ciphertexts; an index for per-agent record counts (policy counters).
 */
export function governance(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = (name: string) => db.schema.createTable(name);

      await db.schema.alterTable(T.tenants).addColumn("governance_prompt_template", c.large).execute();
      // Per-agent policy counters (`audit.countByTool` with `agent_id` and `since`); per-session ones use the
      // session index of 0002.
      await db.schema
        .createIndex("vargate_audit_log_agent_idx")
        .on(T.auditLog)
        .columns(["tenant_id", "agent_id", "requested_at"])
        .execute();

      // Versions are never changed once stored. The primary key makes two racing inserts of one version conflict.
      await tableOptions(
        dialect,
        create(T.policies)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("version", c.int, (col) => col.notNull())
          .addColumn("document", c.large, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("created_by", c.text)
          .addPrimaryKeyConstraint("vargate_policies_pk", ["tenant_id", "version"]),
      ).execute();

      await tableOptions(
        dialect,
        create(T.approvals)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("action_id", c.id, (col) => col.notNull())
          .addColumn("session_id", c.id, (col) => col.notNull())
          .addColumn("agent_id", c.id, (col) => col.notNull())
          .addColumn("kind", c.label, (col) => col.notNull())
          .addColumn("tool", c.text, (col) => col.notNull())
          .addColumn("input", c.large, (col) => col.notNull())
          .addColumn("input_digest", c.hash, (col) => col.notNull())
          .addColumn("upstream_event_id", c.id)
          .addColumn("status", c.label, (col) => col.notNull())
          .addColumn("requested_at", c.time, (col) => col.notNull())
          .addColumn("expires_at", c.time, (col) => col.notNull())
          .addColumn("decided_at", c.time)
          .addColumn("decided_by", c.text)
          .addColumn("note", c.large)
          .addColumn("execution", c.label, (col) => col.notNull())
          .addColumn("result", c.large)
          .addPrimaryKeyConstraint("vargate_approvals_pk", ["tenant_id", "action_id"]),
      ).execute();
      const approvalIndexes: [string, string[]][] = [
        // Listing a tenant's queue, by status, newest first.
        ["vargate_approvals_tenant_status_idx", ["tenant_id", "status", "requested_at"]],
        // listExpired, across tenants.
        ["vargate_approvals_expiry_idx", ["status", "expires_at"]],
      ];
      for (const [name, columns] of approvalIndexes) {
        await db.schema.createIndex(name).on(T.approvals).columns(columns).execute();
      }

      await tableOptions(
        dialect,
        create(T.credentials)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("name", c.id, (col) => col.notNull())
          .addColumn("ciphertext", c.large, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("updated_at", c.time, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_credentials_pk", ["tenant_id", "name"]),
      ).execute();
    },
    async down(db: AnyKysely) {
      for (const table of [T.credentials, T.approvals, T.policies]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
      const drop = db.schema.dropIndex("vargate_audit_log_agent_idx");
      await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
      await db.schema.alterTable(T.tenants).dropColumn("governance_prompt_template").execute();
    },
  };
}
