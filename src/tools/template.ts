import type { JsonObject, JsonValue } from "../json.js";
import { type ConfigIssue, resolveSchemaPath } from "./json-schema.js";

/** A `{{input.a.b}}` or `{{credentials.name}}` reference. */
export type Placeholder = { source: "input"; path: string[] } | { source: "credentials"; name: string };

/** A string split into literal text and placeholders. */
export type StringTemplate = (string | Placeholder)[];

/** What placeholders may refer to, for load-time checks. */
export interface TemplateScope {
  inputSchema: JsonObject;
  credentials: readonly string[];
}

/** Values placeholders resolve to at execution time. */
export interface TemplateValues {
  input: unknown;
  credentials: Readonly<Record<string, string>>;
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * Parses a template string. Every `{{...}}` must be `input.<field>[.<field>...]` naming a property declared in
 * the input schema (array members by index), or `credentials.<name>` naming one of the tool's credentials;
 * anything else is an issue at `path`.
 */
export function parseTemplate(
  text: string,
  scope: TemplateScope,
  path: (string | number)[],
  issues: ConfigIssue[],
): StringTemplate {
  const parts: StringTemplate = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const index = match.index ?? 0;
    if (index > last) parts.push(text.slice(last, index));
    last = index + match[0].length;
    const placeholder = parsePlaceholder((match[1] ?? "").trim(), scope);
    if (typeof placeholder === "string") {
      issues.push({ path, message: `placeholder ${match[0]}: ${placeholder}` });
      continue;
    }
    parts.push(placeholder);
  }
  if (last < text.length) parts.push(text.slice(last));
  const rest = parts.filter((part): part is string => typeof part === "string").join("");
  if (rest.includes("{{") || rest.includes("}}")) {
    issues.push({ path, message: "has an unbalanced {{ or }}; placeholders look like {{input.field}}" });
  }
  return parts;
}

function parsePlaceholder(expression: string, scope: TemplateScope): Placeholder | string {
  const [root, ...segments] = expression.split(".");
  if (root === "input") {
    if (segments.length === 0 || !segments.every((segment) => SEGMENT.test(segment))) {
      return "expected {{input.<field>}}";
    }
    const resolved = resolveSchemaPath(scope.inputSchema, segments);
    if (resolved !== true) {
      return `"${segments.slice(0, resolved + 1).join(".")}" is not a property of input_schema`;
    }
    return { source: "input", path: segments };
  }
  if (root === "credentials") {
    const name = segments.join(".");
    if (segments.length !== 1 || !SEGMENT.test(name)) return "expected {{credentials.<name>}}";
    if (!scope.credentials.includes(name)) return `credential "${name}" is not listed in the tool's credentials`;
    return { source: "credentials", name };
  }
  return "unknown placeholder; use {{input.<field>}} or {{credentials.<name>}}";
}

/** Whether the template is exactly one placeholder (a body value that keeps its JSON type). */
export function solePlaceholder(template: StringTemplate): Placeholder | undefined {
  const [only] = template;
  return template.length === 1 && typeof only === "object" ? only : undefined;
}

/** The value a placeholder refers to; `undefined` when the input lacks it. */
export function resolvePlaceholder(placeholder: Placeholder, values: TemplateValues): JsonValue | undefined {
  if (placeholder.source === "credentials") return values.credentials[placeholder.name];
  let current: unknown = values.input;
  for (const segment of placeholder.path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current as JsonValue | undefined;
}

/**
 * Renders a template to a string. Strings are inserted as they are, numbers and booleans as text, objects and
 * arrays as JSON, and a missing value or `null` as nothing. `encode` (e.g. `encodeURIComponent`) applies to each
 * inserted value, never to the literal text.
 */
export function renderString(
  template: StringTemplate,
  values: TemplateValues,
  encode: (value: string) => string = (value) => value,
): string {
  return template
    .map((part) => (typeof part === "string" ? part : encode(asText(resolvePlaceholder(part, values)))))
    .join("");
}

/** How a value is written into text: strings as is, numbers and booleans as text, objects as JSON, nothing for null. */
export function asText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** A JSON body with templated strings. */
export type JsonTemplate =
  | { kind: "literal"; value: JsonValue }
  | { kind: "string"; template: StringTemplate }
  | { kind: "array"; items: JsonTemplate[] }
  | { kind: "object"; entries: [string, JsonTemplate][] };

/** Parses every string of a JSON value as a template. Object keys are literal. */
export function parseJsonTemplate(
  value: JsonValue,
  scope: TemplateScope,
  path: (string | number)[],
  issues: ConfigIssue[],
): JsonTemplate {
  if (typeof value === "string") {
    const template = parseTemplate(value, scope, path, issues);
    return template.every((part) => typeof part === "string")
      ? { kind: "literal", value }
      : { kind: "string", template };
  }
  if (Array.isArray(value)) {
    return {
      kind: "array",
      items: value.map((item, index) => parseJsonTemplate(item, scope, [...path, index], issues)),
    };
  }
  if (typeof value === "object" && value !== null) {
    return {
      kind: "object",
      entries: Object.entries(value).map(([key, item]) => [
        key,
        parseJsonTemplate(item, scope, [...path, key], issues),
      ]),
    };
  }
  return { kind: "literal", value };
}

/**
 * Renders a JSON template. A string that is exactly one placeholder becomes the value itself, keeping its JSON
 * type (a number stays a number, an object an object); if the input lacks it, the object key is left out (in an
 * array, the item is `null`). Other strings are rendered as text.
 */
export function renderJson(template: JsonTemplate, values: TemplateValues): JsonValue | undefined {
  switch (template.kind) {
    case "literal":
      return template.value;
    case "string": {
      const only = solePlaceholder(template.template);
      return only ? resolvePlaceholder(only, values) : renderString(template.template, values);
    }
    case "array":
      return template.items.map((item) => renderJson(item, values) ?? null);
    case "object": {
      const out: { [key: string]: JsonValue } = {};
      for (const [key, item] of template.entries) {
        const rendered = renderJson(item, values);
        if (rendered !== undefined) out[key] = rendered;
      }
      return out;
    }
  }
}
