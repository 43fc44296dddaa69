import type Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import type { FakeScriptStep } from "../../src/testing/index.js";
import { endOfTurn, type Harness, seedAgent, startFake } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.fake.close();
});

const hello = { type: "user.message" as const, content: [{ type: "text" as const, text: "go" }] };

type Event = { id: string; type: string; processed_at?: string | null; [key: string]: unknown };

/** Reads a stream to its end, returning the events and the error that ended it, if any. */
async function drain(stream: AsyncIterable<unknown>): Promise<{ events: Event[]; error: unknown }> {
  const events: Event[] = [];
  try {
    for await (const event of stream) events.push(event as Event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

async function sessionWithScript(steps: FakeScriptStep[]) {
  const { environment, agent } = await seedAgent(h.client, [{ type: "agent_toolset_20260401" }]);
  h.fake.script(agent.id, steps);
  return h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
}

const bashSteps = (n: number): FakeScriptStep[] =>
  Array.from({ length: n }, (_, i) => ({
    type: "tool_use" as const,
    name: "bash" as const,
    input: { command: `echo ${i}` },
  }));

describe("fake platform fault injection", () => {
  it("destroys a stream after N frames: the SDK loop throws, history keeps everything", async () => {
    h = await startFake();
    const session = await sessionWithScript(bashSteps(5));
    h.fake.faults.dropStreams({ afterFrames: 3, times: 1 });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const { events, error } = await drain(stream);
    expect(events).toHaveLength(3);
    expect(error).toBeInstanceOf(TypeError);
    const state = await h.fake.settled(session.id);
    expect(state.events.slice(0, 3).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(state.events.length).toBeGreaterThan(3);

    // The rule was used up: the next stream is not cut.
    const next = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const iterator = next[Symbol.asyncIterator]();
    const seen: Event[] = [];
    while (true) {
      const { value, done } = await iterator.next();
      if (done) break;
      seen.push(value as Event);
      if (endOfTurn(value as Event)) break;
    }
    await iterator.return?.();
    expect(seen.at(-1)?.type).toBe("session.status_idle");
  });

  it("ends a stream quietly after N frames in end mode", async () => {
    h = await startFake();
    const session = await sessionWithScript(bashSteps(2));
    h.fake.faults.dropStreams({ afterFrames: 2, mode: "end", sessionId: session.id });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const { events, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(["user.message", "session.status_running"]);
  });

  it("cuts the streams that are open right now", async () => {
    h = await startFake();
    const session = await sessionWithScript([]);
    const a = await h.client.beta.sessions.events.stream(session.id);
    const b = await h.client.beta.sessions.events.stream(session.id);
    expect(h.fake.session(session.id)?.openStreams).toBe(2);
    expect(h.fake.faults.dropOpenStreams({ sessionId: session.id, afterFrames: 1 })).toBe(2);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const [ra, rb] = await Promise.all([drain(a), drain(b)]);
    expect(ra.events.map((e) => e.type)).toEqual(["user.message"]);
    expect(rb.error).toBeInstanceOf(TypeError);
    expect(h.fake.session(session.id)?.openStreams).toBe(0);
  });

  it("plays 1,000 tool uses through streams cut every 50 frames; stream-then-backfill sees each once", async () => {
    h = await startFake();
    const session = await sessionWithScript(bashSteps(1000));
    h.fake.faults.dropStreams({ afterFrames: 50, sessionId: session.id });

    const seen = new Map<string, Event>();
    let cursor: string | undefined;
    let finished = false;
    const record = (event: Event) => {
      if (seen.has(event.id)) return;
      seen.set(event.id, event);
      if (event.processed_at) cursor = event.processed_at;
      if (endOfTurn(event)) finished = true;
    };
    const backfill = async (client: Anthropic) => {
      const query = cursor ? { "created_at[gte]": cursor, limit: 1000 } : { limit: 1000 };
      for await (const event of client.beta.sessions.events.list(session.id, query)) record(event as Event);
    };

    let stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    let connections = 1;
    while (true) {
      try {
        for await (const event of stream) {
          record(event as Event);
          if (finished) break;
        }
      } catch {
        // A cut stream: reconnect below.
      }
      if (finished) break;
      // Reopen first, so nothing produced while we backfill is missed.
      stream = await h.client.beta.sessions.events.stream(session.id);
      connections += 1;
      await backfill(h.client);
      if (finished) break;
    }

    const uses = [...seen.values()].filter((e) => e.type === "agent.tool_use");
    expect(uses).toHaveLength(1000);
    expect(new Set(uses.map((e) => (e.input as { command: string }).command)).size).toBe(1000);
    expect([...seen.values()].filter((e) => e.type === "agent.tool_result")).toHaveLength(1000);
    expect(seen.size).toBe(h.fake.session(session.id)?.events.length);
    expect(connections).toBeGreaterThan(10);
    const backfills = h.fake.requests.filter((r) => r.method === "GET" && r.path.endsWith("/events"));
    expect(backfills.some((r) => typeof r.query["created_at[gte]"] === "string")).toBe(true);
  });

  it("can be cleared", async () => {
    h = await startFake();
    h.fake.faults.failNext(5);
    h.fake.faults.dropStreams({ afterFrames: 0 });
    h.fake.faults.clear();
    const session = await sessionWithScript([]);
    const stream = await h.client.beta.sessions.events.stream(session.id);
    expect(h.fake.session(session.id)?.openStreams).toBe(1);
    stream.controller.abort();
  });
});
