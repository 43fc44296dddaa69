import { type SelectQueryBuilder, sql } from "kysely";
import { VargateError } from "../../errors.js";
import { assertWithinLimits } from "../../sessions/limits.js";
import type { SessionRecord } from "../../sessions/types.js";
import type { ConsumerStore, SessionStore, SettingStore } from "../port.js";
import type { Audited } from "./audit-chain.js";
import { precompiled } from "./precompiled.js";
import { consumerFromRow, sessionFromRow, sessionToRow, toNumber } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T, type VargateDatabase } from "./schema.js";
import { type Db, Rollback, type Runner } from "./transactions.js";

// Sessions, their stream consumers and governor-wide settings on Kysely. See storage.ts for the shared pieces.

interface StoreContext {
  runner: Runner;
  dialect: KyselyDialectName;
}

const OPEN_STATUSES = ["pending", "active"] as const;

type CountQuery = SelectQueryBuilder<VargateDatabase, typeof T.sessions, { count: number | string | bigint }>;

/**
 * Locks the tenant's row for the rest of the transaction, so reservations of one tenant run one at a time:
 * `SELECT … FOR UPDATE` on PostgreSQL and MySQL; on SQLite the write transaction (`BEGIN IMMEDIATE`) already
 * holds the file's write lock. Without a tenant row there is nothing to serialise on: `TENANT_NOT_FOUND`.
 */
async function lockTenant(trx: Db, dialect: KyselyDialectName, tenantId: string): Promise<void> {
  const query = trx.selectFrom(T.tenants).select("tenant_id").where("tenant_id", "=", tenantId);
  const row = await (dialect === "sqlite" ? query : query.forUpdate()).executeTakeFirst();
  if (!row) throw new VargateError("TENANT_NOT_FOUND");
}

/**
 * The counts `reserve` checks. Plain reads, made after `lockTenant`: PostgreSQL (READ COMMITTED) reads what is
 * committed when each statement starts; MySQL/MariaDB (REPEATABLE READ) takes the transaction's snapshot at its
 * first plain read, which is the first of these, made after the locking read returned. Either way the counts
 * include every session the previous holder of the tenant's lock inserted.
 */
async function countSessions(trx: Db, session: SessionRecord, windowStart: string) {
  const count = async (narrow: (query: CountQuery) => CountQuery): Promise<number> => {
    const query = trx
      .selectFrom(T.sessions)
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("count"))
      .where("tenant_id", "=", session.tenant_id);
    return toNumber((await narrow(query).executeTakeFirstOrThrow()).count);
  };
  return {
    concurrent: await count((query) => query.where("status", "in", OPEN_STATUSES)),
    daily: await count((query) => query.where("created_at", ">=", windowStart)),
    agentDaily: await count((query) =>
      query.where("agent_id", "=", session.agent_id).where("created_at", ">=", windowStart),
    ),
  };
}

// Every MCP request authenticates by its token: compiled once.
const sessionByTokenHash = precompiled(["tokenHash"], (db, p) =>
  db.selectFrom(T.sessions).selectAll().where("mcp_token_hash", "=", p.tokenHash),
);

export function sessionStore({ runner, dialect, audited }: StoreContext & { audited: Audited }): SessionStore {
  const read = (trx: Db, tenantId: string, sessionId: string) =>
    trx
      .selectFrom(T.sessions)
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("id", "=", sessionId)
      .executeTakeFirstOrThrow()
      .then(sessionFromRow);

  return {
    async reserve(session, limits) {
      await runner.write("sessions.reserve", async (trx) => {
        // The lock comes first: on MySQL a plain read before it would fix a snapshot that misses the sessions
        // inserted by whoever held the lock before us (see countSessions).
        await lockTenant(trx, dialect, session.tenant_id);
        assertWithinLimits(await countSessions(trx, session, limits.windowStart), limits);
        await trx.insertInto(T.sessions).values(sessionToRow(session)).execute();
      });
    },

    async release(tenantId, sessionId) {
      await runner.run("sessions.release", (db) =>
        db
          .deleteFrom(T.sessions)
          .where("tenant_id", "=", tenantId)
          .where("id", "=", sessionId)
          .where("status", "=", "pending")
          .execute(),
      );
    },

    activate(tenantId, sessionId, upstream, audit) {
      return audited("sessions.activate", tenantId, async (trx, chain) => {
        // Compare-and-set on `pending`, under the chain head's lock; a miss rolls back and writes nothing.
        const result = await trx
          .updateTable(T.sessions)
          .set({
            status: "active",
            anthropic_session_id: upstream.anthropic_session_id,
            environment_id: upstream.environment_id,
            upstream_vault_id: upstream.upstream_vault_id,
          })
          .where("tenant_id", "=", tenantId)
          .where("id", "=", sessionId)
          .where("status", "=", "pending")
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) throw new Rollback(null);
        await chain.append([audit]);
        return read(trx, tenantId, sessionId);
      });
    },

    end(tenantId, sessionId, ending, audit) {
      return audited("sessions.end", tenantId, async (trx, chain) => {
        // Compare-and-set on `active`: of two racing ends, the second finds no active row and writes nothing.
        const result = await trx
          .updateTable(T.sessions)
          .set({ status: ending.status, ended_at: ending.ended_at, end_reason: ending.end_reason })
          .where("tenant_id", "=", tenantId)
          .where("id", "=", sessionId)
          .where("status", "=", "active")
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) throw new Rollback(null);
        await chain.append([audit]);
        return read(trx, tenantId, sessionId);
      });
    },

    get(tenantId, sessionId) {
      return runner.run("sessions.get", async (db) => {
        const row = await db
          .selectFrom(T.sessions)
          .selectAll()
          .where("tenant_id", "=", tenantId)
          .where("id", "=", sessionId)
          .executeTakeFirst();
        return row ? sessionFromRow(row) : null;
      });
    },

    findByMcpTokenHash(tokenHash) {
      return runner.run("sessions.findByMcpTokenHash", async (db) => {
        const [row] = await sessionByTokenHash(db, { tokenHash });
        return row ? sessionFromRow(row) : null;
      });
    },

    list(tenantId, filter) {
      return runner.run("sessions.list", async (db) => {
        let query = db.selectFrom(T.sessions).selectAll().where("tenant_id", "=", tenantId);
        if (filter.status !== undefined) query = query.where("status", "=", filter.status);
        if (filter.agent_id !== undefined) query = query.where("agent_id", "=", filter.agent_id);
        const rows = await query.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
        return rows.map(sessionFromRow);
      });
    },

    listActive() {
      return runner.run("sessions.listActive", async (db) => {
        const rows = await db
          .selectFrom(T.sessions)
          .selectAll()
          .where("status", "=", "active")
          .orderBy("created_at", "asc")
          .orderBy("id", "asc")
          .execute();
        return rows.map(sessionFromRow);
      });
    },
  };
}

export function consumerStore({ runner, dialect }: StoreContext): ConsumerStore {
  const read = (db: Db, tenantId: string, sessionId: string) =>
    db
      .selectFrom(T.consumers)
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("session_id", "=", sessionId)
      .executeTakeFirst();

  return {
    claim(tenantId, sessionId, { owner, now, expiresAt }) {
      return runner.write("consumers.claim", async (trx) => {
        // Create the row, unowned, if it is missing. On MySQL an insert-or-touch, which takes the row's
        // exclusive lock either way (INSERT IGNORE would take a shared one, and two claimers upgrading their
        // shared locks would deadlock).
        const insert = trx.insertInto(T.consumers).values({
          session_id: sessionId,
          tenant_id: tenantId,
          event_cursor: null,
          events_processed: 0,
          owner: null,
          lease_expires_at: null,
          status: "stopped",
          connected_since: null,
        });
        await (dialect === "mysql"
          ? insert.onDuplicateKeyUpdate({ session_id: (eb) => eb.ref("session_id") })
          : insert.onConflict((oc) => oc.column("session_id").doNothing())
        ).execute();
        // The conditional write: it takes the lease only if it is free, expired or already ours. Racing claimers
        // queue on the row lock and each re-evaluates the condition on the winner's committed row.
        await trx
          .updateTable(T.consumers)
          .set((eb) => ({
            // Before `owner`: MySQL assigns left to right, so these must still read the previous owner.
            status: eb.case().when("owner", "=", owner).then(eb.ref("status")).else("reconnecting").end(),
            connected_since: eb
              .case()
              .when("owner", "=", owner)
              .then(eb.ref("connected_since"))
              .else(eb.lit(null))
              .end(),
            owner,
            lease_expires_at: expiresAt,
          }))
          .where("tenant_id", "=", tenantId)
          .where("session_id", "=", sessionId)
          .where((eb) =>
            eb.or([
              eb("owner", "is", null),
              eb("owner", "=", owner),
              eb("lease_expires_at", "is", null),
              eb("lease_expires_at", "<", now),
            ]),
          )
          .execute();
        // The row as it stands: ours if the write won (or we already held it), someone else's otherwise.
        const row = await read(trx, tenantId, sessionId);
        return row && row.owner === owner ? consumerFromRow(row) : null;
      });
    },

    advance(tenantId, sessionId, progress) {
      return runner.run("consumers.advance", async (db) => {
        const result = await db
          .updateTable(T.consumers)
          .set({
            event_cursor: progress.cursor,
            events_processed: sql<number>`${sql.ref("events_processed")} + ${progress.processed}`,
            status: progress.status,
            connected_since: progress.connectedSince,
            lease_expires_at: progress.expiresAt,
          })
          .where("tenant_id", "=", tenantId)
          .where("session_id", "=", sessionId)
          .where("owner", "=", progress.owner)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) > 0) return true;
        // MySQL without FOUND_ROWS counts changed rows only: a write of identical values reports 0.
        return (await read(db, tenantId, sessionId))?.owner === progress.owner;
      });
    },

    async release(tenantId, sessionId, owner) {
      await runner.run("consumers.release", (db) =>
        db
          .updateTable(T.consumers)
          .set({ owner: null, lease_expires_at: null, status: "stopped", connected_since: null })
          .where("tenant_id", "=", tenantId)
          .where("session_id", "=", sessionId)
          .where("owner", "=", owner)
          .execute(),
      );
    },

    get(tenantId, sessionId) {
      return runner.run("consumers.get", async (db) => {
        const row = await read(db, tenantId, sessionId);
        return row ? consumerFromRow(row) : null;
      });
    },

    list(tenantId) {
      return runner.run("consumers.list", async (db) => {
        const rows = await db
          .selectFrom(T.consumers)
          .leftJoin(T.sessions, (join) =>
            join
              .onRef(`${T.sessions}.id`, "=", `${T.consumers}.session_id`)
              .onRef(`${T.sessions}.tenant_id`, "=", `${T.consumers}.tenant_id`),
          )
          .selectAll(T.consumers)
          .where(`${T.consumers}.tenant_id`, "=", tenantId)
          .where(`${T.consumers}.status`, "<>", "stopped")
          // A consumer whose session row is gone sorts first on every engine (NULLs would not).
          .orderBy(sql`coalesce(${sql.ref(`${T.sessions}.created_at`)}, '')`)
          .orderBy(`${T.consumers}.session_id`, "asc")
          .execute();
        return rows.map(consumerFromRow);
      });
    },
  };
}

export function settingStore({ runner, dialect }: StoreContext): SettingStore {
  const read = async (db: Db, name: string) =>
    (await db.selectFrom(T.settings).select("value").where("name", "=", name).executeTakeFirst())?.value ?? null;

  return {
    get(key) {
      return runner.run("settings.get", (db) => read(db, key));
    },
    putIfAbsent(key, value) {
      return runner.run("settings.putIfAbsent", async (db) => {
        // Insert-if-absent: a racing insert of the same key makes this one wait for it, then do nothing.
        const insert = db.insertInto(T.settings).values({ name: key, value });
        await (dialect === "mysql"
          ? insert.onDuplicateKeyUpdate({ name: (eb) => eb.ref("name") })
          : insert.onConflict((oc) => oc.column("name").doNothing())
        ).execute();
        const stored = await read(db, key);
        if (stored === null) throw new Error("settings.putIfAbsent: the setting vanished after its insert");
        return stored;
      });
    },
  };
}
