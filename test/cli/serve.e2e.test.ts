// `vargate serve` and `vargate tenants create` as real processes against one SQLite file, driven over HTTP
// the way a user would with curl.
import type { ChildProcessByStdio } from "node:child_process";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createFakePlatform } from "../../src/testing/fake-platform/index.js";
import { runCli, SPAWN_TIMEOUT_MS, spawnCli, tempDir } from "./helpers.js";

type Child = ChildProcessByStdio<null, Readable, Readable>;

const temp = tempDir();
const running: Child[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => stop(child)));
});
afterAll(() => temp.cleanup());

/** Stops a child (if it still runs) and resolves with its exit code or signal. */
function stop(child: Child, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => {
    child.once("exit", (code, sig) => resolve(code ?? sig));
    child.kill(signal);
  });
}

/** Starts `vargate serve --port 0` and resolves once it prints its listening line. */
function startServe(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: Child; url: string; stdout: () => string; stderr: () => string }> {
  const child = spawnCli(["serve", "--port", "0", ...args], { cwd: temp.dir, env });
  running.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = /^vargate listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (match) resolve({ child, url: match[1] as string, stdout: () => stdout, stderr: () => stderr });
    });
    child.once("exit", (code) => reject(new Error(`vargate serve exited (${code}) before listening: ${stderr}`)));
  });
}

describe("vargate serve, tenants create, then HTTP with the key", { timeout: SPAWN_TIMEOUT_MS }, () => {
  it("creates and reads an agent config on a fresh SQLite file", async () => {
    const database = join(temp.dir, "fresh.db");
    const server = await startServe(["--database", database]);

    const created = await runCli(["tenants", "create", "acme", "--name", "Acme", "--database", database], {
      cwd: temp.dir,
    });
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const { tenant_id, api_key } = JSON.parse(created.stdout) as { tenant_id: string; api_key: string };
    expect(tenant_id).toBe("acme");

    const headers = { "x-api-key": api_key, "content-type": "application/json" };
    const createResponse = await fetch(`${server.url}/managed/agents`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        name: "Research Assistant",
        allowed_tools: ["vargate_web_search"],
        require_human_approval: ["vargate_send_*"],
        max_session_hours: 4,
      }),
    });
    expect(createResponse.status).toBe(200);
    const agent = (await createResponse.json()) as { id: string };
    expect(agent).toMatchObject({
      id: expect.stringMatching(/^agent-[0-9a-f]{12}$/),
      tenant_id: "acme",
      name: "Research Assistant",
      anthropic_model: "claude-sonnet-4-6",
      max_session_hours: 4,
      max_daily_sessions: 50,
      max_delegation_depth: 1,
    });

    const getResponse = await fetch(`${server.url}/managed/agents/${agent.id}`, { headers });
    expect(getResponse.status).toBe(200);
    expect(await getResponse.json()).toEqual(agent);

    const listResponse = await fetch(`${server.url}/managed/agents`, {
      headers: { authorization: `Bearer ${api_key}` },
    });
    expect(await listResponse.json()).toMatchObject({ count: 1, configs: [{ id: agent.id }] });

    const anonymous = await fetch(`${server.url}/managed/agents/${agent.id}`);
    expect(anonymous.status).toBe(401);

    // The chain holds the tenant's creation and the agent's, and the CLI verifies it while the server runs.
    const verified = await runCli(["audit", "verify", "--tenant", "acme", "--database", database], { cwd: temp.dir });
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ tenant_id: "acme", valid: true, record_count: 2 });

    // One line on stdout, nothing secret anywhere in the server's output, and a clean exit on SIGTERM.
    expect(await stop(server.child)).toBe(0);
    expect(server.stdout()).toBe(`vargate listening on ${server.url}\n`);
    expect(`${server.stdout()}${server.stderr()}`).not.toContain(api_key);
    for (const line of server.stderr().split("\n").filter(Boolean)) {
      expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it("stops cleanly on SIGINT", async () => {
    const server = await startServe(["--database", join(temp.dir, "sigint.db")]);
    expect(await stop(server.child, "SIGINT")).toBe(0);
  });

  it("uses ./vargate.db in the working directory by default", async () => {
    const created = await runCli(["tenants", "create", "acme"], { cwd: temp.dir });
    expect(created.code).toBe(0);
    const verified = await runCli(["audit", "verify", "--database", join(temp.dir, "vargate.db")], { cwd: temp.dir });
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, tenants: [{ tenant_id: "acme" }] });
  });

  it("starts governed sessions on the platform from ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and VARGATE_PUBLIC_URL", async () => {
    const fake = await createFakePlatform({ heartbeatMs: 0 });
    try {
      const database = join(temp.dir, "sessions.db");
      const created = await runCli(["tenants", "create", "acme", "--database", database], { cwd: temp.dir });
      const { api_key } = JSON.parse(created.stdout) as { api_key: string };
      const fakeEnvironment = await fetch(`${fake.url}/v1/environments`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${fake.apiKey}`,
          "anthropic-beta": "managed-agents-2026-04-01",
          "content-type": "application/json",
        },
        body: JSON.stringify({ name: "configured" }),
      });
      const environmentId = ((await fakeEnvironment.json()) as { id: string }).id;
      const server = await startServe(["--database", database], {
        ANTHROPIC_API_KEY: fake.apiKey,
        ANTHROPIC_BASE_URL: fake.url,
        VARGATE_PUBLIC_URL: "https://governor.example.com/api",
        VARGATE_ENVIRONMENT_ID: environmentId,
      });
      const headers = { "x-api-key": api_key, "content-type": "application/json" };
      const agent = (await (
        await fetch(`${server.url}/managed/agents`, { method: "POST", headers, body: JSON.stringify({ name: "a" }) })
      ).json()) as { id: string };
      const response = await fetch(`${server.url}/managed/sessions`, {
        method: "POST",
        headers,
        body: JSON.stringify({ agent_id: agent.id, user_message: "hello" }),
      });
      expect(response.status).toBe(200);
      const session = (await response.json()) as {
        session_id: string;
        anthropic_session_id: string;
        mcp_server_url: string;
      };
      expect(session.mcp_server_url).toBe(`https://governor.example.com/api/managed/mcp/${session.session_id}`);
      expect(fake.session(session.anthropic_session_id)?.session.environment_id).toBe(environmentId);
      await fake.waitForEvent(session.anthropic_session_id, "user.message");
      expect(await stop(server.child)).toBe(0);
      expect(server.stderr()).not.toContain(fake.apiKey);
    } finally {
      await fake.close();
    }
  });
});
