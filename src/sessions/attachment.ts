import type { AgentConfigRecord } from "../agents/types.js";
import { compileToolPatterns } from "../policy/tool-patterns.js";
import type {
  UpstreamMcpServer,
  UpstreamSessionParams,
  UpstreamToolConfig,
  UpstreamToolParam,
} from "../upstream/port.js";

/** The platform's built-in tools (toolset `agent_toolset_20260401`). */
export const BUILTIN_TOOLS = ["bash", "read", "write", "edit", "glob", "grep", "web_fetch", "web_search"] as const;

/** The name the governor's MCP server is declared under on every session. */
export const GOVERNOR_MCP_SERVER_NAME = "vargate";

export interface AttachmentInput {
  config: AgentConfigRecord;
  upstreamAgentId: string;
  environmentId: string;
  systemPrompt: string;
  /** The per-session MCP URL; the vault credential is bound to exactly this URL. */
  mcpServerUrl: string;
  vaultId: string;
  /** Built-in tools the tenant policy forbids outright; they are disabled. */
  forbiddenTools?: (tool: string) => boolean;
  metadata?: Record<string, string>;
}

/**
 * Builds the upstream session request. Pure, so the attachment rules are testable without a platform:
 * - the governor's MCP server, with an explicit `always_allow` toolset (the platform default `always_ask` would
 *   park every governed call);
 * - built-in tools matching `require_human_approval` become `always_ask`, answered through the approval queue;
 * - built-in tools the tenant policy forbids are disabled; the rest stay `always_allow` and are observed.
 */
export function buildSessionParams(input: AttachmentInput): UpstreamSessionParams {
  const needsApproval = compileToolPatterns(input.config.require_human_approval);
  const configs: UpstreamToolConfig[] = BUILTIN_TOOLS.map((name) => {
    if (input.forbiddenTools?.(name)) return { name, enabled: false };
    if (needsApproval(name)) {
      return { name, enabled: true, permission_policy: { type: "always_ask" } };
    }
    return { name, enabled: true, permission_policy: { type: "always_allow" } };
  });
  const governor: UpstreamMcpServer = { type: "url", name: GOVERNOR_MCP_SERVER_NAME, url: input.mcpServerUrl };
  const tools: UpstreamToolParam[] = [
    {
      type: "agent_toolset_20260401",
      default_config: { enabled: true, permission_policy: { type: "always_allow" } },
      configs,
    },
    {
      type: "mcp_toolset",
      mcp_server_name: GOVERNOR_MCP_SERVER_NAME,
      default_config: { enabled: true, permission_policy: { type: "always_allow" } },
    },
  ];
  return {
    agent: {
      type: "agent_with_overrides",
      id: input.upstreamAgentId,
      model: input.config.anthropic_model,
      system: input.systemPrompt,
      mcp_servers: [governor],
      tools,
    },
    environment_id: input.environmentId,
    vault_ids: [input.vaultId],
    ...(input.metadata && { metadata: input.metadata }),
  };
}
