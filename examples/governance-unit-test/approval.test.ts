// The same policy, live: a governor with the fake Managed Agents platform as its upstream. The scripted agent
// calls governed tools over real MCP; external email waits for a human and runs once when approved.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { defineTool, GOVERNOR_MCP_SERVER_NAME, VargateGovernor } from "vargate";
import { anthropicUpstream } from "vargate/anthropic";
import { memoryStorage } from "vargate/memory";
import { toNodeHandler } from "vargate/node";
import { createFakePlatform, type FakePlatform } from "vargate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { acmePolicy, supportAgent } from "./policy.js";

const sent: { to: string }[] = [];
const tools = [
  defineTool({
    name: "send_email",
    description: "Send an email",
    inputSchema: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
    execute: async (input) => {
      sent.push({ to: input.to });
      return { sent: true };
    },
  }),
  defineTool({
    name: "create_transfer",
    description: "Move money",
    inputSchema: z.object({ amount: z.number().positive(), to: z.string() }),
    execute: async () => ({ transferred: true }),
  }),
];

let fake: FakePlatform;
let governor: VargateGovernor;
const server = createServer((req, res) => void handler?.(req, res));
let handler: ReturnType<typeof toNodeHandler> | undefined;

beforeAll(async () => {
  fake = await createFakePlatform({ heartbeatMs: 0 });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const storage = memoryStorage();
  governor = new VargateGovernor({
    storage,
    upstream: anthropicUpstream({ apiKey: fake.apiKey, baseURL: fake.url, maxRetries: 0 }),
    tools,
    // A call waiting for a human answers the agent "pending" after 50 ms instead of holding the MCP call.
    governedCalls: { approvalWaitMs: 50, approvalPollMs: 10 },
    sessions: { publicUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
  });
  handler = toNodeHandler(governor); // the platform reaches the governor's MCP endpoint through it
  await governor.migrate();
  await governor.tenants.create({ tenant_id: "acme" });
  await governor.policy.put("acme", acmePolicy);
});

afterAll(async () => {
  await governor?.stop();
  server.closeAllConnections();
  server.close();
  await fake?.close();
});

/** Starts a session whose agent makes the given governed calls, and waits until its turn is over. */
async function sessionCalling(...calls: [tool: string, input: Record<string, unknown>][]) {
  fake.setDefaultScript(
    calls.map(([name, input]) => ({ type: "mcp_tool_use", server: GOVERNOR_MCP_SERVER_NAME, name, input })),
  );
  const agent = await governor.agents.create("acme", supportAgent);
  const session = await governor.sessions.create("acme", { agent_id: agent.id, user_message: "go" });
  if (!session.anthropic_session_id) throw new Error("the session has no upstream session");
  await fake.settled(session.anthropic_session_id, { timeoutMs: 20_000 });
  return session;
}

describe("Acme's policy on a live session", () => {
  it("holds external email for a human, then sends it exactly once when approved", async () => {
    const session = await sessionCalling(["send_email", { to: "ada@example.com", subject: "Refund", body: "Done" }]);
    expect(sent).toEqual([]); // nothing went out while it waits

    const [pending] = await governor.approvals.list("acme", { status: "pending" });
    expect(pending).toMatchObject({ tool: "send_email", session_id: session.session_id });
    const approved = await governor.approvals.approve("acme", pending?.action_id ?? "", { note: "ok" });
    expect(approved.status).toBe("approved");
    expect(sent).toEqual([{ to: "ada@example.com" }]);

    const governed = (await governor.sessions.audit("acme", session.session_id)).filter(
      (record) => record.source === "mcp_governed",
    );
    expect(governed.map((record) => [record.tool, record.decision])).toEqual([["send_email", "requires_human"]]);
    expect((await governor.audit.verify("acme")).valid).toBe(true);
  });

  it("denies a large transfer and sends internal email at once, with no approval", async () => {
    sent.length = 0;
    const session = await sessionCalling(
      ["create_transfer", { amount: 5000, to: "acct-9" }],
      ["send_email", { to: "ops@acme.com", subject: "FYI", body: "Transfer refused" }],
    );
    const decisions = (await governor.sessions.audit("acme", session.session_id))
      .filter((record) => record.source === "mcp_governed")
      .map((record) => [record.tool, record.decision]);
    expect(decisions).toEqual([
      ["create_transfer", "deny"],
      ["send_email", "allow"],
    ]);
    expect(sent).toEqual([{ to: "ops@acme.com" }]);
  });
});
