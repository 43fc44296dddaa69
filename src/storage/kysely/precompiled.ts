import { type Compilable, CompiledQuery } from "kysely";
import type { Db } from "./transactions.js";

// A placeholder no caller's value can equal: it is replaced by position, never compared with user data.
const PLACEHOLDER = "\u0000vargate-parameter:";

/**
 * A query built and compiled once and then run with new values: hot paths skip Kysely's builder and compiler,
 * which cost more than the statement itself on SQLite. `build` receives a placeholder per parameter name and
 * must use each only as a bound value. The compiled SQL is kept per Kysely instance (it depends on the dialect).
 */
export function precompiled<Name extends string, Row>(
  names: readonly Name[],
  build: (db: Db, parameter: Record<Name, string>) => Compilable<Row>,
): (db: Db, values: Record<Name, unknown>) => Promise<Row[]> {
  const placeholders = Object.fromEntries(names.map((name) => [name, `${PLACEHOLDER}${name}`])) as Record<Name, string>;
  const compiledFor = new WeakMap<object, { sql: string; parameters: readonly unknown[] }>();
  return async (db, values) => {
    const adapter = db.getExecutor().adapter;
    let compiled = compiledFor.get(adapter);
    if (!compiled) {
      compiled = build(db, placeholders).compile();
      compiledFor.set(adapter, compiled);
    }
    const parameters = compiled.parameters.map((parameter) =>
      typeof parameter === "string" && parameter.startsWith(PLACEHOLDER)
        ? values[parameter.slice(PLACEHOLDER.length) as Name]
        : parameter,
    );
    const result = await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<Row>);
    return result.rows;
  };
}
