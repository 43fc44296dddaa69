import type { JsonValue } from "../json.js";

export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired";

/**
 * A call waiting for a human. `governed_call`: a governed MCP tool whose decision was `requires_human`.
 * `builtin_tool`: a built-in tool the platform holds under `always_ask`, answered with `user.tool_confirmation`.
 */
export type ApprovalKind = "governed_call" | "builtin_tool";

export interface ApprovalRecord {
  /** The action id of the governed record that asked for approval. */
  action_id: string;
  tenant_id: string;
  session_id: string;
  agent_id: string;
  kind: ApprovalKind;
  tool: string;
  input: JsonValue;
  /** SHA-256 hex of the canonical `{tool, input}`: an approval applies to exactly this call. */
  input_digest: string;
  /** For `builtin_tool`: the upstream tool-use event the confirmation answers. */
  upstream_event_id: string | null;
  status: ApprovalStatus;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  /** The approver's identity (API key id, JWT subject), or `expiry`. */
  decided_by: string | null;
  note: string | null;
  /** `claimed` once exactly one caller won the right to run the approved call; `done` with its result. */
  execution: "none" | "claimed" | "done";
  result: JsonValue | null;
}
