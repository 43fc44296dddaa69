import type { JsonObject } from "../json.js";

/** An agent config as stored. `version` starts at 1 and grows with every update. */
export interface AgentConfigRecord {
  id: string;
  tenant_id: string;
  name: string;
  anthropic_model: string;
  system_prompt: string | null;
  allowed_tools: string[];
  require_human_approval: string[];
  max_session_hours: number;
  max_daily_sessions: number;
  max_delegation_depth: number;
  governance_profile: JsonObject;
  parent_agent_id: string | null;
  /** The Anthropic agent that mirrors this config upstream, created on the config's first session. */
  anthropic_agent_id: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

/** The fields an update may change. */
export type AgentConfigChanges = Partial<
  Pick<
    AgentConfigRecord,
    | "name"
    | "anthropic_model"
    | "system_prompt"
    | "allowed_tools"
    | "require_human_approval"
    | "max_session_hours"
    | "max_daily_sessions"
    | "max_delegation_depth"
    | "governance_profile"
  >
>;
