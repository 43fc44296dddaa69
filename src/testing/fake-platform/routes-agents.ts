import { badRequest, conflict, notFound } from "./errors.js";
import { requireObject } from "./http.js";
import { orderOf, paginate, timeFilter } from "./pagination.js";
import {
  normalizeModel,
  normalizeSkills,
  optionalText,
  patchMetadata,
  resolveTools,
  validateMcpServers,
  validateMetadata,
} from "./resolve.js";
import type { RouteDeps } from "./routes.js";
import type { AgentRecord } from "./store.js";
import type { JsonObject } from "./types.js";

/** Fields whose change makes a new agent version. */
const VERSIONED = [
  "name",
  "description",
  "model",
  "system",
  "tools",
  "mcp_servers",
  "skills",
  "multiagent",
  "execution_identity",
  "metadata",
] as const;

function requireName(value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") throw badRequest("name: required, non-empty string");
  if (value.length > 256) throw badRequest("name: at most 256 characters");
  return value;
}

function executionIdentity(value: unknown): JsonObject {
  if (value === undefined || value === null) return { type: "service_account" };
  const identity = requireObject(value, "execution_identity");
  if (identity.type === "service_account") return { type: "service_account" };
  if (identity.type === "aws_role" && typeof identity.role_arn === "string") {
    return { type: "aws_role", role_arn: identity.role_arn };
  }
  throw badRequest("execution_identity: must be {type:'service_account'} or {type:'aws_role', role_arn}");
}

/** Looks up an agent, 404 when unknown. */
export function agentRecord(deps: RouteDeps, id: string): AgentRecord {
  const rec = deps.store.agents.get(id);
  if (!rec) throw notFound(`Agent ${id} not found`);
  return rec;
}

export function registerAgentRoutes(deps: RouteDeps): void {
  const { router, store } = deps;

  router.add("POST", "/v1/agents", ({ body }) => {
    const params = requireObject(body);
    const mcpServers = validateMcpServers(params.mcp_servers);
    const now = store.now();
    const agent: JsonObject = {
      id: store.ids.next("agent"),
      type: "agent",
      version: 1,
      name: requireName(params.name),
      description: optionalText(params.description, "description", 2048),
      model: normalizeModel(params.model),
      system: optionalText(params.system, "system"),
      tools: resolveTools(params.tools, mcpServers),
      mcp_servers: mcpServers,
      skills: normalizeSkills(params.skills),
      multiagent: params.multiagent ?? null,
      execution_identity: executionIdentity(params.execution_identity),
      metadata: validateMetadata(params.metadata),
      created_at: now,
      updated_at: now,
      archived_at: null,
    };
    store.agents.set(agent.id as string, store.stamp({ current: agent, versions: [structuredClone(agent)] }));
    return { body: agent };
  });

  router.add("GET", "/v1/agents", ({ query }) => {
    const inRange = timeFilter<AgentRecord>(query, (rec) => rec.current.created_at as string);
    const includeArchived = query.bool("include_archived");
    const items = store
      .sorted(store.agents.values(), "desc")
      .filter((rec) => (includeArchived || !rec.current.archived_at) && inRange(rec));
    const page = paginate(items, (rec) => store.seqOf(rec), "desc", query, { defaultLimit: deps.defaultPageSize });
    return { body: { ...page, data: page.data.map((rec) => rec.current) } };
  });

  router.add("GET", "/v1/agents/:id", ({ params, query }) => {
    const rec = agentRecord(deps, params.id as string);
    const version = query.int("version");
    if (version === undefined) return { body: rec.current };
    const snapshot = rec.versions[version - 1];
    if (!snapshot) throw notFound(`Agent ${params.id} has no version ${version}`);
    return { body: snapshot };
  });

  router.add("POST", "/v1/agents/:id", ({ params, body }) => {
    const rec = agentRecord(deps, params.id as string);
    const patch = requireObject(body);
    const current = rec.current;
    if (current.archived_at) throw badRequest(`Agent ${params.id} is archived and cannot be updated`);
    if (patch.version !== undefined && patch.version !== current.version) {
      throw conflict(`version: the agent is at version ${current.version}, not ${String(patch.version)}`);
    }
    const next: JsonObject = { ...current };
    if (patch.name !== undefined) next.name = requireName(patch.name);
    if ("description" in patch) next.description = optionalText(patch.description, "description", 2048);
    if ("system" in patch) next.system = optionalText(patch.system, "system");
    if (patch.model !== undefined) next.model = normalizeModel(patch.model);
    if ("skills" in patch) next.skills = normalizeSkills(patch.skills);
    if ("multiagent" in patch) next.multiagent = patch.multiagent ?? null;
    if ("execution_identity" in patch) next.execution_identity = executionIdentity(patch.execution_identity);
    if ("metadata" in patch) next.metadata = patchMetadata(current.metadata as Record<string, string>, patch.metadata);
    if ("mcp_servers" in patch) next.mcp_servers = validateMcpServers(patch.mcp_servers);
    if ("mcp_servers" in patch || "tools" in patch) {
      // Both arrays are full replacement; re-resolving an already resolved toolset is a no-op.
      const tools = "tools" in patch ? patch.tools : current.tools;
      next.tools = resolveTools(tools, next.mcp_servers as JsonObject[]);
    }
    const changed = VERSIONED.some((field) => JSON.stringify(next[field]) !== JSON.stringify(current[field]));
    if (!changed) return { body: current };
    next.version = (current.version as number) + 1;
    next.updated_at = store.now();
    rec.current = next;
    rec.versions.push(structuredClone(next));
    return { body: next };
  });

  router.add("POST", "/v1/agents/:id/archive", ({ params }) => {
    const rec = agentRecord(deps, params.id as string);
    if (!rec.current.archived_at) {
      const now = store.now();
      rec.current.archived_at = now;
      rec.current.updated_at = now;
    }
    return { body: rec.current };
  });

  router.add("GET", "/v1/agents/:id/versions", ({ params, query }) => {
    const rec = agentRecord(deps, params.id as string);
    const order = orderOf(query, "desc");
    const items = order === "asc" ? [...rec.versions] : [...rec.versions].reverse();
    const page = paginate(items, (v) => v.version as number, order, query, { defaultLimit: deps.defaultPageSize });
    return { body: page };
  });
}
