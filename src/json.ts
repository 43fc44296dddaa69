export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * `value` as it reads back from JSON text (what a database column of JSON gives): `toJSON` applied, `undefined`
 * members dropped, -0 as 0, class instances as plain objects. Always a copy.
 */
export function jsonRoundTrip(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value) ?? "null") as JsonValue;
}
