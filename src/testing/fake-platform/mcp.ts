/**
 * Real MCP calls for scripted `agent.mcp_tool_use` steps: a Streamable HTTP client per (session, server URL,
 * token), reused across calls so a long script does not redo the `initialize` handshake each time.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import type { FakeContentBlock } from "./types.js";

/** Why a call could not be made: the platform reports these as `session.error`. */
export class McpCallFailure extends Error {
  constructor(
    readonly kind: "authentication" | "connection",
    message: string,
  ) {
    super(message);
    this.name = "McpCallFailure";
  }
}

/** The outcome of a call the server answered. */
export interface McpCallResult {
  content: FakeContentBlock[];
  isError: boolean;
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

function classify(error: unknown): McpCallFailure {
  const message = error instanceof Error ? error.message : String(error);
  const status = statusOf(error);
  const isAuth = status === 401 || status === 403 || (error instanceof Error && error.name === "UnauthorizedError");
  return new McpCallFailure(isAuth ? "authentication" : "connection", message);
}

/** Maps MCP result content onto the content blocks Managed Agents events carry. */
function toBlocks(result: Record<string, unknown>): FakeContentBlock[] {
  const content = Array.isArray(result.content) ? (result.content as Record<string, unknown>[]) : [];
  const blocks: FakeContentBlock[] = content.map((item) => {
    if (item.type === "text") return { type: "text", text: String(item.text ?? "") };
    if (item.type === "image") {
      return { type: "image", source: { type: "base64", media_type: item.mimeType, data: item.data } };
    }
    return { type: "text", text: JSON.stringify(item) };
  });
  if (blocks.length === 0 && result.structuredContent !== undefined) {
    blocks.push({ type: "text", text: JSON.stringify(result.structuredContent) });
  }
  return blocks;
}

export class McpCaller {
  private readonly clients = new Map<string, { sessionId: string; client: Promise<Client> }>();

  constructor(private readonly timeoutMs: number) {}

  /**
   * Calls `name` on the server at `url`. Resolves with the result (a JSON-RPC error becomes an error
   * result); rejects with {@link McpCallFailure} when the server cannot be reached or refuses the auth.
   */
  async call(
    sessionId: string,
    url: string,
    token: string | undefined,
    name: string,
    args: Record<string, unknown>,
  ): Promise<McpCallResult> {
    const key = `${sessionId}\u0000${url}\u0000${token ?? ""}`;
    let entry = this.clients.get(key);
    if (!entry) {
      entry = { sessionId, client: this.connect(url, token) };
      this.clients.set(key, entry);
    }
    let client: Client;
    try {
      client = await entry.client;
    } catch (error) {
      this.clients.delete(key);
      throw classify(error);
    }
    try {
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: this.timeoutMs });
      return { content: toBlocks(result), isError: result.isError === true };
    } catch (error) {
      // A JSON-RPC error is the tool's answer; a transport error means the server is unusable.
      const lost =
        error instanceof McpError && [ErrorCode.ConnectionClosed, ErrorCode.RequestTimeout].includes(error.code);
      if (error instanceof McpError && !lost) {
        return { content: [{ type: "text", text: error.message }], isError: true };
      }
      this.clients.delete(key);
      void client.close().catch(() => undefined);
      throw classify(error);
    }
  }

  /** Closes the clients of one session. */
  async closeSession(sessionId: string): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const [key, entry] of this.clients) {
      if (entry.sessionId !== sessionId) continue;
      this.clients.delete(key);
      closing.push(entry.client.then((c) => c.close()).catch(() => undefined));
    }
    await Promise.all(closing);
  }

  /** Closes every client. */
  async closeAll(): Promise<void> {
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(entries.map((e) => e.client.then((c) => c.close()).catch(() => undefined)));
  }

  private async connect(url: string, token: string | undefined): Promise<Client> {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
    const client = new Client({ name: "vargate-fake-managed-agents", version: "0.0.0" });
    await client.connect(transport, { timeout: this.timeoutMs });
    return client;
  }
}
