import * as z from "zod";
import { isValidToolPattern } from "../policy/tool-patterns.js";

export const DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-6";

const toolName = z.string().min(1).max(256);

/** A tool-name glob (`vargate_send_*`, `mcp__*__write`), checked to compile. */
const toolPattern = z.string().min(1).max(256).refine(isValidToolPattern, { message: "Must be a valid glob pattern" });

const mutableFields = {
  name: z.string().min(1).max(256),
  anthropic_model: z.string().min(1).max(256),
  system_prompt: z.string().max(200_000).nullable(),
  allowed_tools: z.array(toolName).max(1000),
  require_human_approval: z.array(toolPattern).max(1000),
  max_session_hours: z.number().min(0.1).max(24),
  max_daily_sessions: z.number().int().min(1).max(1000),
  max_delegation_depth: z.number().int().min(1).max(5),
  governance_profile: z.record(z.string(), z.json()),
};

/** Body of `POST /managed/agents`. Limits left out inherit the tenant's defaults when the config is created. */
export const createAgentConfigSchema = z.strictObject({
  name: mutableFields.name,
  anthropic_model: mutableFields.anthropic_model.default(DEFAULT_ANTHROPIC_MODEL),
  system_prompt: mutableFields.system_prompt.optional(),
  allowed_tools: mutableFields.allowed_tools.default([]),
  require_human_approval: mutableFields.require_human_approval.default([]),
  max_session_hours: mutableFields.max_session_hours.nullish(),
  max_daily_sessions: mutableFields.max_daily_sessions.nullish(),
  max_delegation_depth: mutableFields.max_delegation_depth.default(1),
  governance_profile: mutableFields.governance_profile.default({}),
  parent_agent_id: z.string().min(1).max(64).nullish(),
});

/** Body of `PATCH /managed/agents/{id}`: any mutable field, at least one. `parent_agent_id` is fixed at creation. */
export const updateAgentConfigSchema = z
  .strictObject({
    name: mutableFields.name.optional(),
    anthropic_model: mutableFields.anthropic_model.optional(),
    system_prompt: mutableFields.system_prompt.optional(),
    allowed_tools: mutableFields.allowed_tools.optional(),
    require_human_approval: mutableFields.require_human_approval.optional(),
    max_session_hours: mutableFields.max_session_hours.optional(),
    max_daily_sessions: mutableFields.max_daily_sessions.optional(),
    max_delegation_depth: mutableFields.max_delegation_depth.optional(),
    governance_profile: mutableFields.governance_profile.optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, { message: "At least one field must be given" });

export type CreateAgentConfigInput = z.input<typeof createAgentConfigSchema>;
export type UpdateAgentConfigInput = z.input<typeof updateAgentConfigSchema>;

/** An agent config as the API returns it: `AgentConfigRecord` (test/http/openapi.test.ts checks they match). */
export const agentConfigRecordSchema = z.object({
  id: z.string(),
  tenant_id: z.string(),
  name: z.string(),
  anthropic_model: z.string(),
  system_prompt: z.string().nullable(),
  allowed_tools: z.array(z.string()),
  require_human_approval: z.array(z.string()),
  max_session_hours: z.number(),
  max_daily_sessions: z.number().int(),
  max_delegation_depth: z.number().int(),
  governance_profile: z.record(z.string(), z.json()),
  parent_agent_id: z.string().nullable(),
  anthropic_agent_id: z.string().nullable(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
