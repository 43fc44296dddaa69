import { BadRequestError, ConflictError, NotFoundError } from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, seedAgent, startFake } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.fake.close();
});

describe("fake platform resources", () => {
  it("creates agents with resolved toolsets and versions them on update", async () => {
    h = await startFake();
    const agent = await h.client.beta.agents.create({
      name: "a",
      model: "claude-sonnet-4-6",
      tools: [
        { type: "agent_toolset_20260401", configs: [{ name: "bash", permission_policy: { type: "always_ask" } }] },
        { type: "mcp_toolset", mcp_server_name: "docs" },
      ],
      mcp_servers: [{ type: "url", name: "docs", url: "https://mcp.example.com/docs" }],
    });
    expect(agent).toMatchObject({ type: "agent", version: 1, model: { id: "claude-sonnet-4-6" }, archived_at: null });
    const [builtin, mcp] = agent.tools;
    expect(builtin).toMatchObject({
      type: "agent_toolset_20260401",
      default_config: { enabled: true, permission_policy: { type: "always_allow" } },
    });
    const configs = (builtin as { configs: { name: string; permission_policy: { type: string } }[] }).configs;
    expect(configs.map((c) => c.name)).toEqual([
      "bash",
      "read",
      "write",
      "edit",
      "glob",
      "grep",
      "web_fetch",
      "web_search",
    ]);
    expect(configs.find((c) => c.name === "bash")?.permission_policy).toEqual({ type: "always_ask" });
    expect(configs.find((c) => c.name === "read")?.permission_policy).toEqual({ type: "always_allow" });
    // MCP toolsets default to always_ask.
    expect(mcp).toEqual({
      type: "mcp_toolset",
      mcp_server_name: "docs",
      default_config: { enabled: true, permission_policy: { type: "always_ask" } },
      configs: [],
    });

    const updated = await h.client.beta.agents.update(agent.id, { version: 1, system: "Be brief." });
    expect(updated.version).toBe(2);
    const unchanged = await h.client.beta.agents.update(agent.id, { system: "Be brief." });
    expect(unchanged.version).toBe(2);
    await expect(h.client.beta.agents.update(agent.id, { version: 1, name: "x" })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const v1 = await h.client.beta.agents.retrieve(agent.id, { version: 1 });
    expect(v1.system).toBeNull();
    const versions = [];
    for await (const version of h.client.beta.agents.versions.list(agent.id, { limit: 1 })) versions.push(version);
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
  });

  it("rejects MCP servers without a toolset and toolsets without a server", async () => {
    h = await startFake();
    const unreferenced = h.client.beta.agents.create({
      name: "a",
      model: "claude-sonnet-4-6",
      mcp_servers: [{ type: "url", name: "docs", url: "https://mcp.example.com" }],
    });
    await expect(unreferenced).rejects.toBeInstanceOf(BadRequestError);
    const dangling = h.client.beta.agents.create({
      name: "a",
      model: "claude-sonnet-4-6",
      tools: [{ type: "mcp_toolset", mcp_server_name: "ghost" }],
    });
    await expect(dangling).rejects.toThrow(/ghost/);
  });

  it("pages agents with the SDK's auto-paginating iterator and hides archived ones", async () => {
    h = await startFake();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await h.client.beta.agents.create({ name: `a${i}`, model: "claude-sonnet-4-6" })).id);
    }
    await h.client.beta.agents.archive(ids[0] as string);
    const seen: string[] = [];
    for await (const agent of h.client.beta.agents.list({ limit: 3 })) seen.push(agent.id);
    expect(seen).toEqual(ids.slice(1).reverse());
    const pageRequests = h.fake.requests.filter((r) => r.method === "GET" && r.path === "/v1/agents");
    expect(pageRequests).toHaveLength(2);
    expect(pageRequests[1]?.query.page).toBeDefined();
    const all: string[] = [];
    for await (const agent of h.client.beta.agents.list({ include_archived: true })) all.push(agent.id);
    expect(all).toHaveLength(7);
  });

  it("keeps vault credential secrets write-only", async () => {
    h = await startFake();
    const vault = await h.client.beta.vaults.create({ display_name: "v" });
    expect(vault.id).toMatch(/^vlt_/);
    const credential = await h.client.beta.vaults.credentials.create(vault.id, {
      auth: { type: "static_bearer", token: "secret-token", mcp_server_url: "https://mcp.example.com/x" },
    });
    expect(credential.id).toMatch(/^vcrd_/);
    expect(credential.auth).toEqual({ type: "static_bearer", mcp_server_url: "https://mcp.example.com/x" });
    expect(JSON.stringify(credential)).not.toContain("secret-token");
    const listed = [];
    for await (const c of h.client.beta.vaults.credentials.list(vault.id)) listed.push(c.id);
    expect(listed).toEqual([credential.id]);
    const moved = h.client.beta.vaults.credentials.update(credential.id, {
      vault_id: vault.id,
      auth: { type: "static_bearer", mcp_server_url: "https://elsewhere" } as never,
    });
    await expect(moved).rejects.toBeInstanceOf(BadRequestError);
    const deleted = await h.client.beta.vaults.credentials.delete(credential.id, { vault_id: vault.id });
    expect(deleted).toMatchObject({ id: credential.id, type: "vault_credential_deleted" });
  });

  it("manages environments", async () => {
    h = await startFake();
    const env = await h.client.beta.environments.create({ name: "e", metadata: { team: "x" } });
    expect(env.config).toMatchObject({ type: "cloud", networking: { type: "unrestricted" } });
    const updated = await h.client.beta.environments.update(env.id, { metadata: { team: null, tier: "gold" } });
    expect(updated.metadata).toEqual({ tier: "gold" });
    const archived = await h.client.beta.environments.archive(env.id);
    expect(archived.archived_at).not.toBeNull();
    const deleted = await h.client.beta.environments.delete(env.id);
    expect(deleted).toMatchObject({ id: env.id, type: "environment_deleted" });
    await expect(h.client.beta.environments.retrieve(env.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("resolves agent_with_overrides into the session's agent snapshot", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [{ type: "agent_toolset_20260401" }]);
    const vault = await h.client.beta.vaults.create({ display_name: "v" });
    const session = await h.client.beta.sessions.create({
      environment_id: environment.id,
      vault_ids: [vault.id],
      metadata: { run: "1" },
      agent: {
        type: "agent_with_overrides",
        id: agent.id,
        version: 1,
        system: "governed",
        mcp_servers: [{ type: "url", name: "gov", url: "https://gov.example.com/mcp/s1" }],
        tools: [
          { type: "agent_toolset_20260401", configs: [{ name: "write", enabled: false }] },
          {
            type: "mcp_toolset",
            mcp_server_name: "gov",
            default_config: { permission_policy: { type: "always_allow" } },
          },
        ],
      },
    });
    expect(session.id).toMatch(/^sesn_/);
    expect(session).toMatchObject({
      status: "idle",
      vault_ids: [vault.id],
      metadata: { run: "1" },
      environment_id: environment.id,
      archived_at: null,
    });
    expect(session.agent).toMatchObject({ id: agent.id, version: 1, system: "governed", type: "agent" });
    expect(session.agent.mcp_servers).toEqual([{ type: "url", name: "gov", url: "https://gov.example.com/mcp/s1" }]);
    const builtin = session.agent.tools[0] as { configs: { name: string; enabled: boolean }[] };
    expect(builtin.configs.find((c) => c.name === "write")?.enabled).toBe(false);
    expect(session.agent.tools[1]).toMatchObject({
      mcp_server_name: "gov",
      default_config: { permission_policy: { type: "always_allow" } },
    });
    // The agent itself is untouched.
    expect((await h.client.beta.agents.retrieve(agent.id)).mcp_servers).toEqual([]);
    expect(session.stats).toBeDefined();
    expect(session.usage).toBeDefined();
  });

  it("pins a session to an agent version, or takes the latest for a bare id", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    await h.client.beta.agents.update(agent.id, { system: "v2" });
    const pinned = await h.client.beta.sessions.create({
      agent: { type: "agent", id: agent.id, version: 1 },
      environment_id: environment.id,
    });
    expect(pinned.agent).toMatchObject({ version: 1, system: null });
    const latest = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    expect(latest.agent).toMatchObject({ version: 2, system: "v2" });
    const byVersion = await h.client.beta.sessions.list({ agent_id: agent.id, agent_version: 1 });
    expect(byVersion.data.map((s) => s.id)).toEqual([pinned.id]);
  });

  it("updates session metadata with a session.updated event and refuses vault_ids", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({
      agent: agent.id,
      environment_id: environment.id,
      metadata: { a: "1", b: "2" },
    });
    const updated = await h.client.beta.sessions.update(session.id, { metadata: { a: null, c: "3" }, title: "t" });
    expect(updated).toMatchObject({ metadata: { b: "2", c: "3" }, title: "t" });
    expect(h.fake.session(session.id)?.events).toEqual([
      expect.objectContaining({ type: "session.updated", metadata: { b: "2", c: "3" }, title: "t" }),
    ]);
    await expect(h.client.beta.sessions.update(session.id, { vault_ids: [] })).rejects.toBeInstanceOf(BadRequestError);
  });

  it("lists sessions newest first with prev_page, status filter, and hides archived ones", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id })).id);
    }
    await h.client.beta.sessions.archive(ids[4] as string);
    const first = await h.client.beta.sessions.list({ limit: 2 });
    expect(first.data.map((s) => s.id)).toEqual([ids[3], ids[2]]);
    expect(first.prev_page).toBeNull();
    const second = await first.getNextPage();
    expect(second.data.map((s) => s.id)).toEqual([ids[1], ids[0]]);
    expect(second.prev_page).toBeTruthy();
    const back = await h.client.beta.sessions.list({ limit: 2, page: second.prev_page });
    expect(back.data.map((s) => s.id)).toEqual([ids[3], ids[2]]);
    const asc = [];
    for await (const s of h.client.beta.sessions.list({ order: "asc", limit: 2 })) asc.push(s.id);
    expect(asc).toEqual(ids.slice(0, 4));
    const terminated = await h.client.beta.sessions.list({ statuses: ["terminated"], include_archived: true });
    expect(terminated.data.map((s) => s.id)).toEqual([ids[4]]);
    const statusesRequest = h.fake.requests.filter((r) => r.path === "/v1/sessions").at(-1);
    expect(statusesRequest?.query.statuses).toEqual(["terminated"]);
  });

  it("refuses sessions on archived agents and unknown environments", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    await expect(
      h.client.beta.sessions.create({ agent: agent.id, environment_id: "env_missing" }),
    ).rejects.toBeInstanceOf(NotFoundError);
    await h.client.beta.agents.archive(agent.id);
    await expect(
      h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id }),
    ).rejects.toBeInstanceOf(BadRequestError);
  });
});
