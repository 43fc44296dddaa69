import { sql } from "kysely";
import { canonicalShape, HASHED_FIELDS } from "../../audit/chain.js";
import { withHashedText } from "../../audit/stored.js";
import {
  type ScannedAuditRecord,
  STORED_AUDIT_FIELDS,
  type StoredAuditField,
  type StoredAuditRecord,
  type StoredAuditScan,
} from "../../audit/types.js";
import { toNumber } from "./rows.js";
import { type KyselyDialectName, VARGATE_TABLES as T } from "./schema.js";
import { type AuditLogQuery, sessionRecordsPage, withinSeqs } from "./session-records.js";
import type { Db } from "./transactions.js";

const KNOWN_FIELDS: ReadonlySet<string> = new Set<StoredAuditField>([...STORED_AUDIT_FIELDS, "hashed_text"]);

/**
 * `audit.scanStored`: one page of a tenant's records with only the columns asked for, the JSON columns as their
 * stored text and no row mapping beyond numbers (pg returns int8 as a string). A session's records are read
 * through the session index (`sessionRecords`). `hashed_text` is joined by SQLite itself (`SQLITE_HASHED_TEXT`), and on
 * the other engines from the stored columns.
 */
export async function scanStoredAudit<Field extends StoredAuditField>(
  db: Db,
  dialect: KyselyDialectName,
  tenantId: string,
  options: StoredAuditScan<Field>,
): Promise<Pick<ScannedAuditRecord, Field | "seq">[]> {
  const fields: readonly StoredAuditField[] = options.fields ?? STORED_AUDIT_FIELDS;
  const columns: Exclude<StoredAuditField, "hashed_text">[] = ["seq"];
  let hashedText = false;
  for (const field of fields) {
    // Column names go into SQL: only the known ones, whatever a caller typed.
    if (!KNOWN_FIELDS.has(field)) throw new TypeError(`scanStored: unknown field ${String(field)}`);
    if (field === "hashed_text") hashedText = true;
    else if (field !== "seq" && !columns.includes(field)) columns.push(field);
  }
  // Elsewhere the text is joined below, from every stored column.
  const joinHere = hashedText && dialect !== "sqlite";
  const { afterSeq, throughSeq, sessionId, source, limit } = options;
  const shape = (query: AuditLogQuery) =>
    query
      .select(joinHere ? STORED_AUDIT_FIELDS : columns)
      .$if(hashedText && !joinHere, (q) => q.select(SQLITE_HASHED_TEXT.as("hashed_text")))
      .$if(source !== undefined, (q) => q.where("source", "=", source as string));
  let rows: Record<string, unknown>[];
  if (sessionId !== undefined) {
    rows = await sessionRecordsPage(db, tenantId, sessionId, { afterSeq, throughSeq, limit }, shape);
  } else {
    const all = withinSeqs(db.selectFrom(T.auditLog).where("tenant_id", "=", tenantId), { afterSeq, throughSeq });
    rows = await shape(all).orderBy("seq", "asc").limit(limit).execute();
  }
  const version = joinHere || columns.includes("policy_version");
  for (const row of rows) {
    if (typeof row.seq !== "number") row.seq = toNumber(row.seq as string | bigint);
    if (version && row.policy_version !== null && typeof row.policy_version !== "number") {
      row.policy_version = toNumber(row.policy_version as string | bigint);
    }
  }
  if (!joinHere) return rows as unknown as Pick<ScannedAuditRecord, Field | "seq">[];
  // Joined from every column, then only the fields asked for.
  return rows.map((row) => {
    const whole = withHashedText(row as unknown as StoredAuditRecord);
    const picked: Record<string, unknown> = { hashed_text: whole.hashed_text };
    for (const column of columns) picked[column] = whole[column];
    return picked as Pick<ScannedAuditRecord, Field | "seq">;
  });
}

/**
 * `hashed_text` joined by SQLite, as `storedRecordCanonicalJson` joins it: keys in RFC 8785 order, text columns
 * as JSON strings (`json_quote` escapes exactly as `JSON.stringify` does; a test compares them on every kind of
 * character), integers as they are, `input` and `violations` spliced in. Every value's type is checked first, so
 * that only the types vargate writes are joined: `json_quote` would write a BLOB as `null` and a REAL in its own
 * format. Anything else makes the whole text NULL, and so does an input text that is not one JSON value
 * (`json_valid`, strict RFC 8259), which is what makes a match sound (see `storedRecordCanonicalJson`). The text is
 * joined by one `concat` (SQLite 3.44 and later), not a chain of `||` that copies the growing text once per piece.
 * Joining in the database saves building a row object per record.
 */
export const SQLITE_HASHED_TEXT = sql<string | null>`${sql.raw(sqliteHashedText(canonicalShape(HASHED_FIELDS).keys))}`;

function sqliteHashedText(fields: readonly string[]): string {
  const checks = fields.map((field) => sqliteTypeCheck(`"${field}"`, field)).join(" and ");
  const pieces = fields.map((field, i) => `'${i === 0 ? "{" : ","}${JSON.stringify(field)}:', ${sqliteToken(field)}`);
  return `(case when ${checks} then concat(${pieces.join(", ")}, '}') end)`;
}

/** Whether a column holds a type vargate writes there. */
function sqliteTypeCheck(column: string, field: string): string {
  switch (field) {
    case "input":
      return `typeof(${column}) = 'text' and json_valid(${column})`;
    case "violations":
      return `typeof(${column}) = 'text'`;
    case "seq":
      return `typeof(${column}) = 'integer'`;
    default:
      // Not a BLOB: `json_quote` would render one holding JSONB as the JSON it encodes. Text columns hold nothing
      // else but TEXT and NULL (their affinity turns numbers into text). In `policy_version`, a text that is not
      // a number or a real that is not an integer (the INTEGER affinity keeps both) is quoted or written with a
      // fraction or an exponent: never the sealed integer's token, so such a record is checked by parsing.
      return `typeof(${column}) <> 'blob'`;
  }
}

/** A checked column's JSON token: JSON texts and integers as they are, the rest through `json_quote` (NULL: `null`). */
function sqliteToken(field: string): string {
  const column = `"${field}"`;
  return field === "input" || field === "violations" || field === "seq" ? column : `json_quote(${column})`;
}
