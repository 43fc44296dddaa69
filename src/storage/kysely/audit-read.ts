import {
  STORED_AUDIT_FIELDS,
  type StoredAuditField,
  type StoredAuditRecord,
  type StoredAuditScan,
} from "../../audit/types.js";
import { toNumber } from "./rows.js";
import { VARGATE_TABLES as T } from "./schema.js";
import type { Db } from "./transactions.js";

const KNOWN_FIELDS: ReadonlySet<string> = new Set(STORED_AUDIT_FIELDS);

/**
 * `audit.scanStored`: one page of a tenant's records with only the columns asked for, the JSON columns as their
 * stored text and no row mapping beyond numbers (pg returns int8 as a string). The session filter reads the
 * `(tenant_id, session_id, seq)` index.
 */
export async function scanStoredAudit<Field extends StoredAuditField>(
  db: Db,
  tenantId: string,
  options: StoredAuditScan<Field>,
): Promise<Pick<StoredAuditRecord, Field | "seq">[]> {
  const fields: readonly StoredAuditField[] = options.fields ?? STORED_AUDIT_FIELDS;
  const columns: StoredAuditField[] = ["seq"];
  for (const field of fields) {
    // Column names go into SQL: only the known ones, whatever a caller typed.
    if (!KNOWN_FIELDS.has(field)) throw new TypeError(`scanStored: unknown field ${String(field)}`);
    if (field !== "seq" && !columns.includes(field)) columns.push(field);
  }
  let query = db
    .selectFrom(T.auditLog)
    .select(columns)
    .where("tenant_id", "=", tenantId)
    .where("seq", ">", options.afterSeq);
  if (options.sessionId !== undefined) query = query.where("session_id", "=", options.sessionId);
  if (options.source !== undefined) query = query.where("source", "=", options.source);
  const rows = (await query.orderBy("seq", "asc").limit(options.limit).execute()) as unknown as Record<
    string,
    unknown
  >[];
  const version = columns.includes("policy_version");
  for (const row of rows) {
    if (typeof row.seq !== "number") row.seq = toNumber(row.seq as string | bigint);
    if (version && row.policy_version !== null && typeof row.policy_version !== "number") {
      row.policy_version = toNumber(row.policy_version as string | bigint);
    }
  }
  return rows as unknown as Pick<StoredAuditRecord, Field | "seq">[];
}
