import { afterEach, describe, expect, it } from "vitest";
import { bashToolUses, eventually, gate, type SessionHarness, startSessionHarness } from "./harness.js";

let harness: SessionHarness;
afterEach(async () => harness?.close());

async function observed(tenantId: string, sessionId: string) {
  const records = await harness.governor.sessions.audit(tenantId, sessionId, { limit: 10_000 });
  return records.filter((record) => record.source === "mcp_observed");
}

describe("the session consumer", () => {
  it("records every tool use the governor does not serve as observed, joined with its result", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    fake.setDefaultScript([
      { type: "tool_use", name: "bash", input: { command: "ls -la" }, result: "README.md" },
      { type: "tool_use", name: "read", input: { file_path: "/tmp/x" }, result: "hello", isError: true },
      { type: "message", text: "done" },
    ]);
    const created = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });

    const records = await eventually(async () => {
      const found = await observed(tenantId, created.session_id);
      return found.length === 2 && found.every((r) => r.result !== null) && found;
    });
    expect(records.map((r) => [r.tool, r.method, r.decision, r.severity])).toEqual([
      ["bash", "execute", "observed", "none"],
      ["read", "execute", "observed", "none"],
    ]);
    expect(records[0]?.input).toEqual({ command: "ls -la" });
    expect(records[0]?.event_id).toMatch(/^sevt_/);
    expect(records[0]?.result).toEqual({ is_error: false, excerpt: "README.md" });
    expect(records[1]?.result).toEqual({ is_error: true, excerpt: "hello" });
    expect(await governor.sessions.get(tenantId, created.session_id)).toMatchObject({ total_observed_calls: 2 });

    const [consumer] = await governor.consumers(tenantId);
    expect(consumer).toMatchObject({
      session_id: created.session_id,
      anthropic_session_id: created.anthropic_session_id,
      tenant_id: tenantId,
      agent_id: config.id,
      status: "connected",
    });
    expect(consumer?.events_processed).toBeGreaterThan(5);
    expect((await governor.audit.verify(tenantId)).valid).toBe(true);
  });

  it("loses and duplicates nothing across stream drops, 5xx answers and a governor restart", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    const halfway = gate();
    fake.setDefaultScript([
      ...bashToolUses(0, 500),
      { type: "wait", until: halfway.promise },
      ...bashToolUses(500, 500),
    ]);
    fake.faults.dropStreams({ afterFrames: 50, mode: "destroy" });
    const created = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });

    // Restart: the first instance stops mid-session; a new one takes the lease over and resumes from the cursor.
    await eventually(async () => (await observed(tenantId, created.session_id)).length >= 300);
    await governor.stop();
    fake.faults.failNext(3, { status: 503, path: /\/events/ });
    const restarted = harness.secondGovernor();
    restarted.start();
    halfway.release();

    await eventually(async () => (await observed(tenantId, created.session_id)).length >= 1000, 2000);
    await fake.settled(created.anthropic_session_id as string, { timeoutMs: 30_000 });
    await eventually(async () => {
      const records = await observed(tenantId, created.session_id);
      return records.length === 1000 && records.every((r) => r.result !== null);
    }, 2000);
    const records = await observed(tenantId, created.session_id);
    const commands = records.map((r) => (r.input as { command: string }).command);
    expect(new Set(commands).size).toBe(1000);
    expect(new Set(records.map((r) => r.event_id)).size).toBe(1000);
    expect((await restarted.audit.verify(tenantId)).valid).toBe(true);
  }, 180_000);

  it("marks the session completed when the upstream terminates it, and failed on a terminal error", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    fake.setDefaultScript([{ type: "error", errorType: "unknown_error", retry: "terminal" }]);
    const failed = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });
    await eventually(async () => (await governor.sessions.get(tenantId, failed.session_id)).status === "failed");
    expect((await governor.sessions.get(tenantId, failed.session_id)).end_reason).toContain("unknown_error");
    await eventually(async () => (await governor.consumers(tenantId)).length === 0);

    fake.setDefaultScript([{ type: "emit", event: { type: "session.status_terminated" } }]);
    const completed = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });
    await eventually(async () => (await governor.sessions.get(tenantId, completed.session_id)).status === "completed");
    const trail = await governor.sessions.audit(tenantId, completed.session_id);
    expect(trail.map((r) => [r.method, r.actor])).toEqual([
      ["create_session", null],
      ["complete_session", "consumer"],
    ]);
  });
});
