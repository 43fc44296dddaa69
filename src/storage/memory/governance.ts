import type { ApprovalStore, CredentialRecordStore, PolicyStore } from "../port.js";
import { compare, type MemoryState } from "./state.js";

/** Policy versions, in memory. */
export function memoryPoliciesStore(state: MemoryState): PolicyStore {
  const { policies, open, appendNow } = state;
  return {
    async current(tenantId) {
      open();
      return structuredClone(policies.get(tenantId)?.at(-1) ?? null);
    },
    async currentVersion(tenantId) {
      open();
      return policies.get(tenantId)?.at(-1)?.version ?? null;
    },
    async get(tenantId, version) {
      open();
      return structuredClone(policies.get(tenantId)?.find((record) => record.version === version) ?? null);
    },
    async put(record, audit) {
      open();
      const versions = policies.get(record.tenant_id) ?? [];
      // Compare-and-set: versions are dense from 1, so the current version is the count.
      if (record.version !== versions.length + 1) return false;
      appendNow(record.tenant_id, [audit]);
      versions.push(structuredClone(record));
      policies.set(record.tenant_id, versions);
      return true;
    },
  };
}

/** The approval queue, in memory. */
export function memoryApprovalsStore(state: MemoryState): ApprovalStore {
  const { approvals, open, approvalKey, appendNow } = state;
  // When each execution was claimed, by approval key (the databases' `execution_claimed_at`).
  const claims = new Map<string, string>();
  return {
    async get(tenantId, actionId) {
      open();
      return structuredClone(approvals.get(approvalKey(tenantId, actionId)) ?? null);
    },
    async list(tenantId, filter) {
      open();
      return [...approvals.values()]
        .filter(
          (approval) =>
            approval.tenant_id === tenantId &&
            (filter.status === undefined || approval.status === filter.status) &&
            (filter.session_id === undefined || approval.session_id === filter.session_id),
        )
        .sort((a, b) => compare(b.requested_at, a.requested_at) || compare(b.action_id, a.action_id))
        .slice(0, filter.limit)
        .map((approval) => structuredClone(approval));
    },
    async decide(tenantId, actionId, decision, audit) {
      open();
      const stored = approvals.get(approvalKey(tenantId, actionId));
      if (stored?.status !== "pending") return null;
      appendNow(tenantId, [audit]);
      Object.assign(stored, {
        status: decision.status,
        decided_at: decision.decided_at,
        decided_by: decision.decided_by,
        note: decision.note,
      });
      return structuredClone(stored);
    },
    async claimExecution(tenantId, actionId, claimedAt) {
      open();
      const key = approvalKey(tenantId, actionId);
      const stored = approvals.get(key);
      if (stored?.status !== "approved" || stored.execution !== "none") return false;
      stored.execution = "claimed";
      claims.set(key, claimedAt);
      return true;
    },
    async completeExecution(tenantId, actionId, result) {
      open();
      const stored = approvals.get(approvalKey(tenantId, actionId));
      // Only a claimed execution completes, once: a finished result is never overwritten.
      if (stored?.execution !== "claimed") return;
      stored.execution = "done";
      stored.result = structuredClone(result);
    },
    async listStaleExecutions(claimedBefore) {
      open();
      const stale = [...approvals.entries()].flatMap(([key, approval]) => {
        const claimedAt = claims.get(key);
        return approval.execution === "claimed" && claimedAt !== undefined && claimedAt <= claimedBefore
          ? [{ approval, claimedAt }]
          : [];
      });
      return stale
        .sort(
          (a, b) =>
            compare(a.claimedAt, b.claimedAt) ||
            compare(a.approval.tenant_id, b.approval.tenant_id) ||
            compare(a.approval.action_id, b.approval.action_id),
        )
        .map(({ approval }) => structuredClone(approval));
    },
    async listExpired(now) {
      open();
      return [...approvals.values()]
        .filter((approval) => approval.status === "pending" && approval.expires_at <= now)
        .sort(
          (a, b) =>
            compare(a.expires_at, b.expires_at) ||
            compare(a.tenant_id, b.tenant_id) ||
            compare(a.action_id, b.action_id),
        )
        .map((approval) => structuredClone(approval));
    },
  };
}

/** Credential ciphertexts, in memory. */
export function memoryCredentialsStore(state: MemoryState): CredentialRecordStore {
  const { credentials, open, credentialKey, appendNow } = state;
  return {
    async put(record, audit) {
      open();
      appendNow(record.tenant_id, [audit]);
      credentials.set(credentialKey(record.tenant_id, record.name), structuredClone(record));
    },
    async get(tenantId, name) {
      open();
      return structuredClone(credentials.get(credentialKey(tenantId, name)) ?? null);
    },
    async list(tenantId) {
      open();
      return [...credentials.values()]
        .filter((record) => record.tenant_id === tenantId)
        .map((record) => record.name)
        .sort(compare);
    },
    async delete(tenantId, name, audit) {
      open();
      const key = credentialKey(tenantId, name);
      if (!credentials.has(key)) return false;
      appendNow(tenantId, [audit]);
      credentials.delete(key);
      return true;
    },
  };
}
