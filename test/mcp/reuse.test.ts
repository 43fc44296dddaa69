import http from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { toNodeHandler } from "../../src/adapters/node.js";
import type { GovernedCallRequest } from "../../src/governed/types.js";
import { createMcpEndpoint, type McpEndpoint } from "../../src/mcp/endpoint.js";
import { defineTool } from "../../src/tools/define.js";
import { ToolRegistry } from "../../src/tools/registry.js";
import {
  connectClient,
  listen,
  type McpFixture,
  mcpFixture,
  rawToolCall,
  type SeededSession,
  startEndpointServer,
} from "./helpers.js";

const lookup = defineTool({
  name: "lookup",
  description: "Look a record up",
  inputSchema: z.object({ id: z.string() }),
  execute: async ({ id }) => `record ${id}`,
});

let fixture: McpFixture;
let calls: GovernedCallRequest[];
let next: (request: GovernedCallRequest) => Promise<void>;
const closers: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  fixture = await mcpFixture(["lookup"]);
  calls = [];
  next = async () => {};
});

afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

function endpoint(): McpEndpoint {
  return createMcpEndpoint({
    storage: fixture.storage,
    tools: new ToolRegistry().register(lookup),
    handleCall: async (request) => {
      calls.push(request);
      await next(request);
      // The session the endpoint authenticated, as the tool's output.
      return { kind: "allowed", action_id: `a-${calls.length}`, output: request.session.id, truncated: false };
    },
    approvalStatus: async () => null,
  });
}

/** Serves `mcp` like the node adapter does: bodies with a content-length are read before the endpoint runs. */
async function serve(mcp: McpEndpoint): Promise<(sessionId: string) => string> {
  const served = await startEndpointServer(mcp, { readsExtras: true });
  closers.push(() => served.close());
  return served.urlFor;
}

async function client(url: string, token: string) {
  const connected = await connectClient(url, token);
  closers.push(() => connected.close());
  return connected;
}

function textOf(result: Awaited<ReturnType<Awaited<ReturnType<typeof client>>["callTool"]>>): string {
  const content = result.content as { type: string; text: string }[];
  return content[0]?.text ?? "";
}

describe("MCP endpoint: reused SDK servers", () => {
  it("answers initialize with the same instructions for every session, whichever server served before", async () => {
    const urlFor = await serve(endpoint());
    const sessions: SeededSession[] = [await fixture.seed(), await fixture.seed(), await fixture.seed()];
    for (let round = 0; round < 2; round += 1) {
      for (const { session, token } of sessions) {
        const connected = await client(urlFor(session.id), token);
        expect(connected.getInstructions()).toContain("vargate governs these tools for this session");
        expect(connected.getInstructions()).not.toContain(session.id);
        await connected.callTool({ name: "lookup", arguments: { id: "1" } });
      }
    }
  });

  it("runs every concurrent call as the session that made it", async () => {
    const urlFor = await serve(endpoint());
    const sessions = await Promise.all(Array.from({ length: 4 }, () => fixture.seed()));
    // Calls overlap: each waits a little, so many servers are busy at once and then reused.
    next = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    const clients = await Promise.all(sessions.map(({ session, token }) => client(urlFor(session.id), token)));
    const results = await Promise.all(
      Array.from({ length: 80 }, async (_, i) => {
        const index = i % sessions.length;
        const result = await (clients[index] as Awaited<ReturnType<typeof client>>).callTool({
          name: "lookup",
          arguments: { id: String(i) },
        });
        return { expected: (sessions[index] as SeededSession).session.id, got: textOf(result) };
      }),
    );
    for (const { expected, got } of results) expect(got).toBe(expected);
    expect(calls).toHaveLength(80);
  });

  it("still answers a body that is not JSON with the SDK's parse error", async () => {
    const urlFor = await serve(endpoint());
    const { session, token } = await fixture.seed();
    const response = await fetch(urlFor(session.id), {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32700 } });
    expect(calls).toHaveLength(0);
  });

  it("holds a body handed over already read to the endpoint's limit: 413, and nothing runs", async () => {
    const mcp = createMcpEndpoint({
      storage: fixture.storage,
      tools: new ToolRegistry().register(lookup),
      handleCall: async (request) => {
        calls.push(request);
        return { kind: "allowed", action_id: "a-1", output: null, truncated: false };
      },
      approvalStatus: async () => null,
      maxBodyBytes: 64,
    });
    const { session, token } = await fixture.seed();
    const body = new TextEncoder().encode(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "lookup", arguments: { id: "x".repeat(100) } },
      }),
    );
    const request = new Request(`http://localhost/managed/mcp/${session.id}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
    });
    const response = await mcp(request, session.id, { body });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    expect(calls).toHaveLength(0);
  });

  it("aborts the call's signal when the client goes away mid-call", async () => {
    const urlFor = await serve(endpoint());
    const { session, token } = await fixture.seed();
    let entered = false;
    next = (request) =>
      new Promise((resolve) => {
        entered = true;
        request.signal?.addEventListener("abort", () => resolve());
      });
    const controller = new AbortController();
    const pending = rawToolCall(urlFor(session.id), token, controller.signal);
    for (let attempt = 0; !entered && attempt < 400; attempt += 1) await new Promise((r) => setTimeout(r, 5));
    expect(entered).toBe(true);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    for (let attempt = 0; !calls[0]?.signal?.aborted && attempt < 400; attempt += 1) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(calls[0]?.signal?.aborted).toBe(true);
  });
});

describe("toNodeHandler: the MCP route", () => {
  it("authenticates every request: a session ended between calls is refused by the pipeline, a wrong token gets 401", async () => {
    const governor = fixture.governor;
    governor.tools.register(lookup);
    const served = await listen(http.createServer(toNodeHandler(governor)));
    closers.push(() => served.close());
    const { origin } = served;
    const { session, token } = await fixture.seed();
    const connected = await client(`${origin}/managed/mcp/${session.id}`, token);
    const allowed = await connected.callTool({ name: "lookup", arguments: { id: "1" } });
    expect(allowed.isError).toBe(false);
    expect(textOf(allowed)).toBe("record 1");

    await fixture.end(session);
    const denied = await connected.callTool({ name: "lookup", arguments: { id: "2" } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain("not active");

    const wrong = await fetch(`${origin}/managed/mcp/${session.id}`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}x`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: "UNAUTHORIZED" });
  });
});
