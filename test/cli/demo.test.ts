import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { demoAgentScript } from "../../src/cli/demo-platform.js";
import { run } from "../../src/cli/run.js";
import { createFakePlatform } from "../../src/testing/index.js";
import { captureIo } from "./helpers.js";

/** Every step of the demo, as it prints on either platform. */
function expectEveryStep(out: string): void {
  expect(out).toMatch(/crm_lookup allowed: the CRM received "Authorization: Bearer/);
  expect(out).toContain("the agent's result does not contain the credential");
  expect(out).toMatch(/create_transfer \{amount: 5000\} denied: Transfers over 1000 are denied/);
  expect(out).toMatch(/send_email is pending approval/);
  expect(out).toMatch(/approved via POST \/managed\/approvals\/[^/]+\/approve: the email ran exactly once/);
  expect(out).toContain('observed read {"file_path":"README.md"}');
  expect(out).toContain('observed bash {"command":"ls"}');
  expect(out).toMatch(/observed bash \{"command":"cat \/etc\/passwd"\}: critical anomaly, session interrupted/);
  expect(out).toMatch(/mcp_governed\s+create_transfer\s+deny\s+high/);
  expect(out).toMatch(/control_plane\s+interrupt_session/);
  expect(out).toMatch(/governed calls:\s+3/);
  expect(out).toMatch(/observed calls:\s+3/);
  expect(out).toMatch(/approvals used:\s+1/);
  expect(out).toMatch(/denial rate:\s+\d+\.\d{2}%/);
  expect(out).toMatch(/chain valid: \d+ records/);
  expect(out).toMatch(/offline verification valid: \d+ records/);
  expect(out).toMatch(/changed crm_lookup: allow → deny/);
  expect(out).toContain("Demo complete");
  expect(out).not.toContain("(the model decides");
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("vargate demo", () => {
  it("plays one governed session end to end on the fake platform and shows every step", async () => {
    const io = captureIo({});
    const code = await run(["demo"], io);
    expect(io.err()).toBe("");
    expect(code).toBe(0);
    const out = io.out();
    expect(out).not.toContain("\u001b[");
    expect(out).toContain("upstream: the fake Managed Agents platform");
    expectEveryStep(out);
  });

  it("uses the API at ANTHROPIC_BASE_URL when ANTHROPIC_API_KEY and VARGATE_PUBLIC_URL are set", async () => {
    // The real-API path, end to end through the SDK over HTTP; the platform here is the fake, reached by URL only.
    const platform = await createFakePlatform({ heartbeatMs: 0, defaultScript: demoAgentScript });
    try {
      const port = await freePort();
      const io = captureIo({
        ANTHROPIC_API_KEY: platform.apiKey,
        ANTHROPIC_BASE_URL: platform.url,
        VARGATE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      });
      const code = await run(["demo", "--port", String(port)], io);
      expect(io.err()).toBe("");
      expect(code).toBe(0);
      const out = io.out();
      expect(out).toContain(
        `(public URL http://127.0.0.1:${port}), upstream: the Managed Agents API at ${platform.url}`,
      );
      expectEveryStep(out);
      expect(platform.requests.some((request) => request.path === "/v1/sessions" && request.method === "POST")).toBe(
        true,
      );
    } finally {
      await platform.close();
    }
  });

  it("falls back to the fake platform, with a note, when only ANTHROPIC_API_KEY is set", async () => {
    const io = captureIo({ ANTHROPIC_API_KEY: "sk-ant-not-used" });
    expect(await run(["demo"], io)).toBe(0);
    expect(io.out()).toMatch(
      /ANTHROPIC_API_KEY is set, but the real API needs ANTHROPIC_API_KEY and VARGATE_PUBLIC_URL/,
    );
    expect(io.out()).toContain("using the fake platform");
    expect(io.out()).toContain("Demo complete");
  });

  it("refuses --real with what is missing and the requirements spelled out", async () => {
    const io = captureIo({ ANTHROPIC_API_KEY: "sk-ant-not-used" });
    expect(await run(["demo", "--real"], io)).toBe(1);
    expect(io.err()).toContain("--real: VARGATE_PUBLIC_URL not set");
    expect(io.err()).toContain("forwards to the demo's port");
    expect(io.err()).not.toContain("sk-ant-not-used");
  });

  it("rejects a bad --port as a usage error", async () => {
    const io = captureIo({});
    expect(await run(["demo", "--port", "http"], io)).toBe(2);
    expect(io.err()).toContain('invalid port "http"');
  });
});
