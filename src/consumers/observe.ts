import type { AuditEntry } from "../audit/types.js";
import type { JsonValue } from "../json.js";
import { GOVERNOR_MCP_SERVER_NAME } from "../sessions/attachment.js";
import type { SessionRecord } from "../sessions/types.js";
import type { UpstreamEvent } from "../upstream/port.js";

/** The longest result excerpt kept on an observed record, in characters. */
export const RESULT_EXCERPT_CHARS = 2000;

/** What one upstream event means to the governor. */
export type EventMeaning =
  | { kind: "tool_use"; entry: Omit<AuditEntry, "action_id"> }
  | { kind: "tool_result"; toolUseEventId: string; result: JsonValue }
  | { kind: "session_ended"; status: "completed" | "failed"; reason: string }
  | { kind: "other" };

/**
 * Classifies an upstream event. Pure: the consumer, the tests and replay share it.
 *
 * Every tool use the governor does not serve itself becomes an `observed` record: built-in tools, other MCP
 * servers and custom tools. Its result is joined later by the tool-use event id.
 */
export function interpretEvent(event: UpstreamEvent, session: SessionRecord, now: string): EventMeaning {
  switch (event.type) {
    case "agent.tool_use":
      return toolUse(event, session, now, String(event.name), "execute");
    case "agent.mcp_tool_use":
      // Our own governed tools are audited when they are called, not when they are announced.
      if (event.mcp_server_name === GOVERNOR_MCP_SERVER_NAME) return { kind: "other" };
      return toolUse(event, session, now, `${String(event.mcp_server_name)}/${String(event.name)}`, "mcp_call");
    case "agent.custom_tool_use":
      return toolUse(event, session, now, String(event.name), "custom_call");
    case "agent.tool_result":
      return toolResult(event, event.tool_use_id);
    case "agent.mcp_tool_result":
      return toolResult(event, event.mcp_tool_use_id);
    case "user.custom_tool_result":
      return toolResult(event, event.custom_tool_use_id);
    case "session.status_terminated":
      return { kind: "session_ended", status: "completed", reason: "Upstream session terminated" };
    case "session.deleted":
      return { kind: "session_ended", status: "completed", reason: "Upstream session deleted" };
    case "session.error": {
      const error = (event.error ?? {}) as { type?: string; message?: string; retry_status?: { type?: string } };
      if (error.retry_status?.type !== "terminal") return { kind: "other" };
      return { kind: "session_ended", status: "failed", reason: `${error.type ?? "error"}: ${error.message ?? ""}` };
    }
    default:
      return { kind: "other" };
  }
}

function toolUse(
  event: UpstreamEvent,
  session: SessionRecord,
  now: string,
  tool: string,
  method: string,
): EventMeaning {
  const input = (event.input ?? {}) as JsonValue;
  return {
    kind: "tool_use",
    entry: {
      session_id: session.id,
      agent_id: session.agent_id,
      event_id: event.id,
      actor: null,
      source: "mcp_observed",
      tool,
      method,
      decision: "observed",
      severity: "none",
      violations: [],
      input,
      policy_version: null,
      requested_at: event.processed_at ?? now,
    },
  };
}

function toolResult(event: UpstreamEvent, toolUseId: unknown): EventMeaning {
  if (typeof toolUseId !== "string") return { kind: "other" };
  return {
    kind: "tool_result",
    toolUseEventId: toolUseId,
    result: { is_error: event.is_error === true, excerpt: excerpt(event.content) },
  };
}

/** The text of a result's content blocks, capped at RESULT_EXCERPT_CHARS. */
function excerpt(content: unknown): string {
  const blocks = Array.isArray(content) ? content : [];
  const text = blocks
    .map((block) => (block && typeof block === "object" && "text" in block ? String(block.text) : ""))
    .filter(Boolean)
    .join("\n");
  return text.length > RESULT_EXCERPT_CHARS ? `${text.slice(0, RESULT_EXCERPT_CHARS)}…` : text;
}
