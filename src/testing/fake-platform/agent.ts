/**
 * The scripted agent: plays a turn's steps as the platform would report them. Each step is one model request
 * (`span.model_request_start` … `span.model_request_end`); tool results follow the span, and permission
 * policies are read from the session's resolved agent snapshot, not from the script.
 */
import { setImmediate as nextTick, setTimeout as sleep } from "node:timers/promises";
import { McpCallFailure } from "./mcp.js";
import { BUILTIN_TOOLS, builtinToolConfig, type EffectiveToolConfig, mcpToolConfig } from "./resolve.js";
import type { PendingToolUse, Runtime, StopReason, ToolAnswer, Turn } from "./runtime.js";
import type { SessionRecord } from "./store.js";
import type {
  FakeContentBlock,
  FakeCustomToolUseStep,
  FakeEvent,
  FakeMcpToolUseStep,
  FakeScriptStep,
  FakeToolUseStep,
  JsonObject,
} from "./types.js";

/** Thrown to unwind a turn that was interrupted or whose session ended. Never reaches a client. */
export class TurnOver extends Error {
  constructor() {
    super("turn is over");
    this.name = "TurnOver";
  }
}

type ToolStep = FakeToolUseStep | FakeMcpToolUseStep | FakeCustomToolUseStep;

interface Plan {
  /** `run` executes now; `refuse`/`deny` get an error result; `ask`/`custom` wait for the client. */
  kind: "run" | "refuse" | "deny" | "ask" | "custom";
  step: ToolStep;
  event: FakeEvent;
  reason?: string;
}

const text = (value: string): FakeContentBlock[] => [{ type: "text", text: value }];

/** The emitting side of one turn; every call checks the turn is still alive. */
class TurnIO {
  constructor(
    readonly rt: Runtime,
    readonly rec: SessionRecord,
    readonly turn: Turn,
  ) {}

  get agent(): { tools: JsonObject[]; mcp_servers: JsonObject[] } {
    return this.rec.wire.agent as { tools: JsonObject[]; mcp_servers: JsonObject[] };
  }

  emit(fields: { type: string; [key: string]: unknown }): FakeEvent {
    if (!this.turn.alive) throw new TurnOver();
    return this.rt.emit(this.rec, fields);
  }

  openSpan(): void {
    if (!this.turn.alive) throw new TurnOver();
    this.rt.openSpan(this.rec, this.turn);
  }

  closeSpan(): void {
    if (!this.turn.alive) throw new TurnOver();
    this.rt.closeSpan(this.rec, this.turn);
  }

  /** Awaits `promise`, or throws {@link TurnOver} as soon as the turn is aborted. */
  async race<T>(promise: PromiseLike<T>): Promise<T> {
    const aborted = this.turn.aborted.then(() => {
      throw new TurnOver();
    });
    const result = await Promise.race([Promise.resolve(promise), aborted]);
    if (!this.turn.alive) throw new TurnOver();
    return result;
  }
}

/** Plays the steps of one turn and returns the `stop_reason` the turn ends with. */
export async function playTurn(
  rt: Runtime,
  rec: SessionRecord,
  turn: Turn,
  steps: readonly FakeScriptStep[],
): Promise<StopReason> {
  const io = new TurnIO(rt, rec, turn);
  for (const step of steps) {
    const stop = await playStep(io, step);
    if (stop) return stop;
    // Yield between steps so an interrupt (or a stream reader) gets in, even in a 1,000-step script.
    await nextTick();
    if (!turn.alive) throw new TurnOver();
  }
  return { type: "end_turn" };
}

async function playStep(io: TurnIO, step: FakeScriptStep): Promise<StopReason | undefined> {
  switch (step.type) {
    case "message":
      io.openSpan();
      if (step.holdUntil) await io.race(step.holdUntil);
      io.emit({ type: "agent.message", content: text(step.text) });
      io.closeSpan();
      return undefined;
    case "thinking":
      io.openSpan();
      io.emit({ type: "agent.thinking" });
      io.closeSpan();
      return undefined;
    case "tool_use":
    case "mcp_tool_use":
    case "custom_tool_use":
      await toolRequest(io, [step], step.text);
      return undefined;
    case "parallel":
      await toolRequest(io, step.uses, step.text);
      return undefined;
    case "error": {
      const retry = step.retry ?? "exhausted";
      io.emit({
        type: "session.error",
        error: {
          type: step.errorType ?? "unknown_error",
          message: step.message ?? "An error occurred (scripted by the fake platform)",
          retry_status: { type: retry },
          ...step.extra,
        },
      });
      if (retry === "retrying") return undefined;
      if (retry === "exhausted") return { type: "retries_exhausted" };
      io.rt.terminate(io.rec, { archive: false });
      throw new TurnOver();
    }
    case "wait":
      await io.race(step.until ?? sleep(step.ms ?? 0, undefined, { signal: io.turn.signal }));
      return undefined;
    case "emit":
      io.emit(step.event);
      return undefined;
    default:
      throw new Error(`unknown script step type '${(step as { type: string }).type}'`);
  }
}

/** One model request with tool uses: emit them, run what the policy allows, park on the rest. */
async function toolRequest(io: TurnIO, steps: readonly ToolStep[], message: string | undefined): Promise<void> {
  io.openSpan();
  if (message) io.emit({ type: "agent.message", content: text(message) });
  const plans = steps.map((step) => evaluate(io, step));
  io.closeSpan();
  for (const plan of plans) {
    if (plan.kind === "run") await execute(io, plan);
    else if (plan.kind === "refuse" || plan.kind === "deny") result(io, plan, text(plan.reason ?? "Refused"), true);
  }
  const waiting = plans.filter((p) => p.kind === "ask" || p.kind === "custom");
  if (waiting.length === 0) return;
  io.rt.park(io.rec, io.turn);
  for (const plan of waiting) {
    const pending = io.turn.pending.get(plan.event.id) as PendingToolUse;
    const answer: ToolAnswer = await io.race(pending.answered);
    io.turn.pending.delete(plan.event.id);
    if (plan.kind !== "ask") continue;
    if (answer.result === "allow") await execute(io, plan);
    else if (answer.result === "deny")
      result(io, plan, text(answer.message ?? "The user denied this tool call."), true);
  }
}

function addPending(turn: Turn, kind: "confirm" | "custom", event: FakeEvent): void {
  let resolve: (answer: ToolAnswer) => void = () => undefined;
  const answered = new Promise<ToolAnswer>((r) => {
    resolve = r;
  });
  turn.pending.set(event.id, { kind, event, answer: undefined, answered, resolve });
}

/** Emits the tool-use event with its permission outcome. Synchronous, so a fast answer finds it pending. */
function evaluate(io: TurnIO, step: ToolStep): Plan {
  const input = step.input ?? {};
  if (step.type === "custom_tool_use") {
    const declared = io.agent.tools.some((t) => t.type === "custom" && t.name === step.name);
    if (!declared) throw new Error(`custom tool '${step.name}' is not declared on the session's agent`);
    const event = io.emit({ type: "agent.custom_tool_use", name: step.name, input });
    addPending(io.turn, "custom", event);
    return { kind: "custom", step, event };
  }
  if (step.type === "tool_use") {
    if (!BUILTIN_TOOLS.includes(step.name)) throw new Error(`'${step.name}' is not a built-in tool`);
    const config = builtinToolConfig(io.agent.tools, step.name);
    return decide(io, step, config, { type: "agent.tool_use", name: step.name, input });
  }
  if (!io.agent.mcp_servers.some((s) => s.name === step.server)) {
    throw new Error(`MCP server '${step.server}' is not declared on the session's agent`);
  }
  const config = mcpToolConfig(io.agent.tools, step.server, step.name);
  return decide(io, step, config, { type: "agent.mcp_tool_use", name: step.name, mcp_server_name: step.server, input });
}

function decide(
  io: TurnIO,
  step: FakeToolUseStep | FakeMcpToolUseStep,
  config: EffectiveToolConfig | undefined,
  base: { type: string; [key: string]: unknown },
): Plan {
  if (!config?.enabled) {
    // Refused before any policy applied: `deny` and no `evaluation`.
    const event = io.emit({ ...base, evaluated_permission: "deny" });
    return { kind: "refuse", step, event, reason: `Tool '${step.name}' is not enabled for this agent.` };
  }
  const policy = config.permission_policy.type;
  if (policy === "always_allow") {
    const event = io.emit({ ...base, evaluated_permission: "allow", evaluation: { type: "always_allow" } });
    return { kind: "run", step, event };
  }
  if (policy === "auto") {
    const decision = step.auto?.decision ?? "allow";
    const reasonCode = step.auto?.reasonCode ?? "indeterminate";
    const evaluated = decision === "allow" ? { type: "allow" } : { type: decision, reason_code: reasonCode };
    const event = io.emit({
      ...base,
      evaluated_permission: decision,
      evaluation: { type: "auto", evaluated_permission: evaluated },
    });
    if (decision === "allow") return { kind: "run", step, event };
    if (decision === "deny") {
      return { kind: "deny", step, event, reason: `Denied by the auto permission policy (${reasonCode}).` };
    }
    addPending(io.turn, "confirm", event);
    return { kind: "ask", step, event };
  }
  // always_ask (and, failing closed, any policy this fake does not know).
  const event = io.emit({ ...base, evaluated_permission: "ask", evaluation: { type: "always_ask" } });
  addPending(io.turn, "confirm", event);
  return { kind: "ask", step, event };
}

function result(io: TurnIO, plan: Plan, content: FakeContentBlock[], isError: boolean): void {
  if (plan.step.type === "mcp_tool_use") {
    io.emit({ type: "agent.mcp_tool_result", mcp_tool_use_id: plan.event.id, content, is_error: isError });
  } else {
    io.emit({ type: "agent.tool_result", tool_use_id: plan.event.id, content, is_error: isError });
  }
}

async function execute(io: TurnIO, plan: Plan): Promise<void> {
  const step = plan.step;
  if (step.type === "tool_use") {
    const content =
      typeof step.result === "string" ? text(step.result) : (step.result ?? text(`fake ${step.name} output`));
    result(io, plan, content, step.isError ?? false);
    return;
  }
  if (step.type !== "mcp_tool_use") return;
  const server = io.agent.mcp_servers.find((s) => s.name === step.server) as { url: string };
  const token = credentialToken(io.rt, io.rec, server.url);
  try {
    const outcome = await io.race(
      io.rt.mcp.call(io.rec.wire.id as string, server.url, token, step.name, step.input ?? {}),
    );
    result(io, plan, outcome.content, outcome.isError);
  } catch (error) {
    if (!(error instanceof McpCallFailure)) throw error;
    io.emit({
      type: "session.error",
      error: {
        type: error.kind === "authentication" ? "mcp_authentication_failed_error" : "mcp_connection_failed_error",
        mcp_server_name: step.server,
        message: error.message,
        retry_status: { type: "retrying" },
      },
    });
    result(io, plan, text(`MCP server '${step.server}' could not be called: ${error.message}`), true);
  }
}

/**
 * The secret of the first usable credential, in `vault_ids` order then creation order, whose
 * `auth.mcp_server_url` equals the server URL exactly. `undefined`: the call goes out unauthenticated.
 */
function credentialToken(rt: Runtime, rec: SessionRecord, url: string): string | undefined {
  const credentials = rt.store.sorted(rt.store.credentials.values(), "asc");
  for (const vaultId of rec.wire.vault_ids as string[]) {
    const vault = rt.store.vaults.get(vaultId);
    if (!vault || vault.archived_at) continue;
    for (const credential of credentials) {
      if (credential.vaultId !== vaultId || credential.deleted || credential.wire.archived_at) continue;
      const auth = credential.wire.auth as { mcp_server_url?: string };
      if (auth.mcp_server_url === url && credential.token) return credential.token;
    }
  }
  return undefined;
}
