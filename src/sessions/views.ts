import type { SessionRecord, SessionRecordCount } from "./types.js";

/** The seed's response to `POST /managed/sessions`. */
export interface CreatedSession {
  session_id: string;
  anthropic_session_id: string | null;
  tenant_id: string;
  agent_id: string;
  status: "active";
  system_prompt_hash: string;
  governance: "active";
  mcp_server_url: string;
  created_at: string;
}

/** A session with its live counts, as `GET /managed/sessions/{id}` returns it. */
export interface SessionStatusView {
  session_id: string;
  anthropic_session_id: string | null;
  agent_id: string;
  status: SessionRecord["status"];
  total_governed_calls: number;
  total_observed_calls: number;
  total_denied: number;
  total_pending: number;
  /** Approvals and rejections decided by a human (extension). */
  approvals_used: number;
  /** Observed tool uses with an anomaly finding (extension). */
  anomalies_detected: number;
  system_prompt_hash: string;
  created_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

/** The seed's response to an interrupt. */
export interface InterruptResult {
  status: "interrupted";
  session_id: string;
  reason: string;
  interrupted_at: string;
  auto_triggered: boolean;
  audit_action_id: string;
}

/** What the live totals are computed from: the session's record counts and its approvals. */
export interface SessionCountInputs {
  rows: readonly SessionRecordCount[];
  pendingApprovals: number;
  decidedApprovals: number;
}

/** Live totals (DESIGN §3: counts come from the audit log and the approval queue, never a cache). */
export function sessionTotals({ rows, pendingApprovals, decidedApprovals }: SessionCountInputs) {
  let governed = 0;
  let observed = 0;
  let denied = 0;
  let anomalies = 0;
  for (const row of rows) {
    if (row.source === "mcp_governed") {
      governed += row.count;
      if (row.decision === "deny") denied += row.count;
    } else if (row.source === "mcp_observed") {
      observed += row.count;
      anomalies += row.flagged;
    }
  }
  return {
    total_governed_calls: governed,
    total_observed_calls: observed,
    total_denied: denied,
    total_pending: pendingApprovals,
    approvals_used: decidedApprovals,
    anomalies_detected: anomalies,
  };
}
