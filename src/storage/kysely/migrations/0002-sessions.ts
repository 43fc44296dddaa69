import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { type AnyKysely, columnTypes, tableOptions } from "./columns.js";

/**
 * Governed sessions: session slots, stream consumers and settings; the upstream agent of each config; the
 * result column of audit records (outside the hash) and the per-session uniqueness of upstream event ids.
 */
export function sessions(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = (name: string) => db.schema.createTable(name);

      await db.schema.alterTable(T.agentConfigs).addColumn("anthropic_agent_id", c.id).execute();
      await db.schema.alterTable(T.auditLog).addColumn("result", c.large).execute();
      // Re-reading upstream history stores nothing twice. NULL event ids (records not derived from an event)
      // and NULL session ids never conflict: all three engines treat NULLs in a unique index as distinct.
      await db.schema
        .createIndex("vargate_audit_log_event_unique")
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "event_id"])
        .unique()
        .execute();
      // For countBySession; dropped by 0008.
      await db.schema
        .createIndex("vargate_audit_log_counts_idx")
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "source", "decision"])
        .execute();

      await tableOptions(
        dialect,
        create(T.sessions)
          .addColumn("id", c.id, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("agent_id", c.id, (col) => col.notNull())
          .addColumn("agent_version", c.int, (col) => col.notNull())
          .addColumn("status", c.label, (col) => col.notNull())
          .addColumn("anthropic_session_id", c.id)
          .addColumn("environment_id", c.id)
          .addColumn("upstream_vault_id", c.id)
          .addColumn("system_prompt_hash", c.hash, (col) => col.notNull())
          .addColumn("mcp_token_hash", c.id, (col) => col.notNull())
          .addColumn("metadata", c.large, (col) => col.notNull())
          .addColumn("max_session_hours", c.double, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("ended_at", c.time)
          .addColumn("end_reason", c.text)
          .addUniqueConstraint("vargate_sessions_token_unique", ["mcp_token_hash"]),
      ).execute();
      const sessionIndexes: [string, string[]][] = [
        // Listing, and the daily-window count of `reserve`.
        ["vargate_sessions_tenant_created_idx", ["tenant_id", "created_at"]],
        // The concurrent count of `reserve`, and listing by status.
        ["vargate_sessions_tenant_status_idx", ["tenant_id", "status"]],
        // The agent's daily count, and listing by agent.
        ["vargate_sessions_tenant_agent_idx", ["tenant_id", "agent_id", "created_at"]],
        // listActive, across tenants.
        ["vargate_sessions_status_idx", ["status", "created_at"]],
      ];
      for (const [name, columns] of sessionIndexes) {
        await db.schema.createIndex(name).on(T.sessions).columns(columns).execute();
      }

      await tableOptions(
        dialect,
        create(T.consumers)
          .addColumn("session_id", c.id, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          // Not `cursor`, a reserved word in MySQL.
          .addColumn("event_cursor", c.id)
          .addColumn("events_processed", c.bigint, (col) => col.notNull())
          .addColumn("owner", c.id)
          .addColumn("lease_expires_at", c.time)
          .addColumn("status", c.label, (col) => col.notNull())
          .addColumn("connected_since", c.time),
      ).execute();
      await db.schema.createIndex("vargate_consumers_tenant_idx").on(T.consumers).columns(["tenant_id"]).execute();

      await tableOptions(
        dialect,
        create(T.settings)
          .addColumn("name", c.id, (col) => col.primaryKey())
          .addColumn("value", c.large, (col) => col.notNull()),
      ).execute();
    },
    async down(db: AnyKysely) {
      for (const table of [T.settings, T.consumers, T.sessions]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
      // Indexes first: SQLite cannot drop a column an index uses.
      for (const index of ["vargate_audit_log_counts_idx", "vargate_audit_log_event_unique"]) {
        const drop = db.schema.dropIndex(index);
        await (dialect === "mysql" ? drop.on(T.auditLog) : drop).execute();
      }
      await db.schema.alterTable(T.auditLog).dropColumn("result").execute();
      await db.schema.alterTable(T.agentConfigs).dropColumn("anthropic_agent_id").execute();
    },
  };
}
