import { BadRequestError } from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { endOfTurn, type Harness, readUntil, seedAgent, startFake } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.fake.close();
});

const hello = { type: "user.message" as const, content: [{ type: "text" as const, text: "hello" }] };

describe("fake platform session events", () => {
  it("streams a scripted turn in the platform's order", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [{ type: "agent_toolset_20260401" }]);
    h.fake.script(agent.id, [
      { type: "tool_use", name: "bash", input: { command: "ls" }, result: "a.txt", text: "Let me look." },
      { type: "message", text: "Found a.txt." },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    const sent = await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    expect(sent.data?.[0]).toMatchObject({ type: "user.message", content: hello.content });
    expect(sent.data?.[0]?.id).toMatch(/^sevt_/);

    const events = await readUntil(stream, endOfTurn);
    expect(events.map((e) => e.type)).toEqual([
      "user.message",
      "session.status_running",
      "span.model_request_start",
      "agent.message",
      "agent.tool_use",
      "span.model_request_end",
      "agent.tool_result",
      "span.model_request_start",
      "agent.message",
      "span.model_request_end",
      "session.status_idle",
    ]);
    const toolUse = events[4] as Record<string, unknown>;
    expect(toolUse).toMatchObject({
      name: "bash",
      input: { command: "ls" },
      evaluated_permission: "allow",
      evaluation: { type: "always_allow" },
    });
    expect(events[5]).toMatchObject({ model_request_start_id: events[2]?.id, is_error: false });
    expect(events[6]).toMatchObject({ tool_use_id: toolUse.id, content: [{ type: "text", text: "a.txt" }] });
    expect(events[10]).toMatchObject({ stop_reason: { type: "end_turn" }, stop_details: null });
    expect(events[0]?.id).toBe(sent.data?.[0]?.id);
    for (const event of events) expect(event.processed_at).toEqual(expect.any(String));

    const retrieved = await h.client.beta.sessions.retrieve(session.id);
    expect(retrieved.status).toBe("idle");
    expect(retrieved.usage.output_tokens).toBeGreaterThan(0);
  });

  it("writes every frame with an event line and single-line data", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const response = await fetch(`${h.fake.url}/v1/sessions/${session.id}/events/stream`, {
      headers: { authorization: `Bearer ${h.fake.apiKey}`, "anthropic-beta": "managed-agents-2026-04-01" },
    });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    await h.fake.settled(session.id);
    await h.fake.close();
    const text = await response.text();
    const frames = text.split("\n\n").filter((frame) => frame.trim() !== "");
    expect(frames.length).toBe(h.fake.session(session.id)?.events.length);
    for (const frame of frames) {
      const lines = frame.split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^event: [a-z_.]+$/);
      const data = JSON.parse((lines[1] as string).replace(/^data: /, "")) as { type: string };
      expect(lines[0]).toBe(`event: ${data.type}`);
    }
  });

  it("does not replay history to a stream opened later", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    await h.fake.settled(session.id);
    const before = h.fake.session(session.id)?.events.length ?? 0;
    expect(before).toBeGreaterThan(0);

    const stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const events = await readUntil(stream, endOfTurn);
    const history = h.fake.session(session.id)?.events ?? [];
    expect(events.map((e) => e.id)).toEqual(history.slice(before).map((e) => e.id));
  });

  it("lists history with cursor pagination, type and created_at filters", async () => {
    let clock = Date.parse("2026-05-01T00:00:00.000Z");
    const tick = () => {
      clock += 1000;
      return new Date(clock);
    };
    h = await startFake({ now: tick });
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    for (let i = 0; i < 3; i++) {
      await h.client.beta.sessions.events.send(session.id, { events: [hello] });
      await h.fake.settled(session.id);
    }
    const history = h.fake.session(session.id)?.events ?? [];
    const all = [];
    for await (const event of h.client.beta.sessions.events.list(session.id, { limit: 4 })) all.push(event.id);
    expect(all).toEqual(history.map((e) => e.id));

    const messages = await h.client.beta.sessions.events.list(session.id, { types: ["user.message"] });
    expect(messages.data).toHaveLength(3);
    const desc = await h.client.beta.sessions.events.list(session.id, { order: "desc", limit: 1 });
    expect(desc.data[0]?.id).toBe(history.at(-1)?.id);

    const pivot = history[5] as { processed_at: string };
    const since = await h.client.beta.sessions.events.list(session.id, { "created_at[gte]": pivot.processed_at });
    expect(since.data.map((e) => e.id)).toEqual(history.slice(5).map((e) => e.id));
    const request = h.fake.requests.filter((r) => r.path.endsWith("/events") && r.method === "GET").at(-1);
    expect(request?.query["created_at[gte]"]).toBe(pivot.processed_at);
  });

  it("rejects unknown event types without storing anything", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const bad = h.client.beta.sessions.events.send(session.id, {
      events: [hello, { type: "agent.message", content: [] } as never],
    });
    await expect(bad).rejects.toBeInstanceOf(BadRequestError);
    await expect(bad).rejects.toThrow(/events\[1\]\.type/);
    expect(h.fake.session(session.id)?.events).toEqual([]);
  });

  it("queues a message sent during a turn (processed_at null) and plays it next", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.fake.script(agent.id, ({ turn }) =>
      turn === 1 ? [{ type: "wait", until: gate }] : [{ type: "message", text: "2" }],
    );
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const queued = await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    expect(queued.data?.[0]?.processed_at).toBeNull();
    release();
    await h.fake.waitForEvent(session.id, (e) => e.type === "agent.message");
    await h.fake.settled(session.id);
    const types = h.fake.session(session.id)?.events.map((e) => e.type);
    expect(types?.filter((t) => t === "session.status_idle")).toHaveLength(2);
    const stored = h.fake.session(session.id)?.events.find((e) => e.id === queued.data?.[0]?.id);
    expect(stored?.processed_at).toEqual(expect.any(String));
  });

  it("sends previews only to streams that asked for event_deltas", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    h.fake.script(agent.id, [{ type: "message", text: "one two three four five six" }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const plain = await h.client.beta.sessions.events.stream(session.id);
    const withDeltas = await h.client.beta.sessions.events.stream(session.id, { event_deltas: ["agent.message"] });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const [a, b] = await Promise.all([readUntil(plain, endOfTurn), readUntil(withDeltas, endOfTurn)]);
    expect(a.some((e) => e.type === "event_delta")).toBe(false);
    const message = b.find((e) => e.type === "agent.message");
    const start = b.find((e) => e.type === "event_start");
    expect(start).toMatchObject({ event: { type: "agent.message", id: message?.id } });
    const text = b
      .filter((e) => e.type === "event_delta")
      .map((e) => (e.delta as { content: { text: string } }).content.text)
      .join("");
    expect(text).toBe("one two three four five six");
    expect(b.indexOf(start as never)).toBeLessThan(b.indexOf(message as never));
  });

  it("sends heartbeat comments that the SDK skips", async () => {
    h = await startFake({ heartbeatMs: 1 });
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    const raw = await fetch(`${h.fake.url}/v1/sessions/${session.id}/events/stream`, {
      headers: { "x-api-key": h.fake.apiKey, "anthropic-beta": "managed-agents-2026-04-01" },
    });
    const reader = (raw.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes(": heartbeat\n\n")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const events = await readUntil(stream, endOfTurn);
    expect(events[0]?.type).toBe("user.message");
    expect(events.every((e) => typeof e.type === "string")).toBe(true);
  });

  it("plays thinking and raw emit steps, and falls back to the default script when one is removed", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    h.fake.script(agent.id, [
      { type: "thinking" },
      { type: "emit", event: { type: "session.thread_created", session_thread_id: "sthr_1", agent_name: "sub" } },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const first = await h.fake.settled(session.id);
    expect(first.events.map((e) => e.type)).toEqual([
      "user.message",
      "session.status_running",
      "span.model_request_start",
      "agent.thinking",
      "span.model_request_end",
      "session.thread_created",
      "session.status_idle",
    ]);
    expect(first.events[5]).toMatchObject({ session_thread_id: "sthr_1", id: expect.stringMatching(/^sevt_/) });

    h.fake.script(agent.id, null);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const second = await h.fake.settled(session.id);
    expect(second.events.filter((e) => e.type === "agent.message")).toHaveLength(1);
  });

  it("starts work from initial_events", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({
      agent: agent.id,
      environment_id: environment.id,
      initial_events: [hello],
    });
    expect(session.status).toBe("running");
    const state = await h.fake.settled(session.id);
    expect(state.received.map((e) => e.type)).toEqual(["user.message"]);
    expect(state.events.at(-1)).toMatchObject({ type: "session.status_idle", stop_reason: { type: "end_turn" } });
  });
});
