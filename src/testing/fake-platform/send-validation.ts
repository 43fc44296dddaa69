/**
 * Validation of `POST /v1/sessions/{id}/events`. The whole request is checked before any event is stored:
 * a bad event rejects the request and nothing changes.
 */
import { badRequest } from "./errors.js";
import type { SessionRecord } from "./store.js";
import type { JsonObject } from "./types.js";

/** Event types a client may send. */
export const SENDABLE_TYPES = new Set([
  "user.message",
  "user.interrupt",
  "user.tool_confirmation",
  "user.custom_tool_result",
  "user.tool_result",
  "system.message",
]);

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function validateContent(value: unknown, field: string, allowed: readonly string[], required: boolean): void {
  if (value === undefined && !required) return;
  if (!Array.isArray(value) || (required && value.length === 0)) {
    throw badRequest(`${field}: must be a non-empty array of content blocks`);
  }
  value.forEach((block, i) => {
    if (!isObject(block) || typeof block.type !== "string" || !allowed.includes(block.type)) {
      throw badRequest(`${field}[${i}].type: must be one of ${allowed.join(", ")}`);
    }
    if (block.type === "text" && typeof block.text !== "string") {
      throw badRequest(`${field}[${i}].text: must be a string`);
    }
  });
}

/**
 * Checks the events of one send request against the session's state and returns them as objects. `selfHosted`
 * says whether the session's environment accepts `user.tool_result`.
 */
export function validateSend(rec: SessionRecord, body: JsonObject, selfHosted: boolean): JsonObject[] {
  const events = body.events;
  if (!Array.isArray(events) || events.length === 0) throw badRequest("events: must be a non-empty array");
  const answered = new Set<string>();
  return events.map((event, i) => {
    const at = `events[${i}]`;
    if (!isObject(event) || typeof event.type !== "string") throw badRequest(`${at}.type: required`);
    if (!SENDABLE_TYPES.has(event.type)) {
      throw badRequest(`${at}.type: '${event.type}' cannot be sent; expected one of ${[...SENDABLE_TYPES].join(", ")}`);
    }
    switch (event.type) {
      case "user.message":
        validateContent(event.content, `${at}.content`, ["text", "image", "document", "redacted"], true);
        break;
      case "user.interrupt":
        if (event.session_thread_id !== undefined && event.session_thread_id !== null) {
          if (typeof event.session_thread_id !== "string") throw badRequest(`${at}.session_thread_id: string`);
        }
        break;
      case "user.tool_confirmation": {
        if (typeof event.tool_use_id !== "string") throw badRequest(`${at}.tool_use_id: required`);
        if (event.result !== "allow" && event.result !== "deny") {
          throw badRequest(`${at}.result: must be 'allow' or 'deny'`);
        }
        if (event.deny_message !== undefined && event.deny_message !== null) {
          if (event.result !== "deny") throw badRequest(`${at}.deny_message: only allowed with result 'deny'`);
          if (typeof event.deny_message !== "string") throw badRequest(`${at}.deny_message: must be a string`);
        }
        expectPending(rec, event.tool_use_id, "confirm", answered, `${at}.tool_use_id`);
        break;
      }
      case "user.custom_tool_result":
        if (typeof event.custom_tool_use_id !== "string") throw badRequest(`${at}.custom_tool_use_id: required`);
        validateContent(event.content, `${at}.content`, ["text", "image", "document", "search_result"], false);
        expectPending(rec, event.custom_tool_use_id, "custom", answered, `${at}.custom_tool_use_id`);
        break;
      case "user.tool_result":
        if (!selfHosted) throw badRequest(`${at}: user.tool_result is only valid on self_hosted environments`);
        if (typeof event.tool_use_id !== "string") throw badRequest(`${at}.tool_use_id: required`);
        break;
      case "system.message": {
        const previous = (events[i - 1] as JsonObject | undefined)?.type;
        const validPrevious = ["user.message", "user.tool_result", "user.custom_tool_result"];
        if (i !== events.length - 1 || typeof previous !== "string" || !validPrevious.includes(previous)) {
          throw badRequest(`${at}: system.message must be the last event, right after a user.message or tool result`);
        }
        validateContent(event.content, `${at}.content`, ["text"], true);
        break;
      }
    }
    return event;
  });
}

function expectPending(
  rec: SessionRecord,
  id: string,
  kind: "confirm" | "custom",
  answered: Set<string>,
  field: string,
): void {
  const pending = rec.turn?.pending.get(id);
  if (!pending || pending.kind !== kind || pending.answer !== undefined || answered.has(id)) {
    const what = kind === "confirm" ? "a tool confirmation" : "a custom tool result";
    throw badRequest(`${field}: event ${id} is not awaiting ${what}`);
  }
  answered.add(id);
}
