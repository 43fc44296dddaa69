import { VargateError } from "../../errors.js";
import { assertWithinLimits } from "../../sessions/limits.js";
import type { ConsumerState } from "../../sessions/types.js";
import type { ConsumerStore, SessionStore, SettingStore } from "../port.js";
import { compare, type MemoryState } from "./state.js";

/** Sessions and their atomic slot reservations, in memory. */
export function memorySessionsStore(state: MemoryState): SessionStore {
  const { tenants, sessions, open, sessionOf, appendNow } = state;
  return {
    async reserve(session, limits) {
      open();
      if (!tenants.has(session.tenant_id)) throw new VargateError("TENANT_NOT_FOUND");
      const mine = [...sessions.values()].filter((other) => other.tenant_id === session.tenant_id);
      const concurrent = mine.filter((other) => other.status === "pending" || other.status === "active").length;
      const daily = mine.filter((other) => other.created_at >= limits.windowStart);
      const agentDaily = daily.filter((other) => other.agent_id === session.agent_id).length;
      assertWithinLimits({ concurrent, daily: daily.length, agentDaily }, limits);
      sessions.set(session.id, structuredClone(session));
    },
    async release(tenantId, sessionId) {
      open();
      if (sessionOf(tenantId, sessionId)?.status === "pending") sessions.delete(sessionId);
    },
    async activate(tenantId, sessionId, upstream, audit) {
      open();
      const session = sessionOf(tenantId, sessionId);
      if (session?.status !== "pending") return null;
      appendNow(tenantId, [audit]);
      Object.assign(session, upstream, { status: "active" });
      return structuredClone(session);
    },
    async end(tenantId, sessionId, ending, audit) {
      open();
      const session = sessionOf(tenantId, sessionId);
      if (session?.status !== "active") return null;
      appendNow(tenantId, [audit]);
      Object.assign(session, ending);
      return structuredClone(session);
    },
    async get(tenantId, sessionId) {
      open();
      return structuredClone(sessionOf(tenantId, sessionId) ?? null);
    },
    async findByMcpTokenHash(tokenHash) {
      open();
      return structuredClone([...sessions.values()].find((session) => session.mcp_token_hash === tokenHash) ?? null);
    },
    async list(tenantId, filter) {
      open();
      return [...sessions.values()]
        .filter(
          (session) =>
            session.tenant_id === tenantId &&
            (filter.status === undefined || session.status === filter.status) &&
            (filter.agent_id === undefined || session.agent_id === filter.agent_id),
        )
        .sort((a, b) => compare(b.created_at, a.created_at) || compare(b.id, a.id))
        .slice(0, filter.limit)
        .map((session) => structuredClone(session));
    },
    async listActive() {
      open();
      return [...sessions.values()]
        .filter((session) => session.status === "active")
        .sort((a, b) => compare(a.created_at, b.created_at) || compare(a.id, b.id))
        .map((session) => structuredClone(session));
    },
  };
}

/** Consumer leases and cursors, in memory. */
export function memoryConsumersStore(state: MemoryState): ConsumerStore {
  const { consumers, open, sessionOf } = state;
  return {
    async claim(tenantId, sessionId, { owner, now, expiresAt }) {
      open();
      const current = consumers.get(sessionId);
      if (current && current.tenant_id !== tenantId) return null;
      const free =
        !current || current.owner === null || current.owner === owner || (current.lease_expires_at ?? "") < now;
      if (!free) return null;
      const claimed: ConsumerState = {
        session_id: sessionId,
        tenant_id: tenantId,
        cursor: current?.cursor ?? null,
        events_processed: current?.events_processed ?? 0,
        owner,
        lease_expires_at: expiresAt,
        status: current?.owner === owner ? current.status : "reconnecting",
        connected_since: current?.owner === owner ? current.connected_since : null,
      };
      consumers.set(sessionId, claimed);
      return structuredClone(claimed);
    },
    async advance(tenantId, sessionId, progress) {
      open();
      const current = consumers.get(sessionId);
      if (!current || current.tenant_id !== tenantId || current.owner !== progress.owner) return false;
      current.cursor = progress.cursor;
      current.events_processed += progress.processed;
      current.status = progress.status;
      current.connected_since = progress.connectedSince;
      current.lease_expires_at = progress.expiresAt;
      return true;
    },
    async release(tenantId, sessionId, owner) {
      open();
      const current = consumers.get(sessionId);
      if (!current || current.tenant_id !== tenantId || current.owner !== owner) return;
      Object.assign(current, { owner: null, lease_expires_at: null, status: "stopped", connected_since: null });
    },
    async get(tenantId, sessionId) {
      open();
      const current = consumers.get(sessionId);
      return current && current.tenant_id === tenantId ? structuredClone(current) : null;
    },
    async list(tenantId) {
      open();
      // Oldest session first (a consumer whose session is gone first), as the port promises.
      const createdAt = (consumer: ConsumerState) => sessionOf(tenantId, consumer.session_id)?.created_at ?? "";
      return [...consumers.values()]
        .filter((consumer) => consumer.tenant_id === tenantId && consumer.status !== "stopped")
        .sort((a, b) => compare(createdAt(a), createdAt(b)) || compare(a.session_id, b.session_id))
        .map((consumer) => structuredClone(consumer));
    },
  };
}

/** Governor-wide settings, in memory. */
export function memorySettingsStore(state: MemoryState): SettingStore {
  const { settings, open } = state;
  return {
    async get(key) {
      open();
      return settings.get(key) ?? null;
    },
    async putIfAbsent(key, value) {
      open();
      if (!settings.has(key)) settings.set(key, value);
      return settings.get(key) as string;
    },
  };
}
