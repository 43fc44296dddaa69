// The one bridge between Node's http objects and the web-standard core. Express, Fastify and node:http all use it.
// It imports only node builtins and the public entry point, so a third-party adapter could copy it as is.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { DEFAULT_MAX_BODY_BYTES, isVargateError, VARGATE_ERROR_CODES, VargateError } from "../index.js";

/** How `toWebRequest` reads a Node request. */
export interface NodeRequestOptions {
  /** Largest body in bytes; a longer stream errors with `PAYLOAD_TOO_LARGE` while it is read. @default 1 MB */
  maxBodyBytes?: number;
  /** Read the body from this stream instead of `req`, e.g. Fastify's payload after its preParsing hooks. */
  bodyStream?: Readable;
}

/** How `handleNodeRequest` hands requests over. */
export interface NodeHandleOptions extends NodeRequestOptions {
  /**
   * The handler reads `extras` (it comes from `createRequestHandler`): a body whose declared `content-length`
   * fits `maxBodyBytes` is then read before the handler is called and passed as `extras.body`, with the client's
   * signal as `extras.signal`, and the `Request` carries neither. That skips a web stream, the `Request`'s copy of
   * the body and a second signal on every such request. Other bodies stream as `toWebRequest` describes.
   */
  readsExtras?: boolean;
}

/**
 * The `(request, extras)` shape of the core's `RequestHandler` (its `RequestExtras`, spelled out so that this file
 * needs only the public entry point); a plain `(request) => ...` handler fits it too.
 */
type WebHandler = (request: Request, extras?: { body?: Uint8Array; signal?: AbortSignal }) => Promise<Response>;

const METHODS_WITHOUT_BODY = new Set(["GET", "HEAD"]);
// `application/json` and `application/<something>+json`, with or without parameters.
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;
// Methods a web `Request` cannot carry; Node still delivers them.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * Builds a web `Request` from a Node request.
 *
 * - The URL is `req.url` on the request's host, so Express's mount-relative `req.url` routes as it should.
 * - The body streams lazily and errors with `PAYLOAD_TOO_LARGE` once it passes `maxBodyBytes`, so an oversized
 *   body is never buffered, whatever its `content-length` says (or when it has none).
 * - A body some middleware already read (`express.json()` and friends leave it on `req.body`) is re-serialised.
 * - `request.signal` aborts when the client disconnects before the response is finished.
 *
 * Throws `METHOD_NOT_ALLOWED` for CONNECT, TRACE and TRACK, which a web `Request` cannot represent.
 */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, options: NodeRequestOptions = {}): Request {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const method = (req.method ?? "GET").toUpperCase();
  if (FORBIDDEN_METHODS.has(method)) throw new VargateError("METHOD_NOT_ALLOWED");
  const headers = webHeaders(req);
  const signal = disconnectSignal(res);

  let body: ReadableStream<Uint8Array> | Uint8Array<ArrayBuffer> | null = null;
  if (!METHODS_WITHOUT_BODY.has(method)) {
    const parsed = preParsedBody(req);
    if (parsed !== undefined) {
      body = parsed;
      headers.delete("content-encoding"); // the parser already decoded it
      headers.set("content-length", String(parsed.byteLength));
    } else {
      body = limitedStream(options.bodyStream ?? req, maxBodyBytes);
    }
  }

  const init: RequestInit & { duplex?: "half" } = { method, headers, body, signal };
  if (body instanceof ReadableStream) init.duplex = "half"; // required by undici for streamed bodies
  return new Request(requestUrl(req), init);
}

/**
 * Writes a web `Response` to a Node response: status, headers (each `set-cookie` separately), then the body,
 * waiting for `drain` when the socket is full. Stops reading the body if the client goes away.
 */
export async function writeWebResponse(res: ServerResponse, response: Response, req?: IncomingMessage): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  // Answered before the body was read (413, 401, ...): close the connection rather than read the rest of it.
  if (req && !req.complete) res.setHeader("connection", "close");

  if (!response.body || req?.method === "HEAD") {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    // A JSON body (REST answers, MCP's JSON responses) is one document, nearly always one chunk: sent with its
    // length in one write rather than chunked. Other bodies (event streams, exports) are written as they come.
    let pending: ReadableStreamReadResult<Uint8Array> | undefined;
    if (JSON_TYPE.test(response.headers.get("content-type") ?? "")) {
      const first = await reader.read();
      if (first.done) {
        if (!res.destroyed) res.end();
        return;
      }
      const second = await reader.read();
      if (res.destroyed) return;
      if (second.done) {
        if (!res.hasHeader("content-length")) res.setHeader("content-length", first.value.byteLength);
        res.end(first.value);
        return;
      }
      if (!res.write(first.value)) await drained(res);
      pending = second;
    }
    for (let chunk = pending ?? (await reader.read()); !chunk.done; chunk = await reader.read()) {
      if (res.destroyed) return;
      if (!res.write(chunk.value)) await drained(res);
    }
    res.end();
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * Runs a web handler for one Node request. Never rejects: a failure outside the handler (which maps its own errors)
 * becomes a generic 500 in the `{detail, code}` shape, or a destroyed socket when headers are already out.
 */
export async function handleNodeRequest(
  handler: WebHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeHandleOptions = {},
): Promise<void> {
  try {
    const whole = options.readsExtras ? wholeBodyLength(req, options) : undefined;
    let response: Response;
    if (whole === undefined) {
      response = await handler(toWebRequest(req, res, options));
    } else {
      const signal = disconnectSignal(res);
      const body = await readWholeBody(req, whole);
      if (body === null) {
        res.destroy(); // the client went away before its body arrived: nobody to answer
        return;
      }
      const request = new Request(requestUrl(req), {
        method: (req.method as string).toUpperCase(),
        headers: webHeaders(req),
      });
      response = await handler(request, { body, signal });
    }
    await writeWebResponse(res, response, req);
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Only the bridge's own refusals keep their code; anything else is a generic 500, its message never sent.
    const code = isVargateError(error, "METHOD_NOT_ALLOWED") ? error.code : "INTERNAL_ERROR";
    res.statusCode = VARGATE_ERROR_CODES[code].status;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.setHeader("cache-control", "no-store");
    res.end(JSON.stringify({ detail: VARGATE_ERROR_CODES[code].message, code }));
  }
}

function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(":")) continue; // HTTP/2 pseudo-headers are not headers
    if (typeof value === "string") headers.append(name, value);
    else for (const item of value) headers.append(name, item);
  }
  return headers;
}

/** Aborts when the client disconnects before the response is finished. */
function disconnectSignal(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort(new Error("Client disconnected"));
  });
  return abort.signal;
}

/**
 * The length of a body `handleNodeRequest` may read whole before calling the handler: one that declares a
 * `content-length` within the limit, on a method that carries a body, not already read by a middleware and not
 * taken from another stream. `undefined` otherwise.
 */
function wholeBodyLength(req: IncomingMessage, options: NodeRequestOptions): number | undefined {
  if (options.bodyStream || req.headers["transfer-encoding"] !== undefined) return undefined;
  const declared = req.headers["content-length"];
  if (declared === undefined || !/^\d{1,10}$/.test(declared)) return undefined;
  const length = Number(declared);
  if (length > (options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)) return undefined;
  const method = (req.method ?? "GET").toUpperCase();
  if (METHODS_WITHOUT_BODY.has(method) || FORBIDDEN_METHODS.has(method)) return undefined;
  if (req.readableEnded || (req.complete && !req.readable)) return undefined; // read by someone else
  return length;
}

/** The body of `req`, `length` bytes as declared; `null` if the client went away first. */
function readWholeBody(req: IncomingMessage, length: number): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      chunks.push(bytes);
      size += bytes.byteLength;
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 && size === length ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onGone = () => {
      cleanup();
      resolve(null);
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onGone);
      req.off("close", onGone);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onGone);
    req.on("close", onGone);
  });
}

function requestUrl(req: IncomingMessage): string {
  const secure = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const path = req.url ?? "/";
  try {
    // An absolute-form target (proxies) keeps only its path; `//x` must stay a path, never become a host.
    const relative = path.startsWith("/") ? path : new URL(path).pathname + new URL(path).search;
    const host = req.headers.host ?? req.headers[":authority"];
    return new URL(`${secure ? "https" : "http"}://${host ?? "localhost"}${relative}`).href;
  } catch {
    return new URL(`http://localhost${path.startsWith("/") ? path : "/"}`).href;
  }
}

// A body-parsing middleware consumed the stream and left the result on `req.body`.
function preParsedBody(req: IncomingMessage): Uint8Array<ArrayBuffer> | undefined {
  const consumed = req.readableEnded || (req.complete && !req.readable);
  if (!consumed || !("body" in req)) return undefined;
  const value = (req as { body?: unknown }).body;
  if (value === undefined || value === null) return new Uint8Array();
  if (value instanceof Uint8Array) return new Uint8Array(value); // express.raw() leaves a Buffer
  return new TextEncoder().encode(typeof value === "string" ? value : JSON.stringify(value));
}

function limitedStream(source: Readable, maxBytes: number): ReadableStream<Uint8Array> | null {
  if (source.readableEnded) return null; // read by someone who kept nothing: the core sees an empty body
  let received = 0;
  let cleanup = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const onData = (chunk: Buffer | string) => {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        received += bytes.byteLength;
        if (received > maxBytes) {
          cleanup();
          controller.error(new VargateError("PAYLOAD_TOO_LARGE"));
          return;
        }
        controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        // Back-pressure: stop the socket until the core pulls again.
        if ((controller.desiredSize ?? 0) <= 0) source.pause();
      };
      const onEnd = () => {
        cleanup();
        controller.close();
      };
      const onError = (error: Error) => {
        cleanup();
        controller.error(error);
      };
      cleanup = () => {
        source.off("data", onData);
        source.off("end", onEnd);
        source.off("error", onError);
        source.pause();
      };
      source.on("data", onData);
      source.once("end", onEnd);
      source.once("error", onError);
    },
    pull() {
      source.resume();
    },
    cancel() {
      cleanup();
    },
  });
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}
