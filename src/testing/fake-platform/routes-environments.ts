import { badRequest, notFound } from "./errors.js";
import { requireObject } from "./http.js";
import { paginate } from "./pagination.js";
import { optionalText, patchMetadata, validateMetadata } from "./resolve.js";
import type { RouteDeps } from "./routes.js";
import type { JsonObject } from "./types.js";

const PACKAGE_MANAGERS = ["apt", "cargo", "gem", "go", "npm", "pip"] as const;

/** An environment config in its resolved response shape. */
function resolveConfig(value: unknown): JsonObject {
  if (value === undefined || value === null) value = { type: "cloud" };
  const config = requireObject(value, "config");
  if (config.type === "self_hosted") return { type: "self_hosted" };
  if (config.type !== "cloud") throw badRequest("config.type: must be 'cloud' or 'self_hosted'");
  const given = (config.packages ?? {}) as Record<string, unknown>;
  const packages: JsonObject = { type: "packages" };
  for (const manager of PACKAGE_MANAGERS) packages[manager] = Array.isArray(given[manager]) ? given[manager] : [];
  let networking: JsonObject = { type: "unrestricted" };
  if (config.networking !== undefined && config.networking !== null) {
    const net = requireObject(config.networking, "config.networking");
    if (net.type === "limited") {
      networking = {
        type: "limited",
        allow_mcp_servers: net.allow_mcp_servers === true,
        allow_package_managers: net.allow_package_managers === true,
        allowed_hosts: Array.isArray(net.allowed_hosts) ? net.allowed_hosts : [],
      };
    } else if (net.type !== "unrestricted") {
      throw badRequest("config.networking.type: must be 'unrestricted' or 'limited'");
    }
  }
  return { type: "cloud", networking, packages };
}

function scopeOf(value: unknown): JsonObject {
  if (value === undefined || value === null) return {};
  if (value !== "organization" && value !== "account") throw badRequest("scope: must be 'organization' or 'account'");
  return { scope: value };
}

export function registerEnvironmentRoutes(deps: RouteDeps): void {
  const { router, store } = deps;
  const find = (id: string): JsonObject => {
    const env = store.environments.get(id);
    if (!env) throw notFound(`Environment ${id} not found`, "environment_not_found");
    return env;
  };

  router.add("POST", "/v1/environments", ({ body }) => {
    const params = requireObject(body);
    if (typeof params.name !== "string" || params.name.trim() === "") throw badRequest("name: required");
    const now = store.now();
    const env = store.stamp({
      id: store.ids.next("env"),
      type: "environment",
      name: params.name,
      description: optionalText(params.description, "description", 2048),
      config: resolveConfig(params.config),
      metadata: validateMetadata(params.metadata),
      ...scopeOf(params.scope),
      created_at: now,
      updated_at: now,
      archived_at: null,
    } as JsonObject);
    store.environments.set(env.id as string, env);
    return { body: env };
  });

  router.add("GET", "/v1/environments", ({ query }) => {
    const includeArchived = query.bool("include_archived");
    const items = store.sorted(store.environments.values(), "desc").filter((e) => includeArchived || !e.archived_at);
    return { body: paginate(items, (e) => store.seqOf(e), "desc", query, { defaultLimit: deps.defaultPageSize }) };
  });

  router.add("GET", "/v1/environments/:id", ({ params }) => ({ body: find(params.id as string) }));

  router.add("POST", "/v1/environments/:id", ({ params, body }) => {
    const env = find(params.id as string);
    const patch = requireObject(body);
    if (env.archived_at) throw badRequest(`Environment ${env.id} is archived`, "environment_archived");
    if (patch.name !== undefined && patch.name !== null) {
      if (typeof patch.name !== "string" || patch.name.trim() === "") throw badRequest("name: must be non-empty");
      env.name = patch.name;
    }
    if ("description" in patch) env.description = optionalText(patch.description, "description", 2048);
    if (patch.config !== undefined && patch.config !== null) {
      const config = resolveConfig(patch.config);
      if (config.type !== (env.config as JsonObject).type) {
        throw badRequest("config.type: cannot change the environment type", "invalid_config_type_change");
      }
      env.config = config;
    }
    if ("metadata" in patch) env.metadata = patchMetadata(env.metadata as Record<string, string>, patch.metadata);
    Object.assign(env, scopeOf(patch.scope));
    env.updated_at = store.now();
    return { body: env };
  });

  router.add("DELETE", "/v1/environments/:id", ({ params }) => {
    const env = find(params.id as string);
    store.environments.delete(env.id as string);
    return { body: { id: env.id, type: "environment_deleted" } };
  });

  router.add("POST", "/v1/environments/:id/archive", ({ params }) => {
    const env = find(params.id as string);
    if (!env.archived_at) {
      env.archived_at = store.now();
      env.updated_at = env.archived_at;
    }
    return { body: env };
  });
}
