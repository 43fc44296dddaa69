// A load generator in its own process, so the clients' CPU (the MCP SDK client, undici) is not charged to the
// server under test: agents never run inside the governor's process. Driven over IPC by http-load.ts.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
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
  const operation = request.mode === "mcp" ? await mcpCalls(request) : echoPosts(request);
  const cpu = process.cpuUsage();
  const { latencies, seconds } = await timeOperations({ ...request, operation: operation.call });
  const used = process.cpuUsage(cpu);
  await operation.close();
  return { type: "done", latencies: [...latencies], seconds, clientCpuUs: used.user + used.system };
}

/** One SDK client per endpoint, initialized once; each worker holds one client at a time. */
async function mcpCalls(request: Extract<LoadRequest, { mode: "mcp" }>) {
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

/** The same JSON-RPC body an MCP client sends, POSTed with keep-alive fetch. */
function echoPosts(request: Extract<LoadRequest, { mode: "echo" }>) {
  let id = 0;
  return {
    call: async () => {
      const body = JSON.stringify({
        jsonrpc: "2.0",
        id: id++,
        method: "tools/call",
        params: { name: request.tool, arguments: request.arguments },
      });
      const response = await fetch(request.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body,
      });
      await response.json();
    },
    close: async () => {},
  };
}
