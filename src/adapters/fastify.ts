// Adapter for Fastify 5. Like every adapter it imports only the public entry point and the shared Node bridge.
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { FastifyPluginAsync } from "fastify";
import { toWebRequest } from "../http/node-bridge.js";
import type { RequestHandlerOptions, VargateGovernor } from "../index.js";
import { createRequestHandler } from "../index.js";

/** Options of `vargateFastify`. Fastify's own `prefix` register option sets the mount point. */
export interface VargateFastifyOptions extends Omit<RequestHandlerOptions, "prefix"> {
  governor: VargateGovernor;
}

/**
 * A Fastify 5 plugin serving the `/managed/` REST surface:
 * `app.register(vargateFastify, { governor, prefix: "/api" })`.
 *
 * Inside the plugin Fastify parses no bodies: vargate reads the raw stream itself, so its body limit (413), JSON
 * errors (422) and content-type check (415) apply, not Fastify's. Responses go out through `reply`, so the app's
 * hooks (CORS, logging) still see them.
 */
export const vargateFastify: FastifyPluginAsync<VargateFastifyOptions> = async (instance, options) => {
  const { governor, maxBodyBytes } = options;
  const handler = createRequestHandler(governor, { prefix: instance.prefix, maxBodyBytes });

  // Encapsulated: these parsers apply to this plugin's routes only. The payload is passed through unread.
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  // The methods a web `Request` can carry (not TRACE); the core answers 405 with Allow for the ones a route lacks.
  const method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  instance.route({
    method,
    url: "/*",
    handler: async (request, reply) => {
      const payload = request.body instanceof Readable ? request.body : undefined;
      const response = await handler(toWebRequest(request.raw, reply.raw, { maxBodyBytes, bodyStream: payload }));
      reply.code(response.status);
      for (const [name, value] of response.headers) {
        if (name !== "set-cookie") reply.header(name, value);
      }
      const cookies = response.headers.getSetCookie();
      if (cookies.length > 0) reply.header("set-cookie", cookies);
      if (!request.raw.complete) reply.header("connection", "close"); // answered before the body was read
      return reply.send(response.body ? Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>) : null);
    },
  });
};
