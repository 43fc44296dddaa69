// `Server` is the SDK's low-level server. `McpServer` turns every failure, unknown tools and invalid arguments
// included, into an `isError` result and lists a fixed set of tools; this endpoint lists per session and answers
// bad calls with JSON-RPC errors, so it needs the low-level one.

import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import * as z from "zod";
import { hashApiKey, hashesEqual } from "../auth/api-keys.js";
import { VERSION } from "../cli/version.js";
import { isVargateError, toVargateError, ValidationError, type ValidationIssue, VargateError } from "../errors.js";
import type { GovernedCallOutcome, GovernedCallRequest } from "../governed/types.js";
import { DEFAULT_MAX_BODY_BYTES } from "../http/body.js";
import type { RequestExtras } from "../http/handler.js";
import { errorResponse } from "../http/respond.js";
import type { JsonValue } from "../json.js";
import { type Logger, silentLogger } from "../logger.js";
import type { SessionRecord } from "../sessions/types.js";
import type { VargateStorage } from "../storage/port.js";
import { APPROVAL_STATUS_TOOL, describeToolInputIssues, validateToolInput } from "../tools/define.js";
import type { ToolRegistry } from "../tools/registry.js";
import { outcomeToResult, textOf } from "./results.js";

/** What the MCP endpoint needs. The governor provides all of it; tests may pass fakes. */
export interface McpEndpointOptions {
  /** Sessions are found by token hash; agent configs give `allowed_tools`. */
  storage: {
    sessions: Pick<VargateStorage["sessions"], "findByMcpTokenHash">;
    agents: Pick<VargateStorage["agents"], "get">;
  };
  /** The governed tools this governor serves. */
  tools: ToolRegistry;
  /**
   * Runs one governed call: policy, audit, approval or execution. Called only with arguments that passed the
   * tool's schema, and with the parsed value as `input`.
   */
  handleCall(request: GovernedCallRequest): Promise<GovernedCallOutcome>;
  /** What `vargate_approval_status` returns for one of the session's action ids. */
  approvalStatus(session: SessionRecord, actionId: string): Promise<JsonValue>;
  /** Receives unexpected failures. Never given tokens or credentials. @default silent */
  logger?: Logger;
  /** Largest JSON-RPC request body in bytes; larger ones get 413. @default 1048576 (1 MB) */
  maxBodyBytes?: number;
}

/**
 * Serves one HTTP request to the MCP URL of session `sessionId`. `extras` are what the adapter already holds: the
 * body it read (then `request.body` is not read) and the client's signal. Never rejects.
 */
export type McpEndpoint = (request: Request, sessionId: string, extras?: RequestExtras) => Promise<Response>;

const approvalStatusInput = z.strictObject({ action_id: z.string().min(1).max(200) });

const APPROVAL_STATUS_DESCRIPTOR: Tool = {
  name: APPROVAL_STATUS_TOOL,
  description:
    "Check a governed call that is waiting for human approval. Pass the action_id from a pending_approval " +
    "result; the answer says whether it is still pending, was rejected or expired, or was approved, and then " +
    "carries the tool's result.",
  inputSchema: {
    type: "object",
    properties: {
      action_id: { type: "string", description: "The action_id of a pending_approval result" },
    },
    required: ["action_id"],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: true, idempotentHint: true },
};

/**
 * The SDK server validates elicitation answers with this; by default every `Server` builds its own Ajv instance,
 * which was the largest single cost of a stateless request. This server never elicits, so nothing is validated:
 * the validator refuses everything rather than pretend to check.
 */
const NO_ELICITATION: jsonSchemaValidator = {
  getValidator: () => () => ({ valid: false, data: undefined, errorMessage: "vargate does not elicit input" }),
};

// The same for every session, so that one server can serve any session's requests.
const INSTRUCTIONS =
  "vargate governs these tools for this session. Every call is checked against policy and audited. A denied " +
  'call returns an error naming the violations. A call that needs human approval returns {"status":' +
  `"pending_approval","action_id":...}; check it later with ${APPROVAL_STATUS_TOOL}.`;

const UNAUTHORIZED_HEADERS = { "www-authenticate": 'Bearer realm="vargate-mcp"' };

/**
 * The MCP endpoint of governed sessions: Streamable HTTP, stateless. Every request gets its own SDK transport
 * (`sessionIdGenerator: undefined`, JSON responses) on an idle SDK server, and carries its authenticated session
 * to the handlers, so any governor instance can serve any call and no request sees another's session.
 *
 * - Authentication: `Authorization: Bearer <session token>`. The token's SHA-256 must match a session's
 *   `mcp_token_hash` (compared in constant time) and that session must be the one in the URL; otherwise 401
 *   `{detail, code: "UNAUTHORIZED"}`. A session that is no longer active still authenticates; its calls are
 *   denied by the governed-call pipeline.
 * - `tools/list`: the registered tools named in the agent config's `allowed_tools`, and `vargate_approval_status`.
 * - `tools/call`: arguments are checked against the tool's schema first (invalid params otherwise, and nothing
 *   reaches `handleCall`); the outcome becomes the tool result (see `outcomeToResult`).
 * - Only POST is served; GET (a standalone SSE stream) and DELETE (session teardown) get 405, as stateless
 *   servers answer.
 */
export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  const logger = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function authenticate(request: Request, sessionId: string): Promise<SessionRecord | null> {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(request.headers.get("authorization") ?? "");
    if (!match) return null;
    const hash = hashApiKey(match[1] as string);
    const session = await options.storage.sessions.findByMcpTokenHash(hash);
    if (!session || !hashesEqual(session.mcp_token_hash, hash)) return null;
    return session.id === sessionId ? session : null;
  }

  async function listTools(session: SessionRecord): Promise<Tool[]> {
    const config = await options.storage.agents.get(session.tenant_id, session.agent_id);
    const allowed = new Set(config?.allowed_tools ?? []);
    const governed = options.tools
      .list()
      .filter((tool) => allowed.has(tool.name))
      .map(
        (tool): Tool => ({
          name: tool.name,
          description: tool.description,
          inputSchema: { ...tool.inputJsonSchema, type: "object" },
        }),
      );
    return [...governed, APPROVAL_STATUS_DESCRIPTOR];
  }

  async function callTool(
    session: SessionRecord,
    name: string,
    args: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<CallToolResult> {
    if (name === APPROVAL_STATUS_TOOL) return approvalStatus(session, args);
    const tool = options.tools.get(name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const validation = await validateToolInput(tool, args);
    if (!validation.ok) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Invalid arguments for tool ${name}: ${describeToolInputIssues(validation.issues)}`,
        { issues: validation.issues },
      );
    }
    let outcome: GovernedCallOutcome;
    try {
      // The parsed arguments (defaults applied, unknown keys of a plain object dropped): what policy evaluates,
      // what an approval is bound to, and what the tool runs with.
      outcome = await options.handleCall({ session, tool: name, input: validation.input, signal });
    } catch (error) {
      throw toMcpError(error, { tool: name, session_id: session.id });
    }
    return outcomeToResult(outcome);
  }

  async function approvalStatus(
    session: SessionRecord,
    args: Record<string, unknown> | undefined,
  ): Promise<CallToolResult> {
    const parsed = approvalStatusInput.safeParse(args ?? {});
    if (!parsed.success) {
      const issues: ValidationIssue[] = parsed.error.issues.map((issue) => ({
        loc: ["input", ...issue.path.map(String)],
        msg: issue.message,
        type: issue.code,
      }));
      throw new McpError(
        ErrorCode.InvalidParams,
        `Invalid arguments for tool ${APPROVAL_STATUS_TOOL}: ${describeToolInputIssues(issues)}`,
        { issues },
      );
    }
    const actionId = parsed.data.action_id;
    try {
      const status = await options.approvalStatus(session, actionId);
      return { content: [{ type: "text", text: textOf(status) }], isError: false };
    } catch (error) {
      // An unknown or foreign action id is the agent's mistake: a tool error it can read, not a protocol error.
      if (isVargateError(error) && error.status < 500) {
        return {
          content: [
            {
              type: "text",
              text: JSON.stringify({ status: "error", action_id: actionId, code: error.code, message: error.message }),
            },
          ],
          isError: true,
        };
      }
      throw toMcpError(error, { tool: APPROVAL_STATUS_TOOL, session_id: session.id });
    }
  }

  function toMcpError(error: unknown, context: Record<string, string>): McpError {
    if (error instanceof McpError) return error;
    if (error instanceof ValidationError) {
      return new McpError(ErrorCode.InvalidParams, describeToolInputIssues(error.issues), { issues: error.issues });
    }
    const vargateError = toVargateError(error);
    if (vargateError.status < 500) return new McpError(ErrorCode.InvalidRequest, vargateError.message);
    logger.error("MCP tool call failed", { ...context, code: vargateError.code, error: describe(error) });
    return new McpError(ErrorCode.InternalError, "Internal error: the call could not be completed");
  }

  // The session of a request reaches the handlers through the transport's `authInfo`, so one server's handlers
  // serve any session and a server can be reused once its request is answered.
  function buildServer(): Server {
    const server = new Server(
      { name: "vargate", version: VERSION },
      {
        capabilities: { tools: { listChanged: false } },
        instructions: INSTRUCTIONS,
        jsonSchemaValidator: NO_ELICITATION,
      },
    );
    server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({
      tools: await listTools(sessionOf(extra.authInfo)),
    }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      callTool(sessionOf(extra.authInfo), request.params.name, request.params.arguments, extra.signal),
    );
    server.onerror = (error) => logger.debug("MCP transport error", { error: describe(error) });
    return server;
  }

  // Servers not serving a request. A stateless request needs its own transport, and a server serves one
  // transport at a time, so concurrent requests take different servers; building one (its handler tables,
  // schemas looked up, capabilities) was a large share of a request's CPU.
  const idle: Server[] = [];

  function takeServer(): Server {
    return idle.pop() ?? buildServer();
  }

  // Closes the server's transport once everything the request started has settled, then keeps the server for
  // another request. Run from `setImmediate`: by then the SDK has finished the request's bookkeeping, so closing
  // aborts nothing, and the close is off the response's path.
  function release(server: Server): void {
    server.close().then(
      () => {
        if (idle.length < MAX_IDLE_SERVERS) idle.push(server);
      },
      () => {},
    );
  }

  return async (request, sessionId, extras) => {
    try {
      if (request.method !== "POST") {
        return errorResponse(new VargateError("METHOD_NOT_ALLOWED"), { allow: "POST" });
      }
      const session = await authenticate(request, sessionId);
      if (!session) {
        return errorResponse(
          new VargateError("UNAUTHORIZED", "Missing or invalid MCP session token"),
          UNAUTHORIZED_HEADERS,
        );
      }
      // A body the adapter already read is held to the same limit the transport applies to one it reads.
      if (extras?.body && extras.body.byteLength > maxBodyBytes) {
        return errorResponse(new VargateError("PAYLOAD_TOO_LARGE"));
      }
      const server = takeServer();
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
        maxRequestBodySize: maxBodyBytes,
      });
      // A client that goes away cancels its in-flight calls: closing the server aborts their signals. The
      // transport never settles a JSON response it can no longer send, so the abort answers instead (to no one).
      // An aborted request's server is not reused.
      const signal = extras?.signal ?? request.signal;
      let aborted = false;
      let onAbort = () => {};
      const gone = new Promise<Response>((resolve) => {
        onAbort = () => {
          aborted = true;
          void server.close().catch(() => {});
          resolve(new Response(null, { status: 499 }));
        };
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        if (signal?.aborted) onAbort();
        await server.connect(transport);
        const authInfo = { token: "", clientId: session.id, scopes: [], extra: { session } };
        const handled = extras?.body
          ? handleRead(transport, request, extras.body, authInfo)
          : transport.handleRequest(request, { authInfo });
        return await Promise.race([handled, gone]);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        if (aborted) await server.close().catch(() => {});
        else setImmediate(release, server);
      }
    } catch (thrown) {
      const error = toVargateError(thrown);
      if (error.status >= 500) logger.error("MCP request failed", { code: error.code, error: describe(thrown) });
      return errorResponse(error);
    }
  };
}

const utf8 = new TextDecoder();

/**
 * Hands a body the adapter already read to the transport: parsed here, once, so the SDK skips reading a stream.
 * The transport still checks the headers, the JSON-RPC shape and everything after. A body that is not JSON goes to
 * the transport as it came, so it answers the parse error it always has.
 */
function handleRead(
  transport: WebStandardStreamableHTTPServerTransport,
  request: Request,
  body: Uint8Array,
  authInfo: AuthInfo,
): Promise<Response> {
  let parsedBody: unknown;
  try {
    parsedBody = JSON.parse(utf8.decode(body));
  } catch {
    const withBody = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: utf8.decode(body),
    });
    return transport.handleRequest(withBody, { authInfo });
  }
  return transport.handleRequest(request, { authInfo, parsedBody });
}

/** The most idle SDK servers one endpoint keeps; more concurrent requests build servers that are then dropped. */
const MAX_IDLE_SERVERS = 256;

/** The session a request was authenticated as; set by the endpoint on every request it hands to the SDK. */
function sessionOf(authInfo: AuthInfo | undefined): SessionRecord {
  const session = authInfo?.extra?.session as SessionRecord | undefined;
  if (!session) throw new McpError(ErrorCode.InternalError, "Internal error: the request has no session");
  return session;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
