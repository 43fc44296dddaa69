import type { Router } from "./router.js";
import { registerAgentRoutes } from "./routes-agents.js";
import { registerEnvironmentRoutes } from "./routes-environments.js";
import { registerEventRoutes } from "./routes-events.js";
import { registerSessionRoutes } from "./routes-sessions.js";
import { registerVaultRoutes } from "./routes-vaults.js";
import type { Runtime } from "./runtime.js";
import type { StreamHub } from "./sse.js";
import type { Store } from "./store.js";

/** What every route module needs. */
export interface RouteDeps {
  router: Router;
  store: Store;
  runtime: Runtime;
  hub: StreamHub;
  defaultPageSize: number;
}

/** Registers the whole `/v1` surface the fake serves. */
export function registerRoutes(deps: RouteDeps): void {
  registerAgentRoutes(deps);
  registerEnvironmentRoutes(deps);
  registerVaultRoutes(deps);
  registerSessionRoutes(deps);
  registerEventRoutes(deps);
}
