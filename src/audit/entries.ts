import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import type { JsonValue } from "../json.js";
import type { AuditEntry } from "./types.js";

/** A control-plane change (create, update, rotate, interrupt, approve, policy change) as an audit entry. */
export function controlPlaneEntry(
  context: GovernorContext,
  fields: {
    method: string;
    input: JsonValue;
    actor?: string | null;
    agent_id?: string | null;
    session_id?: string | null;
    decision?: "allow" | "deny";
  },
): AuditEntry {
  return {
    action_id: context.ids.actionId(),
    session_id: fields.session_id ?? null,
    agent_id: fields.agent_id ?? null,
    event_id: null,
    actor: fields.actor ?? null,
    source: "control_plane",
    tool: "control_plane",
    method: fields.method,
    decision: fields.decision ?? "allow",
    severity: "none",
    violations: [],
    input: fields.input,
    policy_version: null,
    requested_at: timestamp(context.clock),
  };
}
