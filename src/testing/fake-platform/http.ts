import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest, FakeApiError } from "./errors.js";

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Query parameters as the SDK sends them: arrays in bracket form (`types[]=a&types[]=b`), filter keys with
 * literal brackets (`created_at[gte]`) kept as opaque names, and, leniently, repeated bare keys.
 */
export class Query {
  readonly values: Record<string, string | string[]> = {};

  constructor(search: URLSearchParams) {
    for (const [rawKey, value] of search) {
      const isArray = rawKey.endsWith("[]");
      const key = isArray ? rawKey.slice(0, -2) : rawKey;
      const existing = this.values[key];
      if (existing === undefined) this.values[key] = isArray ? [value] : value;
      else if (Array.isArray(existing)) existing.push(value);
      else this.values[key] = [existing, value];
    }
  }

  /** A single string value (the last one if the key was repeated). */
  str(name: string): string | undefined {
    const value = this.values[name];
    return Array.isArray(value) ? value[value.length - 1] : value;
  }

  /** Every value of `name` / `name[]`. */
  list(name: string): string[] {
    const value = this.values[name];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }

  bool(name: string): boolean {
    const value = this.str(name);
    return value === "true" || value === "1";
  }

  /** A positive integer, or `undefined` when absent; 400 when malformed. */
  int(name: string, min = 1): number | undefined {
    const value = this.str(name);
    if (value === undefined || value === "") return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) {
      throw badRequest(`${name}: must be an integer >= ${min}`);
    }
    return parsed;
  }
}

/** Reads and parses a JSON body; `undefined` when empty. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new FakeApiError(413, "Request body too large");
    chunks.push(buffer);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest("Request body is not valid JSON");
  }
}

/** Writes a JSON response with the `request-id` header every Anthropic response carries. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    "request-id": requestId,
    ...extraHeaders,
  });
  res.end(payload);
}

/** Flattens Node's header object into lower-case string values, for the request log. */
export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Narrows a parsed body to a JSON object, or throws a 400 naming what was expected. */
export function requireObject(body: unknown, what = "Request body"): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest(`${what} must be a JSON object`);
  }
  return body as Record<string, unknown>;
}
