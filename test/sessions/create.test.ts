import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { isVargateError } from "../../src/errors.js";
import { eventually, type SessionHarness, startSessionHarness } from "./harness.js";

let harness: SessionHarness;
afterEach(async () => harness?.close());

describe("creating a governed session", () => {
  it("attaches the governor and returns the seed's shape", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, {
      name: "Research Assistant",
      system_prompt: "You are a research assistant.",
      allowed_tools: ["vargate_web_search", "vargate_send_email"],
      require_human_approval: ["vargate_send_email", "ba*"],
    });

    const created = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "Summarise." });

    expect(Object.keys(created).sort()).toEqual(
      [
        "agent_id",
        "anthropic_session_id",
        "created_at",
        "governance",
        "mcp_server_url",
        "session_id",
        "status",
        "system_prompt_hash",
        "tenant_id",
      ].sort(),
    );
    expect(created).toMatchObject({ tenant_id: tenantId, agent_id: config.id, status: "active", governance: "active" });
    expect(created.session_id).toMatch(/^vs-[0-9a-f]{16}$/);
    expect(created.mcp_server_url).toBe(`http://127.0.0.1:9/gov/managed/mcp/${created.session_id}`);

    const upstream = fake.session(created.anthropic_session_id as string);
    const agent = upstream?.session.agent as {
      system: string;
      mcp_servers: { name: string; url: string }[];
      tools: {
        type: string;
        mcp_server_name?: string;
        default_config: unknown;
        configs: { name: string; permission_policy: { type: string } }[];
      }[];
    };
    // The governance prompt is what the platform runs, and the recorded hash is its hash.
    expect(agent.system.startsWith("You are a research assistant.\n\n## Governance context")).toBe(true);
    expect(agent.system).toContain("Tools requiring human approval: vargate_send_email, ba*");
    expect(createHash("sha256").update(agent.system).digest("hex")).toBe(created.system_prompt_hash);
    // Our MCP server, with an explicit always_allow toolset.
    expect(agent.mcp_servers).toEqual([{ type: "url", name: "vargate", url: created.mcp_server_url }]);
    const mcpToolset = agent.tools.find((tool) => tool.type === "mcp_toolset");
    expect(mcpToolset).toMatchObject({
      mcp_server_name: "vargate",
      default_config: { permission_policy: { type: "always_allow" } },
    });
    // Built-ins matching require_human_approval ask; the rest are allowed (and observed).
    const builtins = agent.tools.find((tool) => tool.type === "agent_toolset_20260401");
    const policy = (name: string) => builtins?.configs.find((c) => c.name === name)?.permission_policy.type;
    expect(policy("bash")).toBe("always_ask");
    expect(policy("read")).toBe("always_allow");
    // The per-session bearer credential is bound to exactly that URL.
    const credentialRequest = fake.requests.find((r) => r.method === "POST" && /\/credentials$/.test(r.path));
    expect((credentialRequest?.body as { auth?: { mcp_server_url: string } } | undefined)?.auth?.mcp_server_url).toBe(
      created.mcp_server_url,
    );
    expect(upstream?.session.vault_ids).toHaveLength(1);
    // The first message reached the platform.
    await fake.waitForEvent(created.anthropic_session_id as string, "user.message");

    // A control-plane record of the creation, and live counts.
    const trail = await governor.sessions.audit(tenantId, created.session_id);
    expect(trail.map((r) => [r.source, r.method])).toEqual([["control_plane", "create_session"]]);
    const status = await governor.sessions.get(tenantId, created.session_id);
    expect(status).toMatchObject({ status: "active", total_governed_calls: 0, total_observed_calls: 0 });
  });

  it("reuses one upstream agent per config and one default environment", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    await governor.sessions.create(tenantId, { agent_id: config.id });
    await governor.sessions.create(tenantId, { agent_id: config.id });
    const creates = (path: string) => fake.requests.filter((r) => r.method === "POST" && r.path === path).length;
    expect(creates("/v1/agents")).toBe(1);
    expect(creates("/v1/environments")).toBe(1);
    expect(creates("/v1/sessions")).toBe(2);
  });

  it("refuses an unknown agent with 404 and stores nothing", async () => {
    harness = await startSessionHarness();
    const error = await harness.governor.sessions
      .create(harness.tenantId, { agent_id: "agent-000000000000" })
      .catch((e: unknown) => e);
    expect(isVargateError(error, "AGENT_NOT_FOUND")).toBe(true);
    expect(await harness.governor.sessions.list(harness.tenantId)).toEqual([]);
  });

  it("gives exactly 10 of 20 concurrent creates against a limit of 10, and 429s name the limit", async () => {
    harness = await startSessionHarness({ tenant: { max_concurrent_sessions: 10 } });
    const { governor, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => governor.sessions.create(tenantId, { agent_id: config.id })),
    );
    const rejected = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
    expect(rejected).toHaveLength(10);
    for (const error of rejected) {
      expect(isVargateError(error, "SESSION_LIMIT_EXCEEDED")).toBe(true);
      expect((error as Error).message).toBe("Max concurrent sessions exceeded (10/10)");
    }
  });

  it("counts the daily and per-agent limits over a rolling 24 hours", async () => {
    harness = await startSessionHarness({ tenant: { max_daily_sessions: 3 } });
    const { governor, tenantId } = harness;
    const limited = await governor.agents.create(tenantId, { name: "a", max_daily_sessions: 1 });
    const other = await governor.agents.create(tenantId, { name: "b" });
    const first = await governor.sessions.create(tenantId, { agent_id: limited.id });
    await governor.sessions.complete(tenantId, first.session_id);
    await expect(governor.sessions.create(tenantId, { agent_id: limited.id })).rejects.toThrow(
      "Agent daily session limit exceeded (1/1)",
    );
    await governor.sessions.create(tenantId, { agent_id: other.id });
    await governor.sessions.create(tenantId, { agent_id: other.id });
    await expect(governor.sessions.create(tenantId, { agent_id: other.id })).rejects.toThrow(
      "Max daily sessions exceeded (3/3)",
    );
  });

  it("releases the slot when the upstream call fails", async () => {
    harness = await startSessionHarness({ tenant: { max_concurrent_sessions: 1 } });
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    fake.faults.failNext(1, { status: 503, path: "/v1/sessions", method: "POST" });
    const error = await governor.sessions.create(tenantId, { agent_id: config.id }).catch((e: unknown) => e);
    expect(isVargateError(error, "UPSTREAM_ERROR")).toBe(true);
    expect(error).toMatchObject({ upstreamStatus: 503 });
    expect((error as { requestId?: string }).requestId).toBeTruthy();
    // The slot is free again.
    const created = await governor.sessions.create(tenantId, { agent_id: config.id });
    expect(created.status).toBe("active");
    expect(await governor.sessions.list(tenantId)).toHaveLength(1);
    await eventually(async () => (await governor.consumers(tenantId)).length === 1);
  });
});

describe("upstream failures over HTTP", () => {
  it("answers 502 with the upstream status and request id, and stores nothing", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    const { createRequestHandler } = await import("../../src/http/handler.js");
    const { api_key } = await governor.tenants.createApiKey(tenantId);
    fake.faults.failNext(1, { status: 500, path: "/v1/sessions", method: "POST" });
    const response = await createRequestHandler(governor)(
      new Request("http://localhost/managed/sessions", {
        method: "POST",
        headers: { "x-api-key": api_key, "content-type": "application/json" },
        body: JSON.stringify({ agent_id: config.id }),
      }),
    );
    expect(response.status).toBe(502);
    const body = (await response.json()) as { code: string; detail: { upstream_status: number; request_id: string } };
    expect(body.code).toBe("UPSTREAM_ERROR");
    expect(body.detail.upstream_status).toBe(500);
    expect(body.detail.request_id).toBeTruthy();
    expect(await governor.sessions.list(tenantId)).toEqual([]);
  });
});
