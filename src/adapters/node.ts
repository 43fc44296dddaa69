// Adapter for node:http. Like every adapter it imports only the public entry point and the shared Node bridge.
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleNodeRequest } from "../http/node-bridge.js";
import { createRequestHandler, type RequestHandlerOptions, type VargateGovernor } from "../index.js";

/** A `node:http` request listener; the promise never rejects. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Serves the `/managed/` REST surface as a `node:http` request listener:
 * `http.createServer(toNodeHandler(governor, { prefix: "/api" }))`.
 *
 * Every request is answered by vargate (unknown paths get its 404), so mount other routes in front of it if the
 * server has any.
 */
export function toNodeHandler(governor: VargateGovernor, options: RequestHandlerOptions = {}): NodeHandler {
  const handler = createRequestHandler(governor, options);
  return (req, res) => handleNodeRequest(handler, req, res, { maxBodyBytes: options.maxBodyBytes, readsExtras: true });
}
