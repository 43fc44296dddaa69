import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "../adapters/node.js";
import { encryptedCredentialStore } from "../credentials/encrypted-store.js";
import type { CredentialStore } from "../credentials/store.js";
import { VargateGovernor } from "../governor.js";
import { consoleLogger } from "../logger.js";
import { readToolsConfigFile } from "../tools/config-file.js";
import { type DatabaseOption, displayDatabase, openStorage, resolveDatabaseUrl } from "./database.js";
import { CliError, type CliIo, EXIT_OK, type Redact, redactingLogger, UsageError } from "./io.js";

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = "127.0.0.1";

/** How long in-flight requests may run after a shutdown signal before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface ServeOptions extends DatabaseOption {
  port?: string;
  host?: string;
  jwtSecret?: string;
  publicUrl?: string;
  /** A tools config file (declarative HTTP tools) to serve as governed tools. */
  config?: string;
}

/**
 * `vargate serve`: migrates, listens, prints `vargate listening on http://HOST:PORT`, and runs until
 * `io.signal` aborts; then it stops accepting connections, lets in-flight requests finish and closes storage.
 */
export async function serve(options: ServeOptions, io: CliIo, redact: Redact): Promise<number> {
  const port = parsePort(options.port ?? io.env.PORT);
  const host = options.host ?? DEFAULT_HOST;
  const databaseUrl = resolveDatabaseUrl(options, io);
  const jwtSecret = options.jwtSecret ?? emptyToUndefined(io.env.VARGATE_JWT_SECRET);
  const logger = redactingLogger(io.logger ?? consoleLogger, redact);

  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret, "utf8") < 32) {
    throw new UsageError("--jwt-secret / VARGATE_JWT_SECRET must be at least 32 bytes (HS256)");
  }
  if (io.signal?.aborted) return EXIT_OK;
  // Before anything is opened, so a bad config fails fast and names the offending paths.
  const toolsConfig = options.config ?? emptyToUndefined(io.env.VARGATE_TOOLS_CONFIG);
  const tools = toolsConfig === undefined ? [] : await readToolsConfigFile(toolsConfig);

  const upstream = await upstreamFromEnv(io.env);
  const publicUrl = options.publicUrl ?? emptyToUndefined(io.env.VARGATE_PUBLIC_URL);
  const environmentId = emptyToUndefined(io.env.VARGATE_ENVIRONMENT_ID);
  const credentialKey = emptyToUndefined(io.env.VARGATE_CREDENTIAL_KEY);
  const storage = await openStorage(databaseUrl);
  let credentialStore: CredentialStore | undefined;
  try {
    // Checked at start-up rather than at the first governed call.
    if (credentialKey !== undefined)
      credentialStore = encryptedCredentialStore({ records: storage.credentials, key: credentialKey });
  } catch (error) {
    await storage.close().catch(() => {});
    throw error;
  }
  const governor = new VargateGovernor({
    storage,
    logger,
    tools,
    ...(credentialStore && { credentialStore }),
    ...(jwtSecret !== undefined && { auth: { jwt: { secret: jwtSecret } } }),
    ...(upstream && { upstream }),
    sessions: {
      ...(publicUrl !== undefined && { publicUrl }),
      ...(environmentId !== undefined && { environmentId }),
    },
  });
  if (toolsConfig !== undefined) {
    logger.info("Tools loaded", { config: toolsConfig, tools: tools.map((tool) => tool.name).join(", ") });
  }
  if (credentialKey === undefined && tools.some((tool) => tool.credentials.length > 0)) {
    logger.warn("Tools need credentials but VARGATE_CREDENTIAL_KEY is not set; their calls will fail");
  }
  const handler = toNodeHandler(governor);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((error: unknown) => {
      logger.error("Unhandled request failure", { error: describe(error) });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ detail: "Internal server error", code: "INTERNAL_ERROR" }));
    });
  });

  try {
    await listen(server, port, host);
  } catch (error) {
    await governor.close().catch(() => {});
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new CliError(`cannot listen on ${host}:${port}: address already in use`);
    if (code === "EACCES") throw new CliError(`cannot listen on ${host}:${port}: permission denied`);
    throw error;
  }

  governor.start();
  const bound = (server.address() as AddressInfo).port;
  io.stdout(`vargate listening on http://${formatHost(host)}:${bound}\n`);
  logger.info("vargate serve started", { database: displayDatabase(databaseUrl), storage: storage.name });

  await untilAborted(io.signal);
  logger.info("vargate serve stopping");
  await closeServer(server);
  await governor.close();
  return EXIT_OK;
}

/**
 * The Managed Agents upstream when `ANTHROPIC_API_KEY` is set, with `ANTHROPIC_BASE_URL` if given. The SDK is an
 * optional peer, so it is loaded only then.
 */
async function upstreamFromEnv(env: NodeJS.ProcessEnv) {
  const apiKey = emptyToUndefined(env.ANTHROPIC_API_KEY);
  if (apiKey === undefined) return undefined;
  const baseURL = emptyToUndefined(env.ANTHROPIC_BASE_URL);
  const { anthropicUpstream } = await import("../upstream/anthropic.js").catch((error: unknown) => {
    throw new CliError(`ANTHROPIC_API_KEY is set but @anthropic-ai/sdk cannot be loaded: ${describe(error)}`);
  });
  return anthropicUpstream({ apiKey, ...(baseURL !== undefined && { baseURL }) });
}

export function parsePort(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new UsageError(`invalid port "${value}": expected an integer from 0 to 65535`);
  }
  return Number(value);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  // Without a signal the server runs until the process ends.
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

function formatHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
