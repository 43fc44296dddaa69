import { sql } from "kysely";
import { readDecisionInputsSeparately } from "../decision-inputs.js";
import type { DecisionInputStore, DecisionInputs, VargateStorage } from "../port.js";
import { precompiled } from "./precompiled.js";
import { toNumber } from "./rows.js";
import { VARGATE_TABLES as T } from "./schema.js";
import {
  agentEdgeRecords,
  agentHourCounts,
  agentWindow,
  agentWindowCounts,
  positiveCounts,
  sessionCounts,
} from "./tool-counts.js";
import type { Runner } from "./transactions.js";

/** One row of the combined read: which part it answers (`kind`) and that part's columns; the others are null. */
interface InputRow {
  kind: "policy" | "agent" | "session" | "agent_hour" | "agent_edge";
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

// The reads of a governed call as one UNION ALL statement: one round trip, and one snapshot on every engine.
const readAll = precompiled(["tenant", "session", "agent", "since", "prefix", "end"], (db, p) =>
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
      sessionCounts(db, p.tenant, p.session).select([
        kind("session").as("kind"),
        sql<string | null>`${sql.ref("tool")}`.as("tool"),
        none.as("bucket"),
        count("count").as("n"),
        none.as("allowed_tools"),
        none.as("require_human_approval"),
      ]),
    )
    .unionAll(
      agentHourCounts(db, p.tenant, p.agent, p.prefix).select([
        kind("agent_hour").as("kind"),
        "tool",
        "bucket",
        count("count").as("n"),
        none.as("allowed_tools"),
        none.as("require_human_approval"),
      ]),
    )
    .unionAll(
      agentEdgeRecords(db, p.tenant, p.agent, p.since, p.end)
        .select((eb) => [
          kind("agent_edge").as("kind"),
          "tool",
          none.as("bucket"),
          eb.fn.countAll<number | string | bigint>().as("n"),
          none.as("allowed_tools"),
          none.as("require_human_approval"),
        ])
        .groupBy("tool"),
    ),
);

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
        (db) =>
          readAll(db, {
            tenant: tenantId,
            session: filter.session_id,
            agent: filter.agent_id,
            since: filter.since,
            prefix: window.prefix,
            end: window.end,
          }) as Promise<InputRow[]>,
      );
      const inputs = fromRows(rows);
      return inputs ?? readDecisionInputsSeparately(storage(), tenantId, filter);
    },
  };
}

function fromRows(rows: readonly InputRow[]): DecisionInputs | undefined {
  let policyVersion: number | null = null;
  let agent: DecisionInputs["agent"] = null;
  const session: { tool: string; count: number | string | bigint }[] = [];
  const hours: { tool: string; bucket: string; count: number | string | bigint }[] = [];
  const edge: { tool: string; count: number | string | bigint }[] = [];
  for (const row of rows) {
    switch (row.kind) {
      case "policy":
        policyVersion = row.n === null ? null : toNumber(row.n);
        break;
      case "agent":
        agent = {
          version: toNumber(row.n as number),
          allowed_tools: JSON.parse(row.allowed_tools as string) as string[],
          require_human_approval: JSON.parse(row.require_human_approval as string) as string[],
        };
        break;
      case "session":
        session.push({ tool: row.tool as string, count: row.n as number });
        break;
      case "agent_hour":
        hours.push({ tool: row.tool as string, bucket: row.bucket as string, count: row.n as number });
        break;
      case "agent_edge":
        edge.push({ tool: row.tool as string, count: row.n as number });
        break;
    }
  }
  const agentSince = agentWindowCounts(hours, edge);
  if (!agentSince) return undefined;
  // Own properties from Maps: a tool called `__proto__` stays a count.
  return {
    policy_version: policyVersion,
    agent,
    counters: { session: Object.fromEntries(positiveCounts(session)), agent_since: Object.fromEntries(agentSince) },
  };
}
