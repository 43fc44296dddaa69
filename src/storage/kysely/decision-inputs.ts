import { sql } from "kysely";
import { readDecisionInputsSeparately } from "../decision-inputs.js";
import type { DecisionCounters, DecisionInputStore, DecisionInputs, VargateStorage } from "../port.js";
import { precompiled } from "./precompiled.js";
import { toNumber } from "./rows.js";
import { VARGATE_TABLES as T } from "./schema.js";
import {
  agentEdgeRecords,
  agentHourCounts,
  agentWindow,
  agentWindowCounts,
  COUNTED_SOURCE,
  countByTool,
  positiveCounts,
  sessionCounts,
} from "./tool-counts.js";
import type { Db, Runner } from "./transactions.js";

/** One row of the combined read: which part it answers (`kind`) and that part's columns; the others are null. */
interface InputRow {
  kind: "policy" | "agent" | "head" | "session" | "agent_hour" | "agent_edge";
  tool: string | null;
  bucket: string | null;
  n: number | string | bigint | null;
  allowed_tools: string | null;
  require_human_approval: string | null;
}

// Every branch selects the same columns; NULLs and literals are typed by the branches that have real values.
const none = sql<string | null>`null`;
const count = (column: string) => sql<InputRow["n"]>`${sql.ref(column)}`;
const kind = (name: InputRow["kind"]) => sql<InputRow["kind"]>`${sql.lit(name)}`;

type ReadParameters = Record<"tenant" | "session" | "agent" | "since" | "prefix" | "end", string>;

// The counters' three parts, each a branch of a UNION ALL.
const sessionBranch = (db: Db, p: ReadParameters) =>
  sessionCounts(db, p.tenant, p.session).select([
    kind("session").as("kind"),
    sql<string | null>`${sql.ref("tool")}`.as("tool"),
    none.as("bucket"),
    count("count").as("n"),
    none.as("allowed_tools"),
    none.as("require_human_approval"),
  ]);
const agentHourBranch = (db: Db, p: ReadParameters) =>
  agentHourCounts(db, p.tenant, p.agent, p.prefix).select([
    kind("agent_hour").as("kind"),
    "tool",
    "bucket",
    count("count").as("n"),
    none.as("allowed_tools"),
    none.as("require_human_approval"),
  ]);
const agentEdgeBranch = (db: Db, p: ReadParameters) =>
  agentEdgeRecords(db, p.tenant, p.agent, p.since, p.end)
    .select((eb) => [
      kind("agent_edge").as("kind"),
      "tool",
      none.as("bucket"),
      eb.fn.countAll<number | string | bigint>().as("n"),
      none.as("allowed_tools"),
      none.as("require_human_approval"),
    ])
    .groupBy("tool");

const PARAMETERS = ["tenant", "session", "agent", "since", "prefix", "end"] as const;

// The reads of a governed call as one UNION ALL statement: one round trip, and one snapshot on every engine, so
// the counters are exactly those of the records up to the head read with them.
const readAll = precompiled(PARAMETERS, (db, p) =>
  db
    .selectFrom(T.policies)
    .select((eb) => [
      kind("policy").as("kind"),
      none.as("tool"),
      none.as("bucket"),
      eb.fn.max<InputRow["n"]>("version").as("n"),
      none.as("allowed_tools"),
      none.as("require_human_approval"),
    ])
    .where("tenant_id", "=", p.tenant)
    .unionAll(
      db
        .selectFrom(T.agentConfigs)
        .select([
          kind("agent").as("kind"),
          none.as("tool"),
          none.as("bucket"),
          count("version").as("n"),
          "allowed_tools",
          "require_human_approval",
        ])
        .where("tenant_id", "=", p.tenant)
        .where("id", "=", p.agent),
    )
    .unionAll(
      db
        .selectFrom(T.auditHeads)
        .select([
          kind("head").as("kind"),
          none.as("tool"),
          none.as("bucket"),
          count("seq").as("n"),
          none.as("allowed_tools"),
          none.as("require_human_approval"),
        ])
        .where("tenant_id", "=", p.tenant),
    )
    .unionAll(sessionBranch(db, p))
    .unionAll(agentHourBranch(db, p))
    .unionAll(agentEdgeBranch(db, p)),
);

// The counters alone: what `audit.decideAndAppend` reads under the head lock.
const readCounterRows = precompiled(PARAMETERS, (db, p) =>
  sessionBranch(db, p).unionAll(agentHourBranch(db, p)).unionAll(agentEdgeBranch(db, p)),
);

type Filter = { session_id: string; agent_id: string; since: string };

const parameters = (tenantId: string, filter: Filter, window: { prefix: string; end: string }): ReadParameters => ({
  tenant: tenantId,
  session: filter.session_id,
  agent: filter.agent_id,
  since: filter.since,
  prefix: window.prefix,
  end: window.end,
});

/**
 * The counters of `decisionInputs.read`, read with `db` (inside a transaction, under the head lock): one
 * statement, or the separate counts for the shapes it does not cover.
 */
export async function readCounters(db: Db, tenantId: string, filter: Filter): Promise<DecisionCounters> {
  const window = agentWindow(filter.since);
  const counters =
    window && countersFromRows((await readCounterRows(db, parameters(tenantId, filter, window))) as InputRow[]);
  if (counters) return counters;
  const count = async (by: Parameters<typeof countByTool>[2]) =>
    Object.fromEntries(await countByTool(db, tenantId, by));
  return {
    session: await count({ source: COUNTED_SOURCE, session_id: filter.session_id }),
    agent_since: await count({ source: COUNTED_SOURCE, agent_id: filter.agent_id, since: filter.since }),
  };
}

/**
 * `decisionInputs` of the SQL storage: one statement. Shapes it does not cover (a `since` that is not an RFC 3339
 * UTC timestamp, or stored records with one) are read the separate way.
 */
export function decisionInputStore(
  runner: Runner,
  storage: () => Pick<VargateStorage, "policies" | "agents" | "audit">,
): DecisionInputStore {
  return {
    async read(tenantId, filter) {
      const window = agentWindow(filter.since);
      if (!window) return readDecisionInputsSeparately(storage(), tenantId, filter);
      const rows = await runner.run(
        "decisionInputs.read",
        (db) => readAll(db, parameters(tenantId, filter, window)) as Promise<InputRow[]>,
      );
      const inputs = fromRows(rows);
      return inputs ?? readDecisionInputsSeparately(storage(), tenantId, filter);
    },
  };
}

function fromRows(rows: readonly InputRow[]): DecisionInputs | undefined {
  const counters = countersFromRows(rows);
  if (!counters) return undefined;
  let policyVersion: number | null = null;
  let agent: DecisionInputs["agent"] = null;
  // No head row: the tenant has no records yet.
  let seq = 0;
  for (const row of rows) {
    if (row.kind === "policy") policyVersion = row.n === null ? null : toNumber(row.n);
    else if (row.kind === "head") seq = toNumber(row.n as number);
    else if (row.kind === "agent") {
      agent = {
        version: toNumber(row.n as number),
        allowed_tools: JSON.parse(row.allowed_tools as string) as string[],
        require_human_approval: JSON.parse(row.require_human_approval as string) as string[],
      };
    }
  }
  return { policy_version: policyVersion, agent, counters, seq };
}

/** The counters in rows of the combined read; `undefined` when only the log can count the agent's window. */
function countersFromRows(rows: readonly InputRow[]): DecisionCounters | undefined {
  const session: { tool: string; count: number | string | bigint }[] = [];
  const hours: { tool: string; bucket: string; count: number | string | bigint }[] = [];
  const edge: { tool: string; count: number | string | bigint }[] = [];
  for (const row of rows) {
    if (row.kind === "session") session.push({ tool: row.tool as string, count: row.n as number });
    else if (row.kind === "agent_hour") {
      hours.push({ tool: row.tool as string, bucket: row.bucket as string, count: row.n as number });
    } else if (row.kind === "agent_edge") edge.push({ tool: row.tool as string, count: row.n as number });
  }
  const agentSince = agentWindowCounts(hours, edge);
  if (!agentSince) return undefined;
  // Own properties from Maps: a tool called `__proto__` stays a count.
  return { session: Object.fromEntries(positiveCounts(session)), agent_since: Object.fromEntries(agentSince) };
}
