import type { ApprovalRecord } from "../../approvals/types.js";
import { StorageError } from "../../errors.js";
import type { ApprovalStore, CredentialRecordStore, PolicyStore } from "../port.js";
import type { Audited } from "./audit-chain.js";
import { isUniqueViolation } from "./dialects.js";
import {
  approvalFromRow,
  approvalToRow,
  credentialFromRow,
  credentialToRow,
  policyFromRow,
  policyToRow,
  resultToText,
  toNumber,
} from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T } from "./schema.js";
import { type Db, Rollback, type Runner } from "./transactions.js";

// Policy versions, approvals and credential ciphertexts on Kysely. See storage.ts for the shared pieces.

interface StoreContext {
  runner: Runner;
  dialect: KyselyDialectName;
  name: string;
  audited: Audited;
}

export function policyStore({ runner, dialect, audited }: StoreContext): PolicyStore {
  return {
    current(tenantId) {
      return runner.run("policies.current", async (db) => {
        const row = await db
          .selectFrom(T.policies)
          .selectAll()
          .where("tenant_id", "=", tenantId)
          .orderBy("version", "desc")
          .limit(1)
          .executeTakeFirst();
        return row ? policyFromRow(row) : null;
      });
    },

    currentVersion(tenantId) {
      return runner.run("policies.currentVersion", async (db) => {
        const row = await db
          .selectFrom(T.policies)
          .select("version")
          .where("tenant_id", "=", tenantId)
          .orderBy("version", "desc")
          .limit(1)
          .executeTakeFirst();
        return row ? toNumber(row.version) : null;
      });
    },

    get(tenantId, version) {
      return runner.run("policies.get", async (db) => {
        const row = await db
          .selectFrom(T.policies)
          .selectAll()
          .where("tenant_id", "=", tenantId)
          .where("version", "=", version)
          .executeTakeFirst();
        return row ? policyFromRow(row) : null;
      });
    },

    put(record, audit) {
      return audited("policies.put", record.tenant_id, async (trx, chain) => {
        // Every put of the tenant holds its chain head's lock, so this read sees the latest version. It is a plain
        // read made after the lock: on MySQL (REPEATABLE READ) the snapshot starts here, after the previous holder
        // committed (see withoutStoredEvents). The primary key (tenant_id, version) backs it up: an insert of a
        // version that exists fails, and is reported as a lost compare-and-set.
        const row = await trx
          .selectFrom(T.policies)
          .select((eb) => eb.fn.max("version").as("version"))
          .where("tenant_id", "=", record.tenant_id)
          .executeTakeFirst();
        const current = row?.version == null ? 0 : toNumber(row.version as number | string | bigint);
        if (current !== record.version - 1) throw new Rollback(false);
        try {
          await trx.insertInto(T.policies).values(policyToRow(record)).execute();
        } catch (error) {
          if (isUniqueViolation(dialect, error)) throw new Rollback(false);
          throw error;
        }
        await chain.append([audit]);
        return true;
      });
    },
  };
}

/**
 * Inserts a pending approval of `tenantId` inside an audited write; another tenant's approval, or an action id the
 * tenant already has, is a `StorageError`.
 */
export async function insertApproval(
  trx: Db,
  store: { dialect: KyselyDialectName; name: string; tenantId: string },
  approval: ApprovalRecord,
): Promise<void> {
  const { dialect, name } = store;
  if (approval.tenant_id !== store.tenantId) throw new StorageError(name, "The approval is another tenant's");
  try {
    await trx.insertInto(T.approvals).values(approvalToRow(approval)).execute();
  } catch (error) {
    if (isUniqueViolation(dialect, error)) {
      throw new StorageError(name, "Duplicate approval: the tenant already has one with this action_id", {
        cause: error,
      });
    }
    throw error;
  }
}

export function approvalStore({ runner, name, audited }: StoreContext): ApprovalStore {
  const read = (db: Db, tenantId: string, actionId: string) =>
    db
      .selectFrom(T.approvals)
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("action_id", "=", actionId)
      .executeTakeFirst();

  /** Every tenant's approvals with `column = value` whose `time` is at or before `at`, earliest first. */
  const due = (
    operation: string,
    [column, value]: ["status" | "execution", string],
    time: "expires_at" | "execution_claimed_at",
    at: string,
  ) =>
    runner.run(operation, async (db) => {
      const rows = await db
        .selectFrom(T.approvals)
        .selectAll()
        .where(column, "=", value)
        .where(time, "<=", at)
        .orderBy(time, "asc")
        .orderBy("tenant_id", "asc")
        .orderBy("action_id", "asc")
        .execute();
      return rows.map(approvalFromRow);
    });

  return {
    get(tenantId, actionId) {
      return runner.run("approvals.get", async (db) => {
        const row = await read(db, tenantId, actionId);
        return row ? approvalFromRow(row) : null;
      });
    },

    list(tenantId, filter) {
      return runner.run("approvals.list", async (db) => {
        let query = db.selectFrom(T.approvals).selectAll().where("tenant_id", "=", tenantId);
        if (filter.status !== undefined) query = query.where("status", "=", filter.status);
        if (filter.session_id !== undefined) query = query.where("session_id", "=", filter.session_id);
        const rows = await query
          .orderBy("requested_at", "desc")
          .orderBy("action_id", "desc")
          .limit(filter.limit)
          .execute();
        return rows.map(approvalFromRow);
      });
    },

    decide(tenantId, actionId, decision, audit) {
      return audited("approvals.decide", tenantId, async (trx, chain) => {
        // Compare-and-set on `pending`. The write always changes `status`, so MySQL's count of changed (not
        // matched) rows is exact here: 0 means no pending approval, and the rollback leaves no audit record.
        const result = await trx
          .updateTable(T.approvals)
          .set({
            status: decision.status,
            decided_at: decision.decided_at,
            decided_by: decision.decided_by,
            note: decision.note,
          })
          .where("tenant_id", "=", tenantId)
          .where("action_id", "=", actionId)
          .where("status", "=", "pending")
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) throw new Rollback(null);
        await chain.append([audit]);
        const row = await read(trx, tenantId, actionId);
        if (!row) throw new StorageError(name, "The decided approval vanished inside its transaction");
        return approvalFromRow(row);
      });
    },

    claimExecution(tenantId, actionId, claimedAt) {
      return runner.run("approvals.claimExecution", async (db) => {
        // One conditional UPDATE: racing claimers queue on the row lock and re-check the condition against the
        // winner's committed row, so exactly one changes it. It always changes `execution`, so the changed-row
        // count is exact on MySQL too.
        const result = await db
          .updateTable(T.approvals)
          .set({ execution: "claimed", execution_claimed_at: claimedAt })
          .where("tenant_id", "=", tenantId)
          .where("action_id", "=", actionId)
          .where("status", "=", "approved")
          .where("execution", "=", "none")
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0;
      });
    },

    async completeExecution(tenantId, actionId, result) {
      await runner.run("approvals.completeExecution", (db) =>
        db
          .updateTable(T.approvals)
          .set({ execution: "done", result: resultToText(result) })
          .where("tenant_id", "=", tenantId)
          .where("action_id", "=", actionId)
          // Only a claimed execution completes, once: a finished result is never overwritten.
          .where("execution", "=", "claimed")
          .execute(),
      );
    },

    listStaleExecutions(claimedBefore) {
      return due("approvals.listStaleExecutions", ["execution", "claimed"], "execution_claimed_at", claimedBefore);
    },

    listExpired(now) {
      return due("approvals.listExpired", ["status", "pending"], "expires_at", now);
    },
  };
}

export function credentialStore({ runner, dialect, audited }: StoreContext): CredentialRecordStore {
  return {
    async put(record, audit) {
      await audited("credentials.put", record.tenant_id, async (trx, chain) => {
        // Upsert: the row is replaced with exactly what the caller gave, `created_at` included.
        const row = credentialToRow(record);
        const replace = { ciphertext: row.ciphertext, created_at: row.created_at, updated_at: row.updated_at };
        const insert = trx.insertInto(T.credentials).values(row);
        await (dialect === "mysql"
          ? insert.onDuplicateKeyUpdate(replace)
          : insert.onConflict((oc) => oc.columns(["tenant_id", "name"]).doUpdateSet(replace))
        ).execute();
        await chain.append([audit]);
      });
    },

    get(tenantId, credentialName) {
      return runner.run("credentials.get", async (db) => {
        const row = await db
          .selectFrom(T.credentials)
          .selectAll()
          .where("tenant_id", "=", tenantId)
          .where("name", "=", credentialName)
          .executeTakeFirst();
        return row ? credentialFromRow(row) : null;
      });
    },

    list(tenantId) {
      return runner.run("credentials.list", async (db) => {
        const rows = await db
          .selectFrom(T.credentials)
          .select("name")
          .where("tenant_id", "=", tenantId)
          .orderBy("name", "asc")
          .execute();
        return rows.map((row) => row.name);
      });
    },

    delete(tenantId, credentialName, audit) {
      return audited("credentials.delete", tenantId, async (trx, chain) => {
        const result = await trx
          .deleteFrom(T.credentials)
          .where("tenant_id", "=", tenantId)
          .where("name", "=", credentialName)
          .executeTakeFirst();
        // Nothing deleted: no audit record, and roll back so not even a new chain head is left behind.
        if (Number(result.numDeletedRows) === 0) throw new Rollback(false);
        await chain.append([audit]);
        return true;
      });
    },
  };
}
