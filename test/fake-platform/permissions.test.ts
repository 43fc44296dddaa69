import { BadRequestError } from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { endOfTurn, type Harness, readUntil, seedAgent, startFake } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.fake.close();
});

const hello = { type: "user.message" as const, content: [{ type: "text" as const, text: "go" }] };
const isRequiresAction = (e: { type: string; stop_reason?: unknown }) =>
  e.type === "session.status_idle" && (e.stop_reason as { type: string }).type === "requires_action";

describe("fake platform permission policies", () => {
  it("parks an always_ask tool in requires_action until a confirmation allows it", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [
      { type: "agent_toolset_20260401", configs: [{ name: "bash", permission_policy: { type: "always_ask" } }] },
    ]);
    h.fake.script(agent.id, [{ type: "tool_use", name: "bash", input: { command: "rm -rf /tmp/x" }, result: "done" }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const stream = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });

    const first = await readUntil(stream, isRequiresAction);
    const toolUse = first.find((e) => e.type === "agent.tool_use");
    expect(toolUse).toMatchObject({ evaluated_permission: "ask", evaluation: { type: "always_ask" } });
    expect(first.at(-1)).toMatchObject({ stop_reason: { type: "requires_action", event_ids: [toolUse?.id] } });
    expect(first.some((e) => e.type === "agent.tool_result")).toBe(false);
    expect((await h.client.beta.sessions.retrieve(session.id)).status).toBe("idle");
    expect(h.fake.session(session.id)?.pendingToolUseIds).toEqual([toolUse?.id]);

    const stream2 = await h.client.beta.sessions.events.stream(session.id);
    await h.client.beta.sessions.events.send(session.id, {
      events: [{ type: "user.tool_confirmation", tool_use_id: toolUse?.id as string, result: "allow" }],
    });
    const rest = await readUntil(stream2, endOfTurn);
    expect(rest.map((e) => e.type)).toEqual([
      "user.tool_confirmation",
      "session.status_running",
      "agent.tool_result",
      "session.status_idle",
    ]);
    expect(rest[2]).toMatchObject({ tool_use_id: toolUse?.id, is_error: false, content: [{ text: "done" }] });
  });

  it("reports a denied confirmation as an error result carrying the deny message", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [
      { type: "agent_toolset_20260401", default_config: { permission_policy: { type: "always_ask" } } },
    ]);
    h.fake.script(agent.id, [{ type: "tool_use", name: "write", input: { file_path: "/x", content: "y" } }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const parked = await h.fake.settled(session.id);
    const [toolUseId] = parked.pendingToolUseIds;
    await h.client.beta.sessions.events.send(session.id, {
      events: [
        { type: "user.tool_confirmation", tool_use_id: toolUseId as string, result: "deny", deny_message: "no" },
      ],
    });
    const result = await h.fake.waitForEvent(session.id, "agent.tool_result");
    expect(result).toMatchObject({ tool_use_id: toolUseId, is_error: true, content: [{ type: "text", text: "no" }] });
    const done = await h.fake.settled(session.id);
    expect(done.events.at(-1)).toMatchObject({ stop_reason: { type: "end_turn" } });
  });

  it("rejects a confirmation for a tool use that is not waiting", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    const bad = h.client.beta.sessions.events.send(session.id, {
      events: [{ type: "user.tool_confirmation", tool_use_id: "sevt_nope", result: "allow" }],
    });
    await expect(bad).rejects.toBeInstanceOf(BadRequestError);
  });

  it("refuses a disabled tool before any policy applies", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [
      { type: "agent_toolset_20260401", configs: [{ name: "bash", enabled: false }] },
    ]);
    h.fake.script(agent.id, [
      { type: "tool_use", name: "bash", input: { command: "ls" } },
      { type: "tool_use", name: "read", input: { file_path: "/a" } },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const state = await h.fake.settled(session.id);
    const uses = state.events.filter((e) => e.type === "agent.tool_use");
    expect(uses[0]).toMatchObject({ name: "bash", evaluated_permission: "deny" });
    expect(uses[0]).not.toHaveProperty("evaluation");
    const refused = state.events.find((e) => e.type === "agent.tool_result" && e.tool_use_id === uses[0]?.id);
    expect(refused).toMatchObject({ is_error: true });
    expect(uses[1]).toMatchObject({ name: "read", evaluated_permission: "allow" });
  });

  it("refuses built-in tools when the agent has no built-in toolset", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, []);
    h.fake.script(agent.id, [{ type: "tool_use", name: "bash", input: { command: "ls" } }]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const state = await h.fake.settled(session.id);
    expect(state.events.find((e) => e.type === "agent.tool_use")).toMatchObject({ evaluated_permission: "deny" });
  });

  it("evaluates auto policies as scripted", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [
      { type: "agent_toolset_20260401", default_config: { permission_policy: { type: "auto" } } },
    ]);
    h.fake.script(agent.id, [
      { type: "tool_use", name: "read", input: { file_path: "/a" } },
      {
        type: "tool_use",
        name: "bash",
        input: { command: "curl x" },
        auto: { decision: "deny", reasonCode: "high_risk" },
      },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const state = await h.fake.settled(session.id);
    const [read, bash] = state.events.filter((e) => e.type === "agent.tool_use");
    expect(read).toMatchObject({
      evaluated_permission: "allow",
      evaluation: { type: "auto", evaluated_permission: { type: "allow" } },
    });
    expect(bash).toMatchObject({
      evaluated_permission: "deny",
      evaluation: { type: "auto", evaluated_permission: { type: "deny", reason_code: "high_risk" } },
    });
    const results = state.events.filter((e) => e.type === "agent.tool_result");
    expect(results.map((r) => r.is_error)).toEqual([false, true]);
  });

  it("waits for a custom tool result, and re-idles with the remainder when only part is answered", async () => {
    h = await startFake();
    const { environment, agent } = await seedAgent(h.client, [
      { type: "agent_toolset_20260401", configs: [{ name: "bash", permission_policy: { type: "always_ask" } }] },
      { type: "custom", name: "lookup_order", description: "d", input_schema: { type: "object" } },
    ]);
    h.fake.script(agent.id, [
      {
        type: "parallel",
        uses: [
          { type: "custom_tool_use", name: "lookup_order", input: { id: 7 } },
          { type: "tool_use", name: "bash", input: { command: "ls" } },
        ],
      },
      { type: "message", text: "all done" },
    ]);
    const session = await h.client.beta.sessions.create({ agent: agent.id, environment_id: environment.id });
    await h.client.beta.sessions.events.send(session.id, { events: [hello] });
    const parked = await h.fake.settled(session.id);
    const custom = parked.events.find((e) => e.type === "agent.custom_tool_use");
    const bash = parked.events.find((e) => e.type === "agent.tool_use");
    expect(parked.events.at(-1)).toMatchObject({
      stop_reason: { type: "requires_action", event_ids: [custom?.id, bash?.id] },
    });

    await h.client.beta.sessions.events.send(session.id, {
      events: [
        {
          type: "user.custom_tool_result",
          custom_tool_use_id: custom?.id as string,
          content: [{ type: "text", text: "shipped" }],
        },
      ],
    });
    const partial = h.fake.session(session.id);
    expect(partial?.events.at(-1)).toMatchObject({ stop_reason: { type: "requires_action", event_ids: [bash?.id] } });
    expect(partial?.status).toBe("idle");

    await h.client.beta.sessions.events.send(session.id, {
      events: [{ type: "user.tool_confirmation", tool_use_id: bash?.id as string, result: "allow" }],
    });
    const done = await h.fake.settled(session.id);
    const tail = done.events.slice(done.events.findIndex((e) => e.type === "user.tool_confirmation"));
    expect(tail.map((e) => e.type)).toEqual([
      "user.tool_confirmation",
      "session.status_running",
      "agent.tool_result",
      "span.model_request_start",
      "agent.message",
      "span.model_request_end",
      "session.status_idle",
    ]);
  });
});
