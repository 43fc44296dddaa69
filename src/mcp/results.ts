import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { GovernedCallOutcome } from "../governed/types.js";
import type { JsonValue } from "../json.js";

/**
 * Turns a governed call's outcome into the MCP tool result the agent sees. The text is JSON except for an allowed
 * call whose tool returned a string, which is passed through as is. `_meta.vargate` carries the action id and
 * decision for clients that read it.
 *
 * | outcome   | text                                                                   | isError |
 * | --------- | ---------------------------------------------------------------------- | ------- |
 * | allowed   | the tool's output                                                      | false   |
 * | failed    | `{"status":"failed","action_id","error"}`                              | true    |
 * | denied    | `{"status":"denied","action_id","violations","severity","message"}`    | true    |
 * | pending   | `{"status":"pending_approval","action_id","expires_at","message"}`     | false   |
 */
export function outcomeToResult(outcome: GovernedCallOutcome): CallToolResult {
  switch (outcome.kind) {
    case "allowed":
      return {
        content: [{ type: "text", text: textOf(outcome.output) }],
        isError: false,
        _meta: { vargate: { action_id: outcome.action_id, decision: "allow", truncated: outcome.truncated } },
      };
    case "failed":
      return {
        content: [
          { type: "text", text: json({ status: "failed", action_id: outcome.action_id, error: outcome.error }) },
        ],
        isError: true,
        _meta: { vargate: { action_id: outcome.action_id, decision: "allow", status: "failed" } },
      };
    case "denied": {
      const message =
        outcome.violations.length > 0 ? `Denied by policy: ${outcome.violations.join("; ")}` : "Denied by policy";
      return {
        content: [
          {
            type: "text",
            text: json({
              status: "denied",
              action_id: outcome.action_id,
              violations: outcome.violations,
              severity: outcome.severity,
              message,
            }),
          },
        ],
        isError: true,
        _meta: {
          vargate: {
            action_id: outcome.action_id,
            decision: "deny",
            violations: outcome.violations,
            severity: outcome.severity,
          },
        },
      };
    }
    case "pending":
      return {
        content: [
          {
            type: "text",
            text: json({
              status: "pending_approval",
              action_id: outcome.action_id,
              expires_at: outcome.expires_at,
              message: outcome.message,
            }),
          },
        ],
        isError: false,
        _meta: {
          vargate: {
            action_id: outcome.action_id,
            decision: "requires_human",
            status: "pending_approval",
            expires_at: outcome.expires_at,
          },
        },
      };
  }
}

/** The text form of a JSON value: a string as is, anything else as JSON. */
export function textOf(value: JsonValue): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function json(value: JsonValue): string {
  return JSON.stringify(value);
}
