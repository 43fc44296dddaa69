import { type CreateTableBuilder, type Expression, type Kysely, sql } from "kysely";
import type { KyselyDialectName } from "../schema.js";

// biome-ignore lint/suspicious/noExplicitAny: migrations run before (and change) the schema, as Kysely intends.
export type AnyKysely = Kysely<any>;

/** Column types per dialect. Text keys compare byte-wise everywhere, so ordering matches JavaScript's. */
export function columnTypes(dialect: KyselyDialectName) {
  const raw = (text: string): Expression<unknown> => sql.raw(text);
  // PostgreSQL's default collation ignores punctuation when sorting; "C" sorts ids and timestamps by bytes.
  const key = (length: number) => raw(dialect === "postgres" ? `varchar(${length}) collate "C"` : `varchar(${length})`);
  return {
    id: key(255),
    time: key(64),
    hash: key(64),
    label: raw("varchar(32)"),
    text: raw("text"),
    // MySQL's TEXT holds only 64 KB; inputs and prompts can be larger.
    large: raw(dialect === "mysql" ? "longtext" : "text"),
    int: raw("integer"),
    bigint: raw("bigint"),
    // Not DECIMAL: mysql2 and pg return DECIMAL as a string.
    double: raw("double precision"),
  };
}

// MariaDB/MySQL: utf8mb4 keeps emoji; the binary collation keeps ids case-sensitive and sorted by bytes.
export function tableOptions<TB extends string, C extends string>(
  dialect: KyselyDialectName,
  builder: CreateTableBuilder<TB, C>,
): CreateTableBuilder<TB, C> {
  return dialect === "mysql"
    ? builder.modifyEnd(sql`engine = InnoDB default character set utf8mb4 collate utf8mb4_bin`)
    : builder;
}
