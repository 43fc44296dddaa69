/**
 * Server-sent event streams. Every frame carries an `event:` line (the SDK silently drops frames without one),
 * a single-line `data:` JSON and a blank line. A stream only sees events published after it opened: there is
 * no replay, exactly like the platform.
 */
import type { ServerResponse } from "node:http";
import type { Faults } from "./faults.js";
import type { FakeEvent, FakeStreamDropMode } from "./types.js";

interface Subscriber {
  sessionId: string;
  res: ServerResponse;
  /** Event types this connection asked previews (`event_start` / `event_delta`) for. */
  deltas: ReadonlySet<string>;
  frames: number;
  /** Frame count at which the stream is cut, if a fault rule armed it. */
  cutAt: number | undefined;
  cutMode: FakeStreamDropMode;
  closed: boolean;
  /** True while writes of this tick are corked into one socket write. */
  corked: boolean;
  heartbeat: NodeJS.Timeout | undefined;
}

/** Splits a preview text into a few deltas, so clients exercise their accumulation code. */
function chunks(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [text];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += 4) out.push(words.slice(i, i + 4).join(""));
  return out.length > 0 ? out : [""];
}

export class StreamHub {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  faults: Faults | undefined;

  constructor(private readonly heartbeatMs: number) {}

  /** Takes over `res` as an SSE stream of `sessionId`. */
  open(sessionId: string, res: ServerResponse, requestId: string, deltas: ReadonlySet<string>): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "request-id": requestId,
    });
    res.flushHeaders();
    const rule = this.faults?.takeStreamRule(sessionId);
    const sub: Subscriber = {
      sessionId,
      res,
      deltas,
      frames: 0,
      cutAt: rule?.afterFrames,
      cutMode: rule?.mode ?? "destroy",
      closed: false,
      corked: false,
      heartbeat: undefined,
    };
    let set = this.subscribers.get(sessionId);
    if (!set) {
      set = new Set();
      this.subscribers.set(sessionId, set);
    }
    set.add(sub);
    res.on("close", () => this.detach(sub));
    if (this.heartbeatMs > 0) {
      sub.heartbeat = setInterval(() => {
        if (!sub.closed) res.write(": heartbeat\n\n");
      }, this.heartbeatMs);
      sub.heartbeat.unref();
    }
    if (sub.cutAt === 0) this.cut(sub);
  }

  /** Sends an event to every open stream of its session (with previews for connections that asked). */
  publish(sessionId: string, event: FakeEvent): void {
    const set = this.subscribers.get(sessionId);
    if (!set) return;
    for (const sub of [...set]) {
      if (sub.deltas.has(event.type)) {
        this.write(sub, "event_start", { type: "event_start", event: { type: event.type, id: event.id } });
        if (event.type === "agent.message") {
          const text = ((event.content as { type: string; text?: string }[] | undefined) ?? [])
            .map((block) => block.text ?? "")
            .join("");
          for (const piece of chunks(text)) {
            this.write(sub, "event_delta", {
              type: "event_delta",
              event_id: event.id,
              delta: { type: "content_delta", index: 0, content: { type: "text", text: piece } },
            });
          }
        }
      }
      this.write(sub, event.type, event);
    }
  }

  /** Sends a last event (e.g. `session.deleted`) and ends every stream of the session. */
  closeSession(sessionId: string, last?: FakeEvent): void {
    for (const sub of [...(this.subscribers.get(sessionId) ?? [])]) {
      if (last) this.write(sub, last.type, last);
      if (!sub.closed) {
        sub.closed = true;
        sub.res.end();
      }
      this.detach(sub);
    }
  }

  /** Ends every stream (on close of the fake). */
  closeAll(): void {
    for (const sessionId of [...this.subscribers.keys()]) this.closeSession(sessionId);
  }

  /** Open streams of a session. */
  count(sessionId: string): number {
    return this.subscribers.get(sessionId)?.size ?? 0;
  }

  /** Arms the open streams to be cut after `afterFrames` more frames. Returns how many were armed. */
  armOpen(afterFrames: number, mode: FakeStreamDropMode, sessionId: string | undefined): number {
    let armed = 0;
    for (const [id, set] of this.subscribers) {
      if (sessionId && id !== sessionId) continue;
      for (const sub of [...set]) {
        if (sub.closed) continue;
        sub.cutAt = sub.frames + afterFrames;
        sub.cutMode = mode;
        armed += 1;
        if (afterFrames === 0) this.cut(sub);
      }
    }
    return armed;
  }

  private write(sub: Subscriber, name: string, data: unknown): void {
    if (sub.closed) return;
    const frame = `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    sub.frames += 1;
    // Frames written in one tick leave in one socket write, as a buffering server sends them: same bytes,
    // far fewer syscalls and reads when a script emits thousands of events.
    if (!sub.corked) {
      sub.corked = true;
      sub.res.cork();
      process.nextTick(() => {
        sub.corked = false;
        sub.res.uncork();
      });
    }
    if (sub.cutAt !== undefined && sub.frames >= sub.cutAt) {
      sub.res.write(frame);
      this.cut(sub);
      return;
    }
    sub.res.write(frame);
  }

  private cut(sub: Subscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    this.detach(sub);
    if (sub.cutMode === "end") {
      sub.res.end();
      return;
    }
    // Half-close after the frames already written are flushed: the client reads them, then sees the
    // chunked body break off (undici: `TypeError: terminated`), as when a connection is lost.
    const socket = sub.res.socket;
    if (!socket) return;
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private detach(sub: Subscriber): void {
    if (sub.heartbeat) clearInterval(sub.heartbeat);
    sub.heartbeat = undefined;
    sub.closed = true;
    const set = this.subscribers.get(sub.sessionId);
    set?.delete(sub);
    if (set && set.size === 0) this.subscribers.delete(sub.sessionId);
  }
}
