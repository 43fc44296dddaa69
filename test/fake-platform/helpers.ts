import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { createFakePlatform, type FakePlatform, type FakePlatformOptions } from "../../src/testing/index.js";

export interface Harness {
  fake: FakePlatform;
  client: Anthropic;
}

/** A fake platform and a real SDK client pointed at it (no retries, so errors surface at once). */
export async function startFake(options: FakePlatformOptions = {}): Promise<Harness> {
  const fake = await createFakePlatform(options);
  const client = new Anthropic({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 });
  return { fake, client };
}

/** An environment and an agent with the built-in toolset, ready for sessions. */
export async function seedAgent(client: Anthropic, tools: Anthropic.Beta.AgentCreateParams["tools"] = []) {
  const environment = await client.beta.environments.create({ name: "test-env" });
  const agent = await client.beta.agents.create({ name: "tester", model: "claude-sonnet-4-6", tools });
  return { environment, agent };
}

type StreamEvent = { type: string; id?: string; [key: string]: unknown };

/** Reads a stream until `stop` matches an event (included), then closes it. */
export async function readUntil(
  stream: AsyncIterable<unknown>,
  stop: (event: StreamEvent) => boolean,
): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  for await (const raw of stream) {
    const event = raw as StreamEvent;
    seen.push(event);
    if (stop(event)) break;
  }
  return seen;
}

/** True for the idle that ends a turn (not a `requires_action` pause). */
export const endOfTurn = (event: StreamEvent) =>
  event.type === "session.status_idle" && (event.stop_reason as { type: string }).type !== "requires_action";

export interface TestMcpServer {
  url: string;
  /** The `authorization` header of every HTTP request the server received (undefined when absent). */
  authHeaders: (string | undefined)[];
  /** Every `lookup` call's arguments. */
  calls: { q: string }[];
  close(): Promise<void>;
}

/**
 * A small MCP server (stateless Streamable HTTP) with one tool, `lookup`. With `requiredToken`, requests
 * without `Authorization: Bearer <requiredToken>` get 401.
 */
export async function startMcpServer(requiredToken?: string): Promise<TestMcpServer> {
  const authHeaders: (string | undefined)[] = [];
  const calls: { q: string }[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    authHeaders.push(req.headers.authorization);
    if (requiredToken !== undefined && req.headers.authorization !== `Bearer ${requiredToken}`) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized"}');
      return;
    }
    const mcp = new McpServer({ name: "test-mcp", version: "1.0.0" });
    mcp.registerTool("lookup", { description: "Looks something up", inputSchema: { q: z.string() } }, async ({ q }) => {
      calls.push({ q });
      return { content: [{ type: "text", text: `result for ${q}` }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  };
  const server = createServer((req, res) => {
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    authHeaders,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
