import { availableParallelism } from "node:os";
import type { Kysely } from "kysely";
import { GENESIS_HASH } from "../../audit/chain.js";
import type { AuditEntry, AuditRecord } from "../../audit/types.js";
import { ConfigError, VargateError } from "../../errors.js";
import type { AuditResult } from "../../sessions/types.js";
import type { LockedDecision, LockedDecisionRecord, VargateStorage } from "../port.js";
import { type Audited, type LockedChain, lockChain, withoutStoredEvents } from "./audit-chain.js";
import { scanStoredAudit } from "./audit-read.js";
import { isOneResultStatement, type RecordKey, setRecordResults } from "./audit-results.js";
import { checkpointStore } from "./checkpoints.js";
import { decisionInputStore } from "./decision-inputs.js";
import { isUniqueViolation } from "./dialects.js";
import { approvalStore, credentialStore, insertApproval, policyStore } from "./governance.js";
import { groupCommit } from "./group-commit.js";
import { appendInOrder, type ChainWrite } from "./locked-decision.js";
import { migrateVargate } from "./migrations/index.js";
import {
  agentChangesToRow,
  agentFromRow,
  agentToRow,
  apiKeyFromRow,
  apiKeyToRow,
  auditFromRow,
  tenantChangesToRow,
  tenantFromRow,
  tenantToRow,
  toNumber,
} from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T } from "./schema.js";
import { sessionRecords, sessionRecordsPage } from "./session-records.js";
import { consumerStore, sessionStore, settingStore } from "./sessions.js";
import { checkSqliteChainParts } from "./sqlite-chain-parts.js";
import { countByTool } from "./tool-counts.js";
import { type Db, Rollback, Runner } from "./transactions.js";

// Ids per `IN (...)` list: far below every engine's bound-parameter limit.
const IN_CHUNK = 500;

export interface KyselyStorageOptions {
  /** The engine behind `db`. Given explicitly; vargate never guesses it from the connection. */
  dialect: KyselyDialectName;
  /**
   * Your Kysely instance. vargate queries it without your plugins (so `CamelCasePlugin` and friends do not
   * rename its columns) and leaves its lifecycle to you unless `destroyOnClose` is set.
   */
  // biome-ignore lint/suspicious/noExplicitAny: accepts any application's Kysely, whatever its database type.
  db: Kysely<any>;
  /**
   * Whether several processes may share this database. @default true; pass `false` for SQLite `:memory:`, which
   * no other process can open.
   */
  multiProcess?: boolean;
  /** SQLite: how long an operation waits for another connection's write lock before failing. @default 15000 */
  busyTimeoutMs?: number;
  /** Call `db.destroy()` from `close()`. @default false (you brought the instance, you destroy it) */
  destroyOnClose?: boolean;
  /**
   * SQLite files: worker threads that verify a long chain side by side, each reading its part on its own
   * read-only connection. Below 2, verification reads on the calling thread.
   * @default the machine's available parallelism, at most 8
   */
  verifyThreads?: number;
}

const DIALECTS: readonly KyselyDialectName[] = ["sqlite", "postgres", "mysql"];
const DEFAULT_BUSY_TIMEOUT_MS = 15_000;
const MAX_VERIFY_THREADS = 8;

/**
 * vargate storage on a Kysely instance you provide: SQLite (better-sqlite3), PostgreSQL (pg) or MySQL/MariaDB
 * (mysql2). Tables are prefixed `vargate_`; call `migrate()` (or `governor.migrate()`) before use.
 *
 * Guarantees: every audited mutation writes its change and its sealed audit record in one transaction, after
 * locking the tenant's chain head, so the chain stays linear across any number of processes sharing the
 * database. Timestamps and JSON round-trip exactly; numbers come back as numbers on every dialect. Driver
 * failures surface as `StorageError` without SQL or connection details (the driver error is the `cause`).
 */
export function kyselyStorage(options: KyselyStorageOptions): VargateStorage {
  if (!options || typeof options !== "object") throw new ConfigError("kyselyStorage: expected an options object");
  const { dialect } = options;
  if (!DIALECTS.includes(dialect)) {
    throw new ConfigError(`kyselyStorage: dialect must be one of ${DIALECTS.join(", ")}`);
  }
  if (typeof options.db?.withoutPlugins !== "function") {
    throw new ConfigError("kyselyStorage: db must be a Kysely instance");
  }
  const owned = options.db as unknown as Db;
  const db = owned.withoutPlugins();
  const name = `kysely:${dialect}`;
  const verifyThreads = options.verifyThreads ?? Math.min(availableParallelism(), MAX_VERIFY_THREADS);
  let closed = false;
  const runner = new Runner({
    name,
    dialect,
    db,
    busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    isClosed: () => closed,
  });

  // The one way an audited mutation runs: a write transaction that locks the tenant's chain head first.
  const audited: Audited = (operation, tenantId, fn) =>
    runner.write(operation, async (trx) => fn(trx, await lockChain(trx, dialect, name, tenantId)));

  // Group commit: audit writes of one tenant that arrive while its previous write transaction runs wait, and then
  // go in one transaction: one head lock, one insert, one commit for every append in it. A lone write starts at
  // once. On SQLite, results share the appends' queue: there is one writer, so a transaction of their own would
  // be one more commit (an fsync) in line. Elsewhere they have their own: they need no chain head, and holding it
  // for them would stretch the lock every appender of the tenant waits on.
  const tenantWrite = groupCommit<TenantWrite, TenantWritten>({
    queue: (write) =>
      dialect === "sqlite" ? write.tenantId : `${write.kind === "result" ? "result" : "chain"}\u0000${write.tenantId}`,
    size: (write) => (write.kind === "append" ? write.entries.length : 1),
    maxSize: MAX_GROUP_ENTRIES,
    alone: (write) => {
      const { tenantId } = write;
      switch (write.kind) {
        case "append":
          return audited("audit.append", tenantId, (_trx, chain) => chain.append(write.entries));
        case "decide":
          return audited("audit.decideAndAppend", tenantId, async (trx, chain) => {
            const [decided] = await appendInOrder(trx, chain, { dialect, name, tenantId }, [write]);
            return decided as LockedDecisionRecord;
          });
        case "result":
          return runner.run(
            "audit.setResult",
            async (db) => (await setRecordResults(db, tenantId, [write]))[0] === true,
          );
      }
    },
    together(batch) {
      const tenantId = (batch[0] as TenantWrite).tenantId;
      const results = batch.filter((write) => write.kind === "result");
      const outcomes = async (trx: Db, chain: LockedChain | null) => {
        // Appends carry `entries` and decisions `call`: each is a ChainWrite as it is.
        const writes = batch.filter((write): write is ChainWrite & TenantWrite => write.kind !== "result");
        const appended = chain ? await appendInOrder(trx, chain, { dialect, name, tenantId }, writes) : [];
        const matched = await setRecordResults(trx, tenantId, results);
        let [append, result] = [0, 0];
        return batch.map((write) =>
          write.kind === "result" ? (matched[result++] as boolean) : (appended[append++] as TenantWritten),
        );
      };
      // Results alone never touch the chain, so they take no head lock; one UPDATE is atomic without a
      // transaction around it (a BEGIN and a COMMIT fewer: two round trips on a server database).
      if (results.length === batch.length) {
        if (isOneResultStatement(results)) return runner.run("audit.setResult", (db) => outcomes(db, null));
        return runner.write("audit.setResult", (trx) => outcomes(trx, null));
      }
      return audited("audit.append", tenantId, outcomes);
    },
  });

  const storage: VargateStorage = {
    name,
    capabilities: { multiProcess: options.multiProcess ?? true },

    async migrate() {
      await runner.run("migrate", () => migrateVargate(db, dialect));
    },

    async close() {
      if (closed) return;
      closed = true;
      if (options.destroyOnClose) await owned.destroy();
    },

    tenants: {
      async create(tenant, firstKey, audit) {
        await audited("tenants.create", tenant.tenant_id, async (trx, chain) => {
          try {
            await trx.insertInto(T.tenants).values(tenantToRow(tenant)).execute();
          } catch (error) {
            if (isUniqueViolation(dialect, error)) throw new VargateError("TENANT_EXISTS");
            throw error;
          }
          await trx.insertInto(T.apiKeys).values(apiKeyToRow(firstKey)).execute();
          await chain.append([audit]);
        });
      },
      get(tenantId) {
        return runner.run("tenants.get", async (db) => {
          const row = await db.selectFrom(T.tenants).selectAll().where("tenant_id", "=", tenantId).executeTakeFirst();
          return row ? tenantFromRow(row) : null;
        });
      },
      list() {
        return runner.run("tenants.list", async (db) => {
          const rows = await db.selectFrom(T.tenants).selectAll().orderBy("tenant_id", "asc").execute();
          return rows.map(tenantFromRow);
        });
      },
      update(tenantId, changes, audit) {
        return audited("tenants.update", tenantId, async (trx, chain) => {
          // A locking read (after the head's lock, like every audited write): it tells a missing tenant from an
          // update that changed nothing (MySQL counts changed rows, not matched ones), and on MySQL it reads the
          // latest committed row whatever the transaction's snapshot.
          const select = trx.selectFrom(T.tenants).select("tenant_id").where("tenant_id", "=", tenantId);
          const found = await (dialect === "sqlite" ? select : select.forUpdate()).executeTakeFirst();
          if (!found) throw new Rollback(null);
          const row = tenantChangesToRow(changes);
          if (Object.keys(row).length > 0) {
            await trx.updateTable(T.tenants).set(row).where("tenant_id", "=", tenantId).execute();
          }
          await chain.append([audit]);
          const updated = await trx
            .selectFrom(T.tenants)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .executeTakeFirstOrThrow();
          return tenantFromRow(updated);
        });
      },
    },

    apiKeys: {
      async create(key, audit, options = {}) {
        await audited("apiKeys.create", key.tenant_id, async (trx, chain) => {
          const { revokeOthersAt } = options;
          if (revokeOthersAt !== undefined) {
            // Before the insert, so the new key is not among the "others".
            await trx
              .updateTable(T.apiKeys)
              .set({ revoked_at: revokeOthersAt })
              .where("tenant_id", "=", key.tenant_id)
              .where("revoked_at", "is", null)
              .execute();
          }
          await trx.insertInto(T.apiKeys).values(apiKeyToRow(key)).execute();
          await chain.append([audit]);
        });
      },
      findByHash(keyHash) {
        return runner.run("apiKeys.findByHash", async (db) => {
          const row = await db.selectFrom(T.apiKeys).selectAll().where("key_hash", "=", keyHash).executeTakeFirst();
          return row ? apiKeyFromRow(row) : null;
        });
      },
      list(tenantId) {
        return runner.run("apiKeys.list", async (db) => {
          const rows = await db
            .selectFrom(T.apiKeys)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .orderBy("created_at", "desc")
            .orderBy("key_id", "desc")
            .execute();
          return rows.map(apiKeyFromRow);
        });
      },
      revoke(tenantId, revokedAt, audit, keyId) {
        return audited("apiKeys.revoke", tenantId, async (trx, chain) => {
          let query = trx
            .updateTable(T.apiKeys)
            .set({ revoked_at: revokedAt })
            .where("tenant_id", "=", tenantId)
            .where("revoked_at", "is", null);
          if (keyId !== undefined) query = query.where("key_id", "=", keyId);
          const changed = Number((await query.executeTakeFirst()).numUpdatedRows);
          // Nothing changed: no audit record, and roll back so not even a new chain head is left behind.
          if (changed === 0) throw new Rollback(0);
          await chain.append([audit]);
          return changed;
        });
      },
    },

    agents: {
      async create(config, audit) {
        await audited("agents.create", config.tenant_id, async (trx, chain) => {
          await trx.insertInto(T.agentConfigs).values(agentToRow(config)).execute();
          await chain.append([audit]);
        });
      },
      get(tenantId, agentId) {
        return runner.run("agents.get", async (db) => {
          const row = await db
            .selectFrom(T.agentConfigs)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .where("id", "=", agentId)
            .executeTakeFirst();
          return row ? agentFromRow(row) : null;
        });
      },
      list(tenantId) {
        return runner.run("agents.list", async (db) => {
          const rows = await db
            .selectFrom(T.agentConfigs)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .orderBy("created_at", "desc")
            .orderBy("id", "desc")
            .execute();
          return rows.map(agentFromRow);
        });
      },
      update(tenantId, agentId, changes, { expectedVersion, updatedAt, audit }) {
        return audited("agents.update", tenantId, async (trx, chain) => {
          // Compare-and-set: the version check and the bump are one statement.
          const result = await trx
            .updateTable(T.agentConfigs)
            .set((eb) => ({ ...agentChangesToRow(changes), updated_at: updatedAt, version: eb("version", "+", 1) }))
            .where("tenant_id", "=", tenantId)
            .where("id", "=", agentId)
            .where("version", "=", expectedVersion)
            .executeTakeFirst();
          if (Number(result.numUpdatedRows) === 0) throw new Rollback(null);
          await chain.append([audit]);
          // Read back inside the transaction (no RETURNING: MariaDB lacks it for UPDATE).
          const row = await trx
            .selectFrom(T.agentConfigs)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .where("id", "=", agentId)
            .executeTakeFirstOrThrow();
          return agentFromRow(row);
        });
      },
      setUpstreamAgent(tenantId, agentId, upstreamAgentId) {
        return runner.write("agents.setUpstreamAgent", async (trx) => {
          // Set-if-null in one statement; the read-back names whichever id won.
          await trx
            .updateTable(T.agentConfigs)
            .set({ anthropic_agent_id: upstreamAgentId })
            .where("tenant_id", "=", tenantId)
            .where("id", "=", agentId)
            .where("anthropic_agent_id", "is", null)
            .execute();
          const row = await trx
            .selectFrom(T.agentConfigs)
            .select("anthropic_agent_id")
            .where("tenant_id", "=", tenantId)
            .where("id", "=", agentId)
            .executeTakeFirst();
          return row?.anthropic_agent_id ?? null;
        });
      },
    },

    audit: {
      append(tenantId, entries) {
        // Nothing to seal: no transaction, so not even an empty chain head is created.
        if (entries.length === 0) return runner.run("audit.append", async () => []);
        return tenantWrite({ kind: "append", tenantId, entries }) as Promise<AuditRecord[]>;
      },
      head(tenantId) {
        return runner.run("audit.head", async (db) => {
          const row = await db
            .selectFrom(T.auditHeads)
            .select(["seq", "hash"])
            .where("tenant_id", "=", tenantId)
            .executeTakeFirst();
          return row ? { seq: toNumber(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
        });
      },
      scan(tenantId, { afterSeq, limit }) {
        return runner.run("audit.scan", async (db) => {
          const rows = await db
            .selectFrom(T.auditLog)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .where("seq", ">", afterSeq)
            .orderBy("seq", "asc")
            .limit(limit)
            .execute();
          return rows.map(auditFromRow);
        });
      },
      checkChainParts(tenantId, throughSeq) {
        if (dialect !== "sqlite") return Promise.resolve(undefined);
        return runner.run("audit.checkChainParts", (db) =>
          checkSqliteChainParts(db, tenantId, throughSeq, verifyThreads),
        );
      },
      scanStored(tenantId, options) {
        return runner.run("audit.scanStored", (db) => scanStoredAudit(db, dialect, tenantId, options));
      },
      listBySession(tenantId, sessionId, { limit }) {
        return runner.run("audit.listBySession", async (db) => {
          const rows = await sessionRecordsPage(db, tenantId, sessionId, { limit }, (query) =>
            query.selectAll(T.auditLog),
          );
          return rows.map(auditFromRow);
        });
      },
      get(tenantId, actionId) {
        return runner.run("audit.get", async (db) => {
          const row = await db
            .selectFrom(T.auditLog)
            .selectAll()
            .where("tenant_id", "=", tenantId)
            .where("action_id", "=", actionId)
            .executeTakeFirst();
          return row ? auditFromRow(row) : null;
        });
      },
      appendEvents(tenantId, entries, { results, approvals } = {}) {
        if (entries.length === 0) return runner.run("audit.appendEvents", async () => []);
        return audited("audit.appendEvents", tenantId, async (trx, chain) => {
          const fresh = await withoutStoredEvents(trx, tenantId, entries);
          // Every event already stored: roll back, so not even a new chain head is left behind.
          if (fresh.length === 0) throw new Rollback([]);
          const records = await chain.append(fresh, results);
          for (const record of records) {
            const approval = record.event_id === null ? undefined : approvals?.get(record.event_id);
            if (!approval) continue;
            await insertApproval(trx, { dialect, name, tenantId }, approval);
          }
          return records;
        });
      },
      setResult(tenantId, sessionId, eventId, result) {
        const key = { session_id: sessionId, event_id: eventId };
        return tenantWrite({ kind: "result", tenantId, key, result }) as Promise<boolean>;
      },
      countBySession(tenantId, sessionIds) {
        return runner.run("audit.countBySession", async (db) => {
          const ids = [...new Set(sessionIds)];
          const counts = [];
          for (let start = 0; start < ids.length; start += IN_CHUNK) {
            const records = sessionRecords(db, tenantId, ids.slice(start, start + IN_CHUNK), {}, (query) =>
              query.select(["session_id", "source", "decision", "severity"]),
            );
            const rows = await db
              .selectFrom(records.as("records"))
              .select((eb) => [
                "session_id",
                "source",
                "decision",
                eb.fn.countAll().as("count"),
                eb.fn.sum(eb.case().when("severity", "<>", "none").then(1).else(0).end()).as("flagged"),
              ])
              .groupBy(["session_id", "source", "decision"])
              .execute();
            for (const row of rows) {
              counts.push({
                session_id: row.session_id as string,
                source: row.source,
                decision: row.decision,
                count: toNumber(row.count as number | string | bigint),
                flagged: toNumber((row.flagged ?? 0) as number | string | bigint),
              });
            }
          }
          return counts;
        });
      },
      countByTool(tenantId, filter) {
        // A Map, then own properties: a tool called `__proto__` must stay a count.
        return runner.run("audit.countByTool", async (db) =>
          Object.fromEntries(await countByTool(db, tenantId, filter)),
        );
      },
      setActionResult(tenantId, actionId, result) {
        return tenantWrite({ kind: "result", tenantId, key: { action_id: actionId }, result }) as Promise<boolean>;
      },
      decideAndAppend(tenantId, call) {
        return tenantWrite({ kind: "decide", tenantId, call }) as Promise<LockedDecisionRecord>;
      },
    },

    sessions: sessionStore({ runner, dialect, audited }),
    consumers: consumerStore({ runner, dialect }),
    settings: settingStore({ runner, dialect }),
    policies: policyStore({ runner, dialect, name, audited }),
    approvals: approvalStore({ runner, dialect, name, audited }),
    credentials: credentialStore({ runner, dialect, name, audited }),
    checkpoints: checkpointStore({ runner, dialect }),
    decisionInputs: decisionInputStore(runner, dialect, () => storage),
  };
  return storage;
}

/** A group-committed write of one tenant's audit log: an append, a decided append, or a stored record's result. */
type TenantWrite =
  | { kind: "append"; tenantId: string; entries: readonly AuditEntry[] }
  | { kind: "decide"; tenantId: string; call: LockedDecision }
  | { kind: "result"; tenantId: string; key: RecordKey; result: AuditResult };

/** What each `TenantWrite` gives back, by kind: the records, the decided record, whether a record matched. */
type TenantWritten = AuditRecord[] | LockedDecisionRecord | boolean;

// Entries per group-committed transaction: large enough to absorb any burst of callers, small enough that one
// transaction stays short.
const MAX_GROUP_ENTRIES = 1000;
