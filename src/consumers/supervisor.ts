import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { GovernorContext } from "../context.js";
import type { SessionRecord } from "../sessions/types.js";
import type { ManagedAgentsUpstream } from "../upstream/port.js";
import { type ConsumerOptions, SessionConsumer } from "./consumer.js";
import type { SessionEventSink } from "./event-sink.js";

/** A consumer as `GET /managed/consumers` shows it. */
export interface ConsumerView {
  session_id: string;
  anthropic_session_id: string | null;
  tenant_id: string;
  agent_id: string;
  status: "connected" | "reconnecting";
  events_processed: number;
  connected_since: string | null;
  /** The governor instance consuming the session. */
  owner: string | null;
}

/**
 * Runs this governor instance's stream consumers: attaches one to each active session it can lease, and takes
 * over sessions whose lease another instance let expire.
 */
export class ConsumerSupervisor {
  /** This instance's identity in consumer leases. */
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  readonly #context: GovernorContext;
  readonly #upstream: ManagedAgentsUpstream;
  readonly #options: ConsumerOptions;
  readonly #sinkFor: (session: SessionRecord) => SessionEventSink;
  readonly #running = new Map<string, SessionConsumer>();
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    context: GovernorContext;
    upstream: ManagedAgentsUpstream;
    options: ConsumerOptions;
    sinkFor: (session: SessionRecord) => SessionEventSink;
  }) {
    this.#context = deps.context;
    this.#upstream = deps.upstream;
    this.#options = deps.options;
    this.#sinkFor = deps.sinkFor;
  }

  /** Starts consuming `session` here unless this instance already does. The lease decides if it really runs. */
  attach(session: SessionRecord): void {
    if (this.#running.has(session.id)) return;
    const consumer = new SessionConsumer(session, {
      context: this.#context,
      upstream: this.#upstream,
      owner: this.owner,
      options: this.#options,
      sink: this.#sinkFor(session),
    });
    this.#running.set(session.id, consumer);
    consumer.start();
    void consumer.finished.then(() => {
      if (this.#running.get(session.id) === consumer) this.#running.delete(session.id);
    });
  }

  /** Stops the local consumer of a session, if any, and waits for it. */
  async detach(sessionId: string): Promise<void> {
    await this.#running.get(sessionId)?.stop();
  }

  /** Attaches to every active session whose lease is free or expired. */
  async sweep(): Promise<void> {
    const sessions = await this.#context.storage.sessions.listActive();
    for (const session of sessions) this.attach(session);
  }

  /** Sweeps now and then every `intervalMs`, so sessions of a stopped instance are taken over. */
  start(intervalMs = this.#options.leaseMs): void {
    if (this.#timer) return;
    const sweep = () =>
      this.sweep().catch((error: unknown) =>
        this.#context.logger.warn("Consumer sweep failed", {
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    void sweep();
    this.#timer = setInterval(sweep, intervalMs);
    this.#timer.unref?.();
  }

  /** Stops sweeping and every local consumer, releasing their leases. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#running.values()].map((consumer) => consumer.stop()));
  }

  /** The tenant's live consumers, from storage, so every instance reports the same list. */
  async list(tenantId: string): Promise<ConsumerView[]> {
    const { storage } = this.#context;
    const consumers = await storage.consumers.list(tenantId);
    const views: ConsumerView[] = [];
    for (const consumer of consumers) {
      const session = await storage.sessions.get(tenantId, consumer.session_id);
      if (!session || consumer.status === "stopped") continue;
      views.push({
        session_id: session.id,
        anthropic_session_id: session.anthropic_session_id,
        tenant_id: tenantId,
        agent_id: session.agent_id,
        status: consumer.status,
        events_processed: consumer.events_processed,
        connected_since: consumer.connected_since,
        owner: consumer.owner,
      });
    }
    return views;
  }
}
