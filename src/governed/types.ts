import type { Severity } from "../audit/types.js";
import type { JsonValue } from "../json.js";
import type { SessionRecord } from "../sessions/types.js";

/** A governed tool call as the MCP endpoint receives it. */
export interface GovernedCallRequest {
  session: SessionRecord;
  /** The governed tool's name, as listed by `tools/list`. */
  tool: string;
  /** The arguments, already parsed by the tool's input schema (defaults applied, unknown keys dropped). */
  input: unknown;
  signal?: AbortSignal;
}

/** What happened to a governed call; the MCP layer turns it into a tool result. */
export type GovernedCallOutcome =
  | { kind: "allowed"; action_id: string; output: JsonValue; truncated: boolean }
  /** Allowed, but the tool itself failed. */
  | { kind: "failed"; action_id: string; error: string }
  | { kind: "denied"; action_id: string; violations: string[]; severity: Severity }
  /** Waiting for a human; poll with `vargate_approval_status`. */
  | { kind: "pending"; action_id: string; expires_at: string; message: string };
