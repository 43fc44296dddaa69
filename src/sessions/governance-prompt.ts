import type { AgentConfigRecord } from "../agents/types.js";
import { sha256Hex } from "../audit/chain.js";
import type { TenantRecord } from "../tenants/types.js";

/**
 * The governance instructions vargate adds to every session's system prompt. Placeholders in `{{double braces}}`
 * are filled per session; a tenant may replace the whole template.
 */
export const DEFAULT_GOVERNANCE_TEMPLATE = `## Governance context (injected by Vargate)
Tool calls made through the Vargate MCP server are evaluated against policy, written to a tamper-evident audit log, and may require human approval before they run.
- Give complete context for every action you take.
- If a tool answers that an action is pending approval, tell the user and continue with other work.
- Never use built-in tools (for example bash with curl) to get around a governed tool or a denial.
- Every action, governed or not, is recorded.

Session constraints:
- Allowed governed tools: {{allowed_tools}}
- Tools requiring human approval: {{approval_tools}}
- Session time limit: {{session_hours}} hours
Organization: {{tenant_name}}`;

export interface GovernancePromptInput {
  tenant: TenantRecord;
  config: AgentConfigRecord;
  /** The effective session limit in hours (the lower of the agent's and the tenant's). */
  sessionHours: number;
  /** The tenant's template, if it set one. */
  template?: string | null;
}

/** Fills the template. Unknown placeholders are left as they are, so a typo is visible in the prompt. */
export function renderGovernanceInstructions(input: GovernancePromptInput): string {
  const values: Record<string, string> = {
    allowed_tools: listOrNone(input.config.allowed_tools),
    approval_tools: listOrNone(input.config.require_human_approval),
    session_hours: String(input.sessionHours),
    tenant_name: input.tenant.name,
    agent_name: input.config.name,
  };
  const template = input.template ?? DEFAULT_GOVERNANCE_TEMPLATE;
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (placeholder, name: string) => values[name] ?? placeholder);
}

/** The full system prompt: the agent's own prompt, a blank line, then the governance instructions. */
export function composeSystemPrompt(basePrompt: string | null, governance: string): string {
  return basePrompt ? `${basePrompt}\n\n${governance}` : governance;
}

/** `system_prompt_hash`: lowercase hex SHA-256 of the full prompt's UTF-8 bytes. */
export function hashSystemPrompt(prompt: string): string {
  return sha256Hex(prompt);
}

function listOrNone(items: readonly string[]): string {
  return items.length > 0 ? items.join(", ") : "none";
}
