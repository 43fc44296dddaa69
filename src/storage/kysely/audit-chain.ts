import { GENESIS_HASH, sealAuditRecordsWithTexts } from "../../audit/chain.js";
import { type AuditEntry, type AuditHead, type AuditRecord, STORED_AUDIT_FIELDS } from "../../audit/types.js";
import { StorageError } from "../../errors.js";
import type { JsonValue } from "../../json.js";
import { isUniqueViolation } from "./dialects.js";
import { keyUpToMaxRows, precompiled, precompiledByShape, rowPlaceholders, rowValues } from "./precompiled.js";
import { auditToRow, storableEntry, toNumber, wellFormed } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T } from "./schema.js";
import { indexSessions, SESSION_INDEX_BATCH } from "./session-records.js";
import { addCounts, COUNT_COLUMNS, COUNTS_CHUNK, type CountRow, countRows, upsertCounts } from "./tool-counts.js";
import type { Db } from "./transactions.js";

// Rows per INSERT: far below every engine's bound-parameter limit (19 columns each).
const INSERT_CHUNK = 500;

/** Appends to a tenant's chain inside the transaction whose head lock it holds. */
export interface LockedChain {
  /** The head as it is now: where the next record goes. */
  head(): AuditHead;
  /**
   * Seals `entries` after the current head, inserts them and moves the head. Fails whole on a duplicate.
   * `results` (by event id) are stored with their records, outside the hash.
   */
  append(entries: readonly AuditEntry[], results?: ReadonlyMap<string, JsonValue>): Promise<AuditRecord[]>;
}

/** Runs `fn` as an audited mutation: one write transaction that has locked the tenant's chain head first. */
export type Audited = <R>(
  operation: string,
  tenantId: string,
  fn: (trx: Db, chain: LockedChain) => Promise<R>,
) => Promise<R>;

/**
 * Locks `tenantId`'s chain head inside `trx` (creating the head row if the chain is new) and returns a handle to
 * append through. Every audited mutation takes this lock first, so all writes of one tenant's chain are
 * serialised and lock in one order (head, then domain rows): the chain cannot fork and appends cannot deadlock.
 *
 * SQLite needs no row lock: the transaction began with `BEGIN IMMEDIATE` and holds the file's write lock.
 */
export async function lockChain(
  trx: Db,
  dialect: KyselyDialectName,
  name: string,
  tenantId: string,
): Promise<LockedChain> {
  let { head, sessionIndexedSeq } = await lockHead(trx, dialect, name, tenantId);
  return {
    head: () => head,
    async append(entries, results) {
      if (entries.length === 0) return [];
      const seen = new Set<string>();
      for (const entry of entries) {
        if (seen.has(entry.action_id)) {
          throw new StorageError(name, `Duplicate audit action_id ${entry.action_id} in one append`);
        }
        seen.add(entry.action_id);
      }
      const storable = entries.map(storableEntry);
      const sealed = sealAuditRecordsWithTexts(
        tenantId,
        head,
        storable.map((each) => each.entry),
        storable.map((each) => each.texts),
      );
      if (results && results.size > 0) {
        for (const record of sealed.records) {
          const result = record.event_id === null ? undefined : results.get(record.event_id);
          if (result !== undefined) record.result = result;
        }
      }
      // The policy counters' running counts, in the same transaction: exactly the log's counts.
      const counts = countRows(sealed.records);
      const rows = sealed.records.map((record, index) => auditToRow(record, sealed.texts[index]));
      const headValues: HeadValues = { tenant: tenantId, seq: sealed.head.seq, hash: sealed.head.hash };
      try {
        if (dialect === "postgres" && rows.length <= INSERT_CHUNK && counts.length <= COUNTS_CHUNK) {
          // One statement for the insert, the counts and the head: every round trip here is spent holding the
          // head lock that all of the tenant's appenders wait on.
          const values = rowValues("c", counts, COUNT_COLUMNS, rowValues("a", rows, AUDIT_COLUMNS, headValues));
          await postgresAppend(trx, { records: rows.length, counts: counts.length }, values);
        } else {
          await insertRows(trx, dialect, rows);
          await addCounts(trx, dialect, counts);
          await moveHead(trx, headValues);
        }
      } catch (error) {
        // The head lock rules out a racing seq, so a unique violation here is an action_id already stored, or an
        // upstream event already stored for the session (`appendEvents` drops those before they get here).
        if (isUniqueViolation(dialect, error)) {
          throw new StorageError(
            name,
            "Duplicate audit record: the tenant already has a record with this action_id, or one of this session with this event_id",
            { cause: error },
          );
        }
        throw error;
      }
      head = sealed.head;
      if (head.seq - sessionIndexedSeq >= SESSION_INDEX_BATCH) {
        await indexSessions(trx, tenantId, sessionIndexedSeq, head.seq);
        sessionIndexedSeq = head.seq;
      }
      return sealed.records;
    },
  };
}

type AuditRow = ReturnType<typeof auditToRow>;

const AUDIT_COLUMNS = [...STORED_AUDIT_FIELDS, "result"] as const satisfies readonly (keyof AuditRow)[];

const insertAuditRow = precompiled(AUDIT_COLUMNS, (db, value) =>
  db.insertInto(T.auditLog).values(value as unknown as AuditRow),
);

/** The chain head a batch moves to (`seq` is a placeholder's text while a statement is compiled). */
type HeadValues = { tenant: string; seq: number | string; hash: string };

const moveHead = precompiled(["tenant", "seq", "hash"], (db, p) => moveHeadTo(db, p));

function moveHeadTo(db: Pick<Db, "updateTable">, head: HeadValues) {
  return db
    .updateTable(T.auditHeads)
    .set({ seq: head.seq as number, hash: head.hash })
    .where("tenant_id", "=", head.tenant);
}

/**
 * PostgreSQL's append as one statement: the insert, the counts' upsert and the head move (data-modifying CTEs).
 * Kept compiled per shape for the small appends of group-committed calls.
 */
const postgresAppend = precompiledByShape(
  (shape: { records: number; counts: number }) =>
    keyUpToMaxRows(Math.max(shape.records, shape.counts), `${shape.records}:${shape.counts}`),
  (db, shape, parameter) => {
    const rows = rowPlaceholders("a", shape.records, AUDIT_COLUMNS, parameter) as unknown as AuditRow[];
    const counts = rowPlaceholders("c", shape.counts, COUNT_COLUMNS, parameter) as unknown as CountRow[];
    const inserted = db.with("appended", (trx) => trx.insertInto(T.auditLog).values(rows));
    const counted =
      counts.length > 0 ? inserted.with("counted", (trx) => upsertCounts(trx, "postgres", counts)) : inserted;
    return moveHeadTo(counted, { tenant: parameter("tenant"), seq: parameter("seq"), hash: parameter("hash") });
  },
);

/** Inserts rows of sealed records, in statements sized for the engine. */
async function insertRows(trx: Db, dialect: KyselyDialectName, rows: readonly AuditRow[]): Promise<void> {
  if (dialect === "sqlite") {
    // One precompiled insert run per row: SQLite has no round trips to save, and it ran a many-row INSERT at more
    // than twice the cost per row (38 against 16 µs, timed inside a governed-call bench; a stream's batches
    // took 10% less CPU per event row by row).
    for (const row of rows) await insertAuditRow(trx, row as Record<(typeof AUDIT_COLUMNS)[number], unknown>);
    return;
  }
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    await trx
      .insertInto(T.auditLog)
      .values(rows.slice(start, start + INSERT_CHUNK))
      .execute();
  }
}

/** Identifies an upstream event within a tenant: its session (possibly none) and its id. */
function eventKey(sessionId: string | null, eventId: string): string {
  // As stored: lone surrogates are replaced before sealing, so compare the replaced text.
  return JSON.stringify([wellFormed(sessionId), wellFormed(eventId)]);
}

/**
 * `entries` without those whose `(session_id, event_id)` is already stored for the tenant or appears earlier in
 * the batch. Entries without an event id are always kept. Call it while holding the head lock (`lockChain`), so
 * no other writer can store one of these events between the check and the append.
 *
 * The read is a plain one. On MySQL/MariaDB (REPEATABLE READ) that is still current: a transaction's snapshot is
 * taken at its first plain read, and the head lock was taken before by locking statements only, so the snapshot
 * includes everything the previous holder of the lock committed.
 */
export async function withoutStoredEvents(
  trx: Db,
  tenantId: string,
  entries: readonly AuditEntry[],
): Promise<AuditEntry[]> {
  const bySession = new Map<string | null, Set<string>>();
  for (const entry of entries) {
    if (entry.event_id === null) continue;
    const sessionId = wellFormed(entry.session_id);
    const ids = bySession.get(sessionId) ?? new Set<string>();
    ids.add(wellFormed(entry.event_id));
    bySession.set(sessionId, ids);
  }
  const seen = new Set<string>();
  for (const [sessionId, ids] of bySession) {
    const all = [...ids];
    for (let start = 0; start < all.length; start += INSERT_CHUNK) {
      let query = trx
        .selectFrom(T.auditLog)
        .select("event_id")
        .where("tenant_id", "=", tenantId)
        .where("event_id", "in", all.slice(start, start + INSERT_CHUNK));
      query = sessionId === null ? query.where("session_id", "is", null) : query.where("session_id", "=", sessionId);
      for (const row of await query.execute()) {
        if (row.event_id !== null) seen.add(eventKey(sessionId, row.event_id));
      }
    }
  }
  return entries.filter((entry) => {
    if (entry.event_id === null) return true;
    const key = eventKey(entry.session_id, entry.event_id);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// SQLite needs no row lock (see lockChain).
const selectHead = precompiledByShape(
  (shape: { lock: boolean }) => String(shape.lock),
  (db, shape, parameter) => {
    const query = db
      .selectFrom(T.auditHeads)
      .select(["seq", "hash", "session_indexed_seq"])
      .where("tenant_id", "=", parameter("tenant"));
    return shape.lock ? query.forUpdate() : query;
  },
);

/** The head, and how far the session index reaches (see `session-records.ts`). */
type LockedHead = { head: AuditHead; sessionIndexedSeq: number };

async function lockHead(trx: Db, dialect: KyselyDialectName, name: string, tenantId: string): Promise<LockedHead> {
  const select = async () => (await selectHead(trx, { lock: dialect !== "sqlite" }, { tenant: tenantId })).rows[0];
  // Built only when needed: building it cost more than the head read it is a fallback of.
  const insert = () => trx.insertInto(T.auditHeads).values({ tenant_id: tenantId, seq: 0, hash: GENESIS_HASH });

  let row: { seq: number | string | bigint; hash: string; session_indexed_seq: number | string | bigint } | undefined;
  if (dialect === "mysql") {
    // Insert-or-touch first: it locks the row whether or not it existed. A locking read of a missing row would
    // take a gap lock instead, and two new tenants' first appends would deadlock.
    await insert()
      .onDuplicateKeyUpdate({ tenant_id: (eb) => eb.ref("tenant_id") })
      .execute();
    row = await select();
  } else {
    row = await select();
    if (!row) {
      // A racing creator's uncommitted insert makes ours wait, then do nothing; the read below locks its row.
      await insert()
        .onConflict((oc) => oc.column("tenant_id").doNothing())
        .execute();
      row = await select();
    }
  }
  if (!row) throw new StorageError(name, "The audit chain head could not be locked");
  return { head: { seq: toNumber(row.seq), hash: row.hash }, sessionIndexedSeq: toNumber(row.session_indexed_seq) };
}
