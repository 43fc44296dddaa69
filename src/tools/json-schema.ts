import * as z from "zod";
import type { JsonObject } from "../json.js";

/** One problem found in a config, with the path of the offending value. */
export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

/** The JSON Schema keywords a declarative tool's `input_schema` may use (what `z.fromJSONSchema` understands). */
export const SUPPORTED_JSON_SCHEMA_KEYWORDS: ReadonlySet<string> = new Set([
  // annotations
  "$schema",
  "$id",
  "$comment",
  "title",
  "description",
  "default",
  "examples",
  "deprecated",
  "readOnly",
  "writeOnly",
  // structure
  "$ref",
  "$defs",
  "definitions",
  "type",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  // objects
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "minProperties",
  "maxProperties",
  // arrays
  "items",
  "prefixItems",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "contains",
  "minContains",
  "maxContains",
  // numbers
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  // strings
  "minLength",
  "maxLength",
  "pattern",
  "format",
]);

const KEYWORD_HINTS: Record<string, string> = {
  nullable: 'use "type": ["<type>", "null"]',
};

const SCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions"] as const;
const SCHEMA_VALUES = ["additionalProperties", "propertyNames", "contains", "additionalItems", "items"] as const;
const SCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems", "items"] as const;

/**
 * Converts a declarative tool's `input_schema` to zod with `z.fromJSONSchema`. Before converting it checks what the
 * converter would silently accept: the top level must be `"type": "object"`, every keyword must be one of
 * `SUPPORTED_JSON_SCHEMA_KEYWORDS` (so a typo such as `requird` is an error, not an optional field), and each
 * `required` name must be among the `properties` next to it. Issues carry paths relative to `path`.
 */
export function jsonSchemaToZod(
  schema: unknown,
  path: (string | number)[],
): { ok: true; schema: z.ZodType } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  if (!isObject(schema) || schema.type !== "object") {
    return { ok: false, issues: [{ path, message: 'must be a JSON Schema object with "type": "object"' }] };
  }
  checkKeywords(schema, path, issues);
  if (issues.length > 0) return { ok: false, issues };
  if (typeof z.fromJSONSchema !== "function") {
    return { ok: false, issues: [{ path, message: "needs a zod release with z.fromJSONSchema (zod 4.2 or later)" }] };
  }
  try {
    return { ok: true, schema: z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) };
  } catch (error) {
    return { ok: false, issues: [{ path, message: error instanceof Error ? error.message : String(error) }] };
  }
}

/**
 * Where a property path leads in a schema: `true` when every segment is declared (or the schema there is a
 * free-form object or array whose members cannot be checked), otherwise the first undeclared segment's index.
 */
export function resolveSchemaPath(schema: JsonObject, segments: readonly string[]): true | number {
  let current: unknown = schema;
  for (const [index, segment] of segments.entries()) {
    if (!isObject(current)) return true; // `true` or an empty schema: anything goes below
    const properties = current.properties;
    if (isObject(properties)) {
      if (!Object.hasOwn(properties, segment)) return index;
      current = properties[segment];
      continue;
    }
    if (current.type === "array" || current.items !== undefined) {
      if (!/^\d+$/.test(segment)) return index;
      current = Array.isArray(current.items) ? current.items[Number(segment)] : current.items;
      continue;
    }
    if (hasScalarType(current)) return index;
    current = undefined; // a free-form object: deeper segments cannot be checked
  }
  return true;
}

function hasScalarType(schema: Record<string, unknown>): boolean {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  return types.length > 0 && types.every((type) => typeof type === "string" && type !== "object" && type !== "array");
}

function checkKeywords(schema: unknown, path: (string | number)[], issues: ConfigIssue[]): void {
  if (typeof schema === "boolean") return;
  if (!isObject(schema)) {
    issues.push({ path, message: "must be a JSON Schema (an object)" });
    return;
  }
  for (const key of Object.keys(schema)) {
    if (!SUPPORTED_JSON_SCHEMA_KEYWORDS.has(key)) {
      const hint = KEYWORD_HINTS[key];
      issues.push({
        path: [...path, key],
        message: `unsupported JSON Schema keyword "${key}"${hint ? `; ${hint}` : ""}`,
      });
    }
  }
  for (const key of SCHEMA_MAPS) {
    const map = schema[key];
    if (map === undefined) continue;
    if (!isObject(map)) {
      issues.push({ path: [...path, key], message: "must be an object of schemas" });
      continue;
    }
    for (const [name, child] of Object.entries(map)) checkKeywords(child, [...path, key, name], issues);
  }
  for (const key of SCHEMA_VALUES) {
    const child = schema[key];
    if (child !== undefined && !Array.isArray(child)) checkKeywords(child, [...path, key], issues);
  }
  for (const key of SCHEMA_LISTS) {
    const list = schema[key];
    if (key === "items" && !Array.isArray(list)) continue;
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      issues.push({ path: [...path, key], message: "must be an array of schemas" });
      continue;
    }
    for (const [index, child] of list.entries()) checkKeywords(child, [...path, key, index], issues);
  }
  checkRequired(schema, path, issues);
}

function checkRequired(schema: Record<string, unknown>, path: (string | number)[], issues: ConfigIssue[]): void {
  const { required, properties } = schema;
  if (required === undefined) return;
  if (!Array.isArray(required) || !required.every((name) => typeof name === "string")) {
    issues.push({ path: [...path, "required"], message: "must be an array of property names" });
    return;
  }
  // Composition may declare the properties elsewhere; only a plain object schema is checked.
  if (!isObject(properties) || schema.allOf || schema.anyOf || schema.oneOf) return;
  required.forEach((name, index) => {
    if (!Object.hasOwn(properties, name)) {
      issues.push({ path: [...path, "required", index], message: `"${name}" is required but not in properties` });
    }
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
