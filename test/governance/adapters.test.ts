// The governed MCP endpoint and the approval routes through real Express and Fastify apps, mounted under a prefix.
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { toExpressRouter } from "../../src/adapters/express.js";
import { vargateFastify } from "../../src/adapters/fastify.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import { createFakePlatform, type FakePlatform } from "../../src/testing/fake-platform/index.js";
import { anthropicUpstream } from "../../src/upstream/anthropic.js";
import { CRM_SECRET, governedTools, mcpResults, startTarget } from "./harness.js";

type Mount = (governor: VargateGovernor) => Promise<{ url: string; close(): Promise<void> }>;

const mounts: [string, Mount][] = [
  [
    "express",
    async (governor) => {
      const app = express();
      app.use("/api", toExpressRouter(governor));
      const server = app.listen(0, "127.0.0.1");
      await new Promise((resolve) => server.once("listening", resolve));
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}/api`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    },
  ],
  [
    "fastify",
    async (governor) => {
      const app = Fastify();
      await app.register(vargateFastify, { governor, prefix: "/api" });
      await app.listen({ port: 0, host: "127.0.0.1" });
      const { port } = app.server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}/api`, close: () => app.close() };
    },
  ],
];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each(mounts)("governed calls through %s", (_name, mount) => {
  it("serves MCP to the platform's agent and approvals to the reviewer", async () => {
    process.env.VARGATE_CREDENTIAL_KEY ??= "a".repeat(64);
    const fake: FakePlatform = await createFakePlatform({ heartbeatMs: 0 });
    cleanups.push(() => fake.close());
    const target = await startTarget();
    cleanups.push(() => target.close());
    // The public URL is known only once the app listens; sessions read it when they start.
    const sessionOptions: { publicUrl?: string } = {};
    const governor = new VargateGovernor({
      storage: memoryStorage(),
      upstream: anthropicUpstream({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 }),
      sessions: sessionOptions,
      tools: governedTools(target.url),
      governedCalls: { approvalWaitMs: 50, approvalPollMs: 10 },
    });
    cleanups.push(() => governor.stop());
    const app = await mount(governor);
    cleanups.push(() => app.close());
    sessionOptions.publicUrl = app.url;

    const { api_key } = await governor.tenants.create({ tenant_id: "acme" });
    await governor.credentials.put("acme", "crm", CRM_SECRET);
    const agent = await governor.agents.create("acme", {
      name: "a",
      allowed_tools: ["crm_lookup", "send_email"],
      require_human_approval: ["send_email"],
    });
    fake.setDefaultScript([
      { type: "mcp_tool_use", server: "vargate", name: "crm_lookup", input: { customer_id: "7" } },
      {
        type: "mcp_tool_use",
        server: "vargate",
        name: "send_email",
        input: { to: "x@y.com", subject: "s", body: "b" },
      },
    ]);
    const headers = { "x-api-key": api_key, "content-type": "application/json" };
    const created = (await (
      await fetch(`${app.url}/managed/sessions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ agent_id: agent.id, user_message: "go" }),
      })
    ).json()) as { session_id: string; anthropic_session_id: string; mcp_server_url: string };
    expect(created.mcp_server_url).toBe(`${app.url}/managed/mcp/${created.session_id}`);
    await fake.waitForEvent(created.anthropic_session_id, (e) => e.type === "session.status_idle");
    await fake.settled(created.anthropic_session_id, { timeoutMs: 20_000 });

    const results = mcpResults(fake, created.anthropic_session_id);
    expect(results).toHaveLength(2);
    expect(results[0]?.is_error).toBe(false);
    expect(results[1]?.text).toContain("pending_approval");
    expect(target.requests[0]?.authorization).toBe(`Bearer ${CRM_SECRET}`);

    const { approvals } = (await (await fetch(`${app.url}/managed/approvals`, { headers })).json()) as {
      approvals: { action_id: string }[];
    };
    const approved = await fetch(`${app.url}/managed/approvals/${approvals[0]?.action_id}/approve`, {
      method: "POST",
      headers,
      body: JSON.stringify({ note: "ok" }),
    });
    expect(approved.status).toBe(200);
    expect(target.requests.map((r) => r.url)).toEqual(["/crm", "/email"]);

    // A wrong bearer token at the MCP endpoint is a 401.
    const denied = await fetch(created.mcp_server_url, {
      method: "POST",
      headers: {
        authorization: "Bearer vgs_wrong",
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(denied.status).toBe(401);
  });
});
