import type { ColumnType } from "kysely";

/** The SQL engines `kyselyStorage()` speaks. Always given explicitly, never sniffed from a connection. */
export type KyselyDialectName = "sqlite" | "postgres" | "mysql";

/** Every table vargate creates; all carry the `vargate_` prefix so they can live in an application's database. */
export const VARGATE_TABLES = {
  tenants: "vargate_tenants",
  apiKeys: "vargate_api_keys",
  agentConfigs: "vargate_agent_configs",
  auditLog: "vargate_audit_log",
  auditHeads: "vargate_audit_heads",
  auditSessions: "vargate_audit_sessions",
  sessions: "vargate_sessions",
  consumers: "vargate_consumers",
  settings: "vargate_settings",
  policies: "vargate_policies",
  approvals: "vargate_approvals",
  credentials: "vargate_credentials",
  checkpoints: "vargate_checkpoints",
  toolCounts: "vargate_tool_counts",
} as const;

/** Kysely's migrator bookkeeping tables, renamed so they never collide with the application's own migrations. */
export const VARGATE_MIGRATION_TABLE = "vargate_migrations";
export const VARGATE_MIGRATION_LOCK_TABLE = "vargate_migrations_lock";

// PostgreSQL returns int8 as a string to avoid precision loss; the storage converts it back to a number.
type BigIntColumn = ColumnType<number | string | bigint, number, number>;

/** `vargate_tenants`: one row per tenant. Timestamps are the exact RFC 3339 strings vargate was given. */
export interface VargateTenantsTable {
  tenant_id: string;
  name: string;
  max_concurrent_sessions: number;
  max_daily_sessions: number;
  max_session_hours: number;
  /**
   * Replaces the default governance instructions of the tenant's sessions; `NULL` for the default. Added by
   * `0003_governance`.
   */
  governance_prompt_template: string | null;
  created_at: string;
}

/** `vargate_api_keys`: hashes of API keys, never the keys. */
export interface VargateApiKeysTable {
  key_id: string;
  tenant_id: string;
  key_hash: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

/** `vargate_agent_configs`: the JSON fields are stored as JSON text and parsed on read. */
export interface VargateAgentConfigsTable {
  tenant_id: string;
  id: string;
  name: string;
  anthropic_model: string;
  system_prompt: string | null;
  /** JSON text of a string array. */
  allowed_tools: string;
  /** JSON text of a string array. */
  require_human_approval: string;
  max_session_hours: number;
  max_daily_sessions: number;
  max_delegation_depth: number;
  /** JSON text of an object. */
  governance_profile: string;
  parent_agent_id: string | null;
  /** The Anthropic agent mirroring the config; set once (set-if-null). Added by `0002_sessions`. */
  anthropic_agent_id: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** `vargate_audit_log`: sealed audit records, one chain per tenant, keyed by `(tenant_id, seq)`. */
export interface VargateAuditLogTable {
  tenant_id: string;
  seq: BigIntColumn;
  action_id: string;
  session_id: string | null;
  agent_id: string | null;
  event_id: string | null;
  actor: string | null;
  source: string;
  tool: string;
  method: string;
  decision: string;
  severity: string;
  /** JSON text of a string array. */
  violations: string;
  /** JSON text of the evaluation input. */
  input: string;
  policy_version: number | null;
  requested_at: string;
  prev_hash: string;
  record_hash: string;
  /**
   * JSON text of the result filled in after sealing (`audit.setResult`), outside the record hash; `NULL` until
   * set. Added by `0002_sessions`.
   */
  result: ColumnType<string | null, string | null | undefined, string | null>;
}

/** `vargate_audit_heads`: each tenant's chain head, the row appends lock. */
export interface VargateAuditHeadsTable {
  tenant_id: string;
  seq: BigIntColumn;
  hash: string;
  /**
   * The last seq whose record is in `vargate_audit_sessions`; the records after it are found by scanning the
   * log's newest records. Added by `0009_session_index_in_batches`.
   */
  session_indexed_seq: ColumnType<number | string | bigint, number | undefined, number>;
}

/**
 * `vargate_audit_sessions`: which records belong to which session, written in batches (see
 * `session-records.ts`). Added by `0009_session_index_in_batches`, replacing an index of the audit log.
 */
export interface VargateAuditSessionsTable {
  tenant_id: string;
  session_id: string;
  seq: BigIntColumn;
}

/** `vargate_sessions`: governed sessions; `status` moves `pending` → `active` → an ended status. */
export interface VargateSessionsTable {
  id: string;
  tenant_id: string;
  agent_id: string;
  agent_version: number;
  status: string;
  anthropic_session_id: string | null;
  environment_id: string | null;
  upstream_vault_id: string | null;
  system_prompt_hash: string;
  /** SHA-256 hex of the session's MCP bearer token, never the token. */
  mcp_token_hash: string;
  /** JSON text of a string-to-string object. */
  metadata: string;
  max_session_hours: number;
  created_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

/** `vargate_consumers`: one stream consumer per session, its lease and its persisted cursor. */
export interface VargateConsumersTable {
  session_id: string;
  tenant_id: string;
  /** `ConsumerState.cursor` (`cursor` is a reserved word in MySQL). */
  event_cursor: string | null;
  events_processed: BigIntColumn;
  owner: string | null;
  lease_expires_at: string | null;
  status: string;
  connected_since: string | null;
}

/** `vargate_settings`: small governor-wide values, written once (insert-if-absent). */
export interface VargateSettingsTable {
  name: string;
  value: string;
}

/** `vargate_policies`: every version of each tenant's policy document, keyed by `(tenant_id, version)`. */
export interface VargatePoliciesTable {
  tenant_id: string;
  version: number;
  /** JSON text of the policy document (an object). */
  document: string;
  created_at: string;
  created_by: string | null;
}

/** `vargate_approvals`: calls waiting for (or decided by) a human, keyed by `(tenant_id, action_id)`. */
export interface VargateApprovalsTable {
  tenant_id: string;
  action_id: string;
  session_id: string;
  agent_id: string;
  /** `governed_call` or `builtin_tool`. */
  kind: string;
  tool: string;
  /** JSON text of the call's input. */
  input: string;
  /** SHA-256 hex of the canonical `{tool, input}`. */
  input_digest: string;
  upstream_event_id: string | null;
  /** `pending` → `approved`, `rejected` or `expired`. */
  status: string;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
  /** `none` → `claimed` (exactly one caller) → `done`. */
  execution: string;
  /** When the execution was claimed; `NULL` before. Added by `0006_execution_claims`. */
  execution_claimed_at: string | null;
  /** JSON text of the execution's result; `NULL` until it is done. */
  result: string | null;
}

/** `vargate_credentials`: each tenant's credentials, as ciphertext only, keyed by `(tenant_id, name)`. */
export interface VargateCredentialsTable {
  tenant_id: string;
  name: string;
  ciphertext: string;
  created_at: string;
  updated_at: string;
}

/**
 * `vargate_checkpoints`: signed Merkle checkpoints of each tenant's audit chain, keyed by `(tenant_id, tree_size)`.
 * Added by `0004_checkpoints`.
 */
export interface VargateCheckpointsTable {
  tenant_id: string;
  tree_size: BigIntColumn;
  /** Lowercase hex of the RFC 9162 root hash. */
  root_hash: string;
  timestamp: string;
  key_id: string;
  /** Base64 Ed25519 signature. */
  signature: string;
}

/** The Kysely database type of vargate's tables, for applications that query them directly (read-only!). */
/**
 * `vargate_tool_counts`: running per-tool counts of governed records, per session (bucket `''`) and per agent and
 * UTC hour, written with each append so policy counters need not scan the log (see `tool-counts.ts`). Added by
 * `0005_tool_counts`.
 */
export interface VargateToolCountsTable {
  /** sha256 of the natural key `[tenant_id, scope, scope_id, tool, bucket]`. */
  counter_key: string;
  tenant_id: string;
  /** `session` or `agent`. */
  scope: string;
  scope_id: string;
  tool: string;
  bucket: string;
  count: BigIntColumn;
}

export interface VargateDatabase {
  vargate_tenants: VargateTenantsTable;
  vargate_api_keys: VargateApiKeysTable;
  vargate_agent_configs: VargateAgentConfigsTable;
  vargate_audit_log: VargateAuditLogTable;
  vargate_audit_heads: VargateAuditHeadsTable;
  vargate_audit_sessions: VargateAuditSessionsTable;
  vargate_sessions: VargateSessionsTable;
  vargate_consumers: VargateConsumersTable;
  vargate_settings: VargateSettingsTable;
  vargate_policies: VargatePoliciesTable;
  vargate_approvals: VargateApprovalsTable;
  vargate_credentials: VargateCredentialsTable;
  vargate_checkpoints: VargateCheckpointsTable;
  vargate_tool_counts: VargateToolCountsTable;
}
