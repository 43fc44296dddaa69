// The MCP endpoint through the real MCP SDK client over loopback HTTP, with a fake governed-call pipeline.
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { VargateError } from "../../src/errors.js";
import type { GovernedCallOutcome, GovernedCallRequest } from "../../src/governed/types.js";
import { handleNodeRequest } from "../../src/http/node-bridge.js";
import type { JsonValue } from "../../src/json.js";
import type { Logger } from "../../src/logger.js";
import { createMcpEndpoint, type McpEndpoint } from "../../src/mcp/endpoint.js";
import type { SessionRecord } from "../../src/sessions/types.js";
import { defineTool } from "../../src/tools/define.js";
import { ToolRegistry } from "../../src/tools/registry.js";
import {
  connectClient,
  type EndpointServer,
  type McpFixture,
  mcpFixture,
  rawToolCall,
  type SeededSession,
  startEndpointServer,
} from "./helpers.js";

const createCharge = defineTool({
  name: "create_charge",
  description: "Charge a customer, in cents",
  inputSchema: z.object({
    customer: z.string().min(1),
    amount: z.number().int().positive(),
    currency: z.enum(["usd", "gbp"]).default("usd"),
  }),
  execute: async () => ({ charged: true }),
});
const lookup = defineTool({
  name: "lookup",
  description: "Look a record up",
  inputSchema: z.object({ id: z.string() }),
  execute: async ({ id }) => `record ${id}`,
});
const hidden = defineTool({
  name: "delete_everything",
  description: "Registered but not allowed for this agent",
  inputSchema: z.object({}),
  execute: async () => null,
});

interface Recorder {
  calls: GovernedCallRequest[];
  statusCalls: { session: SessionRecord; actionId: string }[];
  errors: { message: string; data?: Record<string, unknown> }[];
  next: (request: GovernedCallRequest) => Promise<GovernedCallOutcome>;
  status: (session: SessionRecord, actionId: string) => Promise<JsonValue>;
}

let fixture: McpFixture;
let seeded: SeededSession;
let server: EndpointServer;
let recorder: Recorder;
const closers: (() => Promise<unknown>)[] = [];

function endpointFor(f: McpFixture, r: Recorder): McpEndpoint {
  const logger: Logger = {
    debug() {},
    info() {},
    warn() {},
    error: (message, data) => r.errors.push({ message, ...(data && { data }) }),
  };
  return createMcpEndpoint({
    storage: f.storage,
    tools: new ToolRegistry().register(createCharge, lookup, hidden),
    handleCall: async (request) => {
      r.calls.push(request);
      return r.next(request);
    },
    approvalStatus: async (session, actionId) => {
      r.statusCalls.push({ session, actionId });
      return r.status(session, actionId);
    },
    logger,
  });
}

beforeEach(async () => {
  fixture = await mcpFixture(["create_charge", "lookup", "not_registered"]);
  seeded = await fixture.seed();
  recorder = {
    calls: [],
    statusCalls: [],
    errors: [],
    next: async () => ({ kind: "allowed", action_id: "a-1", output: { ok: true }, truncated: false }),
    status: async (_session, actionId) => ({ action_id: actionId, status: "pending" }),
  };
  server = await startEndpointServer(endpointFor(fixture, recorder));
});

afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
  await server.close();
});

async function client(token = seeded.token, sessionId = seeded.session.id) {
  const connected = await connectClient(server.urlFor(sessionId), token);
  closers.push(() => connected.close());
  return connected;
}

function rawPost(url: string, headers: Record<string, string> = {}, method = "POST") {
  return fetch(url, {
    method,
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    ...(method === "POST" && {
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
      }),
    }),
  });
}

describe("MCP endpoint authentication", () => {
  it("answers 401 with the usual error body without a token, with a wrong one, or on another session's URL", async () => {
    const other = await fixture.seed();
    const url = server.urlFor(seeded.session.id);
    const cases: Record<string, string>[] = [
      {},
      { authorization: "Bearer vgs_wrong" },
      { authorization: `Basic ${seeded.token}` },
      { authorization: `Bearer ${other.token}` },
    ];
    for (const headers of cases) {
      const response = await rawPost(url, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expect(await response.json()).toEqual({ detail: "Missing or invalid MCP session token", code: "UNAUTHORIZED" });
    }
    const unknownSession = await rawPost(server.urlFor("vs-0000000000000000"), {
      authorization: `Bearer ${seeded.token}`,
    });
    expect(unknownSession.status).toBe(401);
    expect(recorder.calls).toEqual([]);
  });

  it("refuses the real client without a token or with the wrong one", async () => {
    for (const token of [undefined, "vgs_nope"]) {
      const error = await connectClient(server.urlFor(seeded.session.id), token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(401);
    }
  });

  it("initializes with the session's token and describes itself", async () => {
    const connected = await client();
    expect(connected.getServerVersion()).toMatchObject({ name: "vargate" });
    expect(connected.getServerCapabilities()).toMatchObject({ tools: {} });
    expect(connected.getInstructions()).toContain("vargate_approval_status");
  });

  it("answers GET and DELETE with 405, as a stateless server does", async () => {
    for (const method of ["GET", "DELETE"]) {
      const response = await rawPost(
        server.urlFor(seeded.session.id),
        { authorization: `Bearer ${seeded.token}`, accept: "text/event-stream" },
        method,
      );
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("POST");
      expect(await response.json()).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    }
  });
});

describe("tools/list", () => {
  it("lists the registered tools in allowed_tools, and vargate_approval_status", async () => {
    const { tools } = await (await client()).listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["create_charge", "lookup", "vargate_approval_status"]);
    expect(tools[0]).toMatchObject({
      description: "Charge a customer, in cents",
      inputSchema: {
        type: "object",
        properties: { customer: { type: "string", minLength: 1 }, amount: { type: "integer", exclusiveMinimum: 0 } },
        required: ["customer", "amount"],
      },
    });
    expect(tools[2]).toMatchObject({
      inputSchema: { type: "object", properties: { action_id: { type: "string" } }, required: ["action_id"] },
    });
  });

  it("follows the agent config as it changes", async () => {
    await fixture.governor.agents.update(fixture.tenantId, fixture.agentId, { allowed_tools: ["lookup"] });
    const { tools } = await (await client()).listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["lookup", "vargate_approval_status"]);
  });
});

describe("tools/call", () => {
  it("hands the parsed call to the pipeline with the session, and maps an allowed outcome", async () => {
    recorder.next = async () => ({
      kind: "allowed",
      action_id: "4b0c1f1e-0000-4000-8000-000000000001",
      output: { id: "ch_1", amount: 500 },
      truncated: false,
    });
    const result = await (await client()).callTool({
      name: "create_charge",
      arguments: { customer: "cus_1", amount: 500, ignored: "dropped by the schema" },
    });
    expect(result).toEqual({
      content: [{ type: "text", text: '{"id":"ch_1","amount":500}' }],
      isError: false,
      _meta: {
        vargate: { action_id: "4b0c1f1e-0000-4000-8000-000000000001", decision: "allow", truncated: false },
      },
    });
    expect(recorder.calls).toHaveLength(1);
    const [call] = recorder.calls;
    expect(call?.tool).toBe("create_charge");
    // Defaults applied and unknown keys dropped: policy sees exactly what the tool will run with.
    expect(call?.input).toEqual({ customer: "cus_1", amount: 500, currency: "usd" });
    expect(call?.session).toEqual(seeded.session);
    expect(call?.signal).toBeInstanceOf(AbortSignal);
  });

  it("passes a string output through as text", async () => {
    recorder.next = async () => ({ kind: "allowed", action_id: "a-2", output: "record 7", truncated: true });
    const result = await (await client()).callTool({ name: "lookup", arguments: { id: "7" } });
    expect(result.content).toEqual([{ type: "text", text: "record 7" }]);
    expect(result.isError).toBe(false);
    expect(result._meta).toEqual({ vargate: { action_id: "a-2", decision: "allow", truncated: true } });
  });

  it("maps a failed execution to an error result", async () => {
    recorder.next = async () => ({ kind: "failed", action_id: "a-3", error: 'Tool "lookup" failed: boom' });
    const result = await (await client()).callTool({ name: "lookup", arguments: { id: "7" } });
    expect(result.isError).toBe(true);
    expect(JSON.parse((result.content as { text: string }[])[0]?.text as string)).toEqual({
      status: "failed",
      action_id: "a-3",
      error: 'Tool "lookup" failed: boom',
    });
    expect(result._meta).toEqual({ vargate: { action_id: "a-3", decision: "allow", status: "failed" } });
  });

  it("maps a denial to an error result naming the violations and the severity", async () => {
    recorder.next = async () => ({
      kind: "denied",
      action_id: "a-4",
      violations: ["amount_over_limit", "Charges above 1000 need finance"],
      severity: "high",
    });
    const result = await (await client()).callTool({
      name: "create_charge",
      arguments: { customer: "cus_1", amount: 5000 },
    });
    expect(result.isError).toBe(true);
    const body = JSON.parse((result.content as { text: string }[])[0]?.text as string);
    expect(body).toEqual({
      status: "denied",
      action_id: "a-4",
      violations: ["amount_over_limit", "Charges above 1000 need finance"],
      severity: "high",
      message: "Denied by policy: amount_over_limit; Charges above 1000 need finance",
    });
    expect(result._meta).toMatchObject({ vargate: { action_id: "a-4", decision: "deny", severity: "high" } });
  });

  it("maps a pending approval to a non-error result with the action id", async () => {
    recorder.next = async () => ({
      kind: "pending",
      action_id: "a-5",
      expires_at: "2026-11-28T15:30:00.000Z",
      message: "This action requires human approval. Check back with vargate_approval_status.",
    });
    const result = await (await client()).callTool({
      name: "create_charge",
      arguments: { customer: "cus_1", amount: 5000 },
    });
    expect(result.isError).toBe(false);
    expect(JSON.parse((result.content as { text: string }[])[0]?.text as string)).toEqual({
      status: "pending_approval",
      action_id: "a-5",
      expires_at: "2026-11-28T15:30:00.000Z",
      message: "This action requires human approval. Check back with vargate_approval_status.",
    });
    expect(result._meta).toMatchObject({ vargate: { action_id: "a-5", decision: "requires_human" } });
  });

  it("rejects invalid arguments with invalid params naming the fields, without calling the pipeline", async () => {
    const connected = await client();
    const error = await connected
      .callTool({ name: "create_charge", arguments: { customer: "", amount: -5, extra: true } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).message).toContain("Invalid arguments for tool create_charge");
    expect((error as McpError).message).toContain("input.customer");
    expect((error as McpError).message).toContain("input.amount");
    expect((error as McpError).data).toMatchObject({
      issues: [{ loc: ["input", "customer"] }, { loc: ["input", "amount"] }],
    });
    const missing = await connected.callTool({ name: "lookup" }).catch((e: unknown) => e);
    expect((missing as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((missing as McpError).message).toContain("input.id");
    expect(recorder.calls).toEqual([]);
  });

  it("rejects an unknown tool with invalid params naming it, without calling the pipeline", async () => {
    const connected = await client();
    for (const name of ["nope", "not_registered"]) {
      const error = await connected.callTool({ name, arguments: {} }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
      expect((error as McpError).message).toContain(`Unknown tool: ${name}`);
    }
    expect(recorder.calls).toEqual([]);
  });

  it("sends a registered tool outside allowed_tools to the pipeline, which decides (and audits) the denial", async () => {
    recorder.next = async () => ({
      kind: "denied",
      action_id: "a-6",
      violations: ["Tool delete_everything is not in allowed_tools"],
      severity: "high",
    });
    const result = await (await client()).callTool({ name: "delete_everything", arguments: {} });
    expect(result.isError).toBe(true);
    expect(recorder.calls.map((call) => call.tool)).toEqual(["delete_everything"]);
  });

  it("passes the session of an ended session through; the pipeline denies", async () => {
    const connected = await client();
    await fixture.end(seeded.session);
    recorder.next = async (request) => ({
      kind: "denied",
      action_id: "a-7",
      violations: [`Session is ${request.session.status}`],
      severity: "high",
    });
    const result = await connected.callTool({ name: "lookup", arguments: { id: "1" } });
    expect(result.isError).toBe(true);
    expect(recorder.calls[0]?.session.status).toBe("interrupted");
    expect((result.content as { text: string }[])[0]?.text).toContain("Session is interrupted");
  });

  it("turns an unexpected pipeline failure into a generic internal error and logs it", async () => {
    recorder.next = async () => {
      throw new Error("connection string postgres://user:hunter2@db leaked?");
    };
    const error = await (await client()).callTool({ name: "lookup", arguments: { id: "1" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(ErrorCode.InternalError);
    expect((error as McpError).message).not.toContain("hunter2");
    expect(recorder.errors).toHaveLength(1);
    expect(recorder.errors[0]?.data).toMatchObject({ tool: "lookup", session_id: seeded.session.id });
  });
});

describe("vargate_approval_status", () => {
  it("returns the pipeline's answer for the session and action id", async () => {
    recorder.status = async (_session, actionId) => ({ action_id: actionId, status: "approved", result: { ok: 1 } });
    const result = await (await client()).callTool({
      name: "vargate_approval_status",
      arguments: { action_id: "a-9" },
    });
    expect(result.isError).toBe(false);
    expect(JSON.parse((result.content as { text: string }[])[0]?.text as string)).toEqual({
      action_id: "a-9",
      status: "approved",
      result: { ok: 1 },
    });
    expect(recorder.statusCalls).toHaveLength(1);
    expect(recorder.statusCalls[0]?.session.id).toBe(seeded.session.id);
    expect(recorder.calls).toEqual([]);
  });

  it("rejects a missing action_id with invalid params", async () => {
    const error = await (await client())
      .callTool({ name: "vargate_approval_status", arguments: {} })
      .catch((e: unknown) => e);
    expect((error as McpError).code).toBe(ErrorCode.InvalidParams);
    expect((error as McpError).message).toContain("input.action_id");
    expect(recorder.statusCalls).toEqual([]);
  });

  it("answers an unknown action id with an error result the agent can read", async () => {
    recorder.status = async () => {
      throw new VargateError("NOT_FOUND", "No approval a-404 in this session");
    };
    const result = await (await client()).callTool({
      name: "vargate_approval_status",
      arguments: { action_id: "a-404" },
    });
    expect(result.isError).toBe(true);
    expect(JSON.parse((result.content as { text: string }[])[0]?.text as string)).toEqual({
      status: "error",
      action_id: "a-404",
      code: "NOT_FOUND",
      message: "No approval a-404 in this session",
    });
  });
});

describe("client disconnects", () => {
  it("aborts the call's signal and finishes the request when the client goes away mid-call", async () => {
    const inner = endpointFor(fixture, recorder);
    let settled = 0;
    const tracked: McpEndpoint = async (request, sessionId) => {
      try {
        return await inner(request, sessionId);
      } finally {
        settled += 1;
      }
    };
    const local = await startEndpointServer(tracked);
    closers.push(() => local.close());
    let entered = false;
    recorder.next = (request) =>
      new Promise((resolve) => {
        entered = true;
        request.signal?.addEventListener("abort", () =>
          resolve({ kind: "failed", action_id: "a-8", error: "cancelled" }),
        );
      });

    const controller = new AbortController();
    const pending = rawToolCall(local.urlFor(seeded.session.id), seeded.token, controller.signal);
    for (let attempt = 0; !entered && attempt < 400; attempt += 1) await new Promise((r) => setTimeout(r, 5));
    expect(entered).toBe(true);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    for (let attempt = 0; settled === 0 && attempt < 400; attempt += 1) await new Promise((r) => setTimeout(r, 5));
    expect(recorder.calls[0]?.signal?.aborted).toBe(true);
    expect(settled).toBe(1);
  });
});

describe("stateless serving", () => {
  it("serves one session's requests from two endpoint instances, alternating per request", async () => {
    const first = endpointFor(fixture, recorder);
    const second = endpointFor(fixture, recorder);
    const served: number[] = [];
    let turn = 0;
    const balancer = http.createServer((req, res) => {
      const index = turn++ % 2;
      served.push(index);
      const endpoint = index === 0 ? first : second;
      void handleNodeRequest((request) => endpoint(request, seeded.session.id), req, res);
    });
    balancer.listen(0, "127.0.0.1");
    await once(balancer, "listening");
    closers.push(async () => {
      balancer.closeAllConnections();
      await new Promise<void>((resolve) => balancer.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}/managed/mcp/${seeded.session.id}`;
    const connected = await connectClient(url, seeded.token);
    closers.push(() => connected.close());

    const { tools } = await connected.listTools();
    expect(tools.map((tool) => tool.name)).toContain("lookup");
    for (const id of ["1", "2", "3"]) {
      const result = await connected.callTool({ name: "lookup", arguments: { id } });
      expect(result.isError).toBe(false);
    }
    expect(new Set(served)).toEqual(new Set([0, 1]));
    expect(recorder.calls.map((call) => (call.input as { id: string }).id)).toEqual(["1", "2", "3"]);
  });
});
