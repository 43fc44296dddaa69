// Starts an example server (examples/<name>/server.ts) as a child process with tsx, the way its README runs it,
// and walks one governed session through its HTTP surface against a fake platform owned by the test.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GOVERNOR_MCP_SERVER_NAME } from "../../src/sessions/attachment.js";
import { createFakePlatform, type FakePlatform } from "../../src/testing/fake-platform/index.js";

const ROOT = join(import.meta.dirname, "../..");
const TSX = join(ROOT, "node_modules/.bin/tsx");
const CRM_SECRET = "crm-secret-from-the-example-test";

export interface RunningExample {
  /** Where vargate is mounted, e.g. `http://127.0.0.1:41351/governance`. */
  url: string;
  apiKey: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Spawns the example and resolves once it printed its URL and API key; rejects with its output if it exits. */
export async function startExample(name: string, env: Record<string, string>): Promise<RunningExample> {
  const child: ChildProcess = spawn(TSX, [join(ROOT, "examples", name, "server.ts")], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const ready = await new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time:\n${output}`)), 45_000);
    const check = () => {
      const url = /vargate listening on (http:\/\/\S+)/.exec(output)?.[1];
      const apiKey = /api key: (vg-\S+)/.exec(output)?.[1];
      if (url && apiKey) {
        clearTimeout(timer);
        resolve({ url, apiKey });
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    ...ready,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const exited = once(child, "exit");
      const timeout = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timeout);
    },
  };
}

/**
 * The shared scenario: authentication under the prefix, an agent config, a session on the fake platform whose
 * agent calls the example's governed tools over MCP (one allowed with a brokered credential, one approved over
 * REST), and the audit trail and chain that record it.
 */
export function describeExample(name: string): void {
  describe(`examples/${name}`, () => {
    let fake: FakePlatform;
    let example: RunningExample;
    let dir: string;

    beforeAll(async () => {
      fake = await createFakePlatform({ heartbeatMs: 0 });
      dir = mkdtempSync(join(tmpdir(), `vargate-example-${name}-`));
      example = await startExample(name, {
        ANTHROPIC_API_KEY: fake.apiKey,
        ANTHROPIC_BASE_URL: fake.url,
        DATABASE_PATH: join(dir, "vargate.db"),
        VARGATE_CREDENTIAL_KEY: "b".repeat(64),
        CRM_API_KEY: CRM_SECRET,
      });
    });

    afterAll(async () => {
      await example?.stop();
      await fake?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const api = async (method: string, path: string, body?: unknown, apiKey: string | null = example.apiKey) => {
      const response = await fetch(`${example.url}${path}`, {
        method,
        headers: { "content-type": "application/json", ...(apiKey !== null && { "x-api-key": apiKey }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it("serves the REST surface under its prefix: 200 with the tenant's key, 401 without", async () => {
      expect(example.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/governance$/);
      expect(await api("GET", "/managed/agents")).toEqual({ status: 200, body: { configs: [], count: 0 } });
      const anonymous = await api("GET", "/managed/agents", undefined, null);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe("UNAUTHORIZED");
      expect((await api("GET", "/managed/agents", undefined, "vg-not-a-key")).status).toBe(401);
    });

    it("refuses its MCP endpoint without the session's token", async () => {
      const response = await fetch(`${example.url}/managed/mcp/vs-0123456789abcdef`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(response.status).toBe(401);
    });

    it("governs a session's tool calls over MCP: a brokered credential, an approval, audit records", async () => {
      const agent = await api("POST", "/managed/agents", {
        name: "support-agent",
        allowed_tools: ["crm_lookup", "send_email"],
        require_human_approval: ["send_email"],
      });
      expect(agent.status).toBe(200);

      const call = (tool: string, input: Record<string, unknown>) =>
        ({ type: "mcp_tool_use", server: GOVERNOR_MCP_SERVER_NAME, name: tool, input }) as const;
      fake.setDefaultScript([
        call("crm_lookup", { customer_id: "c-42" }),
        call("send_email", { to: "ada@example.com", subject: "Hello", body: "Your refund is on its way" }),
      ]);
      const session = await api("POST", "/managed/sessions", { agent_id: agent.body.id, user_message: "help c-42" });
      expect(session.status).toBe(200);
      const upstreamId = session.body.anthropic_session_id as string;

      // send_email waits for a human inside the MCP call; approve it over the example's REST surface.
      const pending = await waitFor(async () => {
        const { body } = await api("GET", "/managed/approvals?status=pending");
        return (body.approvals as { action_id: string; tool: string }[]).find((a) => a.tool === "send_email");
      });
      expect((await api("POST", `/managed/approvals/${pending.action_id}/approve`, { note: "fine" })).status).toBe(200);
      await fake.settled(upstreamId, { timeoutMs: 20_000 });

      const results = (fake.session(upstreamId)?.events ?? []).filter((e) => e.type === "agent.mcp_tool_result");
      expect(results.map((e) => e.is_error)).toEqual([false, false]);
      const texts = results.map((e) => (e.content as { text?: string }[]).map((c) => c.text ?? "").join(""));
      expect(texts[0]).toContain('"authorized":true'); // the tool got the brokered credential
      expect(texts.join("\n")).not.toContain(CRM_SECRET); // and the agent never sees it

      const audit = await api("GET", `/managed/sessions/${session.body.session_id}/audit`);
      const governed = (audit.body.records as { source: string; tool: string; decision: string }[])
        .filter((r) => r.source === "mcp_governed")
        .map((r) => [r.tool, r.decision]);
      expect(governed).toEqual(expect.arrayContaining([["crm_lookup", "allow"]]));
      expect(governed.some(([tool, decision]) => tool === "send_email" && decision === "requires_human")).toBe(true);
      expect((await api("GET", "/managed/audit/verify")).body.valid).toBe(true);
    });
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
