import { sql } from "kysely";
import { getOrCreate } from "../../maps.js";
import type { AuditResult } from "../../sessions/types.js";
import { keyUpToMaxRows, precompiledByShape, rowPlaceholders, rowValues } from "./precompiled.js";
import { resultToText } from "./rows.js";
import { VARGATE_TABLES as T } from "./schema.js";
import type { Db } from "./transactions.js";

/** One audit record: by its action id, or by the upstream event it records. */
export type RecordKey = { session_id: string; event_id: string } | { action_id: string };

export interface ResultWrite {
  key: RecordKey;
  result: AuditResult;
}

// Keys per UPDATE: three bound values each, far below every engine's parameter limit.
const CHUNK = 500;
const KEY_COLUMNS = ["id", "text"] as const;

/** What one UPDATE sets results of: records by action id, or by event id within one session. */
type ResultGroup = { column: "action_id" | "event_id"; sessionId?: string };

/** The group `key`'s record is updated in, named by `groupKey`, and its id within that group. */
function resultGroupOf(key: RecordKey): ResultGroup & { groupKey: string; id: string } {
  return "action_id" in key
    ? { groupKey: "action_id", column: "action_id", id: key.action_id }
    : { groupKey: `event_id\u0000${key.session_id}`, column: "event_id", sessionId: key.session_id, id: key.event_id };
}

/** The UPDATE that sets each `[id, text]` of `chunk`, for one group; returns how many rows it changed. */
async function updateResults(
  db: Db,
  tenantId: string,
  group: ResultGroup,
  chunk: readonly (readonly [string, string | null])[],
): Promise<bigint | undefined> {
  const keys = chunk.map(([id, text]) => ({ id, text }));
  const values = rowValues("k", keys, KEY_COLUMNS, { tenant: tenantId, session: group.sessionId });
  const shape = { column: group.column, session: group.sessionId !== undefined, keys: chunk.length };
  return (await resultsUpdate(db, shape, values)).numAffectedRows;
}

// Kept compiled per key count for the small updates of group-committed calls.
const resultsUpdate = precompiledByShape(
  (shape: { column: ResultGroup["column"]; session: boolean; keys: number }) =>
    keyUpToMaxRows(shape.keys, `${shape.column}:${shape.session}:${shape.keys}`),
  (db, shape, parameter) =>
    resultUpdate(
      db,
      parameter("tenant"),
      { column: shape.column, ...(shape.session && { sessionId: parameter("session") }) },
      rowPlaceholders("k", shape.keys, KEY_COLUMNS, parameter).map(({ id, text }) => [id, text] as const),
    ),
);

function resultUpdate(
  db: Db,
  tenantId: string,
  group: ResultGroup,
  chunk: readonly (readonly [string, string | null])[],
) {
  const update = db
    .updateTable(T.auditLog)
    // One `sql` fragment: Kysely's case builder copies the whole expression on every `when`.
    .set({
      result: sql<string | null>`case ${sql.ref(group.column)} ${sql.join(
        chunk.map(([id, text]) => sql`when ${id} then ${text}`),
        sql` `,
      )} end`,
    })
    .where("tenant_id", "=", tenantId)
    .where(
      group.column,
      "in",
      chunk.map(([id]) => id),
    );
  return group.sessionId === undefined ? update : update.where("session_id", "=", group.sessionId);
}

/**
 * Whether `setRecordResults` writes `writes` with one UPDATE, which needs no transaction of its own: every key
 * of one kind (action ids, or event ids of one session) and at most one statement's worth.
 */
export function isOneResultStatement(writes: readonly ResultWrite[]): boolean {
  if (writes.length === 0 || writes.length > CHUNK) return false;
  const groupKey = resultGroupOf((writes[0] as ResultWrite).key).groupKey;
  return writes.every((write) => resultGroupOf(write.key).groupKey === groupKey);
}

/**
 * Sets the unhashed `result` of the records matching each write's key, in one UPDATE per key column (and session)
 * rather than one per write. Returns, per write, whether a record matched. Of two writes of one key, the later
 * wins, as it would one after the other.
 */
export async function setRecordResults(db: Db, tenantId: string, writes: readonly ResultWrite[]): Promise<boolean[]> {
  // The last write of each key, grouped into what one statement can update: by action id, or by event id within
  // one session.
  const groups = new Map<string, ResultGroup & { texts: Map<string, string | null> }>();
  const lookup = writes.map(({ key, result }) => {
    const { groupKey, id, column, sessionId } = resultGroupOf(key);
    const group = getOrCreate(groups, groupKey, () => ({
      column,
      ...(sessionId !== undefined && { sessionId }),
      texts: new Map<string, string | null>(),
    }));
    group.texts.set(id, resultToText(result));
    return { groupKey, id };
  });

  const matched = new Map<string, Set<string>>();
  for (const [groupKey, group] of groups) {
    const found = new Set<string>();
    const entries = [...group.texts];
    for (let start = 0; start < entries.length; start += CHUNK) {
      const chunk = entries.slice(start, start + CHUNK);
      const ids = chunk.map(([id]) => id);
      const updated = await updateResults(db, tenantId, group, chunk);
      if (Number(updated) === ids.length) {
        for (const id of ids) found.add(id);
        continue;
      }
      // Fewer rows than keys: some are missing, or (MySQL counts changed rows, not matched ones) already held
      // this result. Only then it looks.
      let select = db
        .selectFrom(T.auditLog)
        .select(group.column)
        .where("tenant_id", "=", tenantId)
        .where(group.column, "in", ids);
      if (group.sessionId !== undefined) select = select.where("session_id", "=", group.sessionId);
      for (const row of await select.execute()) {
        const id = row[group.column as keyof typeof row];
        if (typeof id === "string") found.add(id);
      }
    }
    matched.set(groupKey, found);
  }
  return lookup.map(({ groupKey, id }) => matched.get(groupKey)?.has(id) ?? false);
}
