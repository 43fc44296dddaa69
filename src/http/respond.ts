import { VARGATE_ERROR_CODES, type VargateError } from "../errors.js";

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
