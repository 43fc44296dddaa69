// The OpenAPI document is generated from the routes table: it must be valid OpenAPI 3.1, cover exactly the table,
// carry each route's schemas, and be served by every adapter under its prefix.
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import type * as z from "zod";
import {
  type agentConfigRecordSchema,
  createAgentConfigSchema,
  updateAgentConfigSchema,
} from "../../src/agents/schema.js";
import {
  type approvalRecordSchema,
  decideApprovalSchema,
  listApprovalsQuerySchema,
} from "../../src/approvals/schema.js";
import { VERSION } from "../../src/cli/version.js";
import { VARGATE_ERROR_CODES } from "../../src/errors.js";
import { openApiDocument } from "../../src/http/openapi.js";
import type { errorBodySchema, validationIssueSchema } from "../../src/http/respond.js";
import { type Route, routes } from "../../src/http/routes.js";
import type {
  AgentConfigRecord,
  ApprovalRecord,
  CreatedSession,
  InterruptResult,
  PolicyView,
  SessionStatusView,
  ValidationIssue,
} from "../../src/index.js";
import { tenantPolicySchema } from "../../src/policy/document.js";
import type { policyViewSchema } from "../../src/policy/service.js";
import {
  type completedSessionSchema,
  type createdSessionSchema,
  createSessionSchema,
  type interruptResultSchema,
  interruptSessionSchema,
  listSessionsQuerySchema,
  type sessionListItemSchema,
  type sessionStatusSchema,
} from "../../src/sessions/schema.js";
import type { Sessions } from "../../src/sessions/service.js";
import { governorWithTenant } from "./helpers.js";
import { startFetchServer, startNodeServer, type TestServer } from "./servers.js";

type Operation = {
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, unknown>;
  security: Record<string, string[]>[];
};

const document = openApiDocument(routes);

function routeOf(method: Route["method"], path: string): Route {
  const found = routes.find((route) => route.method === method && route.path === path);
  if (!found) throw new Error(`No route ${method} ${path}`);
  return found;
}

function operationOf(method: Route["method"], path: string): Operation {
  return document.paths[path]?.[method.toLowerCase()] as Operation;
}

function bodySchemaOf(method: Route["method"], path: string): Record<string, unknown> {
  return operationOf(method, path).requestBody?.content["application/json"]?.schema ?? {};
}

/** Follows a `#/components/schemas/...` ref, as a reader of the document would. */
function resolved(schema: Record<string, unknown>): Record<string, unknown> {
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  const name = ref.replace("#/components/schemas/", "");
  return document.components.schemas[name] ?? {};
}

function propertiesOf(schema: Record<string, unknown>): Record<string, Record<string, unknown>> {
  return (resolved(schema).properties ?? {}) as Record<string, Record<string, unknown>>;
}

function allRefs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allRefs);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === "$ref" && typeof item === "string" ? [item] : allRefs(item),
  );
}

describe("openApiDocument(routes)", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("resolves every $ref inside the document", () => {
    const refs = allRefs(document);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const [kind, name] = ref.replace("#/components/", "").split("/") as [string, string];
      expect(Object.keys(document.components[kind as keyof typeof document.components] ?? {}), ref).toContain(name);
    }
  });

  it("has every route of the table, MCP and itself included, and no other operation", () => {
    const fromTable = routes.map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`).sort();
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(fromTable);
    expect(documented).toContain("POST /managed/mcp/{sessionId}");
    expect(documented).toContain("GET /managed/openapi.json");
  });

  it("states the package version and a server relative to the mount point", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.info.version).toBe(VERSION);
    expect(document.servers).toEqual([{ url: "..", description: "The mount point" }]);
    expect(openApiDocument(routes, { serverUrl: "https://governor.example/api" }).servers[0]?.url).toBe(
      "https://governor.example/api",
    );
  });

  it("gives each route its summary, its path parameters and its security", () => {
    for (const route of routes) {
      const operation = operationOf(route.method, route.path.replace(/:(\w+)/g, "{$1}"));
      const pathNames = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => name);
      const documentedPathNames = (operation.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      expect(documentedPathNames, route.path).toEqual(pathNames);
      expect(Object.keys(operation.responses), route.path).toEqual(["200", "4XX", "5XX"]);
    }
    expect(operationOf("GET", "/managed/agents").security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(operationOf("POST", "/managed/mcp/{sessionId}").security).toEqual([{ sessionToken: [] }]);
    expect(operationOf("GET", "/managed/openapi.json").security).toEqual([]);
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(["apiKey", "bearer", "sessionToken"]);
  });

  it("documents every error with the one error body and its codes", () => {
    const error = document.components.schemas.Error as { properties: { code: { enum: string[] } } };
    expect(error.properties.code.enum.sort()).toEqual(Object.keys(VARGATE_ERROR_CODES).sort());
    expect(document.components.responses.Error).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    });
  });
});

describe("the routes table declares the schemas that validate", () => {
  it("uses the very schema objects the governor methods validate with", () => {
    expect(routeOf("POST", "/managed/agents").body).toBe(createAgentConfigSchema);
    expect(routeOf("PATCH", "/managed/agents/:agentId").body).toBe(updateAgentConfigSchema);
    expect(routeOf("POST", "/managed/sessions").body).toBe(createSessionSchema);
    expect(routeOf("GET", "/managed/sessions").query).toBe(listSessionsQuerySchema);
    expect(routeOf("POST", "/managed/sessions/:sessionId/interrupt").body).toBe(interruptSessionSchema);
    expect(routeOf("PUT", "/managed/policy").body).toBe(tenantPolicySchema);
    expect(routeOf("GET", "/managed/approvals").query).toBe(listApprovalsQuerySchema);
    expect(routeOf("POST", "/managed/approvals/:actionId/approve").body).toBe(decideApprovalSchema);
    expect(routeOf("POST", "/managed/approvals/:actionId/reject").body).toBe(decideApprovalSchema);
  });

  it("documents a request body from each declared body schema", () => {
    for (const route of routes.filter((candidate) => candidate.body)) {
      const operation = operationOf(route.method, route.path.replace(/:(\w+)/g, "{$1}"));
      expect(operation.requestBody, `${route.method} ${route.path}`).toBeDefined();
    }
    const agent = propertiesOf(bodySchemaOf("POST", "/managed/agents"));
    expect(agent.allowed_tools).toMatchObject({ type: "array", items: { type: "string" }, default: [] });
    expect(agent.max_delegation_depth).toMatchObject({ type: "integer", minimum: 1, maximum: 5, default: 1 });
    expect(resolved(bodySchemaOf("POST", "/managed/agents")).required).toEqual(["name"]);
    expect(operationOf("POST", "/managed/agents").requestBody?.required).toBe(true);
    // An empty body reads as `{}`, which an approval note accepts.
    expect(operationOf("POST", "/managed/approvals/{actionId}/approve").requestBody?.required).toBe(false);
    expect(propertiesOf(bodySchemaOf("POST", "/managed/sessions/{sessionId}/interrupt")).reason).toMatchObject({
      type: "string",
      minLength: 1,
      maxLength: 1000,
    });
    expect(bodySchemaOf("PUT", "/managed/policy")).toEqual({ $ref: "#/components/schemas/TenantPolicy" });
    expect(Object.keys(propertiesOf(bodySchemaOf("PUT", "/managed/policy")))).toContain("rules");
    // A replay's candidate is parsed as a tenant policy in a second step, and documented as one.
    expect(propertiesOf(bodySchemaOf("POST", "/managed/replay")).policy).toEqual({
      $ref: "#/components/schemas/TenantPolicy",
    });
  });

  it("documents query parameters from each declared query schema, with their input types", () => {
    for (const route of routes.filter((candidate) => candidate.query)) {
      const operation = operationOf(route.method, route.path.replace(/:(\w+)/g, "{$1}"));
      const names = (operation.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
      expect(names, `${route.method} ${route.path}`).toEqual(Object.keys(route.query?.shape ?? {}));
    }
    expect(operationOf("PUT", "/managed/policy").parameters).toEqual([
      {
        name: "expected_version",
        in: "query",
        required: false,
        schema: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
      },
    ]);
    const proof = operationOf("GET", "/managed/audit/proofs/inclusion").parameters ?? [];
    expect(proof.map(({ name, required }) => [name, required])).toEqual([
      ["seq", true],
      ["tree_size", false],
    ]);
    const sessions = operationOf("GET", "/managed/sessions").parameters ?? [];
    expect(sessions.find((p) => p.name === "status")?.schema).toEqual({
      type: "string",
      enum: ["active", "completed", "interrupted", "failed"],
    });
    expect(sessions.find((p) => p.name === "limit")?.schema).toMatchObject({ type: "integer", default: 200 });
  });

  it("documents the modelled responses, open to added fields", () => {
    const created = operationOf("POST", "/managed/agents").responses["200"];
    expect(created).toMatchObject({
      content: { "application/json": { schema: { $ref: "#/components/schemas/AgentConfig" } } },
    });
    const agentConfig = document.components.schemas.AgentConfig as Record<string, unknown>;
    expect(agentConfig.additionalProperties).toBeUndefined();
    expect(agentConfig.required).toContain("allowed_tools");
  });
});

describe("response schemas match the types the governor returns", () => {
  it("describe exactly those types", () => {
    expectTypeOf<z.output<typeof agentConfigRecordSchema>>().toEqualTypeOf<AgentConfigRecord>();
    expectTypeOf<z.output<typeof approvalRecordSchema>>().toEqualTypeOf<ApprovalRecord>();
    expectTypeOf<z.output<typeof createdSessionSchema>>().toEqualTypeOf<CreatedSession>();
    expectTypeOf<z.output<typeof sessionStatusSchema>>().toEqualTypeOf<SessionStatusView>();
    expectTypeOf<z.output<typeof interruptResultSchema>>().toEqualTypeOf<InterruptResult>();
    expectTypeOf<z.output<typeof policyViewSchema>>().toEqualTypeOf<PolicyView>();
    expectTypeOf<z.output<typeof validationIssueSchema>>().toEqualTypeOf<ValidationIssue>();
    expectTypeOf<z.output<typeof sessionListItemSchema>>().toEqualTypeOf<
      Awaited<ReturnType<Sessions["list"]>>[number]
    >();
    expectTypeOf<z.output<typeof completedSessionSchema>>().toEqualTypeOf<Awaited<ReturnType<Sessions["complete"]>>>();
    expectTypeOf<z.output<typeof errorBodySchema>["code"]>().toEqualTypeOf<keyof typeof VARGATE_ERROR_CODES>();
  });
});

describe("GET /managed/openapi.json", () => {
  const servers: TestServer[] = [];
  let fetchServer: TestServer;
  let nodeServer: TestServer;

  beforeAll(async () => {
    const { governor } = await governorWithTenant();
    fetchServer = await startFetchServer(governor, { prefix: "/edge" });
    nodeServer = await startNodeServer(governor, { prefix: "/api/governance" });
    servers.push(fetchServer, nodeServer);
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it.each([
    ["fetch, under /edge", () => fetchServer],
    ["node:http, under /api/governance", () => nodeServer],
  ])("answers 200 with the document, without credentials (%s)", async (_, server) => {
    const response = await fetch(`${server().url}/managed/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument(routes))));
  });

  it("answers other methods with 405 like any route", async () => {
    const response = await fetch(`${fetchServer.url}/managed/openapi.json`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET");
  });
});
