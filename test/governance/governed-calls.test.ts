import { afterEach, describe, expect, it } from "vitest";
import type { FakeScriptStep } from "../../src/testing/fake-platform/index.js";
import { eventually } from "../sessions/harness.js";
import { CRM_SECRET, type GovernanceHarness, mcpResults, startGovernance } from "./harness.js";

let harness: GovernanceHarness;
afterEach(async () => harness?.close());

const call = (name: string, input: Record<string, unknown>): FakeScriptStep => ({
  type: "mcp_tool_use",
  server: "vargate",
  name,
  input,
});

async function session(
  scripts: Record<string, FakeScriptStep[]>,
  config: { allowed_tools?: string[]; require_human_approval?: string[] } = {},
) {
  const { governor, fake, tenantId } = harness;
  fake.setDefaultScript(({ text }) => scripts[text] ?? [{ type: "message", text: "?" }]);
  const agent = await governor.agents.create(tenantId, {
    name: "worker",
    allowed_tools: config.allowed_tools ?? ["crm_lookup", "create_transfer", "send_email"],
    require_human_approval: config.require_human_approval ?? ["send_email"],
  });
  const created = await governor.sessions.create(tenantId, { agent_id: agent.id });
  return { created, upstreamId: created.anthropic_session_id as string };
}

async function turn(upstreamId: string, text: string) {
  const { fake } = harness;
  const response = await fetch(`${fake.url}/v1/sessions/${upstreamId}/events`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${fake.apiKey}`,
      "anthropic-beta": "managed-agents-2026-04-01",
      "content-type": "application/json",
    },
    body: JSON.stringify({ events: [{ type: "user.message", content: [{ type: "text", text }] }] }),
  });
  expect(response.status).toBe(200);
  await fake.settled(upstreamId, { timeoutMs: 20_000 });
}

async function governedRecords() {
  const records = [];
  for await (const record of harness.governor.audit.records(harness.tenantId)) records.push(record);
  return records;
}

describe("governed tool calls through the real MCP client", () => {
  it("runs an allowed call with the brokered credential, which appears nowhere else", async () => {
    harness = await startGovernance();
    const { upstreamId } = await session({ go: [call("crm_lookup", { customer_id: "c-42" })] });
    await turn(upstreamId, "go");

    expect(harness.target.requests).toHaveLength(1);
    expect(harness.target.requests[0]?.authorization).toBe(`Bearer ${CRM_SECRET}`);
    const [result] = mcpResults(harness.fake, upstreamId);
    expect(result?.is_error).toBe(false);
    expect(result?.text).toContain("c-42");
    expect(result?.text).not.toContain(CRM_SECRET);

    const records = await governedRecords();
    const governed = records.filter((r) => r.source === "mcp_governed");
    expect(governed).toHaveLength(1);
    expect(governed[0]).toMatchObject({ tool: "crm_lookup", decision: "allow", method: "tools/call" });
    expect(JSON.stringify(records)).not.toContain(CRM_SECRET);
    expect(harness.logger.lines.join("\n")).not.toContain(CRM_SECRET);
    expect(JSON.stringify(harness.fake.session(upstreamId)?.events)).not.toContain(CRM_SECRET);
  });

  it("denies a tool outside allowed_tools, and a large amount under a tenant rule", async () => {
    harness = await startGovernance();
    await harness.governor.policy.put(harness.tenantId, {
      rules: [
        {
          id: "large-transfers",
          when: { tool: "create_transfer", input: [{ field: "amount", op: "gt", value: 1000 }] },
          effect: "deny",
          severity: "high",
          message: "Transfers over 1000 are denied",
        },
      ],
    });
    const { upstreamId } = await session({
      go: [
        call("delete_records", { table: "customers" }),
        call("create_transfer", { amount: 5000, to: "acct-1" }),
        call("create_transfer", { amount: 10, to: "acct-1" }),
      ],
    });
    await turn(upstreamId, "go");

    const results = mcpResults(harness.fake, upstreamId);
    expect(results.map((r) => r.is_error)).toEqual([true, true, false]);
    expect(results[1]?.text).toContain("Transfers over 1000 are denied");
    expect(harness.target.requests.map((r) => r.url)).toEqual(["/transfers"]);

    const governed = (await governedRecords()).filter((r) => r.source === "mcp_governed");
    expect(governed.map((r) => [r.tool, r.decision, r.severity])).toEqual([
      ["delete_records", "deny", "high"],
      ["create_transfer", "deny", "high"],
      ["create_transfer", "allow", "none"],
    ]);
    expect(governed[1]?.policy_version).toBe(1);
    expect((governed[1]?.input as { input?: unknown } | undefined)?.input).toEqual({ amount: 5000, to: "acct-1" });
  });

  it("queues a require_human_approval call and runs it exactly once after approval", async () => {
    harness = await startGovernance();
    const email = { to: "ceo@example.com", subject: "hi", body: "hello" };
    const { upstreamId } = await session({ go: [call("send_email", email)] });
    await turn(upstreamId, "go");
    const [pending] = mcpResults(harness.fake, upstreamId);
    expect(pending?.is_error).toBe(false);
    expect(pending?.text).toContain("pending_approval");
    expect(harness.target.requests).toHaveLength(0);

    const [approval] = await harness.governor.approvals.list(harness.tenantId, { status: "pending" });
    expect(approval).toMatchObject({ tool: "send_email", kind: "governed_call", status: "pending" });
    const actionId = approval?.action_id as string;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => harness.governor.approvals.approve(harness.tenantId, actionId, { note: "ok" })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(harness.target.requests.map((r) => r.url)).toEqual(["/email"]);

    // The agent learns the outcome from vargate_approval_status.
    harness.fake.setDefaultScript([call("vargate_approval_status", { action_id: actionId })]);
    await turn(upstreamId, "status");
    const status = mcpResults(harness.fake, upstreamId).at(-1);
    expect(status?.text).toContain('"status":"approved"');
    expect(harness.target.requests).toHaveLength(1);

    const methods = (await governedRecords()).map((r) => r.method);
    expect(methods.filter((m) => m === "approve_action")).toHaveLength(1);
    const sessionId = (await harness.governor.sessions.list(harness.tenantId))[0]?.id as string;
    expect(await harness.governor.sessions.get(harness.tenantId, sessionId)).toMatchObject({
      total_governed_calls: 1,
      total_pending: 0,
      approvals_used: 1,
    });
  });

  it("refuses a queued call after rejection or expiry", async () => {
    harness = await startGovernance({
      governedCalls: { approvalWaitMs: 50, approvalPollMs: 10, approvalTtlMs: 60_000 },
    });
    const email = { to: "a@example.com", subject: "s", body: "b" };
    const { upstreamId } = await session({
      go: [call("send_email", email), call("send_email", { ...email, to: "b@x.com" })],
    });
    await turn(upstreamId, "go");
    const pending = await harness.governor.approvals.list(harness.tenantId, { status: "pending" });
    expect(pending).toHaveLength(2);
    const [, first] = pending;
    await harness.governor.approvals.reject(harness.tenantId, first?.action_id as string, { note: "no" });
    const again = await harness.governor.approvals
      .approve(harness.tenantId, first?.action_id as string)
      .catch((e: unknown) => e);
    expect(again).toMatchObject({ code: "APPROVAL_NOT_PENDING" });
    expect(harness.target.requests).toHaveLength(0);
  });

  it("treats an expired approval as a deny", async () => {
    harness = await startGovernance({ governedCalls: { approvalWaitMs: 30, approvalPollMs: 10, approvalTtlMs: 1 } });
    const { upstreamId } = await session({
      go: [call("send_email", { to: "a@example.com", subject: "s", body: "b" })],
    });
    await turn(upstreamId, "go");
    expect(await harness.governor.approvals.expireDue()).toBeGreaterThanOrEqual(0);
    const [expired] = await harness.governor.approvals.list(harness.tenantId);
    expect(expired?.status).toBe("expired");
    const late = await harness.governor.approvals
      .approve(harness.tenantId, expired?.action_id as string)
      .catch((e: unknown) => e);
    expect(late).toMatchObject({ code: "APPROVAL_NOT_PENDING" });
    expect(harness.target.requests).toHaveLength(0);
    const methods = (await governedRecords()).map((r) => r.method);
    expect(methods).toContain("expire_action");
  });

  it("confirms a built-in tool under always_ask through the approval queue", async () => {
    harness = await startGovernance();
    const { upstreamId } = await session(
      { go: [{ type: "tool_use", name: "bash", input: { command: "ls" }, result: "README.md" }] },
      { require_human_approval: ["bash"] },
    );
    await turn(upstreamId, "go");
    const approval = await eventually(async () => {
      const [found] = await harness.governor.approvals.list(harness.tenantId, { status: "pending" });
      return found;
    });
    expect(approval).toMatchObject({ kind: "builtin_tool", tool: "bash" });
    await harness.governor.approvals.approve(harness.tenantId, approval.action_id);
    const confirmation = await harness.fake.waitForEvent(upstreamId, "user.tool_confirmation");
    expect(confirmation).toMatchObject({ result: "allow", tool_use_id: approval.upstream_event_id });
    await harness.fake.waitForEvent(upstreamId, "agent.tool_result");
  });

  it("interrupts the session automatically when rm -rf / is observed", async () => {
    harness = await startGovernance();
    const { created, upstreamId } = await session({
      go: [{ type: "tool_use", name: "bash", input: { command: "rm -rf /" }, result: "" }],
    });
    await turn(upstreamId, "go");
    const status = await eventually(async () => {
      const current = await harness.governor.sessions.get(harness.tenantId, created.session_id);
      return current.status === "interrupted" && current;
    });
    expect(status.end_reason).toContain("Automatic interrupt");
    const trail = await harness.governor.sessions.audit(harness.tenantId, created.session_id);
    const observed = trail.find((r) => r.source === "mcp_observed");
    expect(observed?.severity).toBe("critical");
    expect(observed?.violations.length).toBeGreaterThan(0);
    expect(await harness.governor.sessions.get(harness.tenantId, created.session_id)).toMatchObject({
      anomalies_detected: 1,
    });
    const interrupt = trail.find((r) => r.method === "interrupt_session");
    expect(interrupt?.input).toMatchObject({ auto_triggered: true });
    // Storage flips first (governance stops at once); the platform hears about it right after.
    await harness.fake.waitForEvent(upstreamId, "user.interrupt");
  });
});

describe("tenant policy at the session boundary", () => {
  it("disables a built-in tool the tenant policy forbids outright, and applies code rules", async () => {
    harness = await startGovernance({
      codeRules: [
        {
          id: "no-weekend-crm",
          evaluate: (input) =>
            input.tool === "crm_lookup" && (input.input as { customer_id?: string }).customer_id === "vip"
              ? { effect: "deny", severity: "critical", message: "VIP records are off limits" }
              : null,
        },
      ],
    });
    await harness.governor.policy.put(harness.tenantId, {
      rules: [{ id: "no-bash", when: { tool: "bash" }, effect: "deny", severity: "high", message: "No shell" }],
    });
    const { upstreamId } = await session({ go: [call("crm_lookup", { customer_id: "vip" })] });
    const agent = harness.fake.session(upstreamId)?.session.agent as {
      tools: { type: string; configs: { name: string; enabled: boolean }[] }[];
    };
    const builtins = agent.tools.find((tool) => tool.type === "agent_toolset_20260401");
    expect(builtins?.configs.find((c) => c.name === "bash")?.enabled).toBe(false);
    expect(builtins?.configs.find((c) => c.name === "read")?.enabled).toBe(true);

    await turn(upstreamId, "go");
    const [result] = mcpResults(harness.fake, upstreamId);
    expect(result?.is_error).toBe(true);
    expect(result?.text).toContain("VIP records are off limits");
    expect(harness.target.requests).toHaveLength(0);
  });

  it("denies every call of a session that has ended", async () => {
    harness = await startGovernance({ sessions: { archiveOnInterrupt: false } });
    const { created, upstreamId } = await session({ go: [call("crm_lookup", { customer_id: "1" })] });
    await harness.governor.sessions.interrupt(harness.tenantId, created.session_id, { reason: "stop" });
    await turn(upstreamId, "go");
    const [result] = mcpResults(harness.fake, upstreamId);
    expect(result?.is_error).toBe(true);
    expect(result?.text).toContain("Session is not active (status: interrupted)");
    expect(harness.target.requests).toHaveLength(0);
    const governed = (await governedRecords()).filter((r) => r.source === "mcp_governed");
    expect(governed.map((r) => r.decision)).toEqual(["deny"]);
  });
});
