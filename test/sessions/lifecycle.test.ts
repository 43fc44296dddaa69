import { afterEach, describe, expect, it } from "vitest";
import { isVargateError } from "../../src/errors.js";
import { eventually, manualClock, type SessionHarness, startSessionHarness } from "./harness.js";

let harness: SessionHarness;
afterEach(async () => harness?.close());

describe("ending sessions", () => {
  it("interrupts: user.interrupt then archive reach the platform, the audit records it, a second interrupt is 409", async () => {
    harness = await startSessionHarness();
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    let hold: () => void = () => {};
    fake.setDefaultScript([{ type: "message", text: "thinking", holdUntil: new Promise<void>((r) => (hold = r)) }]);
    const created = await governor.sessions.create(tenantId, { agent_id: config.id, user_message: "go" });
    const upstreamId = created.anthropic_session_id as string;
    await fake.waitForEvent(upstreamId, "span.model_request_start");

    const result = await governor.sessions.interrupt(tenantId, created.session_id, {
      reason: "Agent attempted to access production credentials",
    });
    hold();
    expect(result).toMatchObject({
      status: "interrupted",
      session_id: created.session_id,
      reason: "Agent attempted to access production credentials",
      auto_triggered: false,
    });
    expect(result.audit_action_id).toMatch(/^[0-9a-f-]{36}$/);

    const calls = fake.requests
      .filter((r) => r.path.startsWith(`/v1/sessions/${upstreamId}`) && r.method === "POST")
      .map((r) =>
        r.path.endsWith("/archive") ? "archive" : (r.body as { events: { type: string }[] }).events[0]?.type,
      );
    expect(calls).toEqual(["user.message", "user.interrupt", "archive"]);
    expect(fake.session(upstreamId)?.archived).toBe(true);

    const record = (await governor.sessions.audit(tenantId, created.session_id)).at(-1);
    expect(record).toMatchObject({
      action_id: result.audit_action_id,
      method: "interrupt_session",
      source: "control_plane",
      severity: "medium",
      violations: ["session_interrupted"],
    });
    expect(await governor.sessions.get(tenantId, created.session_id)).toMatchObject({ status: "interrupted" });

    const second = await governor.sessions
      .interrupt(tenantId, created.session_id, { reason: "again" })
      .catch((e: unknown) => e);
    expect(isVargateError(second, "SESSION_ENDED")).toBe(true);
    expect((second as Error).message).toBe("Session already ended (status: interrupted)");
    await eventually(async () => (await governor.consumers(tenantId)).length === 0);
  });

  it("lets exactly one of two racing interrupts (from two instances) win", async () => {
    harness = await startSessionHarness();
    const { governor, tenantId } = harness;
    const other = harness.secondGovernor();
    const config = await governor.agents.create(tenantId, { name: "a" });
    const created = await governor.sessions.create(tenantId, { agent_id: config.id });
    const results = await Promise.allSettled([
      governor.sessions.interrupt(tenantId, created.session_id, { reason: "one" }),
      other.sessions.interrupt(tenantId, created.session_id, { reason: "two" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const trail = await governor.sessions.audit(tenantId, created.session_id);
    expect(trail.filter((r) => r.method === "interrupt_session")).toHaveLength(1);
  });

  it("interrupts a session past its effective maximum duration with auto_triggered", async () => {
    const clock = manualClock(new Date());
    harness = await startSessionHarness({ governor: { clock }, tenant: { max_session_hours: 2 } });
    const { governor, fake, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a", max_session_hours: 4 });
    const created = await governor.sessions.create(tenantId, { agent_id: config.id });

    clock.advance(2 * 60 * 60 * 1000 - 1);
    expect(await governor.sessions.enforceDurations()).toEqual([]);
    clock.advance(1);
    expect(await governor.sessions.enforceDurations()).toEqual([created.session_id]);

    const record = (await governor.sessions.audit(tenantId, created.session_id)).at(-1);
    expect(record).toMatchObject({ method: "interrupt_session", severity: "high", actor: "duration_limit" });
    expect(record?.input).toEqual({ reason: "Session exceeded its maximum duration of 2 hours", auto_triggered: true });
    expect(fake.session(created.anthropic_session_id as string)?.received.map((e) => e.type)).toContain(
      "user.interrupt",
    );
  });

  it("completes a session normally; unknown and other tenants' sessions are 404", async () => {
    harness = await startSessionHarness();
    const { governor, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    const created = await governor.sessions.create(tenantId, { agent_id: config.id });
    await governor.tenants.create({ tenant_id: `${tenantId}-b` });

    const notFound = await governor.sessions.get(`${tenantId}-b`, created.session_id).catch((e: unknown) => e);
    expect(isVargateError(notFound, "SESSION_NOT_FOUND")).toBe(true);
    const missing = await governor.sessions
      .interrupt(tenantId, "vs-0000000000000000", { reason: "x" })
      .catch((e: unknown) => e);
    expect(isVargateError(missing, "SESSION_NOT_FOUND")).toBe(true);

    const completed = await governor.sessions.complete(tenantId, created.session_id);
    expect(completed).toMatchObject({ status: "completed", session_id: created.session_id });
    expect(await governor.sessions.list(tenantId, { status: "completed" })).toHaveLength(1);
    expect(await governor.sessions.list(tenantId, { status: "active" })).toHaveLength(0);
    const again = await governor.sessions.complete(tenantId, created.session_id).catch((e: unknown) => e);
    expect(isVargateError(again, "SESSION_ENDED")).toBe(true);
  });

  it("validates interrupt input", async () => {
    harness = await startSessionHarness();
    const { governor, tenantId } = harness;
    const config = await governor.agents.create(tenantId, { name: "a" });
    const created = await governor.sessions.create(tenantId, { agent_id: config.id });
    for (const reason of ["", "x".repeat(1001)]) {
      const error = await governor.sessions
        .interrupt(tenantId, created.session_id, { reason })
        .catch((e: unknown) => e);
      expect(isVargateError(error, "VALIDATION_FAILED")).toBe(true);
      expect((error as { issues: { loc: unknown[] }[] }).issues[0]?.loc).toEqual(["body", "reason"]);
    }
    expect(await governor.sessions.get(tenantId, created.session_id)).toMatchObject({ status: "active" });
  });
});
