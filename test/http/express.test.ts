// Express-specific behaviour beyond the shared contract: body parsers that ran first, and mounting.
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { toExpressRouter } from "../../src/adapters/express.js";
import { governorWithTenant } from "./helpers.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(app: express.Express): Promise<string> {
  const server = http.createServer(app);
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, apiKey: string, body: string, type = "application/json") =>
  fetch(url, { method: "POST", headers: { "x-api-key": apiKey, "content-type": type }, body });

describe("Express adapter with express.json() in front", () => {
  async function appWithJsonParser() {
    const { governor, apiKey } = await governorWithTenant();
    const app = express();
    // A generous parser limit, so vargate's own (1 MB) is the one that applies.
    app.use(express.json({ limit: "10mb" }));
    app.use("/api", toExpressRouter(governor));
    return { url: `${await serve(app)}/api/managed/agents`, apiKey };
  }

  it("re-serialises the parsed body", async () => {
    const { url, apiKey } = await appWithJsonParser();
    const created = await post(url, apiKey, JSON.stringify({ name: "parsed first", allowed_tools: ["a"] }));
    expect(created.status).toBe(200);
    expect(await created.json()).toMatchObject({ name: "parsed first", allowed_tools: ["a"], version: 1 });
  });

  it("still validates, and still answers 413 past vargate's limit", async () => {
    const { url, apiKey } = await appWithJsonParser();
    const invalid = await post(url, apiKey, JSON.stringify({ name: "x", max_delegation_depth: 6 }));
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ code: "VALIDATION_FAILED" });
    const big = await post(url, apiKey, JSON.stringify({ name: "big", system_prompt: "x".repeat(2 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ detail: "Request body too large", code: "PAYLOAD_TOO_LARGE" });
  });

  it("leaves bodies the parser skipped to vargate (415 for text)", async () => {
    const { url, apiKey } = await appWithJsonParser();
    const reply = await post(url, apiKey, "name=x", "text/plain");
    expect(reply.status).toBe(415);
    expect(await reply.json()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
  });
});

describe("Express adapter mounting", () => {
  it("works inside nested routers, next to the app's own routes", async () => {
    const { governor, apiKey } = await governorWithTenant();
    const app = express();
    app.get("/tenants/area/health", (_req, res) => {
      res.json({ ok: true });
    });
    const outer = express.Router();
    outer.use("/area", toExpressRouter(governor));
    app.use("/tenants", outer);
    const origin = await serve(app);

    expect(await (await fetch(`${origin}/tenants/area/health`)).json()).toEqual({ ok: true });
    const created = await post(`${origin}/tenants/area/managed/agents`, apiKey, JSON.stringify({ name: "nested" }));
    expect(created.status).toBe(200);
    const listed = await fetch(`${origin}/tenants/area/managed/agents`, { headers: { "x-api-key": apiKey } });
    expect(await listed.json()).toMatchObject({ count: 1 });
  });

  it("applies a prefix inside the mount point", async () => {
    const { governor, apiKey } = await governorWithTenant();
    const app = express();
    app.use("/api", toExpressRouter(governor, { prefix: "/v2" }));
    const origin = await serve(app);
    const ok = await fetch(`${origin}/api/v2/managed/agents`, { headers: { "x-api-key": apiKey } });
    expect(ok.status).toBe(200);
    const outside = await fetch(`${origin}/api/managed/agents`, { headers: { "x-api-key": apiKey } });
    expect(outside.status).toBe(404);
  });
});
