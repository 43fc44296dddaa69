// The one HTTP contract every adapter must pass. It talks to a real server over the loopback with global fetch.
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentConfigRecord,
  type Clock,
  type Logger,
  VargateError,
  VargateGovernor,
  type VargateGovernorOptions,
  type VargateStorage,
} from "../../src/index.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import type { StartServer, TestServer } from "./servers.js";

export interface ContractStorage {
  storage: VargateStorage;
  cleanup(): Promise<void>;
}

export interface HttpContractOptions {
  /** Where the suite mounts vargate. @default "/api/governance" */
  prefix?: string;
  /** Fresh, migrated storage for the suite. @default memoryStorage() */
  createStorage?: () => Promise<ContractStorage>;
}

const JWT_SECRET = "contract-suite-hs256-secret-of-at-least-32-bytes";
const SECRET_BYTES = new TextEncoder().encode(JWT_SECRET);
const TWO_MB = 2 * 1024 * 1024;
// Leaked into a storage failure; must never reach a client.
const INTERNAL_SECRET = "postgres://admin:hunter2@db.internal/vargate";

/** The seed's create-response fields, then the list-item fields; responses may add fields, never drop these. */
const SEED_CREATE_FIELDS = [
  "id",
  "tenant_id",
  "name",
  "anthropic_model",
  "allowed_tools",
  "max_session_hours",
  "max_daily_sessions",
  "max_delegation_depth",
] as const;
const SEED_LIST_FIELDS = [
  "id",
  "name",
  "anthropic_model",
  "allowed_tools",
  "max_session_hours",
  "max_daily_sessions",
  "max_delegation_depth",
  "parent_agent_id",
  "created_at",
] as const;

const SEED_BODY = {
  name: "Research Assistant",
  anthropic_model: "claude-sonnet-4-6",
  system_prompt: "You are a research assistant...",
  allowed_tools: ["vargate_web_search", "vargate_send_email"],
  require_human_approval: ["vargate_send_email"],
  max_session_hours: 4.0,
  max_daily_sessions: 20,
  max_delegation_depth: 1,
  governance_profile: { risk_level: "standard" },
  parent_agent_id: null,
};

/** One seed validation rule per row: the body sent and the field `loc` must name. */
const VALIDATION_CASES: { title: string; body: Record<string, unknown>; field: string }[] = [
  { title: "name missing", body: { max_daily_sessions: 5 }, field: "name" },
  { title: "name empty", body: { name: "" }, field: "name" },
  { title: "name of 257 characters", body: { name: "n".repeat(257) }, field: "name" },
  { title: "max_session_hours 0.05", body: { name: "a", max_session_hours: 0.05 }, field: "max_session_hours" },
  { title: "max_session_hours 25", body: { name: "a", max_session_hours: 25 }, field: "max_session_hours" },
  { title: "max_daily_sessions 0", body: { name: "a", max_daily_sessions: 0 }, field: "max_daily_sessions" },
  { title: "max_daily_sessions 1001", body: { name: "a", max_daily_sessions: 1001 }, field: "max_daily_sessions" },
  { title: "max_daily_sessions 1.5", body: { name: "a", max_daily_sessions: 1.5 }, field: "max_daily_sessions" },
  { title: "max_delegation_depth 0", body: { name: "a", max_delegation_depth: 0 }, field: "max_delegation_depth" },
  { title: "max_delegation_depth 6", body: { name: "a", max_delegation_depth: 6 }, field: "max_delegation_depth" },
  {
    title: "a bad glob in require_human_approval",
    body: { name: "a", require_human_approval: ["vargate_[send"] },
    field: "require_human_approval",
  },
  { title: "an unknown field", body: { name: "a", colour: "blue" }, field: "colour" },
  { title: "a wrong type (name)", body: { name: 42 }, field: "name" },
  { title: "a wrong type (allowed_tools)", body: { name: "a", allowed_tools: "bash" }, field: "allowed_tools" },
];

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

interface CallOptions {
  method?: string;
  /** An API key sent as X-API-Key. */
  key?: string;
  headers?: Record<string, string>;
  /** JSON-encoded unless it is already a string, bytes or a stream. */
  body?: unknown;
}

/** A clock one second further on at every read, so "newest first" never depends on timer resolution. */
function steppingClock(): Clock {
  let tick = 0;
  const start = Date.parse("2026-04-11T10:00:00Z");
  return { now: () => new Date(start + 1000 * tick++) };
}

function capturingLogger(): Logger & { errors: Record<string, unknown>[] } {
  const errors: Record<string, unknown>[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (message, data) => errors.push({ message, ...data }) };
}

// Fails every call of `agents.list`, as a broken database would, with a message that must stay server-side.
function failingListStorage(storage: VargateStorage): VargateStorage {
  const bind = (target: object, property: string | symbol) => {
    const value = Reflect.get(target, property);
    return typeof value === "function" ? value.bind(target) : value;
  };
  const agents = new Proxy(storage.agents, {
    get: (target, property) =>
      property === "list"
        ? async () => {
            throw new Error(`connect ECONNREFUSED ${INTERNAL_SECRET}`);
          }
        : bind(target, property),
  });
  return new Proxy(storage, { get: (target, property) => (property === "agents" ? agents : bind(target, property)) });
}

async function serveJwks(keys: JWK[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function hs256(claims: Record<string, unknown>, secret = SECRET_BYTES, expiresAt: string | number = "5m") {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(secret);
}

/** Every error, whatever the route or adapter, is exactly `{detail, code}` as JSON. */
function expectError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, body: reply.body }).toMatchObject({ status, body: { code } });
  expect(Object.keys(reply.body as object).sort()).toEqual(["code", "detail"]);
  expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
}

function expectValidationIssues(reply: Reply, field: string): void {
  const detail = (reply.body as { detail: unknown }).detail as { loc: unknown[]; msg: unknown; type: unknown }[];
  expect(Array.isArray(detail)).toBe(true);
  expect(detail.length).toBeGreaterThan(0);
  for (const issue of detail) {
    expect(Object.keys(issue).sort()).toEqual(["loc", "msg", "type"]);
    expect(Array.isArray(issue.loc)).toBe(true);
    expect(typeof issue.msg).toBe("string");
    expect(typeof issue.type).toBe("string");
  }
  expect(detail.some((issue) => issue.loc.includes(field))).toBe(true);
}

/**
 * Registers the REST contract for one adapter. `startServer` mounts a governor under a prefix and listens on
 * 127.0.0.1:0; the suite then checks agent configs, validation, tenancy, authentication, body handling, routing,
 * audit verification and error hygiene through it.
 */
export function describeHttpContract(name: string, startServer: StartServer, options: HttpContractOptions = {}): void {
  const prefix = options.prefix ?? "/api/governance";
  const createStorage =
    options.createStorage ??
    (async () => {
      const storage = memoryStorage();
      await storage.migrate();
      return { storage, cleanup: () => storage.close() };
    });

  describe(`HTTP contract: ${name}`, () => {
    let store: ContractStorage;
    let server: TestServer;
    let logger: ReturnType<typeof capturingLogger>;
    let acmeKey: string;
    let globexKey: string;
    const extra: TestServer[] = [];

    const base = (governorOptions: Partial<VargateGovernorOptions> = {}) =>
      new VargateGovernor({ storage: store.storage, clock: steppingClock(), ...governorOptions });

    const call = async (target: TestServer | string, path: string, init: CallOptions = {}): Promise<Reply> => {
      const headers: Record<string, string> = { ...init.headers };
      if (init.key !== undefined) headers["x-api-key"] = init.key;
      let body: BodyInit | undefined;
      if (init.body !== undefined) {
        const raw = typeof init.body === "string" || init.body instanceof Uint8Array;
        body = raw || init.body instanceof ReadableStream ? (init.body as BodyInit) : JSON.stringify(init.body);
        headers["content-type"] ??= "application/json";
      }
      const url = `${typeof target === "string" ? target : target.url}${path}`;
      const response = await fetch(url, {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers,
        body,
        ...(body instanceof ReadableStream && { duplex: "half" }),
      } as RequestInit);
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    };
    const acme = (path: string, init: CallOptions = {}) => call(server, path, { key: acmeKey, ...init });
    const createAgent = async (body: Record<string, unknown>, key = acmeKey): Promise<AgentConfigRecord> => {
      const reply = await call(server, "/managed/agents", { key, body });
      expect(reply.status, reply.text).toBe(200);
      return reply.body as AgentConfigRecord;
    };
    const count = async () => ((await acme("/managed/agents")).body as { count: number }).count;
    const start = async (governor: VargateGovernor, maxBodyBytes?: number) => {
      const started = await startServer(governor, { prefix, maxBodyBytes });
      extra.push(started);
      return started;
    };

    beforeAll(async () => {
      store = await createStorage();
      logger = capturingLogger();
      const governor = base({
        logger,
        auth: {
          jwt: { secret: JWT_SECRET },
          // The application's own identity: a trusted header set by its gateway, in this test.
          authenticate: (request) => {
            if (request.headers.get("x-test-reject")) throw new VargateError("UNAUTHORIZED", "Rejected by hook");
            const tenantId = request.headers.get("x-test-tenant");
            return tenantId ? { tenantId, subject: "user:hook", method: "custom" } : null;
          },
        },
      });
      acmeKey = (await governor.tenants.create({ tenant_id: "acme" })).api_key;
      globexKey = (await governor.tenants.create({ tenant_id: "globex" })).api_key;
      server = await startServer(governor, { prefix });
    });

    afterAll(async () => {
      await Promise.all([server, ...extra].map((started) => started?.close()));
      await store?.cleanup();
    });

    describe("agent configs", () => {
      it("creates a config with the seed's response fields", async () => {
        const reply = await acme("/managed/agents", { body: SEED_BODY });
        expect(reply.status, reply.text).toBe(200);
        expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
        const config = reply.body as Record<string, unknown>;
        for (const field of SEED_CREATE_FIELDS) expect(config).toHaveProperty(field);
        expect(config.id).toMatch(/^agent-[0-9a-f]{12}$/);
        expect(config).toMatchObject({
          tenant_id: "acme",
          name: "Research Assistant",
          anthropic_model: "claude-sonnet-4-6",
          allowed_tools: ["vargate_web_search", "vargate_send_email"],
          max_session_hours: 4,
          max_daily_sessions: 20,
          max_delegation_depth: 1,
          // Extensions: the full config.
          system_prompt: "You are a research assistant...",
          require_human_approval: ["vargate_send_email"],
          governance_profile: { risk_level: "standard" },
          parent_agent_id: null,
          version: 1,
        });
        expect(new Date(config.created_at as string).toISOString()).toBe(config.created_at);
      });

      it("applies the seed defaults and the tenant's limits", async () => {
        const config = await createAgent({ name: "Defaults" });
        expect(config).toMatchObject({
          anthropic_model: "claude-sonnet-4-6",
          max_delegation_depth: 1,
          max_session_hours: 8,
          max_daily_sessions: 50,
          allowed_tools: [],
          require_human_approval: [],
        });
      });

      it("lists the tenant's configs newest first as {configs, count}", async () => {
        const first = await createAgent({ name: "List one" });
        const second = await createAgent({ name: "List two" });
        const reply = await acme("/managed/agents");
        expect(reply.status).toBe(200);
        const { configs, count } = reply.body as { configs: Record<string, unknown>[]; count: number };
        expect(count).toBe(configs.length);
        for (const config of configs) {
          for (const field of SEED_LIST_FIELDS) expect(config).toHaveProperty(field);
          expect(config.tenant_id).toBe("acme");
        }
        const ids = configs.map((config) => config.id);
        expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
        const created = configs.map((config) => config.created_at as string);
        expect([...created].sort().reverse()).toEqual(created);
      });

      it("gets the full config", async () => {
        const created = await createAgent({ ...SEED_BODY, name: "Get me" });
        const reply = await acme(`/managed/agents/${created.id}`);
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual(created);
      });

      it("patches a config and bumps its version", async () => {
        const created = await createAgent({ name: "Patch me", max_daily_sessions: 10 });
        const first = await acme(`/managed/agents/${created.id}`, {
          method: "PATCH",
          body: { name: "Patched", allowed_tools: ["vargate_web_search"] },
        });
        expect(first.status, first.text).toBe(200);
        expect(first.body).toMatchObject({
          id: created.id,
          name: "Patched",
          allowed_tools: ["vargate_web_search"],
          max_daily_sessions: 10,
          version: 2,
        });
        const second = await acme(`/managed/agents/${created.id}`, { method: "PATCH", body: { max_session_hours: 2 } });
        expect(second.body).toMatchObject({ version: 3, max_session_hours: 2, name: "Patched" });
        expect((await acme(`/managed/agents/${created.id}`)).body).toEqual(second.body);
      });

      it("refuses a bad PATCH with 422 and leaves the config as it was", async () => {
        const created = await createAgent({ name: "Keep me" });
        const reply = await acme(`/managed/agents/${created.id}`, { method: "PATCH", body: { max_daily_sessions: 0 } });
        expectError(reply, 422, "VALIDATION_FAILED");
        expectValidationIssues(reply, "max_daily_sessions");
        const unknown = await acme(`/managed/agents/${created.id}`, {
          method: "PATCH",
          body: { parent_agent_id: created.id },
        });
        expectError(unknown, 422, "VALIDATION_FAILED");
        expect((await acme(`/managed/agents/${created.id}`)).body).toEqual(created);
      });

      it("answers 404 AGENT_NOT_FOUND for a config that does not exist", async () => {
        expectError(await acme("/managed/agents/agent-000000000000"), 404, "AGENT_NOT_FOUND");
      });
    });

    describe("seed validation: 422 naming the field, nothing stored", () => {
      it.each(VALIDATION_CASES)("$title", async ({ body, field }) => {
        const before = await count();
        const reply = await acme("/managed/agents", { body });
        expectError(reply, 422, "VALIDATION_FAILED");
        expectValidationIssues(reply, field);
        expect(await count()).toBe(before);
      });

      it("accepts the boundary values", async () => {
        for (const body of [
          { name: "n".repeat(256), max_session_hours: 0.1, max_daily_sessions: 1, max_delegation_depth: 5 },
          { name: "b", max_session_hours: 24, max_daily_sessions: 1000, max_delegation_depth: 1 },
        ]) {
          await createAgent(body);
        }
      });
    });

    describe("delegation", () => {
      it("answers 404 PARENT_AGENT_NOT_FOUND for a missing parent, and stores nothing", async () => {
        const before = await count();
        const reply = await acme("/managed/agents", {
          body: { name: "orphan", parent_agent_id: "agent-ffffffffffff" },
        });
        expectError(reply, 404, "PARENT_AGENT_NOT_FOUND");
        expect(await count()).toBe(before);
      });

      it("answers 404 PARENT_AGENT_NOT_FOUND for another tenant's parent", async () => {
        const foreign = await createAgent({ name: "globex parent", max_delegation_depth: 5 }, globexKey);
        const reply = await acme("/managed/agents", { body: { name: "stowaway", parent_agent_id: foreign.id } });
        expectError(reply, 404, "PARENT_AGENT_NOT_FOUND");
      });

      it("accepts children within every ancestor's depth and refuses one deeper with 422", async () => {
        const root = await createAgent({ name: "root", max_delegation_depth: 2 });
        const child = await createAgent({ name: "child", parent_agent_id: root.id });
        expect(child.parent_agent_id).toBe(root.id);
        const grandchild = await createAgent({
          name: "grandchild",
          parent_agent_id: child.id,
          max_delegation_depth: 3,
        });
        const before = await count();
        const reply = await acme("/managed/agents", { body: { name: "too deep", parent_agent_id: grandchild.id } });
        expectError(reply, 422, "DELEGATION_DEPTH_EXCEEDED");
        expectValidationIssues(reply, "parent_agent_id");
        expect(await count()).toBe(before);
      });
    });

    describe("tenancy", () => {
      it("answers 404 for another tenant's config on GET and PATCH, and changes nothing", async () => {
        const foreign = await createAgent({ name: "globex only" }, globexKey);
        expectError(await acme(`/managed/agents/${foreign.id}`), 404, "AGENT_NOT_FOUND");
        const patch = await acme(`/managed/agents/${foreign.id}`, { method: "PATCH", body: { name: "hijacked" } });
        expectError(patch, 404, "AGENT_NOT_FOUND");
        const mine = await call(server, `/managed/agents/${foreign.id}`, { key: globexKey });
        expect(mine.body).toMatchObject({ name: "globex only", version: 1 });
      });

      it("lists only the caller's configs", async () => {
        const reply = await call(server, "/managed/agents", { key: globexKey });
        const { configs } = reply.body as { configs: { tenant_id: string }[] };
        expect(configs.length).toBeGreaterThan(0);
        expect(configs.every((config) => config.tenant_id === "globex")).toBe(true);
      });
    });

    describe("API keys", () => {
      it("answers 401 without credentials", async () => {
        expectError(await call(server, "/managed/agents"), 401, "UNAUTHORIZED");
        expectError(await call(server, "/managed/agents", { body: { name: "anon" } }), 401, "UNAUTHORIZED");
      });

      it("answers 401 for a bad key, well-formed or not", async () => {
        expectError(await call(server, "/managed/agents", { key: `vg-${"0".repeat(48)}` }), 401, "UNAUTHORIZED");
        expectError(await call(server, "/managed/agents", { key: "not-a-key" }), 401, "UNAUTHORIZED");
        const bearer = { authorization: `Bearer vg-${"a".repeat(48)}` };
        expectError(await call(server, "/managed/agents", { headers: bearer }), 401, "UNAUTHORIZED");
      });

      it("accepts a key as X-API-Key and as Authorization: Bearer", async () => {
        expect((await call(server, "/managed/agents", { key: acmeKey })).status).toBe(200);
        const reply = await call(server, "/managed/agents", { headers: { authorization: `Bearer ${acmeKey}` } });
        expect(reply.status).toBe(200);
        expect((reply.body as { configs: { tenant_id: string }[] }).configs[0]?.tenant_id).toBe("acme");
      });

      it("answers 401 for a revoked key", async () => {
        const governor = base();
        await governor.tenants.create({ tenant_id: "revoked-co" });
        const issued = await governor.tenants.createApiKey("revoked-co");
        expect((await call(server, "/managed/agents", { key: issued.api_key })).status).toBe(200);
        await governor.tenants.revokeApiKey("revoked-co", issued.key_id);
        expectError(await call(server, "/managed/agents", { key: issued.api_key }), 401, "UNAUTHORIZED");
      });

      it("answers 401 for a key rotated away, and 200 for its replacement", async () => {
        const governor = base();
        const { api_key: old } = await governor.tenants.create({ tenant_id: "rotating-co" });
        const { api_key: fresh } = await governor.tenants.rotateApiKey("rotating-co");
        expectError(await call(server, "/managed/agents", { key: old }), 401, "UNAUTHORIZED");
        expect((await call(server, "/managed/agents", { key: fresh })).status).toBe(200);
      });
    });

    describe("JWT (HS256)", () => {
      const withToken = async (token: string) =>
        call(server, "/managed/agents", { headers: { authorization: `Bearer ${token}` } });

      it("accepts a valid token and scopes to its tenant_id", async () => {
        const reply = await withToken(await hs256({ tenant_id: "globex" }));
        expect(reply.status, reply.text).toBe(200);
        const { configs } = reply.body as { configs: { tenant_id: string }[] };
        expect(configs.every((config) => config.tenant_id === "globex")).toBe(true);
      });

      it("answers 401 for an expired token", async () => {
        const expired = await hs256({ tenant_id: "acme" }, SECRET_BYTES, Math.floor(Date.now() / 1000) - 3600);
        expectError(await withToken(expired), 401, "UNAUTHORIZED");
      });

      it("answers 401 for a token signed with another secret", async () => {
        const wrong = new TextEncoder().encode("another-secret-that-is-also-32-bytes-long!");
        expectError(await withToken(await hs256({ tenant_id: "acme" }, wrong)), 401, "UNAUTHORIZED");
      });

      it("answers 401 without a tenant_id claim, or for an unknown tenant", async () => {
        expectError(await withToken(await hs256({})), 401, "UNAUTHORIZED");
        expectError(await withToken(await hs256({ tenant_id: "nobody" })), 401, "UNAUTHORIZED");
      });

      it("answers 401 for a garbage bearer token", async () => {
        expectError(await withToken("not.a.jwt"), 401, "UNAUTHORIZED");
      });
    });

    describe("JWT (JWKS)", () => {
      let privateKey: CryptoKey;
      let publicJwk: JWK;
      const es256 = (claims: Record<string, unknown>, key: CryptoKey = privateKey) =>
        new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1" }).setExpirationTime("5m").sign(key);

      beforeAll(async () => {
        const pair = await generateKeyPair("ES256");
        privateKey = pair.privateKey;
        publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
      });

      it("verifies tokens against an inline JWKS (auth.jwt.jwks)", async () => {
        const jwksServer = await start(base({ auth: { jwt: { jwks: { keys: [publicJwk] } } } }));
        const bearer = (token: string) =>
          call(jwksServer, "/managed/agents", { headers: { authorization: `Bearer ${token}` } });
        expect((await bearer(await es256({ tenant_id: "acme" }))).status).toBe(200);
        const stranger = (await generateKeyPair("ES256")).privateKey;
        expectError(await bearer(await es256({ tenant_id: "acme" }, stranger)), 401, "UNAUTHORIZED");
        // An HS256 token must not pass where only the key set is trusted.
        expectError(await bearer(await hs256({ tenant_id: "acme" })), 401, "UNAUTHORIZED");
        // API keys keep working alongside JWTs.
        expect((await call(jwksServer, "/managed/agents", { key: acmeKey })).status).toBe(200);
      });

      it("fetches keys from a JWKS endpoint (auth.jwt.jwksUrl)", async () => {
        const jwks = await serveJwks([publicJwk]);
        try {
          const jwksServer = await start(base({ auth: { jwt: { jwksUrl: jwks.url } } }));
          const token = await es256({ tenant_id: "globex" });
          const reply = await call(jwksServer, "/managed/agents", { headers: { authorization: `Bearer ${token}` } });
          expect(reply.status, reply.text).toBe(200);
          expectError(
            await call(jwksServer, "/managed/agents", { headers: { authorization: `Bearer ${await es256({})}` } }),
            401,
            "UNAUTHORIZED",
          );
        } finally {
          await jwks.close();
        }
      });
    });

    describe("the authenticate hook", () => {
      it("accepts the application's own identity", async () => {
        const reply = await call(server, "/managed/agents", { headers: { "x-test-tenant": "globex" } });
        expect(reply.status).toBe(200);
        const { configs } = reply.body as { configs: { tenant_id: string }[] };
        expect(configs.every((config) => config.tenant_id === "globex")).toBe(true);
      });

      it("answers 401 when the hook names an unknown tenant or rejects the request", async () => {
        expectError(
          await call(server, "/managed/agents", { headers: { "x-test-tenant": "nobody" } }),
          401,
          "UNAUTHORIZED",
        );
        const rejected = await call(server, "/managed/agents", { key: acmeKey, headers: { "x-test-reject": "1" } });
        expectError(rejected, 401, "UNAUTHORIZED");
      });
    });

    describe("request bodies", () => {
      const bigBody = () => JSON.stringify({ name: "big", system_prompt: "x".repeat(TWO_MB) });

      it("answers 413 PAYLOAD_TOO_LARGE for a 2 MB body with content-length", async () => {
        const before = await count();
        expectError(await acme("/managed/agents", { body: bigBody() }), 413, "PAYLOAD_TOO_LARGE");
        expect(await count()).toBe(before);
      });

      it("answers 413 PAYLOAD_TOO_LARGE for a 2 MB chunked body without content-length", async () => {
        const bytes = new TextEncoder().encode(bigBody());
        const chunk = 64 * 1024;
        let offset = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (offset >= bytes.length) return controller.close();
            controller.enqueue(bytes.subarray(offset, offset + chunk));
            offset += chunk;
          },
        });
        expectError(await acme("/managed/agents", { body: stream }), 413, "PAYLOAD_TOO_LARGE");
      });

      it("answers 413 for a PATCH over the limit", async () => {
        const created = await createAgent({ name: "big patch" });
        const reply = await acme(`/managed/agents/${created.id}`, { method: "PATCH", body: bigBody() });
        expectError(reply, 413, "PAYLOAD_TOO_LARGE");
      });

      it("honours a configured maxBodyBytes", async () => {
        const small = await start(base(), 1024);
        const fits = await call(small, "/managed/agents", {
          key: acmeKey,
          body: { name: "small", system_prompt: "x" },
        });
        expect(fits.status).toBe(200);
        const over = await call(small, "/managed/agents", {
          key: acmeKey,
          body: { name: "x", system_prompt: "y".repeat(2048) },
        });
        expectError(over, 413, "PAYLOAD_TOO_LARGE");
      });

      it("answers 422 for malformed JSON", async () => {
        const reply = await acme("/managed/agents", { body: '{"name": "broken",' });
        expectError(reply, 422, "VALIDATION_FAILED");
        expectValidationIssues(reply, "body");
      });

      it("answers 415 for a body that is not JSON", async () => {
        const reply = await acme("/managed/agents", { body: "name=form", headers: { "content-type": "text/plain" } });
        expectError(reply, 415, "UNSUPPORTED_MEDIA_TYPE");
        const form = await acme("/managed/agents", {
          body: "name=form",
          headers: { "content-type": "application/x-www-form-urlencoded" },
        });
        expectError(form, 415, "UNSUPPORTED_MEDIA_TYPE");
      });

      it("reads an empty body as {} so the missing field is named", async () => {
        const reply = await acme("/managed/agents", { method: "POST" });
        expectError(reply, 422, "VALIDATION_FAILED");
        expectValidationIssues(reply, "name");
      });

      it("accepts a +json content type with a charset", async () => {
        const reply = await acme("/managed/agents", {
          body: JSON.stringify({ name: "vendor json" }),
          headers: { "content-type": "application/vnd.api+json; charset=utf-8" },
        });
        expect(reply.status, reply.text).toBe(200);
      });
    });

    describe("routing", () => {
      it("answers 405 with Allow for a wrong method", async () => {
        const reply = await acme("/managed/agents", { method: "DELETE" });
        expectError(reply, 405, "METHOD_NOT_ALLOWED");
        expect(reply.headers.get("allow")?.split(/,\s*/).sort()).toEqual(["GET", "POST"]);
        const one = await acme("/managed/agents/agent-000000000000", { method: "PUT", body: { name: "x" } });
        expectError(one, 405, "METHOD_NOT_ALLOWED");
        expect(one.headers.get("allow")?.split(/,\s*/).sort()).toEqual(["GET", "PATCH"]);
      });

      it("answers 404 ROUTE_NOT_FOUND for an unknown route under the mount point", async () => {
        expectError(await acme("/managed/nothing-here"), 404, "ROUTE_NOT_FOUND");
        expectError(await acme("/elsewhere"), 404, "ROUTE_NOT_FOUND");
      });

      it("answers a malformed percent-escape with a 4xx, never a 500", async () => {
        // vargate's core answers 404 ROUTE_NOT_FOUND; Fastify's router refuses such URLs with 400 before any route.
        const reply = await acme("/managed/agents/%zz");
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
      });

      it("tolerates a trailing slash and a query string", async () => {
        expect((await acme("/managed/agents/?limit=1")).status).toBe(200);
      });
    });

    describe("audit", () => {
      it("verifies the tenant's chain", async () => {
        const reply = await acme("/managed/audit/verify");
        expect(reply.status).toBe(200);
        expect(reply.body).toMatchObject({ tenant_id: "acme", valid: true });
        expect((reply.body as { record_count: number }).record_count).toBeGreaterThan(1);
        expect(reply.headers.get("cache-control")).toBe("no-store");
      });

      it("requires credentials", async () => {
        expectError(await call(server, "/managed/audit/verify"), 401, "UNAUTHORIZED");
      });
    });

    describe("internal errors", () => {
      it("answers 500 with a generic message and logs the cause server-side only", async () => {
        const failing = await start(base({ storage: failingListStorage(store.storage), logger }));
        const reply = await call(failing, "/managed/agents", { key: acmeKey });
        expectError(reply, 500, "INTERNAL_ERROR");
        expect((reply.body as { detail: string }).detail).toBe("Internal server error");
        expect(reply.text).not.toContain("hunter2");
        expect(reply.text).not.toContain("ECONNREFUSED");
        expect(JSON.stringify(logger.errors)).toContain("ECONNREFUSED");
        // The failure is confined to the broken call: other routes on the same server still work.
        expect((await call(failing, "/managed/audit/verify", { key: acmeKey })).status).toBe(200);
      });
    });
  });
}
