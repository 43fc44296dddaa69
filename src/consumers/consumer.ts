import * as z from "zod";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import type { SessionRecord } from "../sessions/types.js";
import type { ManagedAgentsUpstream, UpstreamEvent, UpstreamEventStream } from "../upstream/port.js";
import { positiveMilliseconds } from "../validation.js";
import { arrivals, arrived } from "./batches.js";
import type { SessionEventSink } from "./event-sink.js";

export interface ConsumerOptions {
  /** How long a lease lasts without renewal before another instance may take the session over. @default 30000 */
  leaseMs: number;
  /** First reconnect delay; doubles per failed attempt. @default 250 */
  initialBackoffMs: number;
  /** Longest reconnect delay. @default 30000 */
  maxBackoffMs: number;
}

export const DEFAULT_CONSUMER_OPTIONS: ConsumerOptions = {
  leaseMs: 30_000,
  initialBackoffMs: 250,
  maxBackoffMs: 30_000,
};

/** `consumers` as given to the governor: any of the options, each checked. */
export const consumerOptionsSchema = z.strictObject({
  leaseMs: positiveMilliseconds.optional(),
  initialBackoffMs: positiveMilliseconds.optional(),
  maxBackoffMs: positiveMilliseconds.optional(),
});

/**
 * Reads one session's event stream into the audit log, exactly once per event.
 *
 * On every (re)connect it opens the stream first, so new events buffer, then backfills history from the persisted
 * cursor, then tails the stream. Events at or before the cursor are skipped; records are also deduplicated by
 * event id in storage, so a restart or a second instance never duplicates one. A lease in storage makes sure only
 * one instance consumes a session; it is renewed while the consumer lives.
 */
export class SessionConsumer {
  readonly session: SessionRecord;
  readonly #context: GovernorContext;
  readonly #upstream: ManagedAgentsUpstream;
  readonly #owner: string;
  readonly #options: ConsumerOptions;
  readonly #sink: SessionEventSink;
  readonly #abort = new AbortController();
  #cursor: string | null = null;
  // Ids of handled events whose processed_at equals the cursor: backfill re-reads that instant (gte).
  #idsAtCursor = new Set<string>();
  #connectedSince: string | null = null;
  #done: Promise<void> = Promise.resolve();

  constructor(
    session: SessionRecord,
    deps: {
      context: GovernorContext;
      upstream: ManagedAgentsUpstream;
      owner: string;
      options: ConsumerOptions;
      sink: SessionEventSink;
    },
  ) {
    this.session = session;
    this.#context = deps.context;
    this.#upstream = deps.upstream;
    this.#owner = deps.owner;
    this.#options = deps.options;
    this.#sink = deps.sink;
  }

  /** Starts consuming. Resolves `finished` when the session ends, the lease is lost or `stop()` is called. */
  start(): void {
    this.#done = this.#run().catch((error: unknown) => {
      this.#context.logger.error("Consumer stopped on an unexpected error", {
        session_id: this.session.id,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  get finished(): Promise<void> {
    return this.#done;
  }

  /** Stops consuming and gives up the lease. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }

  async #run(): Promise<void> {
    const anthropicId = this.session.anthropic_session_id;
    if (!anthropicId) return;
    const claimed = await this.#claim();
    if (!claimed) return;
    this.#cursor = claimed.cursor;
    // Resuming a session another run of a consumer left: its pairing of governed uses is counted again first.
    let pairingFrom = claimed.cursor;
    const heartbeat = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#options.leaseMs / 3)));
    heartbeat.unref?.();
    try {
      for (let attempt = 0; !this.#abort.signal.aborted; attempt += 1) {
        // One signal per connection: however #consume ends, the stream it was reading is closed.
        const connection = new AbortController();
        const onStop = () => connection.abort();
        this.#abort.signal.addEventListener("abort", onStop, { once: true });
        try {
          // Open the stream before backfilling, so events produced during the backfill wait in its buffer.
          const stream = await this.#upstream.streamEvents(anthropicId, { signal: connection.signal });
          this.#connectedSince = timestamp(this.#context.clock);
          if (!(await this.#persist(0, "connected"))) return;
          attempt = 0;
          if (pairingFrom) {
            await this.#sink.resumePairing(this.#upstream.listEvents(anthropicId, {}), pairingFrom);
            pairingFrom = null;
          }
          const history = this.#upstream.listEvents(
            anthropicId,
            this.#cursor ? { processedAtOrAfter: this.#cursor } : {},
          );
          if (await this.#consume(history)) return;
          if (await this.#consume(stream)) return;
        } catch (error) {
          if (this.#abort.signal.aborted) return;
          this.#context.logger.warn("Session stream dropped; reconnecting", {
            session_id: this.session.id,
            error: error instanceof Error ? error.message : String(error),
          });
        } finally {
          this.#abort.signal.removeEventListener("abort", onStop);
          connection.abort();
        }
        this.#connectedSince = null;
        if (!(await this.#persist(0, "reconnecting").catch(() => true))) return;
        if (!(await this.#stillActive())) return;
        await sleep(this.#backoff(attempt), this.#abort.signal);
      }
    } finally {
      clearInterval(heartbeat);
      await this.#context.storage.consumers
        .release(this.session.tenant_id, this.session.id, this.#owner)
        .catch(() => {});
    }
  }

  /**
   * Handles events until the source ends. Returns true when the consumer should stop for good. Events that have
   * already arrived are handled as one batch (one chain append, one cursor write), so a busy stream costs a few
   * transactions per read rather than several per event.
   */
  async #consume(events: AsyncIterable<UpstreamEvent> | UpstreamEventStream): Promise<boolean> {
    for await (const batch of arrived(arrivals(events), MAX_BATCH)) {
      if (this.#abort.signal.aborted) return true;
      const fresh = batch.filter((event) => !this.#alreadyHandled(event));
      if (fresh.length === 0) continue;
      const { stop, handled } = await this.#sink.handleBatch(fresh);
      for (const event of fresh.slice(0, handled)) this.#advanceCursor(event);
      if (!(await this.#persist(handled, "connected"))) return true;
      if (stop) return true;
    }
    return false;
  }

  #alreadyHandled(event: UpstreamEvent): boolean {
    const at = event.processed_at;
    if (!at || !this.#cursor) return false;
    return at < this.#cursor || (at === this.#cursor && this.#idsAtCursor.has(event.id));
  }

  #advanceCursor(event: UpstreamEvent): void {
    const at = event.processed_at;
    if (!at) return;
    if (at !== this.#cursor) {
      this.#cursor = at;
      this.#idsAtCursor = new Set();
    }
    this.#idsAtCursor.add(event.id);
  }

  #claim() {
    const now = this.#context.clock.now();
    return this.#context.storage.consumers.claim(this.session.tenant_id, this.session.id, {
      owner: this.#owner,
      now: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.#options.leaseMs).toISOString(),
    });
  }

  /** Persists progress and renews the lease; false when another instance has taken the session over. */
  async #persist(processed: number, status: "connected" | "reconnecting"): Promise<boolean> {
    const now = this.#context.clock.now();
    const kept = await this.#context.storage.consumers.advance(this.session.tenant_id, this.session.id, {
      owner: this.#owner,
      cursor: this.#cursor,
      processed,
      status,
      connectedSince: this.#connectedSince,
      expiresAt: new Date(now.getTime() + this.#options.leaseMs).toISOString(),
    });
    if (!kept) this.#abort.abort();
    return kept;
  }

  async #renew(): Promise<void> {
    await this.#persist(0, this.#connectedSince ? "connected" : "reconnecting").catch((error: unknown) => {
      this.#context.logger.warn("Consumer lease renewal failed", {
        session_id: this.session.id,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  // While storage is unreachable, keep trying: the session may well still be active.
  async #stillActive(): Promise<boolean> {
    try {
      const current = await this.#context.storage.sessions.get(this.session.tenant_id, this.session.id);
      return current?.status === "active";
    } catch {
      return true;
    }
  }

  #backoff(attempt: number): number {
    const base = Math.min(this.#options.maxBackoffMs, this.#options.initialBackoffMs * 2 ** attempt);
    return base / 2 + Math.random() * (base / 2);
  }
}

/** The most events handled in one batch. */
const MAX_BATCH = 1000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
