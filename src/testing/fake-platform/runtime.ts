/**
 * The session state machine: events in (send), turns played by the scripted agent, events out (history and
 * streams). Everything that changes a session's status goes through here, synchronously where the platform
 * would answer at once (echo, `status_running`, interrupt), so tests observe a deterministic order.
 */
import { setImmediate as nextTick } from "node:timers/promises";
import { playTurn, TurnOver } from "./agent.js";
import type { McpCaller } from "./mcp.js";
import type { ScriptBook } from "./scripts.js";
import { validateSend } from "./send-validation.js";
import type { StreamHub } from "./sse.js";
import type { SessionRecord, Store } from "./store.js";
import type { FakeEvent, FakeSessionState, JsonObject } from "./types.js";

/** How a client answered a parked tool use. */
export type ToolAnswer =
  | { result: "allow" }
  | { result: "deny"; message: string | undefined }
  | { result: "custom"; event: FakeEvent };

/** A tool use waiting for `user.tool_confirmation` (`confirm`) or `user.custom_tool_result` (`custom`). */
export interface PendingToolUse {
  kind: "confirm" | "custom";
  event: FakeEvent;
  answer: ToolAnswer | undefined;
  answered: Promise<ToolAnswer>;
  resolve(answer: ToolAnswer): void;
}

/** One turn: the agent's work on one `user.message`. */
export class Turn {
  /** False once the turn was interrupted or the session ended: the player must not emit anything more. */
  alive = true;
  /** True while the session is idle in `requires_action` for this turn. */
  parked = false;
  /** Id of the open `span.model_request_start`, if any. */
  openSpan: string | null = null;
  readonly pending = new Map<string, PendingToolUse>();
  /** Settles when the turn is aborted, so waits can race it. */
  readonly aborted: Promise<void>;
  /** Aborted with the turn, so timers of `wait` steps do not outlive it. */
  readonly signal: AbortSignal;
  private release: () => void = () => undefined;
  private readonly controller = new AbortController();

  constructor(
    readonly number: number,
    readonly message: FakeEvent,
  ) {
    this.aborted = new Promise((resolve) => {
      this.release = resolve;
    });
    this.signal = this.controller.signal;
  }

  abort(): void {
    this.alive = false;
    this.release();
    this.controller.abort();
  }

  /** Ids of pending tool uses without an answer, in emission order. */
  unresolved(): string[] {
    return [...this.pending.values()].filter((p) => p.answer === undefined).map((p) => p.event.id);
  }
}

export type StopReason = { type: string; [key: string]: unknown };

export class Runtime {
  private readonly listeners = new Map<string, Set<(event: FakeEvent) => void>>();
  closed = false;

  constructor(
    readonly store: Store,
    readonly hub: StreamHub,
    readonly mcp: McpCaller,
    readonly scripts: ScriptBook,
  ) {}

  /** Appends an event to the history and fans it out to the open streams and waiters. */
  emit(rec: SessionRecord, fields: { type: string; [key: string]: unknown }, processedAt?: string | null): FakeEvent {
    const { type, ...rest } = fields;
    const event = this.store.stamp({
      id: this.store.ids.next("sevt"),
      type,
      ...rest,
      processed_at: processedAt === undefined ? this.store.now() : processedAt,
    }) as FakeEvent;
    rec.events.push(event);
    const id = rec.wire.id as string;
    this.hub.publish(id, event);
    for (const listener of [...(this.listeners.get(id) ?? [])]) listener(event);
    return event;
  }

  /** Subscribes to a session's new events; returns the unsubscribe function. */
  onEvent(sessionId: string, listener: (event: FakeEvent) => void): () => void {
    let set = this.listeners.get(sessionId);
    if (!set) {
      set = new Set();
      this.listeners.set(sessionId, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Handles a send request (validated as a whole first) and returns the echoed events. */
  send(rec: SessionRecord, body: JsonObject, selfHosted: boolean): FakeEvent[] {
    const events = validateSend(rec, body, selfHosted);
    return events.map((event) => this.receive(rec, event));
  }

  /** Stores one user event and applies it to the state machine. */
  receive(rec: SessionRecord, event: JsonObject): FakeEvent {
    const { type, ...fields } = event as { type: string } & JsonObject;
    // A user.message behind a running turn stays queued (processed_at null) until its turn starts.
    const queued = type === "user.message" && rec.turn !== null;
    const stored = this.emit(rec, { type, ...fields }, queued ? null : undefined);
    rec.received.push(stored);
    const turn = rec.turn;
    switch (type) {
      case "user.message":
        rec.queue.push(stored);
        this.startNextTurn(rec);
        break;
      case "user.interrupt":
        this.interrupt(rec);
        break;
      case "user.tool_confirmation": {
        const pending = turn?.pending.get(fields.tool_use_id as string);
        if (turn && pending?.kind === "confirm" && pending.answer === undefined) {
          const answer: ToolAnswer =
            fields.result === "allow"
              ? { result: "allow" }
              : { result: "deny", message: fields.deny_message as string | undefined };
          this.answer(rec, turn, pending, answer);
        }
        break;
      }
      case "user.custom_tool_result": {
        const pending = turn?.pending.get(fields.custom_tool_use_id as string);
        if (turn && pending?.kind === "custom" && pending.answer === undefined) {
          this.answer(rec, turn, pending, { result: "custom", event: stored });
        }
        break;
      }
    }
    return stored;
  }

  /** Starts the next queued message's turn, if the session is free. */
  startNextTurn(rec: SessionRecord): void {
    if (rec.turn || this.closed || rec.deleted || rec.wire.status === "terminated") return;
    const message = rec.queue.shift();
    if (!message) return;
    if (message.processed_at === null) message.processed_at = this.store.now();
    rec.turns += 1;
    const turn = new Turn(rec.turns, message);
    rec.turn = turn;
    this.setStatus(rec, "running");
    this.emit(rec, { type: "session.status_running" });
    void this.play(rec, turn);
  }

  private async play(rec: SessionRecord, turn: Turn): Promise<void> {
    let stop: StopReason = { type: "end_turn" };
    try {
      // Let the send request answer before the agent starts working.
      await nextTick();
      if (!turn.alive) return;
      const steps = this.scripts.stepsFor(rec, turn, this.stateOf(rec));
      stop = await playTurn(this, rec, turn, steps);
    } catch (error) {
      if (error instanceof TurnOver || !turn.alive) return;
      this.emit(rec, {
        type: "session.error",
        error: {
          type: "unknown_error",
          message: `Fake platform script error: ${error instanceof Error ? error.message : String(error)}`,
          retry_status: { type: "exhausted" },
        },
      });
      stop = { type: "retries_exhausted" };
    }
    if (!turn.alive) return;
    if (turn.openSpan) this.closeSpan(rec, turn, null);
    this.finishTurn(rec, turn, stop);
  }

  /** Ends a turn normally: idle with `stop_reason`, then the next queued message. */
  finishTurn(rec: SessionRecord, turn: Turn, stop: StopReason): void {
    turn.alive = false;
    rec.turn = null;
    this.setStatus(rec, "idle");
    this.emit(rec, { type: "session.status_idle", stop_reason: stop, stop_details: null });
    this.startNextTurn(rec);
  }

  /** `user.interrupt`: the turn stops where it is and the session idles with `end_turn`. */
  interrupt(rec: SessionRecord): void {
    const turn = rec.turn;
    if (!turn) return; // an interrupt to an idle session is a no-op
    turn.abort();
    if (turn.openSpan) this.closeSpan(rec, turn, null);
    rec.turn = null;
    this.setStatus(rec, "idle");
    this.emit(rec, { type: "session.status_idle", stop_reason: { type: "end_turn" }, stop_details: null });
    // Messages queued before the interrupt still run: it jumps the queue, it does not flush it.
    this.startNextTurn(rec);
  }

  /** Ends the session for good (archive, or a terminal error). Emits `session.status_terminated` once. */
  terminate(rec: SessionRecord, options: { archive: boolean }): void {
    if (rec.turn) {
      rec.turn.abort();
      rec.turn = null;
    }
    rec.queue = [];
    if (options.archive && !rec.wire.archived_at) rec.wire.archived_at = this.store.now();
    if (rec.wire.status !== "terminated") {
      this.setStatus(rec, "terminated");
      this.emit(rec, { type: "session.status_terminated" });
    }
    void this.mcp.closeSession(rec.wire.id as string);
  }

  /** Deletes the session: open streams get `session.deleted` and end; the API answers 404 from now on. */
  delete(rec: SessionRecord): void {
    rec.turn?.abort();
    rec.turn = null;
    rec.queue = [];
    rec.deleted = true;
    const id = rec.wire.id as string;
    const deleted: FakeEvent = {
      id: this.store.ids.next("sevt"),
      type: "session.deleted",
      processed_at: this.store.now(),
    };
    this.hub.closeSession(id, deleted);
    for (const listener of [...(this.listeners.get(id) ?? [])]) listener(deleted);
    void this.mcp.closeSession(id);
  }

  /** Parks the turn in `requires_action` if some of its tool uses still wait for an answer. */
  park(rec: SessionRecord, turn: Turn): boolean {
    const ids = turn.unresolved();
    if (ids.length === 0) return false;
    turn.parked = true;
    this.setStatus(rec, "idle");
    this.emit(rec, {
      type: "session.status_idle",
      stop_reason: { type: "requires_action", event_ids: ids },
      stop_details: null,
    });
    return true;
  }

  /** Records a client's answer; a parked turn resumes (running) once nothing is left unanswered. */
  private answer(rec: SessionRecord, turn: Turn, pending: PendingToolUse, answer: ToolAnswer): void {
    pending.answer = answer;
    pending.resolve(answer);
    if (!turn.parked) return;
    const rest = turn.unresolved();
    if (rest.length === 0) {
      turn.parked = false;
      this.setStatus(rec, "running");
      this.emit(rec, { type: "session.status_running" });
    } else {
      this.emit(rec, {
        type: "session.status_idle",
        stop_reason: { type: "requires_action", event_ids: rest },
        stop_details: null,
      });
    }
  }

  openSpan(rec: SessionRecord, turn: Turn): void {
    turn.openSpan = this.emit(rec, { type: "span.model_request_start" }).id;
  }

  closeSpan(rec: SessionRecord, turn: Turn, isError: boolean | null = false): void {
    if (!turn.openSpan) return;
    const usage = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    rec.usage.input_tokens += usage.input_tokens;
    rec.usage.output_tokens += usage.output_tokens;
    this.emit(rec, {
      type: "span.model_request_end",
      model_request_start_id: turn.openSpan,
      is_error: isError,
      model_usage: usage,
    });
    turn.openSpan = null;
  }

  setStatus(rec: SessionRecord, status: string): void {
    rec.wire.status = status;
    rec.wire.updated_at = this.store.now();
  }

  /** The wire `Session` with live stats and usage. */
  sessionWire(rec: SessionRecord): JsonObject {
    const created = Date.parse(rec.wire.created_at as string);
    const end = rec.wire.archived_at ? Date.parse(rec.wire.archived_at as string) : Date.parse(this.store.now());
    rec.wire.stats = { active_seconds: 0, duration_seconds: Math.max(0, (end - created) / 1000) };
    rec.wire.usage = {
      input_tokens: rec.usage.input_tokens,
      output_tokens: rec.usage.output_tokens,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    };
    return rec.wire;
  }

  /** A snapshot of a session for assertions. */
  stateOf(rec: SessionRecord): FakeSessionState {
    return {
      id: rec.wire.id as string,
      status: rec.wire.status as FakeSessionState["status"],
      archived: rec.wire.archived_at !== null,
      deleted: rec.deleted,
      session: structuredClone(this.sessionWire(rec)),
      events: [...rec.events],
      received: [...rec.received],
      pendingToolUseIds: rec.turn?.unresolved() ?? [],
      openStreams: this.hub.count(rec.wire.id as string),
    };
  }
}
