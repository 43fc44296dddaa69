// Adapter for Express 5. Like every adapter it imports only the public entry point and the shared Node bridge.
import { type Router as ExpressRouter, Router } from "express";
import { handleNodeRequest } from "../http/node-bridge.js";
import { createRequestHandler, type RequestHandlerOptions, type VargateGovernor } from "../index.js";

/**
 * Serves the `/managed/` REST surface as an Express 5 router: `app.use("/api", toExpressRouter(governor))`.
 *
 * - Express strips the mount path, so the routes answer under wherever the router is mounted; `prefix` (if any)
 *   is one more segment inside it.
 * - It reads the raw body itself. When `express.json()` already ran, the parsed body is re-serialised and still
 *   held to `maxBodyBytes`; that parser's own errors (its size limit, bad JSON) are Express's to answer.
 * - Every request that reaches it is answered by vargate; unknown paths get vargate's 404 body.
 */
export function toExpressRouter(governor: VargateGovernor, options: RequestHandlerOptions = {}): ExpressRouter {
  const handler = createRequestHandler(governor, options);
  const router = Router();
  router.use((req, res) =>
    handleNodeRequest(handler, req, res, { maxBodyBytes: options.maxBodyBytes, readsExtras: true }),
  );
  return router;
}
