// A governor served over real HTTP, the fake platform as its upstream (real SDK), and a target API for tools.
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as z from "zod";
import { toNodeHandler } from "../../src/adapters/node.js";
import { VargateGovernor, type VargateGovernorOptions } from "../../src/governor.js";
import type { Logger } from "../../src/logger.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { createFakePlatform, type FakePlatform } from "../../src/testing/fake-platform/index.js";
import { defineTool } from "../../src/tools/define.js";
import { anthropicUpstream } from "../../src/upstream/anthropic.js";

export const CRM_SECRET = "crm-secret-7f3a9c1e5b";

export interface TargetRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A target API that records each request and echoes what it got, Authorization header included. */
export async function startTarget() {
  const requests: TargetRequest[] = [];
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const request = { method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, body };
    requests.push(request);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true, echo: request }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every log line, for "secrets never appear in logs". */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, data?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, message, ...data }));
  };
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

export function governedTools(targetUrl: string) {
  const post = async (path: string, body: unknown, authorization?: string) => {
    const response = await fetch(`${targetUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authorization && { authorization }) },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { ok: boolean; echo: TargetRequest };
  };
  return [
    defineTool({
      name: "crm_lookup",
      description: "Look a customer up in the CRM",
      inputSchema: z.object({ customer_id: z.string().min(1) }),
      credentials: ["crm"],
      execute: async (input, { credentials }) => post("/crm", input, `Bearer ${credentials.crm}`),
    }),
    defineTool({
      name: "create_transfer",
      description: "Move money",
      inputSchema: z.object({ amount: z.number().positive(), to: z.string() }),
      execute: async (input) => post("/transfers", input),
    }),
    defineTool({
      name: "send_email",
      description: "Send an email",
      inputSchema: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
      execute: async (input) => post("/email", input),
    }),
    defineTool({
      name: "delete_records",
      description: "Delete records (never allowed for the test agent)",
      inputSchema: z.object({ table: z.string() }),
      execute: async (input) => post("/delete", input),
    }),
  ];
}

export interface GovernanceHarness {
  fake: FakePlatform;
  governor: VargateGovernor;
  storage: VargateStorage;
  target: Awaited<ReturnType<typeof startTarget>>;
  logger: ReturnType<typeof capturingLogger>;
  url: string;
  tenantId: string;
  apiKey: string;
  close(): Promise<void>;
}

export async function startGovernance(overrides: Partial<VargateGovernorOptions> = {}): Promise<GovernanceHarness> {
  const fake = await createFakePlatform({ heartbeatMs: 0 });
  const target = await startTarget();
  const logger = capturingLogger();
  const storage = overrides.storage ?? memoryStorage();
  let handler: ReturnType<typeof toNodeHandler> | undefined;
  const server = http.createServer((req, res) => void handler?.(req, res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const governor = new VargateGovernor({
    storage,
    logger,
    upstream: anthropicUpstream({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 }),
    consumers: { leaseMs: 1_000, initialBackoffMs: 5, maxBackoffMs: 50 },
    tools: governedTools(target.url),
    credentialStore: undefined,
    governedCalls: { approvalWaitMs: 100, approvalPollMs: 10 },
    ...overrides,
    sessions: { publicUrl: url, ...overrides.sessions },
  });
  handler = toNodeHandler(governor);
  process.env.VARGATE_CREDENTIAL_KEY ??= "a".repeat(64);
  await governor.migrate();
  const tenantId = `t-${Math.random().toString(16).slice(2, 10)}`;
  const { api_key } = await governor.tenants.create({ tenant_id: tenantId });
  await governor.credentials.put(tenantId, "crm", CRM_SECRET);
  return {
    fake,
    governor,
    storage,
    target,
    logger,
    url,
    tenantId,
    apiKey: api_key,
    async close() {
      await governor.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
      await target.close();
    },
  };
}

/** The text of every `agent.mcp_tool_result` the fake agent received in a session. */
export function mcpResults(fake: FakePlatform, upstreamSessionId: string): { text: string; is_error: boolean }[] {
  return (fake.session(upstreamSessionId)?.events ?? [])
    .filter((event) => event.type === "agent.mcp_tool_result")
    .map((event) => ({
      text: ((event.content as { type: string; text?: string }[] | undefined) ?? []).map((c) => c.text ?? "").join(""),
      is_error: event.is_error === true,
    }));
}
