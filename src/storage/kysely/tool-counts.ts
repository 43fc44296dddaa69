import { sql } from "kysely";
import { sha256Hex } from "../../audit/chain.js";
import type { AuditRecord } from "../../audit/types.js";
import { toNumber } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T } from "./schema.js";
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

function hourBucket(requestedAt: string): string {
  return HOUR_PREFIX.test(requestedAt) ? requestedAt.slice(0, 13) : "";
}

function counterKey(tenantId: string, scope: string, scopeId: string, tool: string, bucket: string): string {
  // Hashed: the natural key (four ids and a tool name) is too long for a MySQL primary key.
  return sha256Hex(JSON.stringify([tenantId, scope, scopeId, tool, bucket]));
}

interface CountRow {
  counter_key: string;
  tenant_id: string;
  scope: string;
  scope_id: string;
  tool: string;
  bucket: string;
  count: number;
}

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

/** Adds `rows` to the stored counts (upsert). Call inside the append transaction. */
export async function addCounts(trx: Db, dialect: KyselyDialectName, rows: readonly CountRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += 500) {
    const chunk = rows.slice(start, start + 500);
    const insert = trx.insertInto(T.toolCounts).values(chunk);
    if (dialect === "mysql") {
      await insert.onDuplicateKeyUpdate({ count: sql<number>`count + values(count)` }).execute();
    } else {
      await insert
        .onConflict((oc) =>
          oc
            .column("counter_key")
            .doUpdateSet({ count: sql<number>`${sql.ref(`${T.toolCounts}.count`)} + excluded.count` }),
        )
        .execute();
    }
  }
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
    const rows = await db
      .selectFrom(T.toolCounts)
      .select(["tool", "count"])
      .where("tenant_id", "=", tenantId)
      .where("scope", "=", "session")
      .where("scope_id", "=", session_id)
      .where("bucket", "=", "")
      .execute();
    return new Map(rows.filter((row) => toNumber(row.count) > 0).map((row) => [row.tool, toNumber(row.count)]));
  }
  if (agent_id !== undefined && session_id === undefined && since !== undefined && HOUR_PREFIX.test(since)) {
    const prefix = since.slice(0, 13);
    const rows = await db
      .selectFrom(T.toolCounts)
      .select(["tool", "bucket", "count"])
      .where("tenant_id", "=", tenantId)
      .where("scope", "=", "agent")
      .where("scope_id", "=", agent_id)
      .where((eb) => eb.or([eb("bucket", ">", prefix), eb("bucket", "=", "")]))
      .execute();
    // A record with an odd timestamp: only the log can say whether it is in the window.
    if (rows.some((row) => row.bucket === "" && toNumber(row.count) > 0)) return undefined;
    const counts = new Map<string, number>();
    for (const row of rows) counts.set(row.tool, (counts.get(row.tool) ?? 0) + toNumber(row.count));
    // The hour `since` falls in is partly inside the window: count its records at or after `since` in the log.
    // Strings starting with `prefix` are exactly those in [prefix, prefix with its last character + 1).
    const end = `${prefix.slice(0, 12)}${String.fromCharCode(prefix.charCodeAt(12) + 1)}`;
    const boundary = await db
      .selectFrom(T.auditLog)
      .select(["tool", (eb) => eb.fn.countAll<number | string | bigint>().as("count")])
      .where("tenant_id", "=", tenantId)
      .where("agent_id", "=", agent_id)
      .where("requested_at", ">=", since)
      .where("requested_at", "<", end)
      .where("source", "=", COUNTED_SOURCE)
      .groupBy("tool")
      .execute();
    for (const row of boundary) counts.set(row.tool, (counts.get(row.tool) ?? 0) + toNumber(row.count));
    for (const [tool, count] of counts) if (count === 0) counts.delete(tool);
    return counts;
  }
  return undefined;
}
