import type { ApprovalRecord } from "../../approvals/types.js";
import type { AuditEntry, AuditRecord } from "../../audit/types.js";
import type { DecisionCounters, LockedDecision, LockedDecisionRecord } from "../port.js";
import type { LockedChain } from "./audit-chain.js";
import { readCounters } from "./decision-inputs.js";
import { insertApproval } from "./governance.js";
import { toNumber, wellFormed } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T } from "./schema.js";
import { COUNTED_SOURCE } from "./tool-counts.js";
import { type Db, Passthrough } from "./transactions.js";

/** One write of a batch under the head lock: entries to append as they are, or a governed call to decide. */
export type ChainWrite = { entries: readonly AuditEntry[] } | { call: LockedDecision };

/** The fields of a record that policy counters look at, as stored (well-formed: see `countedOf`). */
type Counted = Pick<AuditEntry, "session_id" | "agent_id" | "tool" | "requested_at"> & { source: string };

/** An entry's (or a stored row's) counted fields as stored: lone surrogates replaced, as before a record is stored. */
function countedOf(entry: Counted): Counted {
  return {
    source: entry.source,
    session_id: wellFormed(entry.session_id),
    agent_id: wellFormed(entry.agent_id),
    tool: wellFormed(entry.tool),
    requested_at: wellFormed(entry.requested_at),
  };
}

/**
 * Appends `writes` in order, as one append, inside the transaction whose head lock `chain` holds; each governed
 * call (`audit.decideAndAppend`) is decided on the counters of every record before it: those stored, and those
 * of this batch ahead of it. Nothing can be appended by anyone else until the transaction ends.
 *
 * A call that brings counters read at an earlier head (`known`) gets them brought up to date with the governed
 * records stored since, read once for the whole batch; a call without them has its counters read here.
 */
export async function appendInOrder(
  trx: Db,
  chain: LockedChain,
  store: { dialect: KyselyDialectName; name: string; tenantId: string },
  writes: readonly ChainWrite[],
): Promise<(AuditRecord[] | LockedDecisionRecord)[]> {
  const head = chain.head().seq;
  // Counters read at a head past this one cannot be brought up to date: those calls read theirs here.
  const knownOf = (call: LockedDecision) => (call.known && call.known.seq <= head ? call.known : undefined);
  let oldest = head;
  for (const write of writes) {
    const known = "call" in write ? knownOf(write.call) : undefined;
    if (known) oldest = Math.min(oldest, known.seq);
  }
  const storedSince = oldest < head ? await recordsAfter(trx, store.tenantId, oldest) : [];

  const entries: AuditEntry[] = [];
  // `entries` as counters count them, made once per entry rather than once per later call.
  const counted: Counted[] = [];
  // Where each write's records sit in `entries`.
  const placed: ({ from: number; count: number } | { at: number; approval: ApprovalRecord | null })[] = [];
  for (const write of writes) {
    if ("entries" in write) {
      placed.push({ from: entries.length, count: write.entries.length });
      entries.push(...write.entries);
      counted.push(...write.entries.map(countedOf));
      continue;
    }
    const { call } = write;
    const known = knownOf(call);
    const before = known
      ? withRecords(
          known.counters,
          call.counters,
          storedSince.filter((record) => record.seq > known.seq),
        )
      : await readCounters(trx, store.dialect, store.tenantId, call.counters);
    let decided: ReturnType<LockedDecision["decide"]>;
    try {
      decided = call.decide(withRecords(before, call.counters, counted));
    } catch (error) {
      throw new Passthrough(error);
    }
    const { entry, approval } = decided;
    placed.push({ at: entries.length, approval });
    entries.push(entry);
    counted.push(countedOf(entry));
  }

  const records = await chain.append(entries);
  const written: (AuditRecord[] | LockedDecisionRecord)[] = [];
  for (const place of placed) {
    if ("from" in place) {
      written.push(records.slice(place.from, place.from + place.count));
      continue;
    }
    const { at, approval } = place;
    if (approval) await insertApproval(trx, store, approval);
    written.push({ record: records[at] as AuditRecord, approval });
  }
  return written;
}

/** The tenant's records after `seq`, with what policy counters look at. */
async function recordsAfter(trx: Db, tenantId: string, seq: number): Promise<(Counted & { seq: number })[]> {
  // No filter on `source`: with one, PostgreSQL may walk the source index over every governed record instead of
  // the primary key from `seq`. `withRecords` skips what does not count.
  const rows = await trx
    .selectFrom(T.auditLog)
    .select(["seq", "source", "session_id", "agent_id", "tool", "requested_at"])
    .where("tenant_id", "=", tenantId)
    .where("seq", ">", seq)
    .execute();
  return rows.map((row) => ({ ...countedOf(row), seq: toNumber(row.seq) }));
}

/** `counters` plus `records`, counted as `audit.countByTool` would count them for `target`. */
function withRecords(
  counters: DecisionCounters,
  target: LockedDecision["counters"],
  records: readonly Counted[],
): DecisionCounters {
  if (records.length === 0) return counters;
  // Maps, then own properties: a tool called `__proto__` stays a count.
  const session = new Map(Object.entries(counters.session));
  const agentSince = new Map(Object.entries(counters.agent_since));
  // Compared as stored: lone surrogates are replaced before a record is stored (`records` are already).
  const [sessionId, agentId] = [wellFormed(target.session_id), wellFormed(target.agent_id)];
  for (const record of records) {
    if (record.source !== COUNTED_SOURCE) continue;
    const tool = record.tool;
    if (record.session_id === sessionId) session.set(tool, (session.get(tool) ?? 0) + 1);
    if (record.agent_id === agentId && record.requested_at >= target.since) {
      agentSince.set(tool, (agentSince.get(tool) ?? 0) + 1);
    }
  }
  return { session: Object.fromEntries(session), agent_since: Object.fromEntries(agentSince) };
}
