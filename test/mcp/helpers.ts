// A governed session on memory storage, the MCP endpoint behind a real node:http server, and the real MCP client.
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { hashApiKey } from "../../src/auth/api-keys.js";
import { VargateGovernor } from "../../src/governor.js";
import { handleNodeRequest } from "../../src/http/node-bridge.js";
import type { McpEndpoint } from "../../src/mcp/endpoint.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import type { VargateStorage } from "../../src/storage/port.js";

export interface SeededSession {
  session: SessionRecord;
  /** The session's MCP bearer token; storage only has its hash. */
  token: string;
}

export interface McpFixture {
  storage: VargateStorage;
  governor: VargateGovernor;
  tenantId: string;
  agentId: string;
  /** A session of the agent, `active` unless `end`ed. */
  seed(): Promise<SeededSession>;
  /** Ends a session as `interrupted`. */
  end(session: SessionRecord): Promise<void>;
}

/** A tenant and an agent config whose `allowed_tools` are given, on fresh memory storage. */
export async function mcpFixture(allowedTools: string[]): Promise<McpFixture> {
  const storage = memoryStorage();
  const governor = new VargateGovernor({ storage });
  const tenantId = "acme";
  await governor.tenants.create({ tenant_id: tenantId });
  const config = await governor.agents.create(tenantId, { name: "ops", allowed_tools: allowedTools });
  const entry = (method: string, sessionId: string) => ({
    action_id: randomUUID(),
    session_id: sessionId,
    agent_id: config.id,
    event_id: null,
    actor: null,
    source: "control_plane" as const,
    tool: "control_plane",
    method,
    decision: "allow" as const,
    severity: "none" as const,
    violations: [],
    input: {},
    policy_version: null,
    requested_at: new Date().toISOString(),
  });
  return {
    storage,
    governor,
    tenantId,
    agentId: config.id,
    async seed() {
      const token = `vgs_${randomBytes(32).toString("hex")}`;
      const now = new Date().toISOString();
      const pending: SessionRecord = {
        id: `vs-${randomBytes(8).toString("hex")}`,
        tenant_id: tenantId,
        agent_id: config.id,
        agent_version: config.version,
        status: "pending",
        anthropic_session_id: null,
        environment_id: null,
        upstream_vault_id: null,
        system_prompt_hash: "0".repeat(64),
        mcp_token_hash: hashApiKey(token),
        metadata: {},
        max_session_hours: 1,
        created_at: now,
        ended_at: null,
        end_reason: null,
      };
      await storage.sessions.reserve(pending, {
        maxConcurrent: 100,
        maxDaily: 100,
        agentMaxDaily: 100,
        windowStart: new Date(Date.now() - 86_400_000).toISOString(),
      });
      const session = await storage.sessions.activate(
        tenantId,
        pending.id,
        { anthropic_session_id: `sesn_${pending.id}`, environment_id: "env_1", upstream_vault_id: null },
        entry("create_session", pending.id),
      );
      if (!session) throw new Error("activation failed");
      return { session, token };
    },
    async end(session) {
      await storage.sessions.end(
        tenantId,
        session.id,
        { status: "interrupted", ended_at: new Date().toISOString(), end_reason: "test" },
        entry("interrupt_session", session.id),
      );
    },
  };
}

export interface EndpointServer {
  /** The origin, e.g. `http://127.0.0.1:1234`. */
  origin: string;
  /** `{origin}/managed/mcp/{sessionId}`. */
  urlFor(sessionId: string): string;
  close(): Promise<void>;
}

/**
 * Serves `endpoint` at `/managed/mcp/:sessionId` of a node:http server, through vargate's node bridge; with
 * `readsExtras`, as the node adapter does (bodies with a content-length read before the endpoint runs).
 */
export async function startEndpointServer(
  endpoint: McpEndpoint,
  options: { readsExtras?: boolean } = {},
): Promise<EndpointServer> {
  return listen(
    http.createServer((req, res) => {
      const match = /^\/managed\/mcp\/([^/?]+)/.exec(req.url ?? "");
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      const sessionId = decodeURIComponent(match[1] as string);
      void handleNodeRequest((request, extras) => endpoint(request, sessionId, extras), req, res, options);
    }),
  );
}

/** Listens on a free loopback port. */
export async function listen(server: http.Server): Promise<EndpointServer> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    urlFor: (sessionId) => `${origin}/managed/mcp/${sessionId}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A raw `tools/call` of `lookup` over fetch (no SDK client), which `signal` can abandon mid-call. */
export function rawToolCall(url: string, token: string, signal: AbortSignal): Promise<Response | unknown> {
  return fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "lookup", arguments: { id: "1" } },
    }),
    signal,
  }).catch((error: unknown) => error);
}

/** Connects the real MCP SDK client with a bearer token (or none). */
export async function connectClient(url: string, token?: string): Promise<Client> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: "vargate-test", version: "0.0.0" });
  await client.connect(transport);
  return client;
}
