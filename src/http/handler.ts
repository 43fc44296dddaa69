import { toVargateError, VargateError } from "../errors.js";
import type { VargateGovernor } from "../governor.js";
import { DEFAULT_MAX_BODY_BYTES, readJsonBody } from "./body.js";
import { errorResponse, jsonResponse } from "./respond.js";
import { type Route, routes } from "./routes.js";

export interface RequestHandlerOptions {
  /** Path the surface is mounted under, e.g. `/api`; routes then answer at `/api/managed/...`. @default "" */
  prefix?: string;
  /** Largest accepted request body in bytes; larger bodies get 413. @default 1048576 (1 MB) */
  maxBodyBytes?: number;
}

/**
 * What an adapter may already hold for a request, so the core does not take it from the `Request` again. The Node
 * adapters read a body whose declared length fits the limit before calling the core, and pass it here with the
 * signal of the client's connection; fetch runtimes pass nothing.
 */
export interface RequestExtras {
  /** The whole body, read within the body limit. When given, `request.body` is not read. */
  body?: Uint8Array;
  /** Aborts when the client goes away. @default request.signal */
  signal?: AbortSignal;
}

export type RequestHandler = (request: Request, extras?: RequestExtras) => Promise<Response>;

/**
 * A route that answers the raw request itself, authentication included: the MCP endpoint, whose bearer token
 * belongs to a session rather than a tenant, and the public OpenAPI document. The core matches its path and
 * method, then hands the request over unread (no tenant authentication, no body parsing) and maps anything it
 * throws like any other route's error.
 */
export interface RawRoute extends Route {
  /** How the route authenticates callers instead of the tenant credential; the OpenAPI document states it. */
  authentication: "session-token" | "none";
  serve(request: Request, context: RawRouteContext): Promise<Response>;
}

export interface RawRouteContext {
  governor: VargateGovernor;
  params: Record<string, string>;
  /** The handler's body limit; the route enforces it while reading. */
  maxBodyBytes: number;
  /** The whole body when the adapter already read it (within the limit); otherwise read `request.body`. */
  body?: Uint8Array;
  /** Aborts when the client goes away. @default request.signal */
  signal?: AbortSignal;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/**
 * The web-standard core of the REST surface: one `(Request) => Promise<Response>`. Every adapter wraps it.
 *
 * It matches the route, authenticates, reads the body within the size limit, calls the governor and maps any
 * error through the error table.
 */
export function createRequestHandler(governor: VargateGovernor, options: RequestHandlerOptions = {}): RequestHandler {
  const prefix = normalisePrefix(options.prefix ?? "");
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const compiled = routes.map(compileRoute);

  return async (request, given) => {
    const extras = checkedExtras(given);
    try {
      const url = new URL(request.url);
      const path = stripPrefix(url.pathname, prefix);
      const candidates = path === null ? [] : matchPath(compiled, path);
      if (candidates.length === 0) throw new VargateError("ROUTE_NOT_FOUND");
      const match = candidates.find(({ route }) => route.method === request.method);
      if (!match) {
        const allow = [...new Set(candidates.map(({ route }) => route.method))].join(", ");
        return errorResponse(new VargateError("METHOD_NOT_ALLOWED"), { allow });
      }

      if (isRawRoute(match.route)) {
        return await match.route.serve(request, {
          governor,
          params: match.params,
          maxBodyBytes,
          body: extras?.body,
          signal: extras?.signal ?? request.signal,
        });
      }
      const identity = await governor.authenticate(request);
      const body = METHODS_WITH_BODY.has(request.method)
        ? await readJsonBody(request, maxBodyBytes, extras?.body)
        : undefined;
      const result = await match.route.handle({
        governor,
        identity,
        params: match.params,
        query: url.searchParams,
        body,
      });
      return result instanceof Response ? result : jsonResponse(result);
    } catch (thrown) {
      const error = toVargateError(thrown);
      if (error.status >= 500) {
        governor.logger.error("Request failed", {
          code: error.code,
          method: request.method,
          error: describe(error.cause ?? error),
        });
      }
      return errorResponse(error);
    }
  };
}

// The handler may be given straight to a runtime that passes other things second (a Worker's env, Deno's info):
// only a real body and signal count.
function checkedExtras(given: RequestExtras | undefined): RequestExtras | undefined {
  if (!given || typeof given !== "object") return undefined;
  const body = given.body instanceof Uint8Array ? given.body : undefined;
  const signal = given.signal instanceof AbortSignal ? given.signal : undefined;
  return body || signal ? { body, signal } : undefined;
}

function isRawRoute(route: Route): route is RawRoute {
  return typeof (route as Partial<RawRoute>).serve === "function";
}

function compileRoute(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { route, names, pattern: new RegExp(`^${source}/?$`) };
}

function matchPath(compiled: CompiledRoute[], path: string) {
  const matches: { route: Route; params: Record<string, string> }[] = [];
  for (const { route, pattern, names } of compiled) {
    const found = pattern.exec(path);
    if (!found) continue;
    const params: Record<string, string> = {};
    const decoded = names.every((name, index) => {
      const value = decodeSegment(found[index + 1] as string);
      if (value !== null) params[name] = value;
      return value !== null;
    });
    if (decoded) matches.push({ route, params });
  }
  return matches;
}

// A malformed escape (`%zz`) matches no route: a 404, not an internal error.
function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  return trimmed === "" || trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

function stripPrefix(pathname: string, prefix: string): string | null {
  if (prefix === "") return pathname;
  if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return null;
  return pathname.slice(prefix.length) || "/";
}

// Logs carry the error's name and message only; stack traces stay out of structured logs by default.
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
