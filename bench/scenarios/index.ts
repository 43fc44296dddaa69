// Every scenario, in the order `npm run bench` runs them; each measures its own baseline in the same run.
import type { Scenario } from "../lib/scenario.js";
import { consumers } from "./consumers.js";
import { decision } from "./decision.js";
import { exportScenario } from "./export.js";
import { governedCallPostgres, governedCallSqlite } from "./governed-call.js";
import { ingest } from "./ingest.js";
import { mcpHttp } from "./mcp-http.js";
import { replay } from "./replay.js";
import { verify } from "./verify.js";

export const scenarios: readonly Scenario[] = [
  decision,
  governedCallSqlite,
  governedCallPostgres,
  mcpHttp,
  ingest,
  verify,
  exportScenario,
  replay,
  consumers,
];
