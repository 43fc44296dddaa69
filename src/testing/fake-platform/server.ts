/**
 * The HTTP front: request log, fault injection, auth, the beta header, routing, and the error envelope.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorEnvelope, FakeApiError, notFound } from "./errors.js";
import type { Faults } from "./faults.js";
import { flatHeaders, Query, readJsonBody, sendJson } from "./http.js";
import type { Router } from "./router.js";
import type { IdSource } from "./store.js";
import type { FakeRecordedRequest } from "./types.js";

/** The beta every Managed Agents request must carry. */
export const MANAGED_AGENTS_BETA = "managed-agents-2026-04-01";

export interface FrontDeps {
  apiKey: string;
  router: Router;
  faults: Faults;
  ids: IdSource;
  requests: FakeRecordedRequest[];
}

function authenticated(req: IncomingMessage, apiKey: string): boolean {
  // SDK 1.x sends `Authorization: Bearer <key>`; the docs' curl samples send `x-api-key`.
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim();
  return bearer === apiKey || req.headers["x-api-key"] === apiKey;
}

function hasBeta(req: IncomingMessage): boolean {
  const header = req.headers["anthropic-beta"];
  const values = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").map((v) => v.trim());
  return values.includes(MANAGED_AGENTS_BETA);
}

/** Builds the `node:http` request listener. */
export function createRequestListener(deps: FrontDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(deps, req, res);
  };
}

async function handle(deps: FrontDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = deps.ids.next("req");
  const method = (req.method ?? "GET").toUpperCase();
  const url = new URL(req.url ?? "/", "http://fake.invalid");
  // Unknown query parameters (e.g. the docs' `?beta=true`) are ignored by the routes.
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
  const query = new Query(url.searchParams);
  const entry: FakeRecordedRequest = {
    method,
    path,
    query: query.values,
    headers: flatHeaders(req),
    body: undefined,
    status: 0,
    requestId,
    injected: false,
  };
  deps.requests.push(entry);
  let extraHeaders: Record<string, string> = {};
  try {
    entry.body = await readJsonBody(req);
    const failure = deps.faults.takeRequestFailure(method, path);
    if (failure) {
      entry.injected = true;
      extraHeaders = failure.headers;
      throw failure.error;
    }
    if (!authenticated(req, deps.apiKey)) throw new FakeApiError(401, "invalid x-api-key");
    if (!hasBeta(req)) {
      const message = `This endpoint requires the anthropic-beta header to include ${MANAGED_AGENTS_BETA}`;
      // The real thread endpoints answer 404 without the beta; everything else is a bad request.
      throw path.includes("/threads") ? notFound(message) : new FakeApiError(400, message);
    }
    const match = deps.router.match(method, path);
    if (!match) throw notFound(`No route for ${method} ${path}`);
    const result = await match.handler({ req, res, params: match.params, query, body: entry.body, requestId });
    if ("stream" in result) {
      entry.status = 200;
      return;
    }
    entry.status = result.status ?? 200;
    sendJson(res, entry.status, result.body, requestId);
  } catch (error) {
    const apiError =
      error instanceof FakeApiError
        ? error
        : new FakeApiError(500, `Fake platform bug: ${error instanceof Error ? error.message : String(error)}`);
    entry.status = apiError.status;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, apiError.status, errorEnvelope(apiError, requestId), requestId, extraHeaders);
  }
}
