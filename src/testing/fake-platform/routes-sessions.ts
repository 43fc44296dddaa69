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
import { agentRecord } from "./routes-agents.js";
import type { SessionRecord } from "./store.js";
import type { JsonObject } from "./types.js";

const SNAPSHOT_FIELDS = [
  "id",
  "type",
  "version",
  "name",
  "description",
  "model",
  "system",
  "tools",
  "mcp_servers",
  "skills",
  "multiagent",
  "execution_identity",
] as const;

/**
 * Resolves `agent` of a session create into the snapshot the session keeps: an id (latest version), a pinned
 * `{type:'agent', id, version}`, or `agent_with_overrides`, whose arrays replace the agent's in full.
 */
function resolveSessionAgent(deps: RouteDeps, ref: unknown): JsonObject {
  let id: string;
  let version: number | undefined;
  let overrides: JsonObject | undefined;
  if (typeof ref === "string") id = ref;
  else {
    const obj = requireObject(ref, "agent");
    if (obj.type !== "agent" && obj.type !== "agent_with_overrides") {
      throw badRequest("agent.type: must be 'agent' or 'agent_with_overrides'");
    }
    if (typeof obj.id !== "string") throw badRequest("agent.id: required");
    id = obj.id;
    if (obj.version !== undefined && obj.version !== null) {
      if (!Number.isInteger(obj.version) || (obj.version as number) < 1)
        throw badRequest("agent.version: integer >= 1");
      version = obj.version as number;
    }
    if (obj.type === "agent_with_overrides") overrides = obj;
  }
  const rec = agentRecord(deps, id);
  if (rec.current.archived_at) throw badRequest(`Agent ${id} is archived; new sessions cannot reference it`);
  const base = version === undefined ? rec.current : rec.versions[version - 1];
  if (!base) throw notFound(`Agent ${id} has no version ${version}`);
  const snapshot: JsonObject = {};
  for (const field of SNAPSHOT_FIELDS) snapshot[field] = structuredClone(base[field]);
  if (overrides) {
    if ("mcp_servers" in overrides)
      snapshot.mcp_servers = validateMcpServers(overrides.mcp_servers, "agent.mcp_servers");
    if ("mcp_servers" in overrides || "tools" in overrides) {
      const tools = "tools" in overrides ? overrides.tools : snapshot.tools;
      snapshot.tools = resolveTools(tools, snapshot.mcp_servers as JsonObject[], "agent.tools");
    }
    if (overrides.model !== undefined) snapshot.model = normalizeModel(overrides.model, "agent.model");
    if ("system" in overrides) snapshot.system = optionalText(overrides.system, "agent.system");
    if ("skills" in overrides) snapshot.skills = normalizeSkills(overrides.skills, "agent.skills");
  }
  return snapshot;
}

/** Looks up a live (not deleted) session, 404 otherwise. */
export function sessionRecord(deps: RouteDeps, id: string): SessionRecord {
  const rec = deps.store.sessions.get(id);
  if (!rec || rec.deleted) throw notFound(`Session ${id} not found`);
  return rec;
}

function validateInitialEvents(value: unknown): JsonObject[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest("initial_events: must be an array");
  if (value.length > 50) throw badRequest("initial_events: at most 50 events");
  return value.map((event, i) => {
    const obj = requireObject(event, `initial_events[${i}]`);
    if (obj.type === "user.message") {
      if (!Array.isArray(obj.content) || obj.content.length === 0) {
        throw badRequest(`initial_events[${i}].content: must be a non-empty array`);
      }
    } else if (obj.type !== "user.define_outcome") {
      throw badRequest(`initial_events[${i}].type: must be user.message or user.define_outcome`);
    }
    return obj;
  });
}

export function registerSessionRoutes(deps: RouteDeps): void {
  const { router, store, runtime } = deps;

  router.add("POST", "/v1/sessions", ({ body }) => {
    const params = requireObject(body);
    if (params.agent === undefined) throw badRequest("agent: required");
    if (typeof params.environment_id !== "string") throw badRequest("environment_id: required");
    const env = store.environments.get(params.environment_id);
    if (!env) throw notFound(`Environment ${params.environment_id} not found`, "environment_not_found");
    if (env.archived_at) throw badRequest(`Environment ${env.id} is archived`, "environment_archived");
    const agent = resolveSessionAgent(deps, params.agent);
    const vaultIds = params.vault_ids ?? [];
    if (!Array.isArray(vaultIds) || vaultIds.some((v) => typeof v !== "string")) {
      throw badRequest("vault_ids: must be an array of vault ids");
    }
    for (const vaultId of vaultIds as string[]) {
      if (!store.vaults.has(vaultId)) throw notFound(`Vault ${vaultId} not found`);
    }
    const initialEvents = validateInitialEvents(params.initial_events);
    const now = store.now();
    const resources = Array.isArray(params.resources)
      ? params.resources.map((r: unknown) => ({ id: store.ids.next("sesrsc"), ...requireObject(r, "resources[]") }))
      : [];
    const rec: SessionRecord = store.stamp({
      wire: {
        id: store.ids.next("sesn"),
        type: "session",
        title: optionalText(params.title, "title", 1000),
        status: "idle",
        agent,
        environment_id: env.id,
        vault_ids: [...(vaultIds as string[])],
        resources,
        metadata: validateMetadata(params.metadata),
        created_at: now,
        updated_at: now,
        archived_at: null,
        budget: params.budget ?? null,
        outcome_evaluations: [],
        stats: {},
        usage: {},
        deployment_id: null,
      },
      events: [],
      received: [],
      deleted: false,
      queue: [],
      turn: null,
      turns: 0,
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    store.sessions.set(rec.wire.id as string, rec);
    for (const event of initialEvents) runtime.receive(rec, event);
    return { body: runtime.sessionWire(rec) };
  });

  router.add("GET", "/v1/sessions", ({ query }) => {
    const order = orderOf(query, "desc");
    const agentId = query.str("agent_id");
    const agentVersion = query.int("agent_version");
    const statuses = query.list("statuses");
    const includeArchived = query.bool("include_archived");
    const inRange = timeFilter<SessionRecord>(query, (rec) => rec.wire.created_at as string);
    const items = store.sorted(store.sessions.values(), order).filter((rec) => {
      const agent = rec.wire.agent as JsonObject;
      if (rec.deleted || (!includeArchived && rec.wire.archived_at)) return false;
      if (agentId !== undefined && agent.id !== agentId) return false;
      if (agentVersion !== undefined && agent.version !== agentVersion) return false;
      if (statuses.length > 0 && !statuses.includes(rec.wire.status as string)) return false;
      return inRange(rec);
    });
    const page = paginate(items, (rec) => store.seqOf(rec), order, query, {
      defaultLimit: deps.defaultPageSize,
      bidirectional: true,
    });
    return { body: { ...page, data: page.data.map((rec) => runtime.sessionWire(rec)) } };
  });

  router.add("GET", "/v1/sessions/:id", ({ params }) => ({
    body: runtime.sessionWire(sessionRecord(deps, params.id as string)),
  }));

  router.add("POST", "/v1/sessions/:id", ({ params, body }) => {
    const rec = sessionRecord(deps, params.id as string);
    const patch = requireObject(body);
    if (rec.wire.archived_at) throw conflict(`Session ${rec.wire.id} is archived and read-only`);
    if (patch.vault_ids !== undefined) throw badRequest("vault_ids: updating vault_ids is not yet supported");
    const changed: JsonObject = {};
    if ("title" in patch) changed.title = rec.wire.title = optionalText(patch.title, "title", 1000);
    if ("metadata" in patch) {
      changed.metadata = rec.wire.metadata = patchMetadata(rec.wire.metadata as Record<string, string>, patch.metadata);
    }
    if ("budget" in patch) changed.budget = rec.wire.budget = patch.budget ?? null;
    if (patch.agent !== undefined && patch.agent !== null) {
      if (rec.wire.status === "running") throw conflict("agent: cannot be updated while the session is running");
      const update = requireObject(patch.agent, "agent");
      const agent = rec.wire.agent as JsonObject;
      const servers =
        "mcp_servers" in update ? validateMcpServers(update.mcp_servers, "agent.mcp_servers") : agent.mcp_servers;
      const tools = resolveTools(
        "tools" in update ? update.tools : agent.tools,
        servers as JsonObject[],
        "agent.tools",
      );
      changed.agent = rec.wire.agent = { ...agent, mcp_servers: servers, tools };
    }
    if (Object.keys(changed).length > 0) {
      rec.wire.updated_at = store.now();
      runtime.emit(rec, { type: "session.updated", ...structuredClone(changed) });
    }
    return { body: runtime.sessionWire(rec) };
  });

  router.add("DELETE", "/v1/sessions/:id", ({ params }) => {
    const rec = sessionRecord(deps, params.id as string);
    runtime.delete(rec);
    return { body: { id: rec.wire.id, type: "session_deleted" } };
  });

  router.add("POST", "/v1/sessions/:id/archive", ({ params }) => {
    const rec = sessionRecord(deps, params.id as string);
    runtime.terminate(rec, { archive: true });
    return { body: runtime.sessionWire(rec) };
  });
}
