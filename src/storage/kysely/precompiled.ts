import { type Compilable, CompiledQuery, type QueryResult } from "kysely";
import { getOrCreate } from "../../maps.js";
import type { Db } from "./transactions.js";

// A placeholder no caller's value can equal: it is replaced by position, never compared with user data.
const PLACEHOLDER = "\u0000vargate-parameter:";

/** The most rows a statement kept compiled per size (`precompiledByShape`) writes; larger ones are compiled each time. */
const MAX_SHAPED_ROWS = 32;

/** A compiled statement: its SQL, and per parameter either the name of its value or (`undefined`) a constant. */
type Compiled = { sql: string; names: readonly (string | undefined)[]; constants: readonly unknown[] };

/**
 * A query built and compiled once and then run with new values: hot paths skip Kysely's builder and compiler,
 * which cost more than the statement itself on SQLite. `build` receives a placeholder per parameter name and
 * must use each only as a bound value. The compiled SQL is kept per Kysely instance (it depends on the dialect).
 */
export function precompiled<Name extends string, Row>(
  names: readonly Name[],
  build: (db: Db, parameter: Record<Name, string>) => Compilable<Row>,
): (db: Db, values: Record<Name, unknown>) => Promise<Row[]> {
  const placeholders = Object.fromEntries(names.map((name) => [name, placeholder(name)])) as Record<Name, string>;
  const run = precompiledByShape<null, Row>(
    () => "",
    (db) => build(db, placeholders),
  );
  return async (db, values) => (await run(db, null, values)).rows;
}

/**
 * `precompiled` for a statement whose SQL depends on a shape, such as how many rows it writes: compiled once per
 * shape (named by `shapeKey`) and Kysely instance. `build` makes the placeholder of a parameter name with
 * `parameter(name)`; values are then given by name. Every compiled shape is kept, so their number must stay small:
 * `shapeKey` returns `undefined` for a shape not worth keeping (one of more than `MAX_SHAPED_ROWS` rows), which is
 * then compiled for this run only.
 */
export function precompiledByShape<Shape, Row>(
  shapeKey: (shape: Shape) => string | undefined,
  build: (db: Db, shape: Shape, parameter: (name: string) => string) => Compilable<Row>,
): (db: Db, shape: Shape, values: Readonly<Record<string, unknown>>) => Promise<QueryResult<Row>> {
  const compiledFor = new WeakMap<object, Map<string, Compiled>>();
  const compile = (db: Db, shape: Shape): Compiled => {
    const { sql, parameters } = build(db, shape, placeholder).compile();
    const names = parameters.map((parameter) =>
      typeof parameter === "string" && parameter.startsWith(PLACEHOLDER)
        ? parameter.slice(PLACEHOLDER.length)
        : undefined,
    );
    return { sql, names, constants: parameters };
  };
  return (db, shape, values) => {
    const key = shapeKey(shape);
    const compiled =
      key === undefined
        ? compile(db, shape)
        : getOrCreate(
            getOrCreate(compiledFor, db.getExecutor().adapter, () => new Map<string, Compiled>()),
            key,
            () => compile(db, shape),
          );
    const { names, constants } = compiled;
    const parameters = new Array<unknown>(names.length);
    for (let index = 0; index < names.length; index++) {
      const name = names[index];
      parameters[index] = name === undefined ? constants[index] : values[name];
    }
    return db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<Row>);
  };
}

/** The `shapeKey` of a statement of `rows` rows: `key` while it is worth keeping compiled, else `undefined`. */
export function keyUpToMaxRows(rows: number, key: string): string | undefined {
  return rows <= MAX_SHAPED_ROWS ? key : undefined;
}

/**
 * `rows` rows of `columns`, each value the placeholder `<prefix><row>_<column>`: the shape of a multi-row insert.
 * `rowValues` with the same prefix gives the values.
 */
export function rowPlaceholders<Column extends string>(
  prefix: string,
  rows: number,
  columns: readonly Column[],
  parameter: (name: string) => string,
): Record<Column, string>[] {
  const keys = rowKeys(prefix, rows, columns).slice(0, rows);
  return keys.map((names) =>
    Object.fromEntries(columns.map((column, position) => [column, parameter(names[position] as string)])),
  ) as Record<Column, string>[];
}

/** Adds the values of `rows` for the placeholders of `rowPlaceholders` to `values`, and returns it. */
export function rowValues<Column extends string>(
  prefix: string,
  rows: readonly Readonly<Partial<Record<Column, unknown>>>[],
  columns: readonly Column[],
  values: Record<string, unknown> = {},
): Record<string, unknown> {
  const keys = rowKeys(prefix, rows.length, columns);
  rows.forEach((row, index) => {
    const rowKeys = keys[index] as readonly string[];
    columns.forEach((column, position) => {
      values[rowKeys[position] as string] = row[column];
    });
  });
  return values;
}

// The parameter names of `rowPlaceholders` and `rowValues`, made once per prefix, row and column set (as many
// rows as the largest statement's: callers write at most 500 rows per statement).
const keysByColumns = new WeakMap<readonly string[], Map<string, string[][]>>();

function rowKeys(prefix: string, rows: number, columns: readonly string[]): readonly (readonly string[])[] {
  const byPrefix = getOrCreate(keysByColumns, columns, () => new Map<string, string[][]>());
  const keys = getOrCreate(byPrefix, prefix, () => []);
  while (keys.length < rows) {
    const row = keys.length;
    keys.push(columns.map((column) => `${prefix}${row}_${column}`));
  }
  return keys;
}

function placeholder(name: string): string {
  return `${PLACEHOLDER}${name}`;
}
