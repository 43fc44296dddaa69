import { JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";
import { VargateError } from "../errors.js";
import type { VargateGovernor } from "../governor.js";
import type { RawRoute } from "../http/handler.js";
import { getOrCreate } from "../maps.js";
import { createMcpEndpoint, type McpEndpoint } from "./endpoint.js";

/** The path of a session's MCP endpoint, relative to the mount point. */
export const MCP_ROUTE_PATH = "/managed/mcp/:sessionId";

/**
 * The MCP endpoint as routes of the HTTP core: POST `/managed/mcp/{session_id}`, authenticated by the session's
 * bearer token instead of a tenant credential (a `RawRoute`). GET and DELETE get the core's 405 with
 * `Allow: POST`, as stateless Streamable HTTP servers answer.
 */
export const mcpRoutes: readonly RawRoute[] = [
  {
    method: "POST",
    path: MCP_ROUTE_PATH,
    summary: "MCP endpoint of a governed session (Streamable HTTP, stateless; the session's bearer token)",
    // The schema the SDK's transport validates each message with (a batch is a list of them).
    body: JSONRPCMessageSchema,
    response: { description: "The JSON-RPC response, as JSON or an SSE stream (Streamable HTTP)" },
    authentication: "session-token",
    handle: async () => {
      throw new VargateError("INTERNAL_ERROR", "The MCP route answers raw requests only");
    },
    serve: (request, { governor, params, maxBodyBytes, body, signal }) =>
      endpointOf(governor, maxBodyBytes)(request, params.sessionId as string, { body, signal }),
  },
];

// One endpoint per governor and body limit, built on its first request: it keeps SDK servers between requests.
const endpoints = new WeakMap<VargateGovernor, Map<number, McpEndpoint>>();

function endpointOf(governor: VargateGovernor, maxBodyBytes: number): McpEndpoint {
  const byLimit = getOrCreate(endpoints, governor, () => new Map<number, McpEndpoint>());
  return getOrCreate(byLimit, maxBodyBytes, () =>
    createMcpEndpoint({
      storage: governor.storage,
      tools: governor.tools,
      handleCall: (call) => governor.governedCalls.call(call),
      approvalStatus: (session, actionId) => governor.governedCalls.approvalStatus(session, actionId),
      logger: governor.logger,
      maxBodyBytes,
    }),
  );
}
