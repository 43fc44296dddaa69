// vargate inside a Fastify 5 app: the REST surface and the MCP endpoint under /governance, one tenant, two
// governed tools, SQLite in a file. Run: npx tsx examples/fastify/server.ts (see README.md for the settings).
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { consoleLogger, defineTool, encryptedCredentialStore, isVargateError, VargateGovernor } from "vargate";
import { anthropicUpstream } from "vargate/anthropic";
import { vargateFastify } from "vargate/fastify";
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

const storage = kyselyStorageFromUrl(env.DATABASE_PATH ?? "./vargate-fastify.db");
// Credentials are encrypted at rest; without a fixed key they are re-stored with a fresh one at every start.
const credentialKey = env.VARGATE_CREDENTIAL_KEY ?? randomBytes(32).toString("hex");

// Listen first: the governor must know the URL the platform will use to reach its MCP endpoint, and Fastify takes
// no plugins once it listens. So Fastify gets an already-listening server through `serverFactory`.
const server = createServer();
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

const app = Fastify({ serverFactory: (handler) => server.on("request", handler) });
app.get("/health", async () => ({ ok: true })); // the app's own routes live next to vargate's
await app.register(vargateFastify, { governor, prefix: PREFIX });
await app.ready();

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
  server.close(); // ours, not Fastify's: app.close() closes only a server Fastify itself listened on
  await app.close();
  await governor.stop();
  await storage.close();
  await fake?.close();
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
