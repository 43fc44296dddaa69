/**
 * Validation and resolution of agent definitions: the tools array comes back with every toolset's
 * `default_config` and per-tool `configs` filled in, as the platform returns it, and the runtime reads the
 * effective permission policy of a tool from that resolved form.
 */
import { badRequest } from "./errors.js";
import type { FakeBuiltinToolName, JsonObject } from "./types.js";

export const BUILTIN_TOOLS: readonly FakeBuiltinToolName[] = [
  "bash",
  "read",
  "write",
  "edit",
  "glob",
  "grep",
  "web_fetch",
  "web_search",
];

const POLICY_TYPES = new Set(["always_allow", "always_ask", "auto"]);
const CUSTOM_TOOL_NAME = /^[A-Za-z0-9_-]{1,128}$/;

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The effective configuration of one tool. */
export interface EffectiveToolConfig {
  enabled: boolean;
  permission_policy: { type: string };
}

/** `{[key]: string}` within the documented limits (16 keys, 64-char keys, 512-char values). */
export function validateMetadata(value: unknown, field = "metadata"): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw badRequest(`${field}: must be an object of strings`, "invalid_metadata");
  const entries = Object.entries(value);
  if (entries.length > 16) throw badRequest(`${field}: at most 16 keys`, "invalid_metadata");
  for (const [key, v] of entries) {
    if (key.length > 64) throw badRequest(`${field}.${key}: keys are at most 64 characters`, "invalid_metadata");
    if (typeof v !== "string") throw badRequest(`${field}.${key}: must be a string`, "invalid_metadata");
    if (v.length > 512) throw badRequest(`${field}.${key}: values are at most 512 characters`, "invalid_metadata");
  }
  return { ...(value as Record<string, string>) };
}

/** Applies a metadata patch: a string upserts a key, `null` deletes it. */
export function patchMetadata(current: Record<string, string>, patch: unknown, field = "metadata") {
  if (patch === undefined || patch === null) return current;
  if (!isObject(patch)) throw badRequest(`${field}: must be an object`, "invalid_metadata");
  const next = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete next[key];
    else next[key] = value as string;
  }
  return validateMetadata(next, field);
}

/** A model id string or model config object, as the platform stores it. */
export function normalizeModel(model: unknown, field = "model"): JsonObject {
  if (typeof model === "string" && model !== "") return { id: model };
  if (!isObject(model) || typeof model.id !== "string" || model.id === "") {
    throw badRequest(`${field}: must be a model id string or {id, …}`);
  }
  const out: JsonObject = { id: model.id };
  if (model.effort !== undefined && model.effort !== null) {
    out.effort = typeof model.effort === "string" ? { type: model.effort } : model.effort;
  }
  if (typeof model.inference_geo === "string") out.inference_geo = model.inference_geo;
  if (model.speed === "standard" || model.speed === "fast") out.speed = model.speed;
  return out;
}

/** Validates `mcp_servers`: `{type:'url', name, url}`, unique names, at most 20. */
export function validateMcpServers(value: unknown, field = "mcp_servers"): JsonObject[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`${field}: must be an array`);
  if (value.length > 20) throw badRequest(`${field}: at most 20 MCP servers`);
  const names = new Set<string>();
  return value.map((server, i) => {
    if (!isObject(server)) throw badRequest(`${field}[${i}]: must be an object`);
    if (server.type !== "url") throw badRequest(`${field}[${i}].type: must be 'url'`);
    const { name, url } = server;
    if (typeof name !== "string" || name.length < 1 || name.length > 255) {
      throw badRequest(`${field}[${i}].name: must be 1-255 characters`);
    }
    if (names.has(name)) throw badRequest(`${field}[${i}].name: duplicate MCP server name '${name}'`);
    names.add(name);
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
      throw badRequest(`${field}[${i}].url: must be an http(s) URL`);
    }
    return { type: "url", name, url };
  });
}

function validatePolicy(value: unknown, field: string): { type: string } | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value) || typeof value.type !== "string" || !POLICY_TYPES.has(value.type)) {
    throw badRequest(`${field}: must be {type: 'always_allow' | 'always_ask' | 'auto'}`);
  }
  return { type: value.type };
}

function resolveDefault(value: unknown, field: string, fallbackPolicy: string): EffectiveToolConfig {
  if (value !== undefined && value !== null && !isObject(value)) throw badRequest(`${field}: must be an object`);
  const config = (value ?? {}) as JsonObject;
  return {
    enabled: typeof config.enabled === "boolean" ? config.enabled : true,
    permission_policy: validatePolicy(config.permission_policy, `${field}.permission_policy`) ?? {
      type: fallbackPolicy,
    },
  };
}

function resolveAgentToolset(tool: JsonObject, field: string): JsonObject {
  // Built-in tools default to always_allow.
  const defaults = resolveDefault(tool.default_config, `${field}.default_config`, "always_allow");
  const given = new Map<string, JsonObject>();
  if (tool.configs !== undefined && tool.configs !== null) {
    if (!Array.isArray(tool.configs)) throw badRequest(`${field}.configs: must be an array`);
    tool.configs.forEach((config, j) => {
      if (!isObject(config) || !BUILTIN_TOOLS.includes(config.name as FakeBuiltinToolName)) {
        throw badRequest(`${field}.configs[${j}].name: must be one of ${BUILTIN_TOOLS.join(", ")}`);
      }
      if (given.has(config.name as string)) throw badRequest(`${field}.configs[${j}]: duplicate tool config`);
      given.set(config.name as string, config);
    });
  }
  const configs = BUILTIN_TOOLS.map((name) => {
    const config = given.get(name) ?? {};
    const { name: _n, type: _t, enabled, permission_policy, ...extras } = config;
    const resolved: JsonObject = {
      name,
      type: name,
      enabled: typeof enabled === "boolean" ? enabled : defaults.enabled,
      permission_policy:
        validatePolicy(permission_policy, `${field}.configs[${name}].permission_policy`) ?? defaults.permission_policy,
      ...extras,
    };
    if (name === "web_fetch" && resolved.url_sources === undefined) resolved.url_sources = null;
    return resolved;
  });
  return { type: "agent_toolset_20260401", default_config: defaults, configs };
}

function resolveMcpToolset(tool: JsonObject, field: string): JsonObject {
  if (typeof tool.mcp_server_name !== "string" || tool.mcp_server_name === "") {
    throw badRequest(`${field}.mcp_server_name: required`);
  }
  // MCP toolsets default to always_ask: a server nobody configured parks every call.
  const defaults = resolveDefault(tool.default_config, `${field}.default_config`, "always_ask");
  const configs: JsonObject[] = [];
  if (tool.configs !== undefined && tool.configs !== null) {
    if (!Array.isArray(tool.configs)) throw badRequest(`${field}.configs: must be an array`);
    const names = new Set<string>();
    tool.configs.forEach((config, j) => {
      if (!isObject(config) || typeof config.name !== "string" || config.name.length < 1 || config.name.length > 128) {
        throw badRequest(`${field}.configs[${j}].name: must be 1-128 characters`);
      }
      if (names.has(config.name)) throw badRequest(`${field}.configs[${j}]: duplicate tool config`);
      names.add(config.name);
      configs.push({
        name: config.name,
        enabled: typeof config.enabled === "boolean" ? config.enabled : defaults.enabled,
        permission_policy:
          validatePolicy(config.permission_policy, `${field}.configs[${j}].permission_policy`) ??
          defaults.permission_policy,
      });
    });
  }
  return { type: "mcp_toolset", mcp_server_name: tool.mcp_server_name, default_config: defaults, configs };
}

/**
 * Validates and resolves `tools` against the agent's `mcp_servers`: every server must be referenced by exactly
 * one `mcp_toolset`, and every toolset must name a declared server.
 */
export function resolveTools(value: unknown, mcpServers: readonly JsonObject[], field = "tools"): JsonObject[] {
  if (value === undefined || value === null) value = [];
  if (!Array.isArray(value)) throw badRequest(`${field}: must be an array`);
  const serverNames = new Set(mcpServers.map((s) => s.name as string));
  const referenced = new Set<string>();
  const customNames = new Set<string>();
  let builtinSeen = false;
  const tools = value.map((tool, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(tool)) throw badRequest(`${at}: must be an object`);
    if (tool.type === "agent_toolset_20260401") {
      if (builtinSeen) throw badRequest(`${at}: only one agent_toolset_20260401 is allowed`);
      builtinSeen = true;
      return resolveAgentToolset(tool, at);
    }
    if (tool.type === "mcp_toolset") {
      const resolved = resolveMcpToolset(tool, at);
      const name = resolved.mcp_server_name as string;
      if (!serverNames.has(name)) throw badRequest(`${at}.mcp_server_name: no MCP server named '${name}'`);
      if (referenced.has(name)) throw badRequest(`${at}: MCP server '${name}' already has a toolset`);
      referenced.add(name);
      return resolved;
    }
    if (tool.type === "custom") {
      if (typeof tool.name !== "string" || !CUSTOM_TOOL_NAME.test(tool.name)) {
        throw badRequest(`${at}.name: 1-128 characters of letters, digits, '_' and '-'`);
      }
      if (customNames.has(tool.name)) throw badRequest(`${at}.name: duplicate custom tool '${tool.name}'`);
      customNames.add(tool.name);
      if (typeof tool.description !== "string") throw badRequest(`${at}.description: required`);
      if (!isObject(tool.input_schema) || tool.input_schema.type !== "object") {
        throw badRequest(`${at}.input_schema: must be a JSON Schema object with type 'object'`);
      }
      return { type: "custom", name: tool.name, description: tool.description, input_schema: tool.input_schema };
    }
    throw badRequest(`${at}.type: must be agent_toolset_20260401, mcp_toolset or custom`);
  });
  if (tools.length > 256) throw badRequest(`${field}: at most 256 tools`);
  for (const name of serverNames) {
    if (!referenced.has(name)) {
      throw badRequest(`mcp_servers: server '${name}' is not referenced by any mcp_toolset in ${field}`);
    }
  }
  return tools;
}

/** The effective config of a built-in tool, or `undefined` when the agent has no built-in toolset. */
export function builtinToolConfig(tools: readonly JsonObject[], name: string): EffectiveToolConfig | undefined {
  const toolset = tools.find((t) => t.type === "agent_toolset_20260401");
  if (!toolset) return undefined;
  const config = (toolset.configs as JsonObject[]).find((c) => c.name === name);
  return (config ?? toolset.default_config) as unknown as EffectiveToolConfig;
}

/** The effective config of an MCP tool, or `undefined` when the server has no toolset. */
export function mcpToolConfig(
  tools: readonly JsonObject[],
  serverName: string,
  toolName: string,
): EffectiveToolConfig | undefined {
  const toolset = tools.find((t) => t.type === "mcp_toolset" && t.mcp_server_name === serverName);
  if (!toolset) return undefined;
  const config = (toolset.configs as JsonObject[]).find((c) => c.name === toolName);
  return (config ?? toolset.default_config) as unknown as EffectiveToolConfig;
}

/** `skills`, normalized to the resolved shape (`version` defaults to `latest`). */
export function normalizeSkills(value: unknown, field = "skills"): JsonObject[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`${field}: must be an array`);
  return value.map((skill, i) => {
    if (!isObject(skill) || (skill.type !== "anthropic" && skill.type !== "custom")) {
      throw badRequest(`${field}[${i}].type: must be 'anthropic' or 'custom'`);
    }
    if (typeof skill.skill_id !== "string") throw badRequest(`${field}[${i}].skill_id: required`);
    return { type: skill.type, skill_id: skill.skill_id, version: (skill.version as string | null) ?? "latest" };
  });
}

/** Optional string-or-null fields (`description`, `system`). */
export function optionalText(value: unknown, field: string, max = 100_000): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string") throw badRequest(`${field}: must be a string`);
  if (value.length > max) throw badRequest(`${field}: at most ${max} characters`);
  return value;
}
