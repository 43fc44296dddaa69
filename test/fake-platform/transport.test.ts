import Anthropic, { AuthenticationError, BadRequestError, InternalServerError, NotFoundError } from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startFake } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.fake.close();
});

describe("fake platform transport", () => {
  it("serves an unmodified SDK client and tags responses with a request id", async () => {
    h = await startFake();
    const env = await h.client.beta.environments.create({ name: "e" });
    expect(env.id).toMatch(/^env_/);
    expect(env._request_id).toMatch(/^req_/);
    const request = h.fake.requests.find((r) => r.method === "POST" && r.path === "/v1/environments");
    expect(request?.headers.authorization).toBe(`Bearer ${h.fake.apiKey}`);
    expect(request?.headers["anthropic-beta"]).toContain("managed-agents-2026-04-01");
    expect(request?.headers["anthropic-version"]).toBeDefined();
    expect(request?.body).toEqual({ name: "e" });
    expect(request?.status).toBe(200);
  });

  it("rejects a wrong key with a 401 authentication_error envelope", async () => {
    h = await startFake();
    const bad = new Anthropic({ apiKey: "sk-wrong", baseURL: h.fake.url, maxRetries: 0 });
    const error = await bad.beta.agents.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    const apiError = error as AuthenticationError;
    expect(apiError.status).toBe(401);
    expect(apiError.type).toBe("authentication_error");
    expect(apiError.requestID).toMatch(/^req_/);
    expect(apiError.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it("accepts x-api-key as the docs' curl samples send it", async () => {
    h = await startFake();
    const response = await fetch(`${h.fake.url}/v1/agents?beta=true`, {
      headers: {
        "x-api-key": h.fake.apiKey,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "managed-agents-2026-04-01",
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    expect(await response.json()).toEqual({ data: [], next_page: null });
  });

  it("rejects requests without the managed-agents beta header", async () => {
    h = await startFake();
    const response = await fetch(`${h.fake.url}/v1/agents`, { headers: { authorization: `Bearer ${h.fake.apiKey}` } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as {
      type: string;
      error: { type: string; message: string };
      request_id: string;
    };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toContain("managed-agents-2026-04-01");
    expect(body.request_id).toBe(response.headers.get("request-id"));
  });

  it("answers unknown resources with not_found_error and typed details", async () => {
    h = await startFake();
    const missing = await h.client.beta.sessions.retrieve("sesn_nope").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    const env = await h.client.beta.environments.retrieve("env_nope").catch((e: unknown) => e);
    expect(env).toBeInstanceOf(NotFoundError);
    expect((env as NotFoundError).errorCode).toBe("environment_not_found");
  });

  it("validates bodies with a 400 that names the field", async () => {
    h = await startFake();
    const error = await h.client.beta.agents.create({ name: "", model: "claude-sonnet-4-6" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain("name");
  });

  it("fails the next K requests with 5xx, surfaced by the SDK with status and request id", async () => {
    h = await startFake();
    const handle = h.fake.faults.failNext(2, { path: "/v1/agents" });
    const first = await h.client.beta.agents.list().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(InternalServerError);
    expect((first as InternalServerError).status).toBe(500);
    expect((first as InternalServerError).requestID).toMatch(/^req_/);
    expect((first as InternalServerError).type).toBe("api_error");
    // Other paths are not affected by a scoped rule.
    await expect(h.client.beta.environments.list()).resolves.toBeDefined();
    await expect(h.client.beta.agents.list()).rejects.toBeInstanceOf(InternalServerError);
    expect(handle.remaining).toBe(0);
    await expect(h.client.beta.agents.list()).resolves.toBeDefined();
    const injected = h.fake.requests.filter((r) => r.injected);
    expect(injected.map((r) => r.status)).toEqual([500, 500]);
  });

  it("lets a retrying client recover from injected 5xx (retry-after-ms keeps it quick)", async () => {
    h = await startFake();
    const retrying = new Anthropic({ apiKey: h.fake.apiKey, baseURL: h.fake.url, maxRetries: 2 });
    h.fake.faults.failNext(2, { status: 503, retryAfterMs: 1 });
    const page = await retrying.beta.agents.list();
    expect(page.data).toEqual([]);
    expect(h.fake.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });
});
