import type { JsonValue } from "../json.js";

/**
 * `pending` holds a reserved slot while the upstream session is created; `active` sessions are governed and
 * consumed; the rest are final.
 */
export type SessionStatus = "pending" | "active" | "completed" | "interrupted" | "failed";

/** The statuses a session can end in. */
export type EndedSessionStatus = Exclude<SessionStatus, "pending" | "active">;

export interface SessionRecord {
  /** `vs-` + 16 hex characters. */
  id: string;
  tenant_id: string;
  agent_id: string;
  /** The agent config version the session was started with. */
  agent_version: number;
  status: SessionStatus;
  anthropic_session_id: string | null;
  environment_id: string | null;
  /** The per-session vault holding the MCP bearer credential. */
  upstream_vault_id: string | null;
  system_prompt_hash: string;
  /** SHA-256 hex of the per-session MCP bearer token; the token itself is never stored. */
  mcp_token_hash: string;
  metadata: Record<string, string>;
  /** The effective limit: the lower of the agent's and the tenant's `max_session_hours`. */
  max_session_hours: number;
  created_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

/** Limits checked, under the tenant's lock, when a session slot is reserved. */
export interface SessionLimits {
  /** Sessions `pending` or `active` at once, per tenant. */
  maxConcurrent: number;
  /** Sessions created at or after `windowStart`, per tenant. */
  maxDaily: number;
  /** Sessions of this agent created at or after `windowStart`. */
  agentMaxDaily: number;
  /** RFC 3339 start of the rolling 24-hour window. */
  windowStart: string;
}

/** How many of a session's audit records have each source and decision. Control-plane records are included. */
export interface SessionRecordCount {
  session_id: string;
  source: string;
  decision: string;
  count: number;
  /** How many of them have a severity other than `none` (findings: violations, anomalies). */
  flagged: number;
}

/** A session's stream consumer: its lease, its persisted cursor and its progress. */
export interface ConsumerState {
  session_id: string;
  tenant_id: string;
  /** `processed_at` of the last event handled; backfill resumes from here. */
  cursor: string | null;
  events_processed: number;
  /** The governor instance holding the lease, if any. */
  owner: string | null;
  lease_expires_at: string | null;
  status: "connected" | "reconnecting" | "stopped";
  connected_since: string | null;
}

/** A tool result joined to the observed record of its tool use (outside the record hash). */
export type AuditResult = JsonValue;
