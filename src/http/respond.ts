import * as z from "zod";
import { VARGATE_ERROR_CODES, type VargateError, type VargateErrorCode } from "../errors.js";

/** A JSON response. Bodies are never cached: they are tenant data. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/**
 * The one error body: `{"detail": <string or object>, "code": "<UPPER_SNAKE>"}`. Internal and storage errors get
 * the table's generic message; their details go to the logger, never to the client.
 */
export function errorResponse(error: VargateError, headers: Record<string, string> = {}): Response {
  const entry = VARGATE_ERROR_CODES[error.code];
  // Upstream errors carry only the platform's status, request id and type, which operators need to follow up.
  const exposed = entry.status < 500 || error.code.startsWith("UPSTREAM_");
  const detail = exposed ? error.detail : entry.message;
  return jsonResponse({ detail, code: error.code }, entry.status, headers);
}

/** One entry of a 422 `detail`: the shape of `ValidationIssue`. */
export const validationIssueSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});

/** The `detail` of an `UPSTREAM_*` error: the evidence `UpstreamError` keeps. */
export const upstreamErrorDetailSchema = z.object({
  message: z.string(),
  upstream_status: z.number().int().nullable(),
  request_id: z.string().nullable(),
  upstream_type: z.string().nullable(),
});

/** What `errorResponse` writes, as a schema: the OpenAPI document's error body for every 4xx and 5xx. */
export const errorBodySchema = z.object({
  detail: z.union([z.string(), z.array(validationIssueSchema), upstreamErrorDetailSchema]),
  code: z.enum(Object.keys(VARGATE_ERROR_CODES) as [VargateErrorCode, ...VargateErrorCode[]]),
});
