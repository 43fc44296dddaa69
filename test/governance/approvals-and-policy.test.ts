import { afterEach, describe, expect, it } from "vitest";
import { VargateGovernor } from "../../src/governor.js";
import { createRequestHandler } from "../../src/http/handler.js";
import type { FakeScriptStep } from "../../src/testing/fake-platform/index.js";
import { anthropicUpstream } from "../../src/upstream/anthropic.js";
import { eventually } from "../sessions/harness.js";
import { type GovernanceHarness, governedTools, mcpResults, startGovernance } from "./harness.js";

let harness: GovernanceHarness;
afterEach(async () => harness?.close());

const call = (name: string, input: Record<string, unknown>): FakeScriptStep => ({
  type: "mcp_tool_use",
  server: "vargate",
  name,
  input,
});

async function runSession(steps: FakeScriptStep[], config: { require_human_approval?: string[] } = {}) {
  const { governor, fake, tenantId } = harness;
  fake.setDefaultScript(steps);
  const agent = await governor.agents.create(tenantId, {
    name: "worker",
    allowed_tools: ["crm_lookup", "create_transfer", "send_email"],
    require_human_approval: config.require_human_approval ?? ["send_email"],
  });
  const created = await governor.sessions.create(tenantId, { agent_id: agent.id, user_message: "go" });
  const upstreamId = created.anthropic_session_id as string;
  await fake.waitForEvent(upstreamId, (e) => e.type === "session.status_idle");
  await fake.settled(upstreamId, { timeoutMs: 20_000 });
  return { created, upstreamId };
}

function http(method: string, path: string, body?: unknown) {
  return createRequestHandler(harness.governor)(
    new Request(`http://localhost${path}`, {
      method,
      headers: { "x-api-key": harness.apiKey, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    }),
  );
}

describe("approvals and policy over HTTP", () => {
  it("lists, approves with a note by the authenticated identity, and audits the decision", async () => {
    harness = await startGovernance();
    await runSession([call("send_email", { to: "a@example.com", subject: "s", body: "b" })]);
    const list = (await (await http("GET", "/managed/approvals?status=pending")).json()) as {
      approvals: { action_id: string; tool: string }[];
      count: number;
    };
    expect(list.count).toBe(1);
    const actionId = list.approvals[0]?.action_id as string;

    const approved = await http("POST", `/managed/approvals/${actionId}/approve`, { note: "looks fine" });
    expect(approved.status).toBe(200);
    const body = (await approved.json()) as { status: string; decided_by: string; note: string; execution: string };
    expect(body).toMatchObject({ status: "approved", note: "looks fine", execution: "done" });
    expect(body.decided_by).toMatch(/^key-/);
    expect(harness.target.requests.map((r) => r.url)).toEqual(["/email"]);

    const again = await http("POST", `/managed/approvals/${actionId}/reject`, {});
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: "APPROVAL_NOT_PENDING" });
    expect((await http("POST", "/managed/approvals/00000000-0000-4000-8000-000000000000/approve", {})).status).toBe(
      404,
    );
    expect((await http("POST", `/managed/approvals/${actionId}/approve`, { note: 5 })).status).toBe(422);
  });

  it("keeps pending approvals across a restart", async () => {
    harness = await startGovernance();
    await runSession([call("send_email", { to: "a@example.com", subject: "s", body: "b" })]);
    await harness.governor.stop();
    const { VargateGovernor } = await import("../../src/governor.js");
    const { governedTools } = await import("./harness.js");
    const restarted = new VargateGovernor({ storage: harness.storage, tools: governedTools(harness.target.url) });
    const [pending] = await restarted.approvals.list(harness.tenantId, { status: "pending" });
    expect(pending?.tool).toBe("send_email");
    const approved = await restarted.approvals.approve(harness.tenantId, pending?.action_id as string);
    expect(approved.execution).toBe("done");
    expect(harness.target.requests).toHaveLength(1);
  });

  it("refuses bad policy documents with 422s naming the field, storing nothing", async () => {
    harness = await startGovernance();
    const bad: [unknown, (string | number)[]][] = [
      [
        { rules: [{ id: "x", when: {}, effect: "maybe", severity: "high", message: "m" }] },
        ["body", "rules", 0, "effect"],
      ],
      [
        {
          rules: [
            {
              id: "x",
              when: { input: [{ field: "a", op: "zz", value: 1 }] },
              effect: "deny",
              severity: "high",
              message: "m",
            },
          ],
        },
        ["body", "rules", 0, "when", "input", 0, "op"],
      ],
      [{ rules: "all" }, ["body", "rules"]],
    ];
    for (const [document, loc] of bad) {
      const response = await http("PUT", "/managed/policy", document);
      expect(response.status).toBe(422);
      const json = (await response.json()) as { detail: { loc: unknown[] }[] };
      expect(json.detail[0]?.loc.slice(0, loc.length)).toEqual(loc);
    }
    const current = (await (await http("GET", "/managed/policy")).json()) as { version: number };
    expect(current.version).toBe(0);

    const stored = await http("PUT", "/managed/policy", { rules: [] });
    expect(stored.status).toBe(200);
    expect(await stored.json()).toMatchObject({ version: 1 });
    const stale = await http("PUT", "/managed/policy?expected_version=0", { rules: [] });
    expect(stale.status).toBe(409);
    const records = [];
    for await (const record of harness.governor.audit.records(harness.tenantId)) records.push(record);
    expect(records.filter((r) => r.method === "update_policy")).toHaveLength(1);
  });

  it("gives the seed's counts after a mixed session", async () => {
    harness = await startGovernance();
    await harness.governor.policy.put(harness.tenantId, {
      rules: [
        {
          id: "big",
          when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: 100 }] },
          effect: "deny",
          severity: "high",
          message: "too big",
        },
      ],
    });
    const { created } = await runSession([
      call("crm_lookup", { customer_id: "1" }),
      call("create_transfer", { amount: 500, to: "x" }),
      call("send_email", { to: "a@example.com", subject: "s", body: "b" }),
      { type: "tool_use", name: "bash", input: { command: "ls" }, result: "ok" },
      { type: "tool_use", name: "read", input: { file_path: "/tmp/a" }, result: "ok" },
    ]);
    const status = await eventually(async () => {
      const current = await harness.governor.sessions.get(harness.tenantId, created.session_id);
      return current.total_observed_calls === 2 && current;
    });
    expect(status).toMatchObject({
      total_governed_calls: 3,
      total_observed_calls: 2,
      total_denied: 1,
      total_pending: 1,
      approvals_used: 0,
      anomalies_detected: 0,
    });
  });

  it("matches uses of governed tools to their decisions, and flags one that never reached the governor", async () => {
    harness = await startGovernance();
    const { created } = await runSession([
      call("crm_lookup", { customer_id: "1" }),
      {
        type: "emit",
        event: {
          id: "sevt_ghost_use",
          type: "agent.mcp_tool_use",
          name: "crm_lookup",
          mcp_server_name: "vargate",
          input: { customer_id: "9" },
        },
      },
      { type: "emit", event: { type: "agent.mcp_tool_result", mcp_tool_use_id: "sevt_ghost_use", content: [] } },
    ]);
    const flagged = await eventually(async () => {
      const trail = await harness.governor.sessions.audit(harness.tenantId, created.session_id);
      return trail.find((r) => r.violations.includes("governed_call_without_decision"));
    });
    expect(flagged).toMatchObject({
      tool: "crm_lookup",
      source: "mcp_observed",
      severity: "high",
      event_id: "sevt_ghost_use",
    });
    const trail = await harness.governor.sessions.audit(harness.tenantId, created.session_id);
    // The real call was matched to its governed record, not counted again.
    expect(trail.filter((r) => r.tool === "crm_lookup").map((r) => r.source)).toEqual(["mcp_governed", "mcp_observed"]);
    expect(mcpResults(harness.fake, created.anthropic_session_id as string)).toHaveLength(2);
  });

  it("goes on pairing uses where it stopped after a restart, so a use without a decision is still flagged", async () => {
    harness = await startGovernance();
    const ghost = (id: string): FakeScriptStep[] => [
      {
        type: "emit",
        event: { id, type: "agent.mcp_tool_use", name: "crm_lookup", mcp_server_name: "vargate", input: {} },
      },
      { type: "emit", event: { type: "agent.mcp_tool_result", mcp_tool_use_id: id, content: [] } },
    ];
    // Two governed calls and one use that never reached the governor, all paired before the restart.
    const { created, upstreamId } = await runSession([
      call("crm_lookup", { customer_id: "1" }),
      ...ghost("sevt_ghost_before"),
      call("crm_lookup", { customer_id: "2" }),
    ]);
    const last = harness.fake.session(upstreamId)?.events.at(-1)?.processed_at;
    await eventually(async () => {
      const consumer = await harness.storage.consumers.get(harness.tenantId, created.session_id);
      return consumer?.cursor === last;
    });
    const flagged = async () =>
      (await harness.governor.sessions.audit(harness.tenantId, created.session_id))
        .filter((record) => record.violations.includes("governed_call_without_decision"))
        .map((record) => record.event_id);
    expect(await flagged()).toEqual(["sevt_ghost_before"]);
    await harness.governor.stop();

    // Another governor takes the session over from the stored cursor: two governed records, both paired.
    const upstream = anthropicUpstream({ apiKey: harness.fake.apiKey, baseURL: harness.fake.url, maxRetries: 0 });
    const restarted = new VargateGovernor({
      storage: harness.storage,
      upstream,
      consumers: { leaseMs: 1_000, initialBackoffMs: 5, maxBackoffMs: 50 },
      tools: governedTools(harness.target.url),
      sessions: { publicUrl: harness.url },
    });
    restarted.start();
    try {
      // A governed call (decided through the endpoint the agent was given) pairs with its record; the use after it
      // has none.
      harness.fake.script(upstreamId, [call("crm_lookup", { customer_id: "3" }), ...ghost("sevt_ghost_after")]);
      await upstream.sendEvents(upstreamId, [{ type: "user.message", content: [{ type: "text", text: "again" }] }]);
      await eventually(async () => (await flagged()).length >= 2);
      await harness.fake.settled(upstreamId, { timeoutMs: 20_000 });
      expect(await flagged()).toEqual(["sevt_ghost_before", "sevt_ghost_after"]);
      const governed = await harness.storage.audit.countByTool(harness.tenantId, {
        source: "mcp_governed",
        session_id: created.session_id,
      });
      expect(governed).toEqual({ crm_lookup: 3 });
    } finally {
      await restarted.stop();
    }
  });
});
