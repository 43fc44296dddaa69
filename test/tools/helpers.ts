// A real local HTTP target that records what it receives, and a credential store holding test secrets.
import { randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { encryptedCredentialStore } from "../../src/credentials/encrypted-store.js";
import type { CredentialStore } from "../../src/credentials/store.js";
import { VargateGovernor } from "../../src/governor.js";
import { memoryStorage } from "../../src/storage/memory/index.js";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Respond = (request: ReceivedRequest, res: http.ServerResponse) => void;

export interface Target {
  url: string;
  received: ReceivedRequest[];
  /** How the next requests are answered. @default echo: 200 JSON of the request */
  respond: Respond;
  close(): Promise<void>;
}

/** Answers with the whole request as JSON, headers included: the worst case for a leaked credential. */
export const echo: Respond = (request, res) => {
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(request));
};

export async function startTarget(): Promise<Target> {
  const target: Target = {
    url: "",
    received: [],
    respond: echo,
    close: async () => {},
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: ReceivedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    target.received.push(request);
    target.respond(request, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return target;
}

/** The default AES-256-GCM store on memory storage, holding `secrets` for tenant `acme`. */
export async function credentialStore(secrets: Record<string, string>): Promise<CredentialStore> {
  const storage = memoryStorage();
  await new VargateGovernor({ storage }).tenants.create({ tenant_id: "acme" });
  const store = encryptedCredentialStore({ records: storage.credentials, key: randomBytes(32) });
  for (const [name, secret] of Object.entries(secrets)) {
    await store.put("acme", name, secret, {
      action_id: randomUUID(),
      session_id: null,
      agent_id: null,
      event_id: null,
      actor: "test",
      source: "control_plane",
      tool: "control_plane",
      method: "put_credential",
      decision: "allow",
      severity: "none",
      violations: [],
      input: { name },
      policy_version: null,
      requested_at: new Date().toISOString(),
    });
  }
  return store;
}

export const IDS = { tenantId: "acme", sessionId: "vs-0123456789abcdef", agentId: "agent-0123456789ab" };
