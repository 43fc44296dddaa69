// The MCP route with the real governor behind it (pipeline, audit, credential broker), over loopback HTTP.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { toNodeHandler } from "../../src/adapters/node.js";
import { encryptedCredentialStore } from "../../src/credentials/encrypted-store.js";
import { VargateGovernor } from "../../src/governor.js";
import { DEFAULT_MAX_BODY_BYTES } from "../../src/http/body.js";
import { handleNodeRequest } from "../../src/http/node-bridge.js";
import { routes } from "../../src/http/routes.js";
import { MCP_ROUTE_PATH, mcpRoutes } from "../../src/mcp/routes.js";
import { defineTool } from "../../src/tools/define.js";
import { startTarget, type Target } from "../tools/helpers.js";
import { connectClient, mcpFixture, type SeededSession } from "./helpers.js";

const SECRET = "crm_live_4c1d9e7a2b6f8035";

type Mount = (governor: VargateGovernor) => http.RequestListener;

/** `mcpRoutes` served on their own, and (once the route table includes them) the whole REST surface. */
const mounts: [string, Mount][] = [
  [
    "mcpRoutes",
    (governor) => (req, res) => {
      const sessionId = /^\/managed\/mcp\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "";
      void handleNodeRequest(
        (request) =>
          (mcpRoutes[0] as (typeof mcpRoutes)[number]).serve(request, {
            governor,
            params: { sessionId },
            maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
          }),
        req,
        res,
      );
    },
  ],
];
if (routes.some((route) => route.path === MCP_ROUTE_PATH)) {
  mounts.push(["toNodeHandler", (governor) => toNodeHandler(governor)]);
}

describe.each(mounts)("MCP through %s with the real pipeline", (_name, mount) => {
  let target: Target;
  let server: http.Server;
  let url: (sessionId: string) => string;
  let governor: VargateGovernor;
  let seeded: SeededSession;
  const closers: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    target = await startTarget();
    const fixture = await mcpFixture(["crm_lookup"]);
    const credentialStore = encryptedCredentialStore({
      records: fixture.storage.credentials,
      key: randomBytes(32),
    });
    const crmLookup = defineTool({
      name: "crm_lookup",
      description: "Look a contact up",
      inputSchema: z.object({ email: z.string() }),
      credentials: ["crm"],
      async execute(input, { credentials, signal }) {
        const response = await fetch(`${target.url}/contacts?email=${encodeURIComponent(input.email)}`, {
          headers: { authorization: `Bearer ${credentials.crm}` },
          signal,
        });
        return response.json();
      },
    });
    const wipe = defineTool({
      name: "wipe",
      description: "Not in allowed_tools",
      inputSchema: z.object({}),
      execute: async () => "wiped",
    });
    governor = new VargateGovernor({ storage: fixture.storage, credentialStore, tools: [crmLookup, wipe] });
    await governor.credentials.put(fixture.tenantId, "crm", SECRET);
    seeded = await fixture.seed();
    server = http.createServer(mount(governor));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    url = (sessionId) => `${origin}/managed/mcp/${sessionId}`;
  });

  afterEach(async () => {
    while (closers.length > 0) await closers.pop()?.();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await target.close();
  });

  it("runs an allowed call with the brokered credential, which the agent and the audit never see", async () => {
    const client = await connectClient(url(seeded.session.id), seeded.token);
    closers.push(() => client.close());
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      "crm_lookup",
      "vargate_approval_status",
    ]);

    const result = await client.callTool({ name: "crm_lookup", arguments: { email: "ada@example.com" } });
    expect(result.isError).toBe(false);
    expect(target.received[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(result.content).toEqual([
      { type: "text", text: expect.stringContaining('"authorization":"Bearer [redacted]"') },
    ]);

    const actionId = (result._meta as { vargate: { action_id: string } }).vargate.action_id;
    const records = await governor.storage.audit.listBySession(seeded.session.tenant_id, seeded.session.id, {
      limit: 100,
    });
    const governed = records.find((record) => record.action_id === actionId);
    expect(governed).toMatchObject({ source: "mcp_governed", tool: "crm_lookup", decision: "allow" });
    expect(JSON.stringify(records)).not.toContain(SECRET);
  });

  it("denies a registered tool outside allowed_tools, and 401s a wrong token", async () => {
    const client = await connectClient(url(seeded.session.id), seeded.token);
    closers.push(() => client.close());
    const denied = await client.callTool({ name: "wipe", arguments: {} });
    expect(denied.isError).toBe(true);
    expect(JSON.parse((denied.content as { text: string }[])[0]?.text as string)).toMatchObject({
      status: "denied",
      severity: expect.any(String),
    });

    const response = await fetch(url(seeded.session.id), {
      method: "POST",
      headers: { authorization: "Bearer vgs_wrong", "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "UNAUTHORIZED" });
  });
});
