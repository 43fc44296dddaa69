import { randomBytes, randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { AgentConfigRecord } from "../../agents/types.js";
import type { ApprovalRecord } from "../../approvals/types.js";
import { verifyChain } from "../../audit/chain.js";
import type { AuditEntry, AuditRecord } from "../../audit/types.js";
import type { CredentialRecord } from "../../credentials/types.js";
import { isVargateError } from "../../errors.js";
import type { PolicyRecord } from "../../policy/record.js";
import type { SessionLimits, SessionRecord } from "../../sessions/types.js";
import type { VargateStorage } from "../../storage/port.js";
import type { ApiKeyRecord, TenantRecord } from "../../tenants/types.js";

// Shared by the conformance groups: record factories (every field can be overridden; ids are random so tests
// never collide on a shared storage) and helpers.

/** What every group gets from `describeStorageConformance`. */
export interface SuiteContext {
  /** The implementation's name, for describe titles. */
  name: string;
  /** Concurrent operations in the race tests that scale. */
  concurrency: number;
  /** The storage of the running test. */
  storage(): VargateStorage;
  /** Creates a tenant (with its first key and first audit record) in the running test's storage. */
  newTenant(fields?: Partial<TenantRecord>): Promise<{
    tenant: TenantRecord;
    key: ApiKeyRecord;
    audit: AuditEntry;
    id: string;
  }>;
}

export const uid = (prefix: string) => `${prefix}-${randomBytes(5).toString("hex")}`;
export const at = (second: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, second)).toISOString();
export const UNICODE = "Ünïcødé 🚀 \u2028\u2029 ключ 値 עברית e\u0301";

export const entry = (fields: Partial<AuditEntry> = {}): AuditEntry => ({
  ...{ action_id: randomUUID(), session_id: null, agent_id: null, event_id: null, actor: null },
  ...{ source: "control_plane", tool: "control_plane", method: "test", decision: "allow", severity: "none" },
  ...{ violations: [], input: {}, policy_version: null, requested_at: at(0) },
  ...fields,
});

export const tenantRecord = (fields: Partial<TenantRecord> = {}): TenantRecord => ({
  ...{ tenant_id: uid("t"), name: "Tenant", created_at: at(0) },
  ...{ max_concurrent_sessions: 10, max_daily_sessions: 50, max_session_hours: 8, governance_prompt_template: null },
  ...fields,
});

export const keyRecord = (tenantId: string, fields: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  ...{ key_id: uid("key"), tenant_id: tenantId, key_hash: randomBytes(32).toString("hex") },
  ...{ prefix: `vg-${randomBytes(4).toString("hex")}`, created_at: at(0), revoked_at: null },
  ...fields,
});

export const agentRecord = (tenantId: string, fields: Partial<AgentConfigRecord> = {}): AgentConfigRecord => ({
  ...{ id: uid("agent"), tenant_id: tenantId, name: "Agent", anthropic_model: "claude-sonnet-4-6" },
  ...{ system_prompt: null, allowed_tools: [], require_human_approval: [], governance_profile: {} },
  ...{ max_session_hours: 8, max_daily_sessions: 50, max_delegation_depth: 1, parent_agent_id: null },
  ...{ anthropic_agent_id: null, version: 1, created_at: at(0), updated_at: at(0) },
  ...fields,
});

/** A `pending` session as `reserve` receives it. */
export const sessionRecord = (tenantId: string, fields: Partial<SessionRecord> = {}): SessionRecord => ({
  ...{ id: `vs-${randomBytes(8).toString("hex")}`, tenant_id: tenantId, agent_id: "agent-000000000000" },
  ...{ agent_version: 1, status: "pending", anthropic_session_id: null, environment_id: null },
  ...{ upstream_vault_id: null, system_prompt_hash: randomBytes(32).toString("hex") },
  ...{ mcp_token_hash: randomBytes(32).toString("hex"), metadata: {}, max_session_hours: 8 },
  ...{ created_at: at(0), ended_at: null, end_reason: null },
  ...fields,
});

/** Version 1 of a tenant's policy document, unless overridden. */
export const policyRecord = (tenantId: string, fields: Partial<PolicyRecord> = {}): PolicyRecord => ({
  ...{ tenant_id: tenantId, version: 1, created_at: at(0), created_by: "key-admin" },
  ...{ document: { rules: [{ id: "deny-large", tool: "payments_*", effect: "deny", severity: "high" }] } },
  ...fields,
});

/** A `pending` governed call waiting for approval. */
export const approvalRecord = (tenantId: string, fields: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  ...{ action_id: randomUUID(), tenant_id: tenantId, session_id: `vs-${randomBytes(8).toString("hex")}` },
  ...{ agent_id: "agent-000000000000", kind: "governed_call", tool: "send_payment", input: { amount: 5000 } },
  ...{ input_digest: randomBytes(32).toString("hex"), upstream_event_id: null, status: "pending" },
  ...{ requested_at: at(0), expires_at: at(3600), decided_at: null, decided_by: null, note: null },
  ...{ execution: "none", result: null },
  ...fields,
});

/**
 * Opens `approval` the ways vargate does, returning its record: a governed call's with its `requires_human`
 * record `queuedBy` (`audit.decideAndAppend`), a built-in tool's with the observed record of its tool use
 * (`audit.appendEvents`).
 */
export async function openApproval(
  storage: VargateStorage,
  approval: ApprovalRecord,
  queuedBy?: AuditEntry,
): Promise<AuditRecord> {
  const tenantId = approval.tenant_id;
  if (queuedBy) {
    const counters = { session_id: approval.session_id, agent_id: approval.agent_id, since: at(0) };
    return (await storage.audit.decideAndAppend(tenantId, { counters, decide: () => ({ entry: queuedBy, approval }) }))
      .record;
  }
  const eventId = approval.upstream_event_id ?? `sevt_${approval.action_id}`;
  const use = entry({
    ...{ action_id: approval.action_id, session_id: approval.session_id, agent_id: approval.agent_id },
    ...{ event_id: eventId, source: "mcp_observed", tool: approval.tool, method: "agent.tool_use" },
    ...{ decision: "observed", input: approval.input },
  });
  const [stored] = await storage.audit.appendEvents(tenantId, [use], { approvals: new Map([[eventId, approval]]) });
  if (!stored) throw new Error(`openApproval: event ${eventId} was stored before`);
  return stored;
}

/** A stored credential: ciphertext only. */
export const credentialRecord = (tenantId: string, fields: Partial<CredentialRecord> = {}): CredentialRecord => ({
  ...{ tenant_id: tenantId, name: uid("cred"), ciphertext: randomBytes(48).toString("base64") },
  ...{ created_at: at(0), updated_at: at(0) },
  ...fields,
});

/** Limits that nothing in a test reaches unless it overrides them. */
export const limits = (fields: Partial<SessionLimits> = {}): SessionLimits => ({
  ...{ maxConcurrent: 1000, maxDaily: 1000, agentMaxDaily: 1000, windowStart: at(0) },
  ...fields,
});

export const upstreamIds = (fields: Partial<SessionRecord> = {}) => ({
  anthropic_session_id: `sesn_${randomBytes(6).toString("hex")}`,
  environment_id: `env_${randomBytes(6).toString("hex")}`,
  upstream_vault_id: `vlt_${randomBytes(6).toString("hex")}`,
  ...fields,
});

export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the operation to fail");
}

/** Asserts `promise` rejects with `SESSION_LIMIT_EXCEEDED` and exactly `message`. */
export async function expectLimit(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await failure(promise);
  expect(isVargateError(error, "SESSION_LIMIT_EXCEEDED")).toBe(true);
  expect((error as Error).message).toBe(message);
}

export async function records(storage: VargateStorage, tenantId: string): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for (;;) {
    const page = await storage.audit.scan(tenantId, { afterSeq: all.at(-1)?.seq ?? 0, limit: 100 });
    all.push(...page);
    if (page.length < 100) return all;
  }
}

export async function verify(storage: VargateStorage, tenantId: string) {
  return verifyChain(tenantId, await records(storage, tenantId), await storage.audit.head(tenantId));
}
