// Adapter for fetch-style runtimes: Hono, Next.js route handlers, Bun, Deno, Cloudflare Workers. It imports only the
// public entry point.
import { createRequestHandler, type RequestHandlerOptions, type VargateGovernor } from "../index.js";

/** A web-standard handler: `(request: Request) => Promise<Response>`. It never rejects. */
export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * Serves the `/managed/` REST surface to any runtime that speaks `Request`/`Response`.
 *
 * Set `prefix` to the path the runtime routes to it, e.g. Hono's
 * `app.all("/api/*", (c) => handler(c.req.raw))` needs `{ prefix: "/api" }`: the handler sees the full URL.
 */
export function toFetchHandler(governor: VargateGovernor, options: RequestHandlerOptions = {}): FetchHandler {
  const handler = createRequestHandler(governor, options);
  // Runtimes call handlers with more arguments (Workers' env, Deno's info, Next's context): none are extras.
  return (request) => handler(request);
}
