import type * as z from "zod";
import type { CredentialStore } from "../credentials/store.js";
import type { JsonObject, JsonValue } from "../json.js";

/** What a governed tool's `execute` receives besides its input. */
export interface ToolExecutionContext {
  /**
   * The secrets the tool declared in `credentials`, by name, read from the credential store just before this
   * execution. Use them in the outgoing request only: they are scrubbed from results and errors anyway.
   */
  credentials: Readonly<Record<string, string>>;
  tenantId: string;
  sessionId: string;
  agentId: string;
  /** The governed call's action id, as audited. Useful as an idempotency key for the target API. */
  actionId: string;
  /** Aborts when the call is cancelled or times out; pass it to `fetch` and friends. */
  signal: AbortSignal;
}

/**
 * What `execute` may return: a string (passed to the agent as text) or anything `JSON.stringify` turns into JSON,
 * including objects typed by interfaces (an SDK's response types). `undefined` reads as `null`; a value JSON cannot
 * hold (a `BigInt`, a cycle) fails the call.
 */
export type ToolOutput = JsonValue | object | undefined;

/**
 * A tool the governor serves over MCP and executes after an `allow` decision. Build one with `defineTool()` or
 * `httpTool()`; register it with `governor.tools.register()`.
 */
export interface GovernedTool<TInput = unknown> {
  /** 1-64 characters of `a-z A-Z 0-9 _ -`, as MCP clients and the Managed Agents platform accept. */
  readonly name: string;
  /** What the agent reads to decide when to call the tool. */
  readonly description: string;
  /** Validates (and may transform) the arguments before anything is evaluated, stored or executed. */
  readonly inputSchema: z.ZodType<TInput>;
  /** The JSON Schema `tools/list` advertises for `inputSchema`. */
  readonly inputJsonSchema: JsonObject;
  /** Names of the credentials `execute` needs, resolved from the credential store at execution time. */
  readonly credentials: readonly string[];
  /** Runs the tool. A string is returned as text; anything else is sent as JSON. Throw to fail the call. */
  execute(input: TInput, context: ToolExecutionContext): Promise<ToolOutput>;
}

/** How `executeTool` runs one allowed call. */
export interface ExecuteToolOptions {
  /** Where the tool's declared credentials are read from. */
  credentials: Pick<CredentialStore, "get">;
  tenantId: string;
  sessionId: string;
  agentId: string;
  actionId: string;
  /** Cancels the execution (the tool sees it as `context.signal`). */
  signal?: AbortSignal;
  /**
   * Largest serialized result, in UTF-8 bytes (the JSON text, or the string as is). A larger one is cut and
   * returned as a string with `truncated: true`. @default 65536 (64 KiB)
   */
  maxResultBytes?: number;
  /** Gives up after this many milliseconds; the tool's signal aborts. @default no limit */
  timeoutMs?: number;
}

/** The outcome of `executeTool`. Neither the output nor the error ever contains a credential value. */
export type ToolExecutionResult = { ok: true; output: JsonValue; truncated: boolean } | { ok: false; error: string };
