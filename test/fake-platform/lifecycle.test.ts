import { ConflictError, NotFoundError } from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, readUntil, seedAgent, startFake } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.fake.close();
});

const hello = { type: "user.message" as const, content: [{ type: "text" as const, text: "go" }] };

describe("fake platform session lifecycle", () => {
  it("stops a running script on user.interrupt and idles with end_turn", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [{ type: "agent_toolset_20260401" }]);
    const never = new Promise<void>(() => undefined);
    h.fake.script(agent.id, [
      { type: "tool_use", name: "bash", input: { command: "step 1" } },
      { type: "wait", until: never },
      { type: "tool_use", name: "bash", input: { command: "step 2" } },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    await h.fake.waitForEvent(session.id, "agent.tool_result");
    expect((await h.client.beta.sessions.retrieve(session.id)).status).toBe("running");

    await h.client.beta.sessions.events.send(session.id, { events: [{ type: "user.interrupt" }] });
    const state = await h.fake.settled(session.id);
    expect(state.status).toBe("idle");
    const afterInterrupt = state.events.slice(state.events.findIndex((e) => e.type === "user.interrupt"));
    expect(afterInterrupt.map((e) => e.type)).toEqual(["user.interrupt", "session.status_idle"]);
    expect(afterInterrupt[1]).toMatchObject({ stop_reason: { type: "end_turn" } });
    const commands = state.events
      .filter((e) => e.type === "agent.tool_use")
      .map((e) => (e.input as { command: string }).command);
    expect(commands).toEqual(["step 1"]);
  });

  it("cuts a model request short on interrupt: span end, no agent.message", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    h.fake.script(agent.id, [{ type: "message", text: "never", holdUntil: new Promise(() => undefined) }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const start = await h.fake.waitForEvent(session.id, "span.model_request_start");
    await h.client.beta.sessions.events.send(session.id, { events: [{ type: "user.interrupt" }] });
    const state = await h.fake.settled(session.id);
    expect(state.events.map((e) => e.type)).toEqual([
      "user.message",
      "session.status_running",
      "span.model_request_start",
      "user.interrupt",
      "span.model_request_end",
      "session.status_idle",
    ]);
    expect(state.events[4]).toMatchObject({ model_request_start_id: start.id });
  });

  it("ends a turn parked in requires_action on interrupt; the tool never runs", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [
      { type: "agent_toolset_20260401", default_config: { permission_policy: { type: "always_ask" } } },
    ]);
    h.fake.script(agent.id, [{ type: "tool_use", name: "bash", input: { command: "ls" } }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    await h.fake.settled(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [{ type: "user.interrupt" }] });
    const state = await h.fake.settled(session.id);
    expect(state.pendingToolUseIds).toEqual([]);
    expect(state.events.some((e) => e.type === "agent.tool_result")).toBe(false);
    expect(state.events.at(-1)).toMatchObject({ type: "session.status_idle", stop_reason: { type: "end_turn" } });
  });

  it("records an interrupt followed by archive, then reports terminated and rejects sends", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    h.fake.script(agent.id, [{ type: "wait", until: new Promise(() => undefined) }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    await h.client.beta.sessions.events.send(session.id, { events: [{ type: "user.interrupt" }] });
    const archived = await h.client.beta.sessions.archive(session.id);
    expect(archived.status).toBe("terminated");
    expect(archived.archived_at).not.toBeNull();

    const events = await readUntil(stream, (e) => e.type === "session.status_terminated");
    expect(events.map((e) => e.type)).toEqual([
      "user.message",
      "session.status_running",
      "user.interrupt",
      "session.status_idle",
      "session.status_terminated",
    ]);
    const state = h.fake.session(session.id);
    expect(state?.received.map((e) => e.type)).toEqual(["user.message", "user.interrupt"]);
    const calls = h.fake.requests
      .filter((r) => r.path.startsWith(`/v1/sessions/${session.id}`) && r.method === "POST")
      .map((r) =>
        r.path.endsWith("/archive") ? "archive" : (r.body as { events: { type: string }[] }).events[0]?.type,
      );
    expect(calls).toEqual(["user.message", "user.interrupt", "archive"]);

    const rejected = await h.client.beta.sessions.events.send(session.id, { events: [hello] }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ConflictError);
    expect((rejected as ConflictError).type).toBe("invalid_request_error");
    expect((await h.client.beta.sessions.retrieve(session.id)).status).toBe("terminated");
    const listed = await h.client.beta.sessions.list();
    expect(listed.data.map((s) => s.id)).not.toContain(session.id);
  });

  it("ends the turn on an exhausted session.error and the session on a terminal one", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    h.fake.script(agent.id, ({ turn }) => [
      { type: "error", errorType: "model_overloaded_error", retry: turn === 1 ? "exhausted" : "terminal" },
      { type: "message", text: "never played" },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const first = await h.fake.settled(session.id);
    expect(first.events.find((e) => e.type === "session.error")).toMatchObject({
      error: { type: "model_overloaded_error", retry_status: { type: "exhausted" } },
    });
    expect(first.events.at(-1)).toMatchObject({ stop_reason: { type: "retries_exhausted" } });

    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const second = await h.fake.settled(session.id);
    expect(second.status).toBe("terminated");
    expect(second.archived).toBe(false);
    expect(second.events.at(-1)?.type).toBe("session.status_terminated");
    expect(second.events.some((e) => e.type === "agent.message")).toBe(false);
  });

  it("deletes a session: streams get session.deleted, the API answers 404", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    const deleted = await h.client.beta.sessions.delete(session.id);
    expect(deleted).toMatchObject({ id: session.id, type: "session_deleted" });
    const events = await readUntil(stream, () => false);
    expect(events.map((e) => e.type)).toEqual(["session.deleted"]);
    await expect(h.client.beta.sessions.retrieve(session.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(h.fake.session(session.id)?.deleted).toBe(true);
  });

  it("turns a script bug into a session.error instead of hanging the turn", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    h.fake.script(agent.id, [{ type: "mcp_tool_use", server: "undeclared", name: "x" }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const state = await h.fake.settled(session.id);
    expect(state.events.find((e) => e.type === "session.error")).toMatchObject({
      error: { type: "unknown_error", message: expect.stringContaining("undeclared") },
    });
    expect(state.status).toBe("idle");
  });

  it("prefers a session script over the agent script over the default", async () => {
    h = await startFake({ defaultScript: [{ type: "message", text: "default" }] });
    const { environment, agent } = await seedAgent(h.client);
    const a = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const b = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const other = await h.client.beta.agents.create({ name: "other", model: "claude-sonnet-4-6" });
    const c = await h.client.beta.sessions.create({ agent: other.id, environment_id: environment.id });
    h.fake.script(agent.id, [{ type: "message", text: "agent" }]);
    h.fake.script(a.id, [{ type: "message", text: "session" }]);
    const texts: string[] = [];
    for (const s of [a, b, c]) {
      await h.client.beta.sessions.events.send(s.id, { events: [hello] });
      const state = await h.fake.settled(s.id);
      const message = state.events.find((e) => e.type === "agent.message");
      texts.push(((message?.content ?? []) as { text: string }[])[0]?.text ?? "");
    }
    expect(texts).toEqual(["session", "agent", "default"]);
  });
});
