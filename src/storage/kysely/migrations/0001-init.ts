import type { Migration } from "kysely";
import { type KyselyDialectName, VARGATE_TABLES as T } from "../schema.js";
import { type AnyKysely, columnTypes, tableOptions } from "./columns.js";

/** The core tables: tenants, their API keys, agent configs, the audit log and its chain heads. */
export function init(dialect: KyselyDialectName): Migration {
  const c = columnTypes(dialect);
  return {
    async up(db: AnyKysely) {
      const create = (name: string) => db.schema.createTable(name);

      await tableOptions(
        dialect,
        create(T.tenants)
          .addColumn("tenant_id", c.id, (col) => col.primaryKey())
          .addColumn("name", c.text, (col) => col.notNull())
          .addColumn("max_concurrent_sessions", c.int, (col) => col.notNull())
          .addColumn("max_daily_sessions", c.int, (col) => col.notNull())
          .addColumn("max_session_hours", c.double, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull()),
      ).execute();

      await tableOptions(
        dialect,
        create(T.apiKeys)
          .addColumn("key_id", c.id, (col) => col.primaryKey())
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("key_hash", c.id, (col) => col.notNull())
          .addColumn("prefix", c.label, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("revoked_at", c.time)
          .addUniqueConstraint("vargate_api_keys_hash_unique", ["key_hash"]),
      ).execute();
      await db.schema
        .createIndex("vargate_api_keys_tenant_idx")
        .on(T.apiKeys)
        .columns(["tenant_id", "created_at"])
        .execute();

      await tableOptions(
        dialect,
        create(T.agentConfigs)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("id", c.id, (col) => col.notNull())
          .addColumn("name", c.text, (col) => col.notNull())
          .addColumn("anthropic_model", c.id, (col) => col.notNull())
          .addColumn("system_prompt", c.large)
          .addColumn("allowed_tools", c.large, (col) => col.notNull())
          .addColumn("require_human_approval", c.large, (col) => col.notNull())
          .addColumn("max_session_hours", c.double, (col) => col.notNull())
          .addColumn("max_daily_sessions", c.int, (col) => col.notNull())
          .addColumn("max_delegation_depth", c.int, (col) => col.notNull())
          .addColumn("governance_profile", c.large, (col) => col.notNull())
          .addColumn("parent_agent_id", c.id)
          .addColumn("version", c.int, (col) => col.notNull())
          .addColumn("created_at", c.time, (col) => col.notNull())
          .addColumn("updated_at", c.time, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_agent_configs_pk", ["tenant_id", "id"]),
      ).execute();
      await db.schema
        .createIndex("vargate_agent_configs_tenant_idx")
        .on(T.agentConfigs)
        .columns(["tenant_id", "created_at"])
        .execute();

      await tableOptions(
        dialect,
        create(T.auditLog)
          .addColumn("tenant_id", c.id, (col) => col.notNull())
          .addColumn("seq", c.bigint, (col) => col.notNull())
          .addColumn("action_id", c.id, (col) => col.notNull())
          .addColumn("session_id", c.id)
          .addColumn("agent_id", c.id)
          .addColumn("event_id", c.id)
          .addColumn("actor", c.text)
          .addColumn("source", c.label, (col) => col.notNull())
          .addColumn("tool", c.text, (col) => col.notNull())
          .addColumn("method", c.text, (col) => col.notNull())
          .addColumn("decision", c.label, (col) => col.notNull())
          .addColumn("severity", c.label, (col) => col.notNull())
          .addColumn("violations", c.large, (col) => col.notNull())
          .addColumn("input", c.large, (col) => col.notNull())
          .addColumn("policy_version", c.int)
          .addColumn("requested_at", c.time, (col) => col.notNull())
          .addColumn("prev_hash", c.hash, (col) => col.notNull())
          .addColumn("record_hash", c.hash, (col) => col.notNull())
          .addPrimaryKeyConstraint("vargate_audit_log_pk", ["tenant_id", "seq"])
          .addUniqueConstraint("vargate_audit_log_action_unique", ["tenant_id", "action_id"]),
      ).execute();
      await db.schema
        .createIndex("vargate_audit_log_session_idx")
        .on(T.auditLog)
        .columns(["tenant_id", "session_id", "seq"])
        .execute();

      await tableOptions(
        dialect,
        create(T.auditHeads)
          .addColumn("tenant_id", c.id, (col) => col.primaryKey())
          .addColumn("seq", c.bigint, (col) => col.notNull())
          .addColumn("hash", c.hash, (col) => col.notNull()),
      ).execute();
    },
    async down(db: AnyKysely) {
      for (const table of [T.auditHeads, T.auditLog, T.agentConfigs, T.apiKeys, T.tenants]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}
