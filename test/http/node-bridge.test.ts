// The shared Node bridge, exercised through real sockets: body limits while streaming, client aborts, response
// back-pressure, set-cookie, and failure containment.
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { handleNodeRequest } from "../../src/http/node-bridge.js";
import { isVargateError } from "../../src/index.js";
import { endlessBody, governorWithTenant, postStream } from "./helpers.js";
import { startExpressServer, startFastifyServer, startNodeServer, type TestServer } from "./servers.js";

type Handler = (request: Request) => Promise<Response>;

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A node:http server whose every request goes through the bridge to `handler`. */
async function bridged(handler: Handler, maxBodyBytes?: number): Promise<string> {
  const server = http.createServer((req, res) => handleNodeRequest(handler, req, res, { maxBodyBytes }));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push({
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe("node bridge: request bodies", () => {
  it("errors the body stream with PAYLOAD_TOO_LARGE once it passes the limit, without reading the rest", async () => {
    const seen = deferred<{ bytes: number; error: unknown }>();
    const url = await bridged(async (request) => {
      const reader = (request.body as ReadableStream<Uint8Array>).getReader();
      let bytes = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
        }
        seen.resolve({ bytes, error: null });
      } catch (error) {
        seen.resolve({ bytes, error });
      }
      return new Response(null, { status: 413 });
    }, 256 * 1024);

    const response = await postStream(url, "unused", endlessBody());
    expect(response.status).toBe(413);
    expect(response.headers.get("connection")).toBe("close");
    const { bytes, error } = await seen.promise;
    expect(isVargateError(error, "PAYLOAD_TOO_LARGE")).toBe(true);
    expect(bytes).toBeLessThanOrEqual(256 * 1024);
  });

  it("passes a body within the limit through intact, with or without content-length", async () => {
    const url = await bridged(async (request) => new Response(await request.arrayBuffer()));
    const payload = new Uint8Array(300_000).map((_, index) => index % 251);
    const sized = await fetch(url, { method: "POST", body: payload });
    const same = (bytes: ArrayBuffer) => Buffer.from(bytes).equals(payload);
    expect(same(await sized.arrayBuffer())).toBe(true);
    const chunked = await postStream(
      url,
      "unused",
      new ReadableStream({
        start(controller) {
          controller.enqueue(payload.subarray(0, 100_000));
          controller.enqueue(payload.subarray(100_000));
          controller.close();
        },
      }),
    );
    expect(same(await chunked.arrayBuffer())).toBe(true);
  });

  it("keeps a path that starts with // a path on the request's own host", async () => {
    const url = await bridged(async (request) => new Response(request.url));
    const reply = await (await fetch(`${url}//evil.example/managed/agents?x=1`)).text();
    const parsed = new URL(reply);
    expect(parsed.host).toBe(new URL(url).host);
    expect(parsed.pathname).toBe("//evil.example/managed/agents");
    expect(parsed.search).toBe("?x=1");
  });
});

describe("node bridge: aborts and responses", () => {
  it("aborts request.signal when the client disconnects", async () => {
    const arrived = deferred<void>();
    const aborted = deferred<boolean>();
    const url = await bridged(async (request) => {
      request.signal.addEventListener("abort", () => aborted.resolve(true));
      arrived.resolve();
      await aborted.promise;
      return new Response("too late");
    });
    const client = new AbortController();
    const pending = fetch(url, { signal: client.signal }).catch((error: unknown) => error);
    await arrived.promise;
    client.abort();
    expect(await aborted.promise).toBe(true);
    expect(await pending).toBeInstanceOf(Error);
  });

  it("streams a large response completely, honouring back-pressure", async () => {
    const total = 8 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const url = await bridged(async () => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= total) return controller.close();
            controller.enqueue(chunk);
            sent += chunk.byteLength;
          },
        }),
      );
    });
    const body = await (await fetch(url)).arrayBuffer();
    expect(body.byteLength).toBe(total);
  });

  it("stops reading the response body when the client goes away", async () => {
    const cancelled = deferred<boolean>();
    const url = await bridged(
      async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull: (controller) => controller.enqueue(new Uint8Array(64 * 1024)),
            cancel: () => cancelled.resolve(true),
          }),
        ),
    );
    const client = new AbortController();
    const response = await fetch(url, { signal: client.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    client.abort();
    expect(await cancelled.promise).toBe(true);
  });

  it("writes status, headers and every set-cookie", async () => {
    const url = await bridged(async () => {
      const headers = new Headers({ "content-type": "text/plain", "x-extra": "1" });
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2; Path=/");
      return new Response("created", { status: 201, headers });
    });
    const response = await fetch(url);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-extra")).toBe("1");
    expect(response.headers.get("connection")).not.toBe("close"); // keep-alive when the request was read in full
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(await response.text()).toBe("created");
  });

  it("answers a bare 500 in the error shape, without rejecting, when the handler itself throws", async () => {
    const url = await bridged(async () => {
      throw new Error("secret detail");
    });
    const response = await fetch(url);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: "Internal server error", code: "INTERNAL_ERROR" });
  });
});

describe("node bridge: methods a web Request cannot carry", () => {
  it("answers TRACE with 405 METHOD_NOT_ALLOWED in the error shape", async () => {
    const url = new URL(await bridged(async () => new Response("unreachable")));
    const request = http.request({ host: url.hostname, port: url.port, path: "/managed/agents", method: "TRACE" });
    request.end();
    const [response] = (await once(request, "response")) as [http.IncomingMessage];
    let text = "";
    for await (const chunk of response) text += chunk;
    expect(response.statusCode).toBe(405);
    expect(JSON.parse(text)).toEqual({ detail: "Method not allowed", code: "METHOD_NOT_ALLOWED" });
  });
});

describe.each([
  ["node:http", startNodeServer],
  ["Express", startExpressServer],
  ["Fastify", startFastifyServer],
] as const)("%s adapter: streaming limits", (_name, start) => {
  it("answers 413 to a body that never ends", async () => {
    const { governor, apiKey } = await governorWithTenant();
    const server: TestServer = await start(governor, { prefix: "/api" });
    servers.push(server);
    const response = await postStream(`${server.url}/managed/agents`, apiKey, endlessBody());
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    // The server is still healthy afterwards.
    const after = await fetch(`${server.url}/managed/agents`, { headers: { "x-api-key": apiKey } });
    expect(after.status).toBe(200);
  });
});
