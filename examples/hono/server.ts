// vargate in a fetch-style runtime: a Hono app hands `c.req.raw` to `vargate/fetch` under /governance, with one
// tenant, two governed tools and SQLite in a file. Run: npx tsx examples/hono/server.ts (see README.md).
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { Hono } from "hono";
import { consoleLogger, defineTool, encryptedCredentialStore, isVargateError, VargateGovernor } from "vargate";
import { anthropicUpstream } from "vargate/anthropic";
import { toFetchHandler } from "vargate/fetch";
import { kyselyStorageFromUrl } from "vargate/kysely";
import { createFakePlatform } from "vargate/testing";
import * as z from "zod";

const env = process.env;
const PREFIX = "/governance";
const TENANT = env.TENANT_ID ?? "acme";

const tools = [
  defineTool({
    name: "crm_lookup",
    description: "Look a customer up in the CRM",
    inputSchema: z.object({ customer_id: z.string().min(1) }),
    credentials: ["crm"], // brokered: resolved when an allowed call runs, never shown to the agent
    // A real tool calls the CRM with it: fetch(url, { headers: { authorization: `Bearer ${credentials.crm}` } })
    execute: async (input, { credentials }) => ({ id: input.customer_id, tier: "gold", authorized: !!credentials.crm }),
  }),
  defineTool({
    name: "send_email",
    description: "Send an email to a customer",
    inputSchema: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
    execute: async (input) => ({ queued: true, to: input.to }),
  }),
];

// Upstream: the real Managed Agents API when ANTHROPIC_API_KEY is set (ANTHROPIC_BASE_URL is honoured too),
// otherwise vargate's fake platform in this process, so the example runs with no account.
const fake = env.ANTHROPIC_API_KEY ? undefined : await createFakePlatform();
const upstream = anthropicUpstream(fake ? { apiKey: fake.apiKey, baseURL: fake.url } : {});

const storage = kyselyStorageFromUrl(env.DATABASE_PATH ?? "./vargate-hono.db");
// Credentials are encrypted at rest; without a fixed key they are re-stored with a fresh one at every start.
const credentialKey = env.VARGATE_CREDENTIAL_KEY ?? randomBytes(32).toString("hex");

// Bun, Deno and Workers would serve `app.fetch` directly. On Node this minimal bridge stands in for
// @hono/node-server: the app never sees anything but a web Request and answers a web Response.
const app = new Hono();
const server = createServer((req, res) => void serveFetch(app.fetch, req, res));
// Listen first: the governor must know the URL the platform will use to reach its MCP endpoint.
server.listen(Number(env.PORT ?? 3000), env.HOST ?? "127.0.0.1");
await once(server, "listening");
const { address, port } = server.address() as AddressInfo;
const url = `http://${address}:${port}`;

const governor = new VargateGovernor({
  storage,
  upstream,
  tools,
  logger: consoleLogger,
  credentialStore: encryptedCredentialStore({ records: storage.credentials, key: credentialKey }),
  sessions: { publicUrl: `${env.PUBLIC_URL ?? url}${PREFIX}` },
});
await governor.migrate();
governor.start();

const vargate = toFetchHandler(governor, { prefix: PREFIX }); // the handler sees the full URL
app.get("/health", (c) => c.json({ ok: true })); // the app's own routes live next to vargate's
app.all(`${PREFIX}/*`, (c) => vargate(c.req.raw)); // the untouched Request: vargate reads the body itself

// One tenant. Only a key's hash is stored, so a restart issues a new key (and revokes the old one).
const issued = await governor.tenants.create({ tenant_id: TENANT }).catch(async (error: unknown) => {
  if (isVargateError(error) && error.code === "TENANT_EXISTS") return governor.tenants.rotateApiKey(TENANT);
  throw error;
});
await governor.credentials.put(TENANT, "crm", env.CRM_API_KEY ?? "crm-example-key");

console.log(`vargate listening on ${url}${PREFIX}`);
console.log(`tenant ${TENANT} api key: ${issued.api_key}`);
if (fake) console.log(`upstream: fake Managed Agents platform at ${fake.url}`);

const shutdown = async () => {
  server.closeAllConnections();
  server.close();
  await governor.stop();
  await storage.close();
  await fake?.close();
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);

/** node:http → fetch: the request streams in as a web Request, the web Response streams out. */
async function serveFetch(
  fetch: (request: Request) => Response | Promise<Response>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(new URL(req.url ?? "/", url), {
      method: req.method,
      headers,
      ...(hasBody && { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" }),
    });
    const response = await fetch(request);
    res.writeHead(response.status, [...response.headers].flat());
    if (response.body) Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>).pipe(res);
    else res.end();
  } catch {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  }
}
