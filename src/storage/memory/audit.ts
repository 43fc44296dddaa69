import type { ApprovalRecord } from "../../approvals/types.js";
import { GENESIS_HASH } from "../../audit/chain.js";
import { storedRecordOf, withHashedText } from "../../audit/stored.js";
import {
  type AuditRecord,
  type ScannedAuditRecord,
  STORED_AUDIT_FIELDS,
  type StoredAuditField,
} from "../../audit/types.js";
import { StorageError } from "../../errors.js";
import type { SessionRecordCount } from "../../sessions/types.js";
import type { AuditStore } from "../port.js";
import type { MemoryState } from "./state.js";

/** The audit chains; `appendNow` seals under the synchronous per-tenant lock, in memory. */
export function memoryAuditStore(state: MemoryState): AuditStore {
  const { chains, approvals, approvalKey, open, eventKey, appendNow } = state;
  /** Throws unless `approval` can be stored as a new approval of `tenantId`. */
  const checkNewApproval = (tenantId: string, approval: ApprovalRecord) => {
    if (approval.tenant_id !== tenantId) throw new StorageError("memory", "The approval is another tenant's");
    if (approvals.has(approvalKey(tenantId, approval.action_id))) {
      throw new StorageError("memory", `Duplicate approval ${approval.action_id}`);
    }
  };
  return {
    async append(tenantId, entries) {
      open();
      return structuredClone(appendNow(tenantId, entries));
    },
    async head(tenantId) {
      open();
      return { ...(chains.get(tenantId)?.head ?? { seq: 0, hash: GENESIS_HASH }) };
    },
    async scan(tenantId, { afterSeq, limit }) {
      open();
      const records = chains.get(tenantId)?.records ?? [];
      // seq is 1-based and dense, so the record after `afterSeq` sits at index `afterSeq`.
      return structuredClone(records.slice(afterSeq, afterSeq + limit));
    },
    async scanStored(tenantId, { afterSeq, throughSeq, limit, sessionId, source, fields = STORED_AUDIT_FIELDS }) {
      open();
      const records = chains.get(tenantId)?.records ?? [];
      const hashedText = (fields as readonly StoredAuditField[]).includes("hashed_text");
      const out = [];
      // seq is 1-based and dense, so the record after `afterSeq` sits at index `afterSeq`.
      const end = Math.min(records.length, throughSeq ?? records.length);
      for (let i = Math.max(0, afterSeq); i < end && out.length < limit; i++) {
        const record = records[i] as AuditRecord;
        if (sessionId !== undefined && record.session_id !== sessionId) continue;
        if (source !== undefined && record.source !== source) continue;
        // The JSON fields as the databases store them, canonical JSON text; every other field is a string, a
        // number or null, so nothing is shared with the stored record.
        const whole: Partial<ScannedAuditRecord> = hashedText
          ? withHashedText(storedRecordOf(record))
          : storedRecordOf(record);
        const stored: Record<string, unknown> = { seq: record.seq };
        for (const field of fields) stored[field] = whole[field];
        out.push(stored as Pick<ScannedAuditRecord, (typeof fields)[number] | "seq">);
      }
      return out;
    },
    async listBySession(tenantId, sessionId, { limit }) {
      open();
      const records = chains.get(tenantId)?.records ?? [];
      return structuredClone(records.filter((record) => record.session_id === sessionId).slice(0, limit));
    },
    async get(tenantId, actionId) {
      open();
      const records = chains.get(tenantId)?.records ?? [];
      return structuredClone(records.find((record) => record.action_id === actionId) ?? null);
    },
    async appendEvents(tenantId, entries, { results, approvals: opening } = {}) {
      open();
      const stored = new Set(
        (chains.get(tenantId)?.records ?? [])
          .filter((record) => record.event_id !== null)
          .map((record) => eventKey(record.session_id, record.event_id)),
      );
      const fresh = entries.filter((entry) => {
        if (entry.event_id === null) return true;
        const key = eventKey(entry.session_id, entry.event_id);
        if (stored.has(key)) return false;
        stored.add(key);
        return true;
      });
      // Checked before anything is stored: the records and their approvals are stored together or not at all.
      const opened = fresh.flatMap((entry) => {
        const approval = entry.event_id === null ? undefined : opening?.get(entry.event_id);
        return approval ? [approval] : [];
      });
      for (const approval of opened) checkNewApproval(tenantId, approval);
      const appended = appendNow(tenantId, fresh);
      for (const approval of opened)
        approvals.set(approvalKey(tenantId, approval.action_id), structuredClone(approval));
      for (const record of appended) {
        const result = record.event_id === null ? undefined : results?.get(record.event_id);
        // A JSON null result reads back as unset, as from the databases.
        if (result !== undefined) record.result = structuredClone(result);
      }
      return structuredClone(appended);
    },
    async setResult(tenantId, sessionId, eventId, result) {
      open();
      const record = chains
        .get(tenantId)
        ?.records.find((candidate) => candidate.session_id === sessionId && candidate.event_id === eventId);
      if (!record) return false;
      record.result = structuredClone(result);
      return true;
    },
    async countBySession(tenantId, sessionIds) {
      open();
      const wanted = new Set(sessionIds);
      const counts = new Map<string, SessionRecordCount>();
      for (const record of chains.get(tenantId)?.records ?? []) {
        if (record.session_id === null || !wanted.has(record.session_id)) continue;
        const key = `${record.session_id}\u0000${record.source}\u0000${record.decision}`;
        const flagged = record.severity === "none" ? 0 : 1;
        const count = counts.get(key);
        if (count) {
          count.count += 1;
          count.flagged += flagged;
        } else {
          counts.set(key, {
            session_id: record.session_id,
            source: record.source,
            decision: record.decision,
            count: 1,
            flagged,
          });
        }
      }
      return [...counts.values()];
    },
    async countByTool(tenantId, filter) {
      open();
      return countByTool(chains.get(tenantId)?.records ?? [], filter);
    },
    async setActionResult(tenantId, actionId, result) {
      open();
      const record = chains.get(tenantId)?.records.find((candidate) => candidate.action_id === actionId);
      if (!record) return false;
      record.result = structuredClone(result);
      return true;
    },
    async decideAndAppend(tenantId, call) {
      open();
      // Synchronous from the counts to the append: nothing else runs in between.
      const records = chains.get(tenantId)?.records ?? [];
      const { session_id, agent_id, since } = call.counters;
      const { entry, approval } = call.decide({
        session: countByTool(records, { source: "mcp_governed", session_id }),
        agent_since: countByTool(records, { source: "mcp_governed", agent_id, since }),
      });
      if (approval) checkNewApproval(tenantId, approval);
      const [record] = appendNow(tenantId, [entry]);
      if (approval) approvals.set(approvalKey(tenantId, approval.action_id), structuredClone(approval));
      return structuredClone({ record: record as AuditRecord, approval });
    },
  };
}

/** `audit.countByTool` over a tenant's records. */
function countByTool(records: readonly AuditRecord[], filter: Parameters<AuditStore["countByTool"]>[1]) {
  // A Map, then own properties: a tool called `__proto__` must stay a count.
  const counts = new Map<string, number>();
  for (const record of records) {
    if (record.source !== filter.source) continue;
    if (filter.session_id !== undefined && record.session_id !== filter.session_id) continue;
    if (filter.agent_id !== undefined && record.agent_id !== filter.agent_id) continue;
    if (filter.since !== undefined && record.requested_at < filter.since) continue;
    counts.set(record.tool, (counts.get(record.tool) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}
