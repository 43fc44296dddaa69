import { sql } from "kysely";
import { sha256Hex } from "../../audit/chain.js";
import type { AuditRecord } from "../../audit/types.js";
import { keyUpToMaxRows, precompiledByShape, rowPlaceholders, rowValues } from "./precompiled.js";
import { toNumber } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T, type VargateToolCountsTable } from "./schema.js";
import { type AuditLogQuery, sessionRecords } from "./session-records.js";
import type { Db } from "./transactions.js";

/**
 * Running per-tool counts of governed records (`source = 'mcp_governed'`), kept so that policy counters do not scan
 * the audit log: per session (all time, bucket `''`) and per agent per UTC hour (bucket = the first 13 characters
 * of `requested_at`, `2026-04-14T10`). They are written in the append transaction that holds the tenant's head
 * lock, so they are exactly the log's counts on every engine and across processes.
 *
 * A record whose `requested_at` is not shaped like an RFC 3339 UTC timestamp goes to the agent bucket `''`; a
 * window query that meets such a bucket falls back to scanning the log, so counts stay exact for any stored text.
 */
export const COUNTED_SOURCE = "mcp_governed";

const HOUR_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}/;

/**
 * The agent buckets a window starting at `since` reads: whole hours after `prefix` (the hour `since` falls in),
 * plus that hour's records at or after `since`, which are in [prefix, end) of the log. `undefined` when `since`
 * is not shaped like an RFC 3339 UTC timestamp (only the log can answer then).
 */
export function agentWindow(since: string): { prefix: string; end: string } | undefined {
  if (!HOUR_PREFIX.test(since)) return undefined;
  const prefix = since.slice(0, 13);
  // Strings starting with `prefix` are exactly those in [prefix, prefix with its last character + 1).
  return { prefix, end: `${prefix.slice(0, 12)}${String.fromCharCode(prefix.charCodeAt(12) + 1)}` };
}

function hourBucket(requestedAt: string): string {
  return HOUR_PREFIX.test(requestedAt) ? requestedAt.slice(0, 13) : "";
}

// The keys of recent natural keys: the same sessions, agents, tools and hours recur in batch after batch, and a
// lookup costs a fraction of a hash. Cleared when full, so it stays small.
const recentKeys = new Map<string, string>();
const RECENT_KEYS = 4096;

function counterKey(tenantId: string, scope: string, scopeId: string, tool: string, bucket: string): string {
  // Hashed: the natural key (four ids and a tool name) is too long for a MySQL primary key.
  const natural = JSON.stringify([tenantId, scope, scopeId, tool, bucket]);
  let key = recentKeys.get(natural);
  if (key === undefined) {
    key = sha256Hex(natural);
    if (recentKeys.size >= RECENT_KEYS) recentKeys.clear();
    recentKeys.set(natural, key);
  }
  return key;
}

/** A row of `vargate_tool_counts` as written (counts are numbers until the driver reads them back). */
export type CountRow = Omit<VargateToolCountsTable, "count"> & { count: number };

/** The count rows that `records` add, one per key. */
export function countRows(
  records: readonly Pick<AuditRecord, "tenant_id" | "source" | "session_id" | "agent_id" | "tool" | "requested_at">[],
): CountRow[] {
  const rows = new Map<string, CountRow>();
  const add = (tenantId: string, scope: string, scopeId: string, tool: string, bucket: string, count: number) => {
    const key = counterKey(tenantId, scope, scopeId, tool, bucket);
    const row = rows.get(key);
    if (row) row.count += count;
    else rows.set(key, { counter_key: key, tenant_id: tenantId, scope, scope_id: scopeId, tool, bucket, count });
  };
  for (const record of records) {
    if (record.source !== COUNTED_SOURCE) continue;
    if (record.session_id !== null) add(record.tenant_id, "session", record.session_id, record.tool, "", 1);
    if (record.agent_id !== null) {
      add(record.tenant_id, "agent", record.agent_id, record.tool, hourBucket(record.requested_at), 1);
    }
  }
  // Sorted keys: concurrent writers of different tenants never wait on each other's rows in opposite orders.
  return [...rows.values()].sort((a, b) => (a.counter_key < b.counter_key ? -1 : 1));
}

// Count rows per upsert statement: far below every engine's bound-parameter limit (7 columns each).
export const COUNTS_CHUNK = 500;

export const COUNT_COLUMNS = ["counter_key", "tenant_id", "scope", "scope_id", "tool", "bucket", "count"] as const;

/** Adds `rows` to the stored counts (upsert). Call inside the append transaction. */
export async function addCounts(trx: Db, dialect: KyselyDialectName, rows: readonly CountRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += COUNTS_CHUNK) {
    const chunk = rows.slice(start, start + COUNTS_CHUNK);
    await countsUpsert(trx, { dialect, rows: chunk.length }, rowValues("c", chunk, COUNT_COLUMNS));
  }
}

// Kept compiled per row count for the small upserts of group-committed calls.
const countsUpsert = precompiledByShape(
  (shape: { dialect: KyselyDialectName; rows: number }) => keyUpToMaxRows(shape.rows, `${shape.rows}`),
  (db, shape, parameter) =>
    upsertCounts(
      db,
      shape.dialect,
      rowPlaceholders("c", shape.rows, COUNT_COLUMNS, parameter) as unknown as CountRow[],
    ),
);

/** The upsert that adds at most `COUNTS_CHUNK` `rows` to the stored counts. */
export function upsertCounts(db: Pick<Db, "insertInto">, dialect: KyselyDialectName, rows: readonly CountRow[]) {
  const insert = db.insertInto(T.toolCounts).values([...rows]);
  return dialect === "mysql"
    ? insert.onDuplicateKeyUpdate({ count: sql<number>`count + values(count)` })
    : insert.onConflict((oc) =>
        oc
          .column("counter_key")
          .doUpdateSet({ count: sql<number>`${sql.ref(`${T.toolCounts}.count`)} + excluded.count` }),
      );
}

/** The running counts of the governed records of the sessions `sessionIds` (rows of every tool). */
export function sessionCounts(db: Db, tenantId: string, sessionIds: readonly string[]) {
  return db
    .selectFrom(T.toolCounts)
    .where("tenant_id", "=", tenantId)
    .where("scope", "=", "session")
    .where("scope_id", "in", sessionIds)
    .where("bucket", "=", "");
}

/** An agent's hourly counts after `prefix`, and its bucket `''` of odd timestamps (see `agentWindow`). */
export function agentHourCounts(db: Db, tenantId: string, agentId: string, prefix: string) {
  return db
    .selectFrom(T.toolCounts)
    .where("tenant_id", "=", tenantId)
    .where("scope", "=", "agent")
    .where("scope_id", "=", agentId)
    .where((eb) => eb.or([eb("bucket", ">", prefix), eb("bucket", "=", "")]));
}

/** The agent's governed records in the log at or after `since` and before `end`: the window's partial hour. */
export function agentEdgeRecords(db: Db, tenantId: string, agentId: string, since: string, end: string) {
  return db
    .selectFrom(T.auditLog)
    .where("tenant_id", "=", tenantId)
    .where("agent_id", "=", agentId)
    .where("requested_at", ">=", since)
    .where("requested_at", "<", end)
    .where("source", "=", COUNTED_SOURCE);
}

/** Per-tool counts from agent hour rows (`agentHourCounts`) and edge counts; `undefined` if an odd bucket counts. */
export function agentWindowCounts(
  hours: readonly { tool: string; bucket: string; count: number | string | bigint }[],
  edge: readonly { tool: string; count: number | string | bigint }[],
): Map<string, number> | undefined {
  // A record with an odd timestamp: only the log can say whether it is in the window.
  if (hours.some((row) => row.bucket === "" && toNumber(row.count) > 0)) return undefined;
  const counts = new Map<string, number>();
  for (const row of [...hours, ...edge]) counts.set(row.tool, (counts.get(row.tool) ?? 0) + toNumber(row.count));
  for (const [tool, count] of counts) if (count === 0) counts.delete(tool);
  return counts;
}

/** Positive per-tool counts of session count rows. */
export function positiveCounts(
  rows: readonly { tool: string; count: number | string | bigint }[],
): Map<string, number> {
  return new Map(rows.filter((row) => toNumber(row.count) > 0).map((row) => [row.tool, toNumber(row.count)]));
}

/**
 * Counts of governed records per tool for the filters policy counters use, from the running counts; `undefined`
 * when the filter is another shape (the caller scans the log then).
 */
export async function countedByTool(
  db: Db,
  tenantId: string,
  filter: { source: string; session_id?: string; agent_id?: string; since?: string },
): Promise<Map<string, number> | undefined> {
  if (filter.source !== COUNTED_SOURCE) return undefined;
  const { session_id, agent_id, since } = filter;
  if (session_id !== undefined && agent_id === undefined && since === undefined) {
    return positiveCounts(await sessionCounts(db, tenantId, [session_id]).select(["tool", "count"]).execute());
  }
  const window = since === undefined ? undefined : agentWindow(since);
  if (agent_id !== undefined && session_id === undefined && since !== undefined && window) {
    const hours = await agentHourCounts(db, tenantId, agent_id, window.prefix)
      .select(["tool", "bucket", "count"])
      .execute();
    const edge = await agentEdgeRecords(db, tenantId, agent_id, since, window.end)
      .select(["tool", (eb) => eb.fn.countAll<number | string | bigint>().as("count")])
      .groupBy("tool")
      .execute();
    return agentWindowCounts(hours, edge);
  }
  return undefined;
}

/** `audit.countByTool`: from the running counts for the filters policy counters use, else by scanning the log. */
export async function countByTool(
  db: Db,
  tenantId: string,
  filter: { source: string; session_id?: string; agent_id?: string; since?: string },
): Promise<Map<string, number>> {
  const counted = await countedByTool(db, tenantId, filter);
  if (counted) return counted;
  const { source, session_id, agent_id, since } = filter;
  const matching = (query: AuditLogQuery) =>
    query
      .select("tool")
      .where("source", "=", source)
      .$if(agent_id !== undefined, (q) => q.where("agent_id", "=", agent_id as string))
      .$if(since !== undefined, (q) => q.where("requested_at", ">=", since as string));
  const records =
    session_id === undefined
      ? matching(db.selectFrom(T.auditLog).where("tenant_id", "=", tenantId))
      : sessionRecords(db, tenantId, [session_id], {}, matching);
  const rows = await db
    .selectFrom(records.as("records"))
    .select(["tool", (eb) => eb.fn.countAll<number | string | bigint>().as("count")])
    .groupBy("tool")
    .execute();
  return new Map(rows.map((row) => [row.tool, toNumber(row.count)]));
}
