import { AgentConfigs } from "./agents/service.js";
import { Approvals } from "./approvals/service.js";
import { AuditLog } from "./audit/service.js";
import { Authenticator, type AuthOptions, type Identity } from "./auth/authenticate.js";
import { type CheckpointOptions, Checkpoints } from "./checkpoints/service.js";
import { type Clock, systemClock } from "./clock.js";
import { Compliance } from "./compliance/service.js";
import { type ConsumerOptions, consumerOptionsSchema, DEFAULT_CONSUMER_OPTIONS } from "./consumers/consumer.js";
import { SessionEventSink } from "./consumers/event-sink.js";
import { ConsumerSupervisor, type ConsumerView } from "./consumers/supervisor.js";
import type { GovernorContext } from "./context.js";
import { encryptedCredentialStore } from "./credentials/encrypted-store.js";
import { Credentials } from "./credentials/service.js";
import type { CredentialStore } from "./credentials/store.js";
import { ConfigError } from "./errors.js";
import {
  DEFAULT_GOVERNED_CALL_OPTIONS,
  type GovernedCallOptions,
  GovernedCalls,
  governedCallOptionsSchema,
} from "./governed/pipeline.js";
import { type IdGenerator, randomIds } from "./ids.js";
import { type Logger, silentLogger } from "./logger.js";
import type { CodeRule } from "./policy/evaluate.js";
import { TenantPolicies } from "./policy/service.js";
import { Replays } from "./replay/service.js";
import { type SessionOptions, Sessions } from "./sessions/service.js";
import type { VargateStorage } from "./storage/port.js";
import { Tenants } from "./tenants/service.js";
import { ToolRegistry } from "./tools/registry.js";
import type { GovernedTool } from "./tools/types.js";
import type { ManagedAgentsUpstream } from "./upstream/port.js";
import { optionsWithDefaults, parseOption, positiveMilliseconds } from "./validation.js";

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
  /** Governed tools served over MCP. More can be added with `governor.tools.register()`. */
  tools?: readonly GovernedTool[];
  /** Policy rules written in code, evaluated after each tenant's own rules. They must be pure. */
  codeRules?: readonly CodeRule[];
  /**
   * Where brokered credentials live. @default `encryptedCredentialStore()` in this storage, keyed by
   * `VARGATE_CREDENTIAL_KEY` (read when a credential is first used)
   */
  credentialStore?: CredentialStore;
  /** Approval timing and the tool result cap; see `GovernedCallOptions`. */
  governedCalls?: Partial<GovernedCallOptions>;
  /** Signed Merkle checkpoints of the audit log: the signing key, the schedule and the witness hook. */
  checkpoints?: CheckpointOptions;
}

/**
 * The governor: tenants, agent configs, governed sessions, governed MCP tool calls, approvals and the
 * tamper-evident audit log.
 *
 * Holds no global state: several governors may share one process or one database.
 */
export class VargateGovernor {
  readonly tenants: Tenants;
  readonly agents: AgentConfigs;
  readonly audit: AuditLog;
  readonly checkpoints: Checkpoints;
  readonly sessions: Sessions;
  readonly policy: TenantPolicies;
  readonly approvals: Approvals;
  readonly credentials: Credentials;
  readonly tools: ToolRegistry;
  readonly governedCalls: GovernedCalls;
  /** Replay of recorded governed decisions against the current or a candidate policy. */
  readonly replay: Replays;
  /** Compliance exports of sessions, verifiable offline with `verifyComplianceExport`. */
  readonly compliance: Compliance;
  readonly storage: VargateStorage;
  readonly logger: Logger;
  readonly #authenticator: Authenticator;
  readonly #consumers: ConsumerSupervisor | undefined;
  readonly #durationCheckIntervalMs: number;
  #durationTimer: NodeJS.Timeout | undefined;
  #checkpointTimer: NodeJS.Timeout | undefined;

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
    this.checkpoints = new Checkpoints(context, options.checkpoints);
    this.#authenticator = new Authenticator(context, options.auth);
    const governed = optionsWithDefaults(
      "governedCalls",
      governedCallOptionsSchema,
      DEFAULT_GOVERNED_CALL_OPTIONS,
      options.governedCalls,
    );
    const consumerOptions = optionsWithDefaults(
      "consumers",
      consumerOptionsSchema,
      DEFAULT_CONSUMER_OPTIONS,
      options.consumers,
    );
    this.#durationCheckIntervalMs = parseOption(
      "durationCheckIntervalMs",
      positiveMilliseconds,
      options.durationCheckIntervalMs ?? 30_000,
    );

    const upstream = options.upstream;
    this.policy = new TenantPolicies(context, { codeRules: options.codeRules ?? [] });
    this.approvals = new Approvals(context, upstream, governed);
    let store = options.credentialStore;
    this.credentials = new Credentials(context, () => {
      store ??= encryptedCredentialStore({ records: context.storage.credentials, clock: context.clock });
      return store;
    });
    this.tools = new ToolRegistry();
    for (const tool of options.tools ?? []) this.tools.register(tool);
    this.governedCalls = new GovernedCalls({
      context,
      policies: this.policy,
      tools: this.tools,
      credentials: () => this.credentials.store(),
      approvals: this.approvals,
      options: governed,
    });
    this.approvals.setRunner((approval) => this.governedCalls.runApproved(approval));
    this.replay = new Replays({ context, policies: this.policy });
    this.compliance = new Compliance({ context, checkpoints: this.checkpoints, tools: this.tools });

    let consumers: ConsumerSupervisor | undefined;
    this.sessions = new Sessions(context, upstream, options.sessions ?? {}, {
      policyFor: (tenantId) => this.policy.active(tenantId),
      onActivated: (session) => consumers?.attach(session),
      onEnded: async (session) => {
        await this.approvals.rejectPendingOfSession(session.tenant_id, session.id, `Session ${session.status}`);
        // Not awaited: the consumer itself may be the one ending the session.
        void consumers?.detach(session.id);
      },
    });
    if (upstream) {
      consumers = new ConsumerSupervisor({
        context,
        upstream,
        options: consumerOptions,
        sinkFor: (session) =>
          new SessionEventSink(session, {
            context,
            policies: this.policy,
            approvalTtlMs: governed.approvalTtlMs,
            onSessionEnded: (ended, status, reason) => this.sessions.recordUpstreamEnd(ended, status, reason),
            onAnomalyThreshold: (flagged, reason) => this.sessions.autoInterrupt(flagged, reason),
          }),
      });
    }
    this.#consumers = consumers;
  }

  /**
   * Starts background work: consumers for every active session this instance can lease (including sessions a
   * stopped instance left behind), the session-duration check and scheduled audit checkpoints. Call once after
   * `migrate()`.
   */
  start(): void {
    this.#consumers?.start();
    if (this.#durationTimer) return;
    this.#durationTimer = setInterval(() => {
      Promise.all([this.sessions.enforceDurations(), this.approvals.expireDue()]).catch((error: unknown) => {
        this.logger.error("Session duration or approval expiry check failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      });
    }, this.#durationCheckIntervalMs);
    this.#durationTimer.unref?.();
    this.#startCheckpoints();
  }

  // Scheduled checkpoints: every `checkPeriodMs`, of the tenants that are due (see `Checkpoints.runDue`).
  #startCheckpoints(): void {
    const period = this.checkpoints.checkPeriodMs;
    if (this.#checkpointTimer || period === 0) return;
    this.#checkpointTimer = setInterval(() => {
      this.checkpoints.runDue().catch((error: unknown) => {
        this.logger.error("Scheduled checkpoints failed", {
          error: error instanceof Error ? error.message : String(error),
        });
      });
    }, period);
    this.#checkpointTimer.unref?.();
  }

  /** Stops background work and releases consumer leases, so another instance can take over at once. */
  async stop(): Promise<void> {
    clearInterval(this.#durationTimer);
    this.#durationTimer = undefined;
    clearInterval(this.#checkpointTimer);
    this.#checkpointTimer = undefined;
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
