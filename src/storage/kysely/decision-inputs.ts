import { type SelectQueryBuilder, sql } from "kysely";
import { readDecisionInputsSeparately } from "../decision-inputs.js";
import type { DecisionCounters, DecisionInputStore, DecisionInputs, VargateStorage } from "../port.js";
import { groupCommit } from "./group-commit.js";
import { precompiled } from "./precompiled.js";
import { toNumber, wellFormed } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T, type VargateDatabase } from "./schema.js";
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

/**
 * The calls whose reads share one statement, at most: its session list has this many places (padded with the
 * first session), so that it is one SQL text however many calls share it.
 */
export const READ_BATCH = 16;

/** One row of the combined read: which part it answers (`kind`) and that part's columns; the others are null. */
interface InputRow {
  kind: "policy" | "agent" | "head" | "session" | "agent_hour" | "agent_edge" | "agent_sliver";
  tool: string | null;
  /** The session id (`session`), the hour bucket (`agent_hour`) or the record's `requested_at` (`agent_sliver`). */
  key: string | null;
  n: number | string | bigint | null;
  allowed_tools: string | null;
  require_human_approval: string | null;
}

// The columns of an input row in the order a packed row (see `inputRowStatement`) gives them.
const INPUT_COLUMNS = ["kind", "tool", "key", "n", "allowed_tools", "require_human_approval"] as const;
type PackedInputRow = [
  InputRow["kind"],
  InputRow["tool"],
  InputRow["key"],
  InputRow["n"],
  InputRow["allowed_tools"],
  InputRow["require_human_approval"],
];

// Every branch selects the same columns; NULLs and literals are typed by the branches that have real values.
const none = sql<string | null>`null`;
const column = <T>(name: string) => sql<T>`${sql.ref(name)}`;
const kind = (name: InputRow["kind"]) => sql<InputRow["kind"]>`${sql.lit(name)}`;

const SESSIONS = Array.from({ length: READ_BATCH }, (_, index) => `session${index}` as const);
type SessionParameter = (typeof SESSIONS)[number];
const PARAMETERS = ["tenant", "agent", "from", "since", "prefix", "end", ...SESSIONS] as const;
/**
 * The statement's parameters. The agent's window is read for the latest `since` of the calls sharing it, and the
 * records between the earliest (`from`) and it one by one, so that each call counts from its own `since`.
 */
type ReadParameters = Record<(typeof PARAMETERS)[number], string>;

// The counters' parts, each a branch of a UNION ALL.
const counterBranches = (db: Db, p: ReadParameters) =>
  sessionCounts(
    db,
    p.tenant,
    SESSIONS.map((name) => p[name] as string),
  )
    .select([
      kind("session").as("kind"),
      column<string | null>("tool").as("tool"),
      column<string | null>("scope_id").as("key"),
      column<InputRow["n"]>("count").as("n"),
      none.as("allowed_tools"),
      none.as("require_human_approval"),
    ])
    .unionAll(
      agentHourCounts(db, p.tenant, p.agent, p.prefix).select([
        kind("agent_hour").as("kind"),
        "tool",
        column<string | null>("bucket").as("key"),
        column<InputRow["n"]>("count").as("n"),
        none.as("allowed_tools"),
        none.as("require_human_approval"),
      ]),
    )
    .unionAll(
      agentEdgeRecords(db, p.tenant, p.agent, p.since, p.end)
        .select((eb) => [
          kind("agent_edge").as("kind"),
          "tool",
          none.as("key"),
          eb.fn.countAll<number | string | bigint>().as("n"),
          none.as("allowed_tools"),
          none.as("require_human_approval"),
        ])
        .groupBy("tool"),
    )
    .unionAll(
      agentEdgeRecords(db, p.tenant, p.agent, p.from, p.since).select([
        kind("agent_sliver").as("kind"),
        "tool",
        column<string | null>("requested_at").as("key"),
        sql<InputRow["n"]>`null`.as("n"),
        none.as("allowed_tools"),
        none.as("require_human_approval"),
      ]),
    );

/**
 * A read of input rows, kept compiled. On SQLite it runs packed: the rows come back as one JSON array of row
 * arrays. better-sqlite3 builds an object per row with a property per column, and for the rows of a read shared by
 * 16 calls (about 70) that cost more than running the query: 130 µs a read against 58 µs packed, measured.
 */
function inputRowStatement(
  query: (db: Db, parameters: ReadParameters) => SelectQueryBuilder<VargateDatabase, keyof VargateDatabase, object>,
): (db: Db, dialect: KyselyDialectName, values: ReadParameters) => Promise<InputRow[]> {
  const rows = precompiled(PARAMETERS, query);
  const packed = precompiled(PARAMETERS, (db, p) =>
    db
      .selectFrom(query(db, p).as("input_row"))
      .select(
        sql<string>`json_group_array(json_array(${sql.join(INPUT_COLUMNS.map((name) => sql.ref(`input_row.${name}`)))}))`.as(
          "rows",
        ),
      ),
  );
  return async (db, dialect, values) => {
    if (dialect !== "sqlite") return (await rows(db, values)) as InputRow[];
    const [{ rows: text }] = (await packed(db, values)) as [{ rows: string }];
    return (JSON.parse(text) as PackedInputRow[]).map(
      ([kind, tool, key, n, allowed_tools, require_human_approval]) => ({
        kind,
        tool,
        key,
        n,
        allowed_tools,
        require_human_approval,
      }),
    );
  };
}

// The reads of governed calls as one UNION ALL statement: one round trip, and one snapshot on every engine, so
// the counters are exactly those of the records up to the head read with them.
const readAll = inputRowStatement((db, p) =>
  db
    .selectFrom(T.policies)
    .select((eb) => [
      kind("policy").as("kind"),
      none.as("tool"),
      none.as("key"),
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
          none.as("key"),
          column<InputRow["n"]>("version").as("n"),
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
          none.as("key"),
          column<InputRow["n"]>("seq").as("n"),
          none.as("allowed_tools"),
          none.as("require_human_approval"),
        ])
        .where("tenant_id", "=", p.tenant),
    )
    .unionAll(counterBranches(db, p)),
);

// The counters alone: what `audit.decideAndAppend` reads under the head lock.
const readCounterRows = inputRowStatement(counterBranches);

type Filter = { session_id: string; agent_id: string; since: string };
type Window = { prefix: string; end: string };

/** The parameters for `filters`, calls of one tenant and agent whose windows start in the same hour. */
function parameters(tenantId: string, filters: readonly Filter[], window: Window): ReadParameters {
  const [first] = filters as [Filter, ...Filter[]];
  let [from, since] = [first.since, first.since];
  for (const filter of filters) {
    if (filter.since < from) from = filter.since;
    if (filter.since > since) since = filter.since;
  }
  const sessions = Object.fromEntries(
    SESSIONS.map((name, index) => [name, (filters[index] ?? first).session_id]),
  ) as Record<SessionParameter, string>;
  return { tenant: tenantId, agent: first.agent_id, from, since, prefix: window.prefix, end: window.end, ...sessions };
}

/**
 * The counters of `decisionInputs.read`, read with `db` (inside a transaction, under the head lock): one
 * statement, or the separate counts for the shapes it does not cover.
 */
export async function readCounters(
  db: Db,
  dialect: KyselyDialectName,
  tenantId: string,
  filter: Filter,
): Promise<DecisionCounters> {
  const window = agentWindow(filter.since);
  const counters =
    window && countersFromRows(await readCounterRows(db, dialect, parameters(tenantId, [filter], window)));
  if (counters) return counters(filter);
  const count = async (by: Parameters<typeof countByTool>[2]) =>
    Object.fromEntries(await countByTool(db, tenantId, by));
  return {
    session: await count({ source: COUNTED_SOURCE, session_id: filter.session_id }),
    agent_since: await count({ source: COUNTED_SOURCE, agent_id: filter.agent_id, since: filter.since }),
  };
}

/** A governed call's read, waiting for the statement it shares with the calls read together with it. */
interface PendingRead {
  tenantId: string;
  filter: Filter;
  window: Window;
}

/**
 * `decisionInputs` of the SQL storage: one statement, shared by the calls of one tenant and agent that read
 * together (group commit's batching, applied to reads: calls issued in the same tick, or while the previous
 * statement runs, up to `READ_BATCH`). Shapes it does not cover (a `since` that is not an RFC 3339 UTC timestamp,
 * or stored records with one) are read the separate way.
 */
export function decisionInputStore(
  runner: Runner,
  dialect: KyselyDialectName,
  storage: () => Pick<VargateStorage, "policies" | "agents" | "audit">,
): DecisionInputStore {
  const readTogether = async (reads: readonly PendingRead[]): Promise<DecisionInputs[]> => {
    const { tenantId, window } = reads[0] as PendingRead;
    const filters = reads.map((read) => read.filter);
    const rows = await runner.run("decisionInputs.read", (db) =>
      readAll(db, dialect, parameters(tenantId, filters, window)),
    );
    const inputsOf = fromRows(rows);
    return inputsOf
      ? filters.map(inputsOf)
      : Promise.all(filters.map((filter) => readDecisionInputsSeparately(storage(), tenantId, filter)));
  };
  const read = groupCommit<PendingRead, DecisionInputs>({
    queue: ({ tenantId, filter, window }) => `${tenantId}\u0000${filter.agent_id}\u0000${window.prefix}`,
    maxSize: READ_BATCH,
    alone: async (pending) => (await readTogether([pending]))[0] as DecisionInputs,
    together: readTogether,
  });
  return {
    read(tenantId, filter) {
      const window = agentWindow(filter.since);
      return window ? read({ tenantId, filter, window }) : readDecisionInputsSeparately(storage(), tenantId, filter);
    },
  };
}

/** Each call's inputs from the rows of the combined read; `undefined` when only the log can count the agent's window. */
function fromRows(rows: readonly InputRow[]): ((filter: Filter) => DecisionInputs) | undefined {
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
  return (filter) => ({ policy_version: policyVersion, agent, counters: counters(filter), seq });
}

type CountRow = { tool: string; count: number | string | bigint };

/**
 * Each call's counters from the counter rows of the combined read; `undefined` when only the log can count the
 * agent's window.
 */
function countersFromRows(rows: readonly InputRow[]): ((filter: Filter) => DecisionCounters) | undefined {
  const sessions = new Map<string, CountRow[]>();
  const hours: (CountRow & { bucket: string })[] = [];
  const edge: CountRow[] = [];
  const sliver: { tool: string; requestedAt: string }[] = [];
  for (const row of rows) {
    const tool = row.tool as string;
    if (row.kind === "session") {
      const counts = sessions.get(row.key as string) ?? [];
      counts.push({ tool, count: row.n as number });
      sessions.set(row.key as string, counts);
    } else if (row.kind === "agent_hour") hours.push({ tool, bucket: row.key as string, count: row.n as number });
    else if (row.kind === "agent_edge") edge.push({ tool, count: row.n as number });
    else if (row.kind === "agent_sliver") sliver.push({ tool, requestedAt: row.key as string });
  }
  const window = agentWindowCounts(hours, edge);
  if (!window) return undefined;
  return (filter) => {
    const agentSince = new Map(window);
    // Compared as stored, like the statement compares them.
    for (const record of sliver) {
      if (record.requestedAt >= filter.since) agentSince.set(record.tool, (agentSince.get(record.tool) ?? 0) + 1);
    }
    const session = sessions.get(wellFormed(filter.session_id)) ?? [];
    // Own properties from Maps: a tool called `__proto__` stays a count.
    return { session: Object.fromEntries(positiveCounts(session)), agent_since: Object.fromEntries(agentSince) };
  };
}
