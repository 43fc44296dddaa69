import * as z from "zod";
import { ConfigError } from "../errors.js";
import type { JsonObject, JsonValue } from "../json.js";
import { APPROVAL_STATUS_TOOL, CREDENTIAL_NAME_PATTERN, createTool, TOOL_NAME_PATTERN } from "./define.js";
import { type ConfigIssue, jsonSchemaToZod } from "./json-schema.js";
import {
  asText,
  type JsonTemplate,
  parseJsonTemplate,
  parseTemplate,
  renderJson,
  renderString,
  resolvePlaceholder,
  type StringTemplate,
  solePlaceholder,
  type TemplateScope,
  type TemplateValues,
} from "./template.js";
import type { GovernedTool } from "./types.js";

/** A declarative HTTP tool: what `httpTool()` takes and what each entry of a tools config file holds. */
export interface HttpToolDefinition {
  name: string;
  description: string;
  /** A JSON Schema with `"type": "object"`; it validates the arguments and is what `tools/list` shows. */
  input_schema: JsonObject;
  /** Credential names the request uses through `{{credentials.<name>}}`. @default [] */
  credentials?: string[];
  request: HttpToolRequest;
  /** Abort the request after this many ms. @default 30000 */
  timeout_ms?: number;
  /** Read at most this many bytes of the response body. @default 1048576 (1 MiB) */
  max_response_bytes?: number;
}

export interface HttpToolRequest {
  /** `GET`, `POST`, `PUT`, `PATCH` or `DELETE` (any case). */
  method: string;
  /**
   * Absolute `http(s)` URL. Placeholders are percent-encoded and may only appear after the origin: the agent
   * never chooses where credentials are sent.
   */
  url: string;
  /** Header values are templates, e.g. `{"authorization": "Bearer {{credentials.crm}}"}`. */
  headers?: Record<string, string>;
  /** Query parameters added to the URL; one whose value is a single placeholder the input lacks is left out. */
  query?: Record<string, string>;
  /** A JSON value whose strings are templates. Not allowed with `GET`. */
  body?: JsonValue;
  /** `json` (the default) sends the body as JSON; `form` as `application/x-www-form-urlencoded`. */
  body_encoding?: "json" | "form";
}

/** A config (or `httpTool()` definition) with problems; `issues` name each offending path. */
export class ToolsConfigError extends ConfigError {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[], what = "tools config") {
    super(
      `Invalid ${what}:${issues.map((issue) => `\n  ${formatPath(issue.path) || "(root)"}: ${issue.message}`).join("")}`,
    );
    this.name = "ToolsConfigError";
    this.issues = issues;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const ERROR_EXCERPT_CHARS = 500;

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be a valid HTTP header name");

const requestSchema = z.strictObject({
  method: z
    .string()
    .transform((method) => method.toUpperCase())
    .pipe(z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"], { error: "must be GET, POST, PUT, PATCH or DELETE" })),
  url: z.string().min(1).max(8_192),
  headers: z.record(headerName, z.string().max(8_192)).optional(),
  query: z.record(z.string().min(1).max(256), z.string().max(8_192)).optional(),
  body: z.json().optional(),
  body_encoding: z.enum(["json", "form"]).optional(),
});

/** The zod schema of one declarative HTTP tool. */
export const httpToolSchema = z.strictObject({
  name: z
    .string()
    .regex(TOOL_NAME_PATTERN, "must be 1-64 characters of a-z, A-Z, 0-9, _ or -")
    .refine((name) => name !== APPROVAL_STATUS_TOOL, "is reserved for the built-in tool"),
  description: z.string().trim().min(1, "must not be empty").max(10_000),
  input_schema: z.record(z.string(), z.json()),
  credentials: z
    .array(z.string().regex(CREDENTIAL_NAME_PATTERN, "must be 1-64 characters of a-z, A-Z, 0-9, _ or -"))
    .max(32)
    .default([]),
  request: requestSchema,
  timeout_ms: z.number().int().min(1).max(600_000).default(DEFAULT_TIMEOUT_MS),
  max_response_bytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .default(DEFAULT_MAX_RESPONSE_BYTES),
});

/** The zod schema of a tools config file: `{"tools": [...]}`. */
export const toolsConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  tools: z.array(httpToolSchema).max(1_000),
});

const toolsConfigShape = z.strictObject({
  $schema: z.string().optional(),
  tools: z.array(z.unknown()).max(1_000),
});

/**
 * A governed tool that makes one HTTP request, templated from its input and named credentials (see
 * docs/tools-and-credentials.md). Throws `ToolsConfigError` naming each bad field, including placeholders that
 * refer to undeclared input fields or credentials.
 */
export function httpTool(definition: HttpToolDefinition): GovernedTool {
  const parsed = httpToolSchema.safeParse(definition);
  if (!parsed.success) throw new ToolsConfigError(zodIssues(parsed.error, []), "HTTP tool definition");
  const compiled = compileHttpTool(parsed.data, []);
  if (!compiled.ok) throw new ToolsConfigError(compiled.issues, "HTTP tool definition");
  return compiled.tool;
}

/**
 * Builds the tools of a config: its JSON text or the parsed value, `{"tools": [ <HttpToolDefinition>, ... ]}`.
 * Everything is checked before anything is returned; `ToolsConfigError` lists every problem with its path
 * (`tools[2].request.url: ...`).
 */
export function loadToolsConfig(config: unknown): GovernedTool[] {
  let value = config;
  if (typeof config === "string") {
    try {
      value = JSON.parse(config);
    } catch (error) {
      throw new ToolsConfigError([{ path: [], message: `not valid JSON (${(error as Error).message})` }]);
    }
  }
  // The outer shape first, then each tool on its own, so one bad tool does not hide another's problems.
  const outer = toolsConfigShape.safeParse(value);
  if (!outer.success) throw new ToolsConfigError(zodIssues(outer.error, []));
  const issues: ConfigIssue[] = [];
  const tools: GovernedTool[] = [];
  const names = new Map<string, number>();
  outer.data.tools.forEach((entry, index) => {
    const path = ["tools", index];
    const parsed = httpToolSchema.safeParse(entry);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, path));
      return;
    }
    const definition = parsed.data;
    const first = names.get(definition.name);
    if (first !== undefined) {
      issues.push({ path: [...path, "name"], message: `"${definition.name}" is already used by tools[${first}]` });
    } else {
      names.set(definition.name, index);
    }
    const compiled = compileHttpTool(definition, path);
    if (compiled.ok) tools.push(compiled.tool);
    else issues.push(...compiled.issues);
  });
  if (issues.length > 0) throw new ToolsConfigError(issues);
  return tools;
}

type ParsedDefinition = z.output<typeof httpToolSchema>;

function compileHttpTool(
  definition: ParsedDefinition,
  path: (string | number)[],
): { ok: true; tool: GovernedTool } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const converted = jsonSchemaToZod(definition.input_schema, [...path, "input_schema"]);
  if (!converted.ok) return { ok: false, issues: converted.issues };
  const inputJsonSchema = definition.input_schema as JsonObject;
  const scope: TemplateScope = { inputSchema: inputJsonSchema, credentials: definition.credentials };
  const request = definition.request;
  const at = (...rest: (string | number)[]) => [...path, "request", ...rest];

  const url = parseTemplate(request.url, scope, at("url"), issues);
  checkUrlTemplate(url, at("url"), issues);
  const headers = Object.entries(request.headers ?? {}).map(
    ([name, value]) => [name, parseTemplate(value, scope, at("headers", name), issues)] as const,
  );
  const query = Object.entries(request.query ?? {}).map(
    ([name, value]) => [name, parseTemplate(value, scope, at("query", name), issues)] as const,
  );
  let body: JsonTemplate | undefined;
  if (request.body !== undefined) {
    if (request.method === "GET") issues.push({ path: at("body"), message: "a GET request cannot have a body" });
    body = parseJsonTemplate(request.body as JsonValue, scope, at("body"), issues);
    if (request.body_encoding === "form" && !isFlatObject(request.body)) {
      issues.push({
        path: at("body"),
        message: 'with body_encoding "form" the body must be an object of strings, numbers and booleans',
      });
    }
  } else if (request.body_encoding !== undefined) {
    issues.push({ path: at("body_encoding"), message: "is set but there is no body" });
  }
  if (issues.length > 0) return { ok: false, issues };

  const plan: RequestPlan = {
    method: request.method,
    url,
    headers,
    query,
    body,
    bodyEncoding: request.body_encoding ?? "json",
    timeoutMs: definition.timeout_ms,
    maxResponseBytes: definition.max_response_bytes,
  };
  const tool = createTool({
    name: definition.name,
    description: definition.description,
    inputSchema: converted.schema,
    inputJsonSchema,
    credentials: definition.credentials,
    execute: (input, context) => sendRequest(plan, { input, credentials: context.credentials }, context.signal),
  });
  return { ok: true, tool };
}

interface RequestPlan {
  method: string;
  url: StringTemplate;
  headers: (readonly [string, StringTemplate])[];
  query: (readonly [string, StringTemplate])[];
  body: JsonTemplate | undefined;
  bodyEncoding: "json" | "form";
  timeoutMs: number;
  maxResponseBytes: number;
}

/** The literal start of the URL must hold the scheme and the whole host, so no input can redirect credentials. */
function checkUrlTemplate(template: StringTemplate, path: (string | number)[], issues: ConfigIssue[]): void {
  const firstPlaceholder = template.findIndex((part) => typeof part !== "string");
  const literal = (firstPlaceholder === -1 ? template : template.slice(0, firstPlaceholder)).join("");
  const complete = firstPlaceholder === -1;
  let parsed: URL | undefined;
  try {
    parsed = new URL(complete ? literal : `${literal}x`);
  } catch {
    issues.push({ path, message: "must be an absolute http:// or https:// URL" });
    return;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    issues.push({ path, message: "must be an absolute http:// or https:// URL" });
    return;
  }
  if (parsed.username || parsed.password) {
    issues.push({ path, message: "must not contain user:password@; use an authorization header with a credential" });
  }
  if (!complete && !/^https?:\/\/[^/?#]+[/?#]/i.test(literal)) {
    issues.push({ path, message: "placeholders may only appear after the host (in the path, query or fragment)" });
  }
}

function isFlatObject(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => ["string", "number", "boolean"].includes(typeof item))
  );
}

class HttpToolFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpToolFailure";
  }
}

async function sendRequest(plan: RequestPlan, values: TemplateValues, signal: AbortSignal): Promise<JsonValue> {
  const url = renderUrl(plan.url, values);
  for (const [name, template] of plan.query) {
    const only = solePlaceholder(template);
    if (only) {
      const value = resolvePlaceholder(only, values);
      if (value !== undefined && value !== null) url.searchParams.append(name, asText(value));
    } else {
      url.searchParams.append(name, renderString(template, values));
    }
  }
  const headers = new Headers();
  for (const [name, template] of plan.headers) {
    try {
      headers.set(name, renderString(template, values));
    } catch {
      throw new HttpToolFailure(`the value of header "${name}" is not a valid header value`);
    }
  }
  let body: string | undefined;
  const rendered = plan.body ? renderJson(plan.body, values) : undefined;
  if (rendered !== undefined) {
    if (plan.bodyEncoding === "form") {
      const form = new URLSearchParams();
      for (const [key, item] of Object.entries(rendered as Record<string, JsonValue>)) form.append(key, asText(item));
      body = form.toString();
      if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
    } else {
      body = JSON.stringify(rendered);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
  }
  if (!headers.has("accept")) headers.set("accept", "application/json, text/*;q=0.9, */*;q=0.5");

  const timeout = AbortSignal.timeout(plan.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      method: plan.method,
      headers,
      body,
      signal: AbortSignal.any([signal, timeout]),
      // Never follow a redirect: a custom credential header would travel to wherever it points.
      redirect: "manual",
    });
  } catch (error) {
    if (timeout.aborted && !signal.aborted) {
      throw new HttpToolFailure(`the request timed out after ${plan.timeoutMs} ms`);
    }
    throw error;
  }

  const { text, complete } = await readText(response, plan.maxResponseBytes);
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => {});
    throw new HttpToolFailure(`HTTP ${response.status} from ${url.host}: redirects are not followed`);
  }
  if (!response.ok) {
    const excerpt = text.trim().slice(0, ERROR_EXCERPT_CHARS);
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    throw new HttpToolFailure(`${status} from ${url.host}${excerpt ? `: ${excerpt}` : ""}`);
  }
  if (text === "") return { status: response.status };
  if (!complete) return `${text}\n[response cut at ${plan.maxResponseBytes} bytes]`;
  if (/[/+]json\b/i.test(response.headers.get("content-type") ?? "")) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Renders the URL with every inserted value percent-encoded. A path segment that comes out as `.` or `..` (in
 * any encoding) is refused: URLs resolve it as a step up, and the input must not choose another path that way.
 */
function renderUrl(template: StringTemplate, values: TemplateValues): URL {
  const rendered = renderString(template, values, encodeURIComponent);
  const path = rendered.replace(/^https?:\/\/[^/?#]*/i, "").split(/[?#]/)[0] ?? "";
  if (path.split("/").some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) {
    throw new HttpToolFailure("the input makes a URL path segment of . or .., which is not allowed");
  }
  return new URL(rendered);
}

async function readText(response: Response, maxBytes: number): Promise<{ text: string; complete: boolean }> {
  if (!response.body) return { text: "", complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        complete = false;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (!complete) await reader.cancel().catch(() => {});
  }
  return { text: new TextDecoder().decode(Buffer.concat(chunks)), complete };
}

function zodIssues(error: z.ZodError, base: (string | number)[]): ConfigIssue[] {
  return error.issues.map((issue) => {
    const path = [...base, ...issue.path.map((part) => (typeof part === "symbol" ? String(part) : part))];
    if (issue.code === "unrecognized_keys") {
      return { path: [...path, ...issue.keys.slice(0, 1)], message: `unknown field (${issue.keys.join(", ")})` };
    }
    return { path, message: issue.message };
  });
}

/** `tools[0].request.headers["x-api-key"]` */
export function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((part, index) => {
      if (typeof part === "number") return `[${part}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(part)) return index === 0 ? part : `.${part}`;
      return `[${JSON.stringify(part)}]`;
    })
    .join("");
}
