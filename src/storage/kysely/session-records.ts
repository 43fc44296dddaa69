import { type SelectQueryBuilder, sql } from "kysely";
import { VARGATE_TABLES as T, type VargateDatabase } from "./schema.js";
import type { Db } from "./transactions.js";

/**
 * How many records an append leaves out of the session index before it indexes them. An index entry goes into its
 * session's part of the index, so indexing record by record wrote a page per session of every commit; indexing
 * this many at once writes a page per session of the batch. Reads of a session scan at most about this many of the
 * newest records (and those of one append) besides the index.
 */
export const SESSION_INDEX_BATCH = 256;

/**
 * Indexes the records after `indexedSeq` through `throughSeq` by session and moves the head's mark. Run by an
 * append, in its transaction and under the head lock, once `throughSeq - indexedSeq` reaches `SESSION_INDEX_BATCH`.
 */
export async function indexSessions(trx: Db, tenantId: string, indexedSeq: number, throughSeq: number): Promise<void> {
  await trx
    .insertInto(T.auditSessions)
    .columns(["tenant_id", "session_id", "seq"])
    .expression(
      trx
        .selectFrom(T.auditLog)
        .select(["tenant_id", "session_id", "seq"])
        .where("tenant_id", "=", tenantId)
        .where("seq", ">", indexedSeq)
        .where("seq", "<=", throughSeq)
        .where("session_id", "is not", null)
        .$narrowType<{ session_id: string }>(),
    )
    .execute();
  await trx
    .updateTable(T.auditHeads)
    .set({ session_indexed_seq: throughSeq })
    .where("tenant_id", "=", tenantId)
    .execute();
}

/** A query of the audit log alone: what `sessionRecords` hands its caller to add columns and conditions to. */
export type AuditLogQuery = SelectQueryBuilder<VargateDatabase, typeof T.auditLog, object>;

/** Which of the sessions' records to read. */
export interface SessionRecordsScope {
  /** Only records after this seq. */
  afterSeq?: number;
  /** Only records up to this seq. */
  throughSeq?: number;
  /** Only the first `limit` records by seq (of one session: the index orders each session's records). */
  limit?: number;
}

type Shape<Row> = (query: AuditLogQuery) => SelectQueryBuilder<VargateDatabase, typeof T.auditLog, Row>;
type Records<Row> = SelectQueryBuilder<VargateDatabase, never, Row>;

/** `query` limited to the records after `afterSeq` and up to `throughSeq` (where given). */
export function withinSeqs(query: AuditLogQuery, { afterSeq, throughSeq }: SessionRecordsScope): AuditLogQuery {
  const seq = `${T.auditLog}.seq` as const;
  const after = afterSeq === undefined ? query : query.where(seq, ">", afterSeq);
  return throughSeq === undefined ? after : after.where(seq, "<=", throughSeq);
}

/**
 * The records of `sessionIds` (not empty), as one statement, so both parts are read from one snapshot: those in
 * `vargate_audit_sessions`, looked up by primary key, and the newest ones the session index does not hold yet,
 * found by scanning the log after the head's mark. `shape` adds the columns and any further conditions to each
 * part; column names there mean the audit log's. With a `limit`, the result is ordered by `seq`, and `shape`
 * must select it.
 */
export function sessionRecords<Row>(
  db: Db,
  tenantId: string,
  sessionIds: readonly string[],
  scope: SessionRecordsScope,
  shape: Shape<Row>,
): Records<Row> {
  return bothParts(db, sessionParts(db, tenantId, sessionIds, scope, shape), scope.limit);
}

/**
 * One page of a session's records, ordered by `seq`. Reads the session index alone first: a full page from it is
 * the answer, since every record it holds precedes the newest ones. Only a short page reads both parts again, in
 * one statement, so a long session is paged without scanning its newest records for every page.
 */
export async function sessionRecordsPage<Row>(
  db: Db,
  tenantId: string,
  sessionId: string,
  scope: SessionRecordsScope & { limit: number },
  shape: Shape<Row>,
): Promise<Row[]> {
  const parts = sessionParts(db, tenantId, [sessionId], scope, shape);
  const rows = (await firstIndexed(parts.indexed, scope.limit).execute()) as Row[];
  if (rows.length === scope.limit) return rows;
  return (await bothParts(db, parts, scope.limit).execute()) as Row[];
}

type Parts<Row> = { indexed: ReturnType<Shape<Row>>; tail: ReturnType<Shape<Row>> };

/** The indexed part's first `limit` records, in the index's order. */
function firstIndexed<Row>(indexed: Parts<Row>["indexed"], limit: number) {
  return indexed.orderBy(sql.ref("indexed.indexed_seq")).limit(limit);
}

/** Both parts as one statement; with a `limit`, the first `limit` records by `seq`. */
function bothParts<Row>(db: Db, parts: Parts<Row>, limit: number | undefined): Records<Row> {
  if (limit === undefined) return parts.indexed.unionAll(parts.tail) as unknown as Records<Row>;
  // Each part limited in itself, inside a derived table: SQLite allows no LIMIT on a part of a compound select.
  return db
    .selectFrom(firstIndexed(parts.indexed, limit).as("indexed_page"))
    .selectAll()
    .unionAll(db.selectFrom(parts.tail.orderBy("seq").limit(limit).as("tail_page")).selectAll())
    .orderBy(sql.ref("seq"))
    .limit(limit) as unknown as Records<Row>;
}

function sessionParts<Row>(
  db: Db,
  tenantId: string,
  sessionIds: readonly string[],
  scope: SessionRecordsScope,
  shape: Shape<Row>,
): Parts<Row> {
  const { afterSeq, throughSeq } = scope;
  let indexedSeqs = db
    .selectFrom(T.auditSessions)
    .select("seq as indexed_seq")
    .where("tenant_id", "=", tenantId)
    .where("session_id", "in", sessionIds);
  if (afterSeq !== undefined) indexedSeqs = indexedSeqs.where("seq", ">", afterSeq);
  if (throughSeq !== undefined) indexedSeqs = indexedSeqs.where("seq", "<=", throughSeq);
  // Renamed, so that every other column name in `shape` can only be the audit log's.
  const indexedQuery = db
    .selectFrom(T.auditLog)
    .innerJoin(indexedSeqs.as("indexed"), (join) =>
      join.onRef(`${T.auditLog}.seq`, "=", "indexed.indexed_seq").on(`${T.auditLog}.tenant_id`, "=", tenantId),
    )
    // The session checked on the log's row too: a row added to the index by hand cannot bring in another
    // session's record. (One deleted by hand hides its record from session reads; an export then shows it, see
    // storage.md.)
    .where(`${T.auditLog}.session_id`, "in", sessionIds) as unknown as AuditLogQuery;
  const tailQuery = db
    .selectFrom(T.auditLog)
    .where("tenant_id", "=", tenantId)
    .where("seq", ">", (eb) =>
      eb.selectFrom(T.auditHeads).select("session_indexed_seq").where("tenant_id", "=", tenantId),
    )
    .where("session_id", "in", sessionIds);
  // The bounds on the log's side of the indexed part too: PostgreSQL may merge-join, reading the log's primary key
  // from its lower bound.
  return { indexed: shape(withinSeqs(indexedQuery, scope)), tail: shape(withinSeqs(tailQuery, scope)) };
}
