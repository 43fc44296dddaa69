import type { Clock } from "./clock.js";
import type { IdGenerator } from "./ids.js";
import type { Logger } from "./logger.js";
import type { VargateStorage } from "./storage/port.js";

/** What every governor service shares. Internal: one per governor, never global. */
export interface GovernorContext {
  readonly storage: VargateStorage;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly logger: Logger;
}
