import type { Insertable, Selectable } from "kysely";
import type { AgentConfigChanges, AgentConfigRecord } from "../../agents/types.js";
import type { ApprovalKind, ApprovalRecord, ApprovalStatus } from "../../approvals/types.js";
import { type CanonicalJsonTexts, canonicalJson, plainCanonicalJson } from "../../audit/chain.js";
import { parseStoredJson, parseStoredViolations } from "../../audit/stored.js";
import type { AuditDecision, AuditEntry, AuditRecord, AuditSource, Severity } from "../../audit/types.js";
import type { CredentialRecord } from "../../credentials/types.js";
import { type JsonObject, type JsonValue, jsonRoundTrip } from "../../json.js";
import type { PolicyRecord } from "../../policy/record.js";
import type { ConsumerState, SessionRecord, SessionStatus } from "../../sessions/types.js";
import type { ApiKeyRecord, TenantChanges, TenantRecord } from "../../tenants/types.js";
import type {
  VargateAgentConfigsTable,
  VargateApiKeysTable,
  VargateApprovalsTable,
  VargateAuditLogTable,
  VargateConsumersTable,
  VargateCredentialsTable,
  VargatePoliciesTable,
  VargateSessionsTable,
  VargateTenantsTable,
} from "./schema.js";

// Conversions between records and rows. Drivers disagree on numbers (pg: int8 as a string), so every numeric
// column goes through Number(); JSON fields are stored as JSON text and parsed back.

export function toNumber(value: number | string | bigint): number {
  return typeof value === "number" ? value : Number(value);
}

export function tenantToRow(tenant: TenantRecord): VargateTenantsTable {
  return {
    tenant_id: tenant.tenant_id,
    name: tenant.name,
    max_concurrent_sessions: tenant.max_concurrent_sessions,
    max_daily_sessions: tenant.max_daily_sessions,
    max_session_hours: tenant.max_session_hours,
    governance_prompt_template: tenant.governance_prompt_template,
    created_at: tenant.created_at,
  };
}

/** The columns a tenant update writes; fields absent from `changes` are left alone. */
export function tenantChangesToRow(changes: TenantChanges): Partial<VargateTenantsTable> {
  const row: Partial<VargateTenantsTable> = {};
  if (changes.name !== undefined) row.name = changes.name;
  if (changes.max_concurrent_sessions !== undefined) row.max_concurrent_sessions = changes.max_concurrent_sessions;
  if (changes.max_daily_sessions !== undefined) row.max_daily_sessions = changes.max_daily_sessions;
  if (changes.max_session_hours !== undefined) row.max_session_hours = changes.max_session_hours;
  if (changes.governance_prompt_template !== undefined) {
    row.governance_prompt_template = changes.governance_prompt_template;
  }
  return row;
}

export function tenantFromRow(row: Selectable<VargateTenantsTable>): TenantRecord {
  return {
    tenant_id: row.tenant_id,
    name: row.name,
    max_concurrent_sessions: toNumber(row.max_concurrent_sessions),
    max_daily_sessions: toNumber(row.max_daily_sessions),
    max_session_hours: toNumber(row.max_session_hours),
    governance_prompt_template: row.governance_prompt_template,
    created_at: row.created_at,
  };
}

export function apiKeyToRow(key: ApiKeyRecord): VargateApiKeysTable {
  return {
    key_id: key.key_id,
    tenant_id: key.tenant_id,
    key_hash: key.key_hash,
    prefix: key.prefix,
    created_at: key.created_at,
    revoked_at: key.revoked_at,
  };
}

export function apiKeyFromRow(row: Selectable<VargateApiKeysTable>): ApiKeyRecord {
  return {
    key_id: row.key_id,
    tenant_id: row.tenant_id,
    key_hash: row.key_hash,
    prefix: row.prefix,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
  };
}

export function agentToRow(config: AgentConfigRecord): VargateAgentConfigsTable {
  return {
    tenant_id: config.tenant_id,
    id: config.id,
    name: config.name,
    anthropic_model: config.anthropic_model,
    system_prompt: config.system_prompt,
    allowed_tools: JSON.stringify(config.allowed_tools),
    require_human_approval: JSON.stringify(config.require_human_approval),
    max_session_hours: config.max_session_hours,
    max_daily_sessions: config.max_daily_sessions,
    max_delegation_depth: config.max_delegation_depth,
    governance_profile: JSON.stringify(config.governance_profile),
    parent_agent_id: config.parent_agent_id,
    anthropic_agent_id: config.anthropic_agent_id,
    version: config.version,
    created_at: config.created_at,
    updated_at: config.updated_at,
  };
}

/** The columns an update writes; fields absent from `changes` are left alone. */
export function agentChangesToRow(changes: AgentConfigChanges): Partial<VargateAgentConfigsTable> {
  const row: Partial<VargateAgentConfigsTable> = {};
  if (changes.name !== undefined) row.name = changes.name;
  if (changes.anthropic_model !== undefined) row.anthropic_model = changes.anthropic_model;
  if (changes.system_prompt !== undefined) row.system_prompt = changes.system_prompt;
  if (changes.allowed_tools !== undefined) row.allowed_tools = JSON.stringify(changes.allowed_tools);
  if (changes.require_human_approval !== undefined) {
    row.require_human_approval = JSON.stringify(changes.require_human_approval);
  }
  if (changes.max_session_hours !== undefined) row.max_session_hours = changes.max_session_hours;
  if (changes.max_daily_sessions !== undefined) row.max_daily_sessions = changes.max_daily_sessions;
  if (changes.max_delegation_depth !== undefined) row.max_delegation_depth = changes.max_delegation_depth;
  if (changes.governance_profile !== undefined) row.governance_profile = JSON.stringify(changes.governance_profile);
  return row;
}

export function agentFromRow(row: Selectable<VargateAgentConfigsTable>): AgentConfigRecord {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    anthropic_model: row.anthropic_model,
    system_prompt: row.system_prompt,
    allowed_tools: JSON.parse(row.allowed_tools) as string[],
    require_human_approval: JSON.parse(row.require_human_approval) as string[],
    max_session_hours: toNumber(row.max_session_hours),
    max_daily_sessions: toNumber(row.max_daily_sessions),
    max_delegation_depth: toNumber(row.max_delegation_depth),
    governance_profile: JSON.parse(row.governance_profile) as JsonObject,
    parent_agent_id: row.parent_agent_id,
    anthropic_agent_id: row.anthropic_agent_id,
    version: toNumber(row.version),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

// Lone UTF-16 surrogates cannot be stored as UTF-8 text (drivers replace them with U+FFFD), so they are
// replaced before sealing: the hash then covers exactly what is stored. `String.prototype.toWellFormed` (ES2024,
// in Node 20) does exactly that, three times faster than a regular expression; this project's ES2023 lib lacks
// its type.
const toWellFormed = (String.prototype as unknown as { toWellFormed(this: string): string }).toWellFormed;

export function wellFormed<T extends string | null>(value: T): T {
  return (typeof value === "string" ? toWellFormed.call(value) : value) as T;
}

/**
 * The entry exactly as it will read back from the database, with the canonical texts of its JSON fields. Strings
 * are made well-formed. A JSON field that a JSON round trip would change (a `toJSON`, an `undefined`, -0, a class
 * instance) is passed through JSON text first; plain JSON data is kept as it is, not copied, so the sealed record
 * shares it with the entry. Sealing this (not the caller's object) means the stored record verifies.
 */
export function storableEntry(entry: AuditEntry): { entry: AuditEntry; texts: CanonicalJsonTexts } {
  const violations = storableJson(entry.violations);
  const input = storableJson(entry.input);
  return {
    entry: {
      action_id: wellFormed(entry.action_id),
      session_id: wellFormed(entry.session_id),
      agent_id: wellFormed(entry.agent_id),
      event_id: wellFormed(entry.event_id),
      actor: wellFormed(entry.actor),
      source: entry.source,
      tool: wellFormed(entry.tool),
      method: wellFormed(entry.method),
      decision: entry.decision,
      severity: entry.severity,
      violations: violations.value as string[],
      input: input.value,
      policy_version: entry.policy_version,
      requested_at: wellFormed(entry.requested_at),
    },
    texts: { input: input.text, violations: violations.text },
  };
}

/** A JSON field as it will read back, and its canonical text: serialized once when it is plain JSON data. */
function storableJson(value: unknown): { value: JsonValue; text: string } {
  const text = plainCanonicalJson(value);
  if (text !== undefined) return { value: value as JsonValue, text };
  const copy = jsonRoundTrip(value);
  return { value: copy, text: canonicalJson(copy) };
}

/** The row of a sealed record; `texts` are its canonical JSON texts when sealing computed them already. */
export function auditToRow(record: AuditRecord, texts?: CanonicalJsonTexts): Insertable<VargateAuditLogTable> {
  return {
    tenant_id: record.tenant_id,
    seq: record.seq,
    action_id: record.action_id,
    session_id: record.session_id,
    agent_id: record.agent_id,
    event_id: record.event_id,
    actor: record.actor,
    source: record.source,
    tool: record.tool,
    method: record.method,
    decision: record.decision,
    severity: record.severity,
    // RFC 8785 canonical text: exactly the bytes the record hash covers, so reads can hash a record without parsing
    // it (see storedRecordCanonicalJson). Rows written before hold JSON.stringify's text and verify the slow way.
    violations: texts?.violations ?? canonicalJson(record.violations),
    input: texts?.input ?? canonicalJson(record.input),
    policy_version: record.policy_version,
    requested_at: record.requested_at,
    prev_hash: record.prev_hash,
    record_hash: record.record_hash,
    result: resultToText(record.result),
  };
}

/** The stored text of an audit result: JSON text, or `NULL` when unset (a JSON `null` result reads back unset). */
export function resultToText(result: JsonValue | null): string | null {
  return result === null ? null : (JSON.stringify(result) ?? null);
}

export function auditFromRow(row: Selectable<VargateAuditLogTable>): AuditRecord {
  return {
    action_id: row.action_id,
    session_id: row.session_id,
    agent_id: row.agent_id,
    event_id: row.event_id,
    actor: row.actor,
    source: row.source as AuditSource,
    tool: row.tool,
    method: row.method,
    decision: row.decision as AuditDecision,
    severity: row.severity as Severity,
    violations: parseStoredViolations(row.violations) as string[],
    input: parseStoredJson(row.input),
    policy_version: row.policy_version === null ? null : toNumber(row.policy_version),
    requested_at: row.requested_at,
    tenant_id: row.tenant_id,
    seq: toNumber(row.seq),
    prev_hash: row.prev_hash,
    record_hash: row.record_hash,
    result: row.result === null ? null : parseStoredJson(row.result),
  };
}

export function sessionToRow(session: SessionRecord): VargateSessionsTable {
  return {
    id: session.id,
    tenant_id: session.tenant_id,
    agent_id: session.agent_id,
    agent_version: session.agent_version,
    status: session.status,
    anthropic_session_id: session.anthropic_session_id,
    environment_id: session.environment_id,
    upstream_vault_id: session.upstream_vault_id,
    system_prompt_hash: session.system_prompt_hash,
    mcp_token_hash: session.mcp_token_hash,
    metadata: JSON.stringify(session.metadata),
    max_session_hours: session.max_session_hours,
    created_at: session.created_at,
    ended_at: session.ended_at,
    end_reason: session.end_reason,
  };
}

export function sessionFromRow(row: Selectable<VargateSessionsTable>): SessionRecord {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    agent_id: row.agent_id,
    agent_version: toNumber(row.agent_version),
    status: row.status as SessionStatus,
    anthropic_session_id: row.anthropic_session_id,
    environment_id: row.environment_id,
    upstream_vault_id: row.upstream_vault_id,
    system_prompt_hash: row.system_prompt_hash,
    mcp_token_hash: row.mcp_token_hash,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    max_session_hours: toNumber(row.max_session_hours),
    created_at: row.created_at,
    ended_at: row.ended_at,
    end_reason: row.end_reason,
  };
}

export function consumerFromRow(row: Selectable<VargateConsumersTable>): ConsumerState {
  return {
    session_id: row.session_id,
    tenant_id: row.tenant_id,
    cursor: row.event_cursor,
    events_processed: toNumber(row.events_processed),
    owner: row.owner,
    lease_expires_at: row.lease_expires_at,
    status: row.status as ConsumerState["status"],
    connected_since: row.connected_since,
  };
}

export function policyToRow(record: PolicyRecord): VargatePoliciesTable {
  return {
    tenant_id: record.tenant_id,
    version: record.version,
    document: JSON.stringify(record.document),
    created_at: record.created_at,
    created_by: record.created_by,
  };
}

export function policyFromRow(row: Selectable<VargatePoliciesTable>): PolicyRecord {
  return {
    tenant_id: row.tenant_id,
    version: toNumber(row.version),
    document: JSON.parse(row.document) as JsonObject,
    created_at: row.created_at,
    created_by: row.created_by,
  };
}

export function approvalToRow(approval: ApprovalRecord): VargateApprovalsTable {
  return {
    tenant_id: approval.tenant_id,
    action_id: approval.action_id,
    session_id: approval.session_id,
    agent_id: approval.agent_id,
    kind: approval.kind,
    tool: approval.tool,
    // `?? "null"`: JSON.stringify returns undefined for a value JSON cannot hold; store it as JSON null.
    input: JSON.stringify(approval.input) ?? "null",
    input_digest: approval.input_digest,
    upstream_event_id: approval.upstream_event_id,
    status: approval.status,
    requested_at: approval.requested_at,
    expires_at: approval.expires_at,
    decided_at: approval.decided_at,
    decided_by: approval.decided_by,
    note: approval.note,
    execution: approval.execution,
    execution_claimed_at: null,
    result: resultToText(approval.result),
  };
}

export function approvalFromRow(row: Selectable<VargateApprovalsTable>): ApprovalRecord {
  return {
    action_id: row.action_id,
    tenant_id: row.tenant_id,
    session_id: row.session_id,
    agent_id: row.agent_id,
    kind: row.kind as ApprovalKind,
    tool: row.tool,
    input: JSON.parse(row.input) as JsonValue,
    input_digest: row.input_digest,
    upstream_event_id: row.upstream_event_id,
    status: row.status as ApprovalStatus,
    requested_at: row.requested_at,
    expires_at: row.expires_at,
    decided_at: row.decided_at,
    decided_by: row.decided_by,
    note: row.note,
    execution: row.execution as ApprovalRecord["execution"],
    result: row.result === null ? null : (JSON.parse(row.result) as JsonValue),
  };
}

export function credentialToRow(record: CredentialRecord): VargateCredentialsTable {
  return {
    tenant_id: record.tenant_id,
    name: record.name,
    ciphertext: record.ciphertext,
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}

export function credentialFromRow(row: Selectable<VargateCredentialsTable>): CredentialRecord {
  return {
    tenant_id: row.tenant_id,
    name: row.name,
    ciphertext: row.ciphertext,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
