// Real servers for each adapter, listening on 127.0.0.1 and an ephemeral port. Each mounts vargate at `prefix`.
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { toExpressRouter } from "../../src/adapters/express.js";
import { vargateFastify } from "../../src/adapters/fastify.js";
import { toFetchHandler } from "../../src/adapters/fetch.js";
import { toNodeHandler } from "../../src/adapters/node.js";
import type { VargateGovernor } from "../../src/index.js";

export interface MountOptions {
  /** Where vargate is mounted, e.g. `/api/governance`. */
  prefix: string;
  maxBodyBytes?: number;
}

export interface TestServer {
  /** Origin plus mount point, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

export type StartServer = (governor: VargateGovernor, options: MountOptions) => Promise<TestServer>;

async function listen(server: http.Server, prefix: string): Promise<TestServer> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `http.createServer(toNodeHandler(governor, { prefix }))`. */
export const startNodeServer: StartServer = (governor, { prefix, maxBodyBytes }) =>
  listen(http.createServer(toNodeHandler(governor, { prefix, maxBodyBytes })), prefix);

/** An Express 5 app with the router mounted at `prefix` (Express strips it) and a route of its own. */
export const startExpressServer: StartServer = (governor, { prefix, maxBodyBytes }) => {
  const app = express();
  app.get("/health", (_req, res) => {
    res.json({ ok: true });
  });
  app.use(prefix, toExpressRouter(governor, { maxBodyBytes }));
  return listen(http.createServer(app), prefix);
};

/** A Fastify 5 app with the plugin registered under `prefix` and a JSON route of its own outside it. */
export const startFastifyServer: StartServer = async (governor, { prefix, maxBodyBytes }) => {
  const app = Fastify();
  app.post("/echo", async (request) => ({ echoed: request.body }));
  await app.register(vargateFastify, { governor, prefix, maxBodyBytes });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${prefix}`, close: () => app.close() };
};

/**
 * The fetch handler behind a minimal runtime of our own, deliberately not the node bridge: it buffers the body
 * and builds a plain `Request`, the way Bun, Deno or Hono's node server hand one over.
 */
export const startFetchServer: StartServer = (governor, { prefix, maxBodyBytes }) => {
  const handler = toFetchHandler(governor, { prefix, maxBodyBytes });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const item of [value ?? []].flat()) headers.append(name, item);
    }
    const method = req.method ?? "GET";
    const hasBody = method !== "GET" && method !== "HEAD";
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method,
      headers,
      body: hasBody ? Buffer.concat(chunks) : null,
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  return listen(server, prefix);
};
