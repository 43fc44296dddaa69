// A load generator in its own process, so the clients' CPU (node:http clients or MCP SDK clients) is not charged to the
// server under test: agents never run inside the governor's process. Driven over IPC by http-load.ts.
import http from "node:http";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { timeOperations } from "../../lib/measure.js";
import type { LoadReply, LoadRequest } from "./http-load.js";

process.once("message", (message: LoadRequest) => {
  run(message).then(
    (reply) => process.send?.(reply, () => process.exit(0)),
    (error: unknown) =>
      process.send?.({ type: "error", message: error instanceof Error ? error.message : String(error) }, () =>
        process.exit(1),
      ),
  );
});

async function run(request: LoadRequest): Promise<LoadReply> {
  const operation =
    request.mode === "echo"
      ? echoPosts(request)
      : request.client === "sdk"
        ? await sdkCalls(request)
        : wireCalls(request);
  const cpu = process.cpuUsage();
  const { latencies, seconds } = await timeOperations({ ...request, operation: operation.call });
  const used = process.cpuUsage(cpu);
  await operation.close();
  return { type: "done", latencies: [...latencies], seconds, clientCpuUs: used.user + used.system };
}

/** One SDK client per endpoint, initialized once; each worker holds one client at a time. */
async function sdkCalls(request: Extract<LoadRequest, { mode: "mcp" }>) {
  const clients: Client[] = [];
  for (const { url, token } of request.endpoints) {
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: "vargate-bench", version: "0.0.0" });
    await client.connect(transport);
    clients.push(client);
  }
  const free = [...clients];
  return {
    call: async () => {
      const client = free.pop() as Client;
      try {
        const result = await client.callTool({ name: request.tool, arguments: request.arguments });
        if (result.isError) throw new Error(`tools/call failed: ${JSON.stringify(result.content)}`);
      } finally {
        free.push(client);
      }
    },
    close: () => Promise.all(clients.map((client) => client.close().catch(() => {}))),
  };
}

/**
 * MCP on the wire, as a platform's client sends it to a stateless endpoint: a `tools/call` POSTed with the
 * Streamable HTTP headers over keep-alive connections, by the same client as the echo baseline's. The answer must be
 * the call's JSON-RPC result, and not a tool error.
 */
function wireCalls(request: Extract<LoadRequest, { mode: "mcp" }>) {
  const free = [...request.endpoints];
  let id = 0;
  return {
    call: async () => {
      const endpoint = free.pop() as (typeof request.endpoints)[number];
      try {
        const callId = id++;
        const response = await post(endpoint.url, toolsCall(callId, request), `Bearer ${endpoint.token}`);
        const message = JSON.parse(response.body) as { id?: number; result?: { isError?: boolean } };
        if (response.status !== 200 || message.id !== callId || !message.result || message.result.isError) {
          throw new Error(`tools/call failed (${response.status}): ${response.body}`);
        }
      } finally {
        free.push(endpoint);
      }
    },
    close: async () => {},
  };
}

/** The same JSON-RPC body, POSTed with the same headers and client, to a server that echoes it. */
function echoPosts(request: Extract<LoadRequest, { mode: "echo" }>) {
  let id = 0;
  return {
    call: async () => {
      const response = await post(request.url, toolsCall(id++, request));
      JSON.parse(response.body);
    },
    close: async () => {},
  };
}

// node:http's client with keep-alive: it costs the load generator less CPU per call than fetch, and on a 2-core
// machine the load generator's CPU is taken from the server under test.
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

function post(url: string, body: string, authorization?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": LATEST_PROTOCOL_VERSION,
      "content-length": Buffer.byteLength(body),
    };
    if (authorization) headers.authorization = authorization;
    const request = http.request(url, { method: "POST", agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

function toolsCall(id: number, request: LoadRequest): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: request.tool, arguments: request.arguments },
  });
}
