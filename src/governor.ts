import { AgentConfigs } from "./agents/service.js";
import { AuditLog } from "./audit/service.js";
import { Authenticator, type AuthOptions, type Identity } from "./auth/authenticate.js";
import { type Clock, systemClock } from "./clock.js";
import { type ConsumerOptions, DEFAULT_CONSUMER_OPTIONS } from "./consumers/consumer.js";
import { ConsumerSupervisor, type ConsumerView } from "./consumers/supervisor.js";
import type { GovernorContext } from "./context.js";
import { ConfigError } from "./errors.js";
import { type IdGenerator, randomIds } from "./ids.js";
import { type Logger, silentLogger } from "./logger.js";
import { type SessionOptions, Sessions } from "./sessions/service.js";
import type { VargateStorage } from "./storage/port.js";
import { Tenants } from "./tenants/service.js";
import type { ManagedAgentsUpstream } from "./upstream/port.js";

export interface VargateGovernorOptions {
  /** Where everything is kept: `kyselyStorage()` from `vargate/kysely`, or `memoryStorage()` from `vargate/memory`. */
  storage: VargateStorage;
  /** How HTTP requests are authenticated. API keys always work; JWTs and your own hook are opt-in. */
  auth?: AuthOptions;
  /** Time source for every time-dependent rule. @default the system clock */
  clock?: Clock;
  /** Id source. @default random ids in the documented formats */
  ids?: IdGenerator;
  /** Receives what cannot be returned to a caller (unexpected errors). Never given secrets. @default silent */
  logger?: Logger;
  /** The Managed Agents API: `anthropicUpstream()` from `vargate/anthropic`. Needed to start sessions. */
  upstream?: ManagedAgentsUpstream;
  /** How sessions are started and stopped. */
  sessions?: SessionOptions;
  /** Stream consumers, attached to every active session. */
  consumers?: Partial<ConsumerOptions>;
  /** How often `start()` checks sessions against their maximum duration, in ms. @default 30000 */
  durationCheckIntervalMs?: number;
}

/**
 * The governor: agent configs, tenants, and the tamper-evident audit log.
 *
 * Holds no global state: several governors may share one process or one database.
 */
export class VargateGovernor {
  readonly tenants: Tenants;
  readonly agents: AgentConfigs;
  readonly audit: AuditLog;
  readonly sessions: Sessions;
  readonly storage: VargateStorage;
  readonly logger: Logger;
  readonly #authenticator: Authenticator;
  readonly #consumers: ConsumerSupervisor | undefined;
  readonly #durationCheckIntervalMs: number;
  #durationTimer: NodeJS.Timeout | undefined;

  constructor(options: VargateGovernorOptions) {
    if (!options || typeof options !== "object") throw new ConfigError("options: expected an object");
    if (!isStorage(options.storage)) {
      throw new ConfigError("storage: expected a VargateStorage such as kyselyStorage() or memoryStorage()");
    }
    const context: GovernorContext = {
      storage: options.storage,
      clock: options.clock ?? systemClock,
      ids: options.ids ?? randomIds,
      logger: options.logger ?? silentLogger,
    };
    this.storage = context.storage;
    this.logger = context.logger;
    this.tenants = new Tenants(context);
    this.agents = new AgentConfigs(context);
    this.audit = new AuditLog(context);
    this.#authenticator = new Authenticator(context, options.auth);
    this.#durationCheckIntervalMs = options.durationCheckIntervalMs ?? 30_000;

    const upstream = options.upstream;
    let consumers: ConsumerSupervisor | undefined;
    this.sessions = new Sessions(context, upstream, options.sessions ?? {}, {
      onActivated: (session) => consumers?.attach(session),
      // Not awaited: the consumer itself may be the one ending the session.
      onEnded: async (session) => void consumers?.detach(session.id),
    });
    if (upstream) {
      consumers = new ConsumerSupervisor({
        context,
        upstream,
        options: { ...DEFAULT_CONSUMER_OPTIONS, ...options.consumers },
        hooks: {
          onSessionEnded: (session, status, reason) => this.sessions.recordUpstreamEnd(session, status, reason),
        },
      });
    }
    this.#consumers = consumers;
  }

  /**
   * Starts background work: consumers for every active session this instance can lease (including sessions a
   * stopped instance left behind) and the session-duration check. Call once after `migrate()`.
   */
  start(): void {
    this.#consumers?.start();
    if (this.#durationTimer) return;
    this.#durationTimer = setInterval(() => {
      this.sessions.enforceDurations().catch((error: unknown) => {
        this.logger.error("Session duration check failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      });
    }, this.#durationCheckIntervalMs);
    this.#durationTimer.unref?.();
  }

  /** Stops background work and releases consumer leases, so another instance can take over at once. */
  async stop(): Promise<void> {
    clearInterval(this.#durationTimer);
    this.#durationTimer = undefined;
    await this.#consumers?.stop();
  }

  /** The tenant's live stream consumers. */
  async consumers(tenantId: string): Promise<ConsumerView[]> {
    return this.#consumers?.list(tenantId) ?? [];
  }

  /** Creates or upgrades the storage schema. Idempotent. */
  async migrate(): Promise<void> {
    await this.storage.migrate();
  }

  /** Resolves a request's credentials to an Identity, or throws UNAUTHORIZED. */
  async authenticate(request: Request): Promise<Identity> {
    return this.#authenticator.authenticate(request);
  }

  /** Stops background work and closes the storage. */
  async close(): Promise<void> {
    await this.stop();
    await this.storage.close();
  }
}

function isStorage(value: unknown): value is VargateStorage {
  const storage = value as Partial<VargateStorage> | undefined;
  return typeof storage?.migrate === "function" && typeof storage.audit === "object" && storage.audit !== null;
}
