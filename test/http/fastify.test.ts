// Fastify-specific behaviour beyond the shared contract: encapsulation, hooks and nested prefixes.
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { vargateFastify } from "../../src/adapters/fastify.js";
import { governorWithTenant } from "./helpers.js";

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function listen(app: FastifyInstance): Promise<string> {
  apps.push(app);
  return app.listen({ port: 0, host: "127.0.0.1" });
}

describe("Fastify plugin", () => {
  it("keeps Fastify's JSON parsing for the app's own routes", async () => {
    const { governor } = await governorWithTenant();
    const app = Fastify();
    app.post("/echo", async (request) => ({ echoed: request.body }));
    await app.register(vargateFastify, { governor, prefix: "/api" });
    const origin = await listen(app);
    const reply = await fetch(`${origin}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
    });
    expect(await reply.json()).toEqual({ echoed: { a: 1 } });
  });

  it("sends responses through reply, so the app's hooks see them", async () => {
    const { governor, apiKey } = await governorWithTenant();
    const app = Fastify();
    app.addHook("onRequest", async (_request, reply) => {
      reply.header("x-request-hook", "yes");
    });
    app.addHook("onSend", async (_request, reply) => {
      reply.header("x-send-hook", String(reply.statusCode));
    });
    await app.register(vargateFastify, { governor, prefix: "/api" });
    const origin = await listen(app);
    const reply = await fetch(`${origin}/api/managed/agents`, { headers: { "x-api-key": apiKey } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("x-request-hook")).toBe("yes");
    expect(reply.headers.get("x-send-hook")).toBe("200");
    expect(reply.headers.get("cache-control")).toBe("no-store");
  });

  it("mounts under nested prefixes, and at the root", async () => {
    const { governor, apiKey } = await governorWithTenant();
    const app = Fastify();
    await app.register(
      async (child) => {
        await child.register(vargateFastify, { governor, prefix: "/gov" });
      },
      { prefix: "/outer" },
    );
    const origin = await listen(app);
    const nested = await fetch(`${origin}/outer/gov/managed/agents`, { headers: { "x-api-key": apiKey } });
    expect(nested.status).toBe(200);

    const root = Fastify();
    await root.register(vargateFastify, { governor });
    const rootOrigin = await listen(root);
    const atRoot = await fetch(`${rootOrigin}/managed/audit/verify`, { headers: { "x-api-key": apiKey } });
    expect(await atRoot.json()).toMatchObject({ valid: true });
  });

  it("honours maxBodyBytes rather than Fastify's bodyLimit", async () => {
    const { governor, apiKey } = await governorWithTenant();
    const app = Fastify({ bodyLimit: 100 });
    await app.register(vargateFastify, { governor, prefix: "/api", maxBodyBytes: 4096 });
    const origin = await listen(app);
    const post = (body: string) =>
      fetch(`${origin}/api/managed/agents`, {
        method: "POST",
        headers: { "x-api-key": apiKey, "content-type": "application/json" },
        body,
      });
    expect((await post(JSON.stringify({ name: "fits", system_prompt: "x".repeat(1000) }))).status).toBe(200);
    const over = await post(JSON.stringify({ name: "over", system_prompt: "x".repeat(5000) }));
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
  });
});
