import * as z from "zod";
import { agentConfigRecordSchema } from "../agents/schema.js";
import { approvalRecordSchema } from "../approvals/schema.js";
import { VERSION } from "../cli/version.js";
import { tenantPolicySchema } from "../policy/document.js";
import { policyViewSchema } from "../policy/service.js";
import { replayBodySchema } from "../replay/routes.js";
import type { RawRoute } from "./handler.js";
import { errorBodySchema, validationIssueSchema } from "./respond.js";
import type { Route } from "./routes.js";

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) or any other JSON object of the document. */
type JsonObject = Record<string, unknown>;

/** The parts of an OpenAPI 3.1 document that `openApiDocument` writes. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, JsonObject>>;
  components: {
    schemas: Record<string, JsonObject>;
    responses: Record<string, JsonObject>;
    securitySchemes: Record<string, JsonObject>;
  };
}

export interface OpenApiOptions {
  /**
   * The server URL. The default, `..`, resolves against the document's own URL (`<mount>/managed/openapi.json`)
   * to the mount point, so the document is right under any prefix without knowing it.
   * @default ".."
   */
  serverUrl?: string;
}

/**
 * Fields validated in a second step, after their route's body schema accepted them as `unknown`: documented as
 * the schema that step applies. A replay's candidate `policy` is parsed as a tenant policy.
 */
const DOCUMENTED_AS: readonly [z.ZodType, z.ZodType][] = [[replayBodySchema.shape.policy, tenantPolicySchema]];

/** Schemas several routes share, documented once under `components.schemas` by these names. */
const COMPONENT_NAMES: readonly [string, z.ZodType][] = [
  ["Error", errorBodySchema],
  ["ValidationIssue", validationIssueSchema],
  ["TenantPolicy", tenantPolicySchema],
  ["PolicyVersion", policyViewSchema],
  ["AgentConfig", agentConfigRecordSchema],
  ["Approval", approvalRecordSchema],
];

const SECURITY_SCHEMES = {
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description: "A tenant API key (`vg-…`).",
  },
  bearer: {
    type: "http",
    scheme: "bearer",
    description: "A tenant API key (`vg-…`) or a JWT naming the tenant, when the governor accepts JWTs.",
  },
  sessionToken: {
    type: "http",
    scheme: "bearer",
    description: "The per-session MCP token the governor put in the session's vault; only the MCP route takes it.",
  },
};

const SECURITY_BY_AUTHENTICATION = {
  tenant: [{ apiKey: [] }, { bearer: [] }],
  "session-token": [{ sessionToken: [] }],
  none: [],
};

/**
 * The REST surface described by `routes` as an OpenAPI 3.1 document. Request bodies, query parameters and the
 * modelled responses come from the routes' zod schemas through `z.toJSONSchema`; every error is the one error
 * body. Pure: the same table gives the same document.
 */
export function openApiDocument(routes: readonly Route[], options: OpenApiOptions = {}): OpenApiDocument {
  const components = new SchemaComponents();
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    paths[path] ??= {};
    const operations = paths[path];
    const method = route.method.toLowerCase();
    if (operations[method]) throw new Error(`Two routes for ${route.method} ${route.path}`);
    operations[method] = operation(route, components);
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "vargate",
      version: VERSION,
      description:
        "The `/managed/` REST surface of a vargate governor, generated from its routes table. Paths are " +
        "relative to where an adapter mounts the surface. Every error answers the `Error` body.",
    },
    servers: [{ url: options.serverUrl ?? "..", description: "The mount point" }],
    tags: [...new Set(routes.map(tagOf))].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: components.schemas,
      responses: {
        Error: {
          description: "An error: `detail` says what went wrong, `code` is stable (see docs/errors.md)",
          content: { "application/json": { schema: components.convert(errorBodySchema, "output") } },
        },
      },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

function operation(route: Route, components: SchemaComponents): JsonObject {
  const authentication = (route as Partial<RawRoute>).authentication ?? "tenant";
  const parameters = [...pathParameters(route.path), ...queryParameters(route, components)];
  const { description, schema, contentType = "application/json" } = route.response;
  return {
    summary: route.summary,
    tags: [tagOf(route)],
    security: SECURITY_BY_AUTHENTICATION[authentication],
    ...(parameters.length > 0 && { parameters }),
    ...(route.body && {
      requestBody: {
        // An empty body reads as `{}`, so a body is only required when `{}` fails its schema.
        required: !route.body.safeParse({}).success,
        content: { "application/json": { schema: components.convert(route.body, "input") } },
      },
    }),
    responses: {
      "200": {
        description,
        content: { [contentType]: schema ? { schema: components.convert(schema, "output") } : {} },
      },
      "4XX": { $ref: "#/components/responses/Error" },
      "5XX": { $ref: "#/components/responses/Error" },
    },
  };
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
}

// Query values arrive as strings and coerce, so each parameter documents the input side of its schema.
function queryParameters(route: Route, components: SchemaComponents): JsonObject[] {
  if (!route.query) return [];
  const object = components.convert(route.query, "input");
  const properties = (object.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    in: "query",
    required: required.has(name),
    schema,
  }));
}

function tagOf(route: Route): string {
  return route.path.split("/")[2]?.replace(/\.json$/, "") ?? "managed";
}

/**
 * `z.json()` as JSON Schema with its self-references as `#`, to recognise it among zod's unnamed defs. Computed on
 * first use: this module loads with the routes table, and only building the document needs it.
 */
let jsonValueJson: string | undefined;
function jsonValueJsonSchema(): string {
  jsonValueJson ??= JSON.stringify((({ $schema: _, ...rest }) => rest)(z.toJSONSchema(z.json()) as JsonObject));
  return jsonValueJson;
}

/**
 * Converts zod schemas to JSON Schema and collects what they share under `components.schemas`. zod writes shared
 * and recursive parts as local `$defs`; inside an OpenAPI document `#/$defs/…` would point at the document's root,
 * so every def moves to `components.schemas` and its refs follow.
 */
class SchemaComponents {
  readonly schemas: Record<string, JsonObject> = {};
  readonly #names = z.registry<{ id: string }>();
  readonly #documentedAs = new Map<z.core.$ZodType, { id: string; schema: z.ZodType }>();

  constructor() {
    for (const [id, schema] of COMPONENT_NAMES) this.#names.add(schema, { id });
    for (const [field, schema] of DOCUMENTED_AS) {
      const id = this.#names.get(schema)?.id;
      if (id === undefined) throw new Error("DOCUMENTED_AS names a schema missing from COMPONENT_NAMES");
      this.#documentedAs.set(field, { id, schema });
    }
  }

  /** The schema as JSON Schema: a `$ref` for a named component, else inline with refs to what it shares. */
  convert(schema: z.ZodType, io: "input" | "output"): JsonObject {
    const referenced: z.ZodType[] = [];
    const {
      $schema: _,
      $defs,
      ...root
    } = z.toJSONSchema(schema, {
      target: "draft-2020-12",
      io,
      metadata: this.#names,
      // A response may gain fields (DESIGN §3: extensions only add), so non-strict objects stay open there.
      override: ({ zodSchema, jsonSchema }) => {
        const documentedAs = this.#documentedAs.get(zodSchema);
        if (documentedAs) {
          Object.assign(jsonSchema, { $ref: `#/components/schemas/${documentedAs.id}` });
          referenced.push(documentedAs.schema);
        }
        const def = zodSchema._zod.def;
        if (io === "output" && def.type === "object" && def.catchall === undefined) {
          delete jsonSchema.additionalProperties;
        }
      },
    }) as JsonObject;
    const renamed = new Map<string, string>();
    const defs = ($defs ?? {}) as Record<string, JsonObject>;
    for (const [id, def] of Object.entries(defs)) renamed.set(id, this.#componentName(id, def));
    for (const [id, def] of Object.entries(defs)) this.#add(renamed.get(id) as string, rewriteRefs(def, renamed));
    for (const target of referenced) this.convert(target, io);
    return rewriteRefs(root, renamed);
  }

  // zod names unnamed recursive parts `__schemaN`, numbered per conversion; the only one the routes use is
  // `z.json()`, which becomes `JsonValue`. Anything else must be named in COMPONENT_NAMES first.
  #componentName(id: string, def: JsonObject): string {
    if (!id.startsWith("__schema")) return id;
    if (JSON.stringify(rewriteRefs(def, new Map([[id, "#"]]), true)) === jsonValueJsonSchema()) return "JsonValue";
    throw new Error(`An unnamed recursive schema (${JSON.stringify(def)}); add it to COMPONENT_NAMES`);
  }

  #add(name: string, schema: JsonObject): void {
    const existing = this.schemas[name];
    if (existing && JSON.stringify(existing) !== JSON.stringify(schema)) {
      throw new Error(`Component ${name} differs between uses (input and output?); name each side apart`);
    }
    this.schemas[name] = schema;
  }
}

/** Points `#/$defs/<id>` refs at `components.schemas` under their new names (or at `raw` targets as given). */
function rewriteRefs<T>(value: T, renamed: ReadonlyMap<string, string>, raw = false): T {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, renamed, raw)) as T;
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value).map(([key, item]) => {
    if (key === "$ref" && typeof item === "string" && item.startsWith("#/$defs/")) {
      const name = renamed.get(decodeURIComponent(item.slice("#/$defs/".length)));
      if (name !== undefined) return [key, raw ? name : `#/components/schemas/${name}`];
    }
    return [key, rewriteRefs(item, renamed, raw)];
  });
  return Object.fromEntries(entries) as T;
}
