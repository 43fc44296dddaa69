/**
 * Public types of the fake Managed Agents platform. The wire objects are plain JSON records typed loosely on
 * purpose: the fake must not need `@anthropic-ai/sdk` at runtime (it is an optional peer of vargate).
 */

/** A JSON object as it travels on the wire. */
export type JsonObject = Record<string, unknown>;

/** A content block as the events carry it: `{type:'text', text}` and friends. */
export interface FakeContentBlock {
  type: string;
  [key: string]: unknown;
}

/**
 * One session event as the fake stores and serves it. `id` is `sevt_…`; `processed_at` is an RFC 3339 string,
 * or `null` for a user event still queued behind a running turn.
 */
export interface FakeEvent {
  id: string;
  type: string;
  processed_at: string | null;
  [key: string]: unknown;
}

/** The built-in tools of `agent_toolset_20260401`. */
export type FakeBuiltinToolName = "bash" | "read" | "write" | "edit" | "glob" | "grep" | "web_fetch" | "web_search";

/** What an `auto` permission policy evaluates to for a scripted call. Defaults to `allow`. */
export interface FakeAutoDecision {
  /** `allow` runs the tool, `ask` parks like `always_ask`, `deny` appends a synthetic error result. */
  decision: "allow" | "ask" | "deny";
  /** Reported as `evaluation.evaluated_permission.reason_code` for `ask` and `deny`. Default `indeterminate`. */
  reasonCode?: string;
}

/** Fields every tool-use step shares. */
interface ToolStepBase {
  /** Tool input, reported verbatim in the tool-use event. Default `{}`. */
  input?: JsonObject;
  /** Text of an `agent.message` emitted in the same model request, before the tool use. */
  text?: string;
  /** Outcome when the resolved policy is `auto`. Default `{decision:'allow'}`. */
  auto?: FakeAutoDecision;
}

/**
 * A built-in tool use (`agent.tool_use` → `agent.tool_result`). The resolved permission policy of the session's
 * agent decides what happens: `always_allow` runs it, `always_ask` parks the session in `requires_action` until
 * a `user.tool_confirmation`, and a disabled tool (or no built-in toolset) is refused with
 * `evaluated_permission:'deny'` and no `evaluation`.
 */
export interface FakeToolUseStep extends ToolStepBase {
  type: "tool_use";
  name: FakeBuiltinToolName;
  /** Result text or blocks reported in `agent.tool_result` when the tool runs. Default: a short fake output. */
  result?: string | FakeContentBlock[];
  /** Reported as `agent.tool_result.is_error` when the tool runs. Default `false`. */
  isError?: boolean;
}

/**
 * An MCP tool use (`agent.mcp_tool_use` → `agent.mcp_tool_result`). When allowed, the fake really calls the
 * declared server over Streamable HTTP, with the bearer token of the session's vault credential whose
 * `mcp_server_url` equals the server URL exactly (no matching credential: the call goes out without auth).
 */
export interface FakeMcpToolUseStep extends ToolStepBase {
  type: "mcp_tool_use";
  /** The declared MCP server name (`mcp_servers[].name` of the session's resolved agent). */
  server: string;
  /** The tool name as the MCP server reports it. */
  name: string;
}

/**
 * A custom tool use (`agent.custom_tool_use`). The session goes idle with `requires_action` until the client
 * sends `user.custom_tool_result`. The tool must be declared as a `custom` tool on the session's agent.
 */
export interface FakeCustomToolUseStep {
  type: "custom_tool_use";
  name: string;
  input?: JsonObject;
  /** Text of an `agent.message` emitted in the same model request, before the tool use. */
  text?: string;
}

/** Several tool uses in one model request; `always_ask` ones park together (one `requires_action`). */
export interface FakeParallelToolUseStep {
  type: "parallel";
  uses: (FakeToolUseStep | FakeMcpToolUseStep | FakeCustomToolUseStep)[];
  /** Text of an `agent.message` emitted in the same model request, before the tool uses. */
  text?: string;
}

/** An `agent.message` in its own model request. */
export interface FakeMessageStep {
  type: "message";
  text: string;
  /**
   * Holds the model request open (after `span.model_request_start`) until this settles. An interrupt meanwhile
   * cuts the request short as the platform does: `span.model_request_end` arrives, the `agent.message` never.
   */
  holdUntil?: PromiseLike<unknown>;
}

/** An `agent.thinking` progress event in its own model request. */
export interface FakeThinkingStep {
  type: "thinking";
}

/**
 * An in-session error (`session.error`). `retrying` lets the script go on; `exhausted` ends the turn with
 * `stop_reason:{type:'retries_exhausted'}`; `terminal` ends the session (`session.status_terminated`).
 */
export interface FakeErrorStep {
  type: "error";
  /** `session.error.error.type`, e.g. `model_overloaded_error`. Default `unknown_error`. */
  errorType?: string;
  message?: string;
  /** Default `exhausted`. */
  retry?: "retrying" | "exhausted" | "terminal";
  /** Extra fields of the error object, e.g. `{mcp_server_name}`. */
  extra?: JsonObject;
}

/**
 * Pauses the script until `until` settles (or `ms` milliseconds pass). An interrupt, archive or delete ends
 * the pause at once. Use a promise you control to hold a turn open deterministically.
 */
export interface FakeWaitStep {
  type: "wait";
  until?: PromiseLike<unknown>;
  ms?: number;
}

/** Emits an arbitrary event (the fake adds `id` and `processed_at`). An escape hatch for unusual types. */
export interface FakeEmitStep {
  type: "emit";
  event: { type: string; [key: string]: unknown };
}

/** One thing the scripted agent does during a turn. */
export type FakeScriptStep =
  | FakeMessageStep
  | FakeThinkingStep
  | FakeToolUseStep
  | FakeMcpToolUseStep
  | FakeCustomToolUseStep
  | FakeParallelToolUseStep
  | FakeErrorStep
  | FakeWaitStep
  | FakeEmitStep;

/** What a script function receives for each turn. */
export interface FakeTurnContext {
  /** The session's state when the turn starts. */
  session: FakeSessionState;
  /** The `user.message` event that started the turn. */
  message: FakeEvent;
  /** The joined text of the message's text blocks. */
  text: string;
  /** 1 for the session's first turn, then 2, 3, … */
  turn: number;
}

/**
 * What the agent does on each `user.message`: a fixed list of steps played on every turn, or a function that
 * returns the steps for a turn.
 */
export type FakeAgentScript = readonly FakeScriptStep[] | ((turn: FakeTurnContext) => readonly FakeScriptStep[]);

/** A read-only view of one session inside the fake, for assertions. */
export interface FakeSessionState {
  id: string;
  status: "idle" | "running" | "rescheduling" | "terminated";
  archived: boolean;
  deleted: boolean;
  /** The wire `Session` object as `GET /v1/sessions/{id}` would return it (the last state if deleted). */
  session: JsonObject;
  /** The full event history, in order (what `events.list` pages through). */
  events: FakeEvent[];
  /** The user events the platform received through send or `initial_events`, in order. */
  received: FakeEvent[];
  /** Ids of tool-use events waiting for a confirmation or custom tool result. */
  pendingToolUseIds: string[];
  /** Number of open SSE connections. */
  openStreams: number;
}

/** One HTTP request the fake received, with the status it answered. */
export interface FakeRecordedRequest {
  method: string;
  /** The path without the query, e.g. `/v1/sessions/sesn_…/events`. */
  path: string;
  /** Decoded query; a key sent several times (or as `key[]`) maps to an array under its bare name. */
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  /** The parsed JSON body, or `undefined`. */
  body: unknown;
  status: number;
  requestId: string;
  /** True when a fault rule (not the API logic) produced the response. */
  injected: boolean;
}

/** How a stream is cut: `end` finishes the response (the SDK loop ends quietly), `destroy` kills the socket. */
export type FakeStreamDropMode = "end" | "destroy";

/** Options of {@link FakePlatformFaults.dropStreams}. */
export interface FakeDropStreamsOptions {
  /** Frames (SSE events, not heartbeats) each stream delivers before it is cut. */
  afterFrames: number;
  /** Default `destroy`. */
  mode?: FakeStreamDropMode;
  /** How many future streams the rule applies to. Default: every stream until cancelled. */
  times?: number;
  /** Only streams of this session. */
  sessionId?: string;
}

/** Options of {@link FakePlatformFaults.dropOpenStreams}. */
export interface FakeDropOpenStreamsOptions {
  /** Further frames each open stream delivers before it is cut. Default 0: cut now. */
  afterFrames?: number;
  /** Default `destroy`. */
  mode?: FakeStreamDropMode;
  /** Only streams of this session. */
  sessionId?: string;
}

/** Options of {@link FakePlatformFaults.failNext}. */
export interface FakeFailRequestsOptions {
  /** HTTP status. Default 500. */
  status?: number;
  /** Envelope `error.type`. Default derived from the status (`api_error`, `overloaded_error`, …). */
  errorType?: string;
  message?: string;
  /** Only requests whose path matches: a substring, or a RegExp tested against the path. */
  path?: string | RegExp;
  /** Only requests with this method (case-insensitive). */
  method?: string;
  /**
   * Adds a `retry-after-ms` header so a retrying client does not back off for long. Use a positive value: the
   * SDK ignores 0 and falls back to its exponential backoff.
   */
  retryAfterMs?: number;
}

/** A rule that can be cancelled before it is used up. */
export interface FakeFaultHandle {
  /** Stops the rule from applying to further requests or streams. */
  cancel(): void;
  /** How many more times the rule applies (`Infinity` for an unlimited stream rule). */
  readonly remaining: number;
}

/** Fault injection. Rules apply in the order they were added. */
export interface FakePlatformFaults {
  /** Cuts each of the next streams (all, or `times`) after it delivered `afterFrames` frames. */
  dropStreams(options: FakeDropStreamsOptions): FakeFaultHandle;
  /** Cuts the streams open right now after `afterFrames` more frames (0: now). Returns how many it armed. */
  dropOpenStreams(options?: FakeDropOpenStreamsOptions): number;
  /** Answers the next `count` matching requests with an error envelope (default 500 `api_error`). */
  failNext(count: number, options?: FakeFailRequestsOptions): FakeFaultHandle;
  /** Cancels every pending rule. */
  clear(): void;
}

/** Options of {@link createFakePlatform}. */
export interface FakePlatformOptions {
  /** The key clients must send as `Authorization: Bearer` or `x-api-key`. Default `sk-ant-fake-platform`. */
  apiKey?: string;
  /** Listen port on 127.0.0.1. Default 0 (an ephemeral port). */
  port?: number;
  /** Listen host. Default `127.0.0.1`. */
  host?: string;
  /** Interval of `: heartbeat` comments on open streams, in ms. Default 15000; 0 disables them. */
  heartbeatMs?: number;
  /** Source of timestamps. Default `() => new Date()`. */
  now?: () => Date;
  /** The script of sessions that have no session or agent script. Default: one `agent.message`. */
  defaultScript?: FakeAgentScript;
  /** Timeout of each real MCP call, in ms. Default 10000. */
  mcpTimeoutMs?: number;
  /** Default `limit` of list endpoints other than events. Default 20. */
  defaultPageSize?: number;
}

/** Options of {@link FakePlatform.waitForEvent}. */
export interface FakeWaitOptions {
  /** Reject after this many ms. Default 5000. */
  timeoutMs?: number;
}
