import type Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { endOfTurn, type Harness, readUntil, startFake, startMcpServer, type TestMcpServer } from "./helpers.js";

let h: Harness;
let mcp: TestMcpServer;
afterEach(async () => {
  await h?.fake.close();
  await mcp?.close();
});

const hello = { type: "user.message" as const, content: [{ type: "text" as const, text: "go" }] };

/** An agent declaring the test MCP server as `docs`, with the given toolset default policy. */
async function mcpAgent(client: Anthropic, url: string, policy: "always_allow" | "always_ask" | null) {
  const environment = await client.beta.environments.create({ name: "e" });
  const agent = await client.beta.agents.create({
    name: "mcp-agent",
    model: "claude-sonnet-4-6",
    mcp_servers: [{ type: "url", name: "docs", url }],
    tools: [
      {
        type: "mcp_toolset",
        mcp_server_name: "docs",
        ...(policy ? { default_config: { permission_policy: { type: policy } } } : {}),
      },
    ],
  });
  return { environment, agent };
}

async function vaultWith(client: Anthropic, url: string, token: string) {
  const vault = await client.beta.vaults.create({ display_name: "v" });
  await client.beta.vaults.credentials.create(vault.id, {
    auth: { type: "static_bearer", mcp_server_url: url, token },
  });
  return vault;
}

describe("fake platform MCP tool uses", () => {
  it("really calls the declared server with the vault credential's bearer token", async () => {
    mcp = await startMcpServer("tok-123");
    h = await startFake();
    const { environment, agent } = await mcpAgent(h.client, mcp.url, "always_allow");
    const vault = await vaultWith(h.client, mcp.url, "tok-123");
    h.fake.script(agent.id, [{ type: "mcp_tool_use", server: "docs", name: "lookup", input: { q: "cats" } }]);
    const session = await h.client.beta.sessions.create({
      agent: agent.id,
      environment_id: environment.id,
      vault_ids: [vault.id],
    });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const events = await readUntil(stream, endOfTurn);

    expect(events.map((e) => e.type)).toEqual([
      "user.message",
      "session.status_running",
      "span.model_request_start",
      "agent.mcp_tool_use",
      "span.model_request_end",
      "agent.mcp_tool_result",
      "session.status_idle",
    ]);
    const use = events[3];
    expect(use).toMatchObject({
      name: "lookup",
      mcp_server_name: "docs",
      input: { q: "cats" },
      evaluated_permission: "allow",
      evaluation: { type: "always_allow" },
    });
    expect(events[5]).toMatchObject({
      mcp_tool_use_id: use?.id,
      is_error: false,
      content: [{ type: "text", text: "result for cats" }],
    });
    expect(mcp.calls).toEqual([{ q: "cats" }]);
    expect(mcp.authHeaders.length).toBeGreaterThan(0);
    expect(new Set(mcp.authHeaders)).toEqual(new Set(["Bearer tok-123"]));
  });

  it("parks MCP calls under the default always_ask and calls the server only after allow", async () => {
    mcp = await startMcpServer();
    h = await startFake();
    const { environment, agent } = await mcpAgent(h.client, mcp.url, null);
    h.fake.script(agent.id, [{ type: "mcp_tool_use", server: "docs", name: "lookup", input: { q: "dogs" } }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const parked = await h.fake.settled(session.id);
    const use = parked.events.find((e) => e.type === "agent.mcp_tool_use");
    expect(use).toMatchObject({ evaluated_permission: "ask", evaluation: { type: "always_ask" } });
    expect(mcp.calls).toEqual([]);
    await h.client.beta.sessions.events.send(session.id, {
      events: [{ type: "user.tool_confirmation", tool_use_id: use?.id as string, result: "allow" }],
    });
    const result = await h.fake.waitForEvent(session.id, "agent.mcp_tool_result");
    expect(result).toMatchObject({ mcp_tool_use_id: use?.id, content: [{ text: "result for dogs" }] });
    expect(mcp.calls).toEqual([{ q: "dogs" }]);
  });

  it("matches credentials by exact URL: a near miss goes out unauthenticated and fails auth", async () => {
    mcp = await startMcpServer("tok-123");
    h = await startFake();
    const { environment, agent } = await mcpAgent(h.client, mcp.url, "always_allow");
    const vault = await vaultWith(h.client, `${mcp.url}/`, "tok-123");
    h.fake.script(agent.id, [
      { type: "mcp_tool_use", server: "docs", name: "lookup", input: { q: "x" } },
      { type: "message", text: "carried on" },
    ]);
    const session = await h.client.beta.sessions.create({
      agent: agent.id,
      environment_id: environment.id,
      vault_ids: [vault.id],
    });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const state = await h.fake.settled(session.id);
    expect(mcp.authHeaders[0]).toBeUndefined();
    const error = state.events.find((e) => e.type === "session.error");
    expect(error).toMatchObject({
      error: { type: "mcp_authentication_failed_error", mcp_server_name: "docs", retry_status: { type: "retrying" } },
    });
    expect(state.events.find((e) => e.type === "agent.mcp_tool_result")).toMatchObject({ is_error: true });
    expect(state.events.at(-1)).toMatchObject({ stop_reason: { type: "end_turn" } });
    expect(mcp.calls).toEqual([]);
  });

  it("reports an unreachable server as mcp_connection_failed_error", async () => {
    mcp = await startMcpServer();
    const url = mcp.url;
    await mcp.close();
    h = await startFake();
    const { environment, agent } = await mcpAgent(h.client, url, "always_allow");
    h.fake.script(agent.id, [{ type: "mcp_tool_use", server: "docs", name: "lookup", input: { q: "x" } }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const state = await h.fake.settled(session.id);
    expect(state.events.find((e) => e.type === "session.error")).toMatchObject({
      error: { type: "mcp_connection_failed_error", mcp_server_name: "docs" },
    });
  });

  it("uses the override's server and toolset for an agent_with_overrides session", async () => {
    mcp = await startMcpServer("per-session");
    h = await startFake();
    const environment = await h.client.beta.environments.create({ name: "e" });
    const agent = await h.client.beta.agents.create({ name: "plain", model: "claude-sonnet-4-6" });
    const vault = await vaultWith(h.client, mcp.url, "per-session");
    h.fake.script(agent.id, [{ type: "mcp_tool_use", server: "governor", name: "lookup", input: { q: "o" } }]);
    const session = await h.client.beta.sessions.create({
      environment_id: environment.id,
      vault_ids: [vault.id],
      agent: {
        type: "agent_with_overrides",
        id: agent.id,
        mcp_servers: [{ type: "url", name: "governor", url: mcp.url }],
        tools: [
          {
            type: "mcp_toolset",
            mcp_server_name: "governor",
            default_config: { permission_policy: { type: "always_allow" } },
          },
        ],
      },
    });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const result = await h.fake.waitForEvent(session.id, "agent.mcp_tool_result");
    expect(result).toMatchObject({ is_error: false, content: [{ text: "result for o" }] });
    expect(mcp.authHeaders.every((header) => header === "Bearer per-session")).toBe(true);
  });
});
