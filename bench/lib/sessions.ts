// Setup shared by scenarios: active sessions stored directly (no upstream), and a logger that shows only problems.
import { randomBytes } from "node:crypto";
import { hashApiKey } from "../../src/auth/api-keys.js";
import type { Logger } from "../../src/logger.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { entry, sessionRecord } from "../../src/testing/storage-conformance/fixtures.js";

/** Warnings and errors on stderr; the rest would drown the bench's own progress lines. */
export const benchLogger: Logger = { debug() {}, info() {}, warn: console.error, error: console.error };

export interface SeededSession {
  session: SessionRecord;
  /** The session's MCP bearer token. */
  token: string;
}

/**
 * An active session of `agent`, reserved and activated through the storage port (with its `create_session` audit
 * record) as the session service would, without an upstream.
 */
export async function seedActiveSession(
  storage: VargateStorage,
  tenantId: string,
  agent: { id: string; version: number },
  at = new Date().toISOString(),
): Promise<SeededSession> {
  const token = `vgs_${randomBytes(32).toString("hex")}`;
  const pending = sessionRecord(tenantId, {
    agent_id: agent.id,
    agent_version: agent.version,
    mcp_token_hash: hashApiKey(token),
    created_at: at,
  });
  // Generous limits: a bench opens many sessions of one agent.
  await storage.sessions.reserve(pending, {
    maxConcurrent: 10_000,
    maxDaily: 10_000,
    agentMaxDaily: 10_000,
    windowStart: new Date(0).toISOString(),
  });
  const session = await storage.sessions.activate(
    tenantId,
    pending.id,
    { anthropic_session_id: `sesn_${pending.id}`, environment_id: "env_bench", upstream_vault_id: null },
    entry({ method: "create_session", session_id: pending.id, agent_id: agent.id, requested_at: at }),
  );
  if (!session) throw new Error("bench: session activation failed");
  return { session, token };
}
