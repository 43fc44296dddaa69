import type { Insertable, Selectable } from "kysely";
import type { CheckpointRecord } from "../../checkpoints/types.js";
import type { CheckpointStore } from "../port.js";
import { toNumber } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T, type VargateCheckpointsTable } from "./schema.js";
import type { Db, Runner } from "./transactions.js";

// Signed Merkle checkpoints on Kysely. See storage.ts for the shared pieces.

export function checkpointStore({ runner, dialect }: { runner: Runner; dialect: KyselyDialectName }): CheckpointStore {
  const read = async (db: Db, tenantId: string, treeSize: number) => {
    const row = await db
      .selectFrom(T.checkpoints)
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("tree_size", "=", treeSize)
      .executeTakeFirst();
    return row ? checkpointFromRow(row) : null;
  };

  return {
    add(checkpoint) {
      return runner.run("checkpoints.add", async (db) => {
        // Insert-if-absent on the primary key: a racing insert of the same size makes this one wait, then do
        // nothing; the read-back returns whichever was stored.
        const insert = db.insertInto(T.checkpoints).values(checkpointToRow(checkpoint));
        await (dialect === "mysql"
          ? insert.onDuplicateKeyUpdate({ tenant_id: (eb) => eb.ref("tenant_id") })
          : insert.onConflict((oc) => oc.columns(["tenant_id", "tree_size"]).doNothing())
        ).execute();
        const stored = await read(db, checkpoint.tenant_id, checkpoint.tree_size);
        if (!stored) throw new Error("checkpoints.add: the checkpoint vanished after its insert");
        return stored;
      });
    },
    latest(tenantId) {
      return runner.run("checkpoints.latest", async (db) => {
        const row = await db
          .selectFrom(T.checkpoints)
          .selectAll()
          .where("tenant_id", "=", tenantId)
          .orderBy("tree_size", "desc")
          .limit(1)
          .executeTakeFirst();
        return row ? checkpointFromRow(row) : null;
      });
    },
    get(tenantId, treeSize) {
      return runner.run("checkpoints.get", (db) => read(db, tenantId, treeSize));
    },
    list(tenantId, { limit }) {
      return runner.run("checkpoints.list", async (db) => {
        if (limit <= 0) return [];
        const rows = await db
          .selectFrom(T.checkpoints)
          .selectAll()
          .where("tenant_id", "=", tenantId)
          .orderBy("tree_size", "desc")
          .limit(limit)
          .execute();
        return rows.map(checkpointFromRow);
      });
    },
  };
}

function checkpointToRow(checkpoint: CheckpointRecord): Insertable<VargateCheckpointsTable> {
  return {
    tenant_id: checkpoint.tenant_id,
    tree_size: checkpoint.tree_size,
    root_hash: checkpoint.root_hash,
    timestamp: checkpoint.timestamp,
    key_id: checkpoint.key_id,
    signature: checkpoint.signature,
  };
}

function checkpointFromRow(row: Selectable<VargateCheckpointsTable>): CheckpointRecord {
  return {
    tenant_id: row.tenant_id,
    tree_size: toNumber(row.tree_size),
    root_hash: row.root_hash,
    timestamp: row.timestamp,
    key_id: row.key_id,
    signature: row.signature,
  };
}
