import { AgentConfigs } from "./agents/service.js";
import { AuditLog } from "./audit/service.js";
import { Authenticator, type AuthOptions, type Identity } from "./auth/authenticate.js";
import { type Clock, systemClock } from "./clock.js";
import type { GovernorContext } from "./context.js";
import { ConfigError } from "./errors.js";
import { type IdGenerator, randomIds } from "./ids.js";
import { type Logger, silentLogger } from "./logger.js";
import type { VargateStorage } from "./storage/port.js";
import { Tenants } from "./tenants/service.js";

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
  readonly storage: VargateStorage;
  readonly logger: Logger;
  readonly #authenticator: Authenticator;

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
  }

  /** Creates or upgrades the storage schema. Idempotent. */
  async migrate(): Promise<void> {
    await this.storage.migrate();
  }

  /** Resolves a request's credentials to an Identity, or throws UNAUTHORIZED. */
  async authenticate(request: Request): Promise<Identity> {
    return this.#authenticator.authenticate(request);
  }

  /** Closes the storage. */
  async close(): Promise<void> {
    await this.storage.close();
  }
}

function isStorage(value: unknown): value is VargateStorage {
  const storage = value as Partial<VargateStorage> | undefined;
  return typeof storage?.migrate === "function" && typeof storage.audit === "object" && storage.audit !== null;
}
