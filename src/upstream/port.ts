/**
 * The upstream port: the subset of the Claude Managed Agents API the governor calls.
 *
 * `anthropicUpstream()` (in `vargate/anthropic`) implements it with `@anthropic-ai/sdk`. Every method throws
 * `UpstreamError` (status, request id and upstream error type kept) on failure. Shapes are structural and
 * forward compatible: fields the governor does not read pass through untouched.
 */
export interface ManagedAgentsUpstream {
  createAgent(params: UpstreamAgentParams): Promise<UpstreamAgent>;
  /** Replaces the agent's definition; `version` is the version being replaced (optimistic concurrency). */
  updateAgent(agentId: string, params: UpstreamAgentParams & { version: number }): Promise<UpstreamAgent>;

  createEnvironment(params: { name: string; metadata?: Record<string, string> }): Promise<{ id: string }>;

  createVault(params: { display_name: string; metadata?: Record<string, string> }): Promise<{ id: string }>;
  /** Adds a static bearer credential the platform sends to the MCP server whose URL equals `mcp_server_url`. */
  createBearerCredential(
    vaultId: string,
    params: { mcp_server_url: string; token: string; display_name?: string },
  ): Promise<{ id: string }>;
  /** Deletes a vault and its credentials. */
  deleteVault(vaultId: string): Promise<void>;

  createSession(params: UpstreamSessionParams): Promise<UpstreamSession>;
  retrieveSession(sessionId: string): Promise<UpstreamSession>;
  /** Makes the session read-only; the platform then reports it `terminated`. */
  archiveSession(sessionId: string): Promise<UpstreamSession>;

  sendEvents(sessionId: string, events: UpstreamEventParams[]): Promise<UpstreamEvent[]>;
  /** History in ascending order, from `processedAtOrAfter` (inclusive) when given. Pages lazily. */
  listEvents(sessionId: string, options?: { processedAtOrAfter?: string }): AsyncIterable<UpstreamEvent>;
  /**
   * Opens the live stream. Resolves once the connection is established (so events from then on are buffered),
   * and yields only events produced after that. The iterable ends or throws when the connection drops; it does
   * not reconnect. Abort with `signal`. It may be an `UpstreamEventStream`, which the consumer reads by group.
   */
  streamEvents(
    sessionId: string,
    options?: { signal?: AbortSignal },
  ): Promise<AsyncIterable<UpstreamEvent> | UpstreamEventStream>;
}

/**
 * A live stream that can also hand over its events grouped as they arrived (one network read each), so that its
 * reader pays per group rather than per event. Read it either way, not both.
 */
export interface UpstreamEventStream extends AsyncIterable<UpstreamEvent> {
  /** The same events, in the same order and with the same failures, in groups. */
  batches(): AsyncIterable<readonly UpstreamEvent[]>;
}

export interface UpstreamAgentParams {
  name: string;
  model: string;
  system?: string | null;
  description?: string | null;
  tools?: UpstreamToolParam[];
  mcp_servers?: UpstreamMcpServer[];
  metadata?: Record<string, string>;
}

export interface UpstreamAgent {
  id: string;
  version: number;
  [field: string]: unknown;
}

export interface UpstreamMcpServer {
  type: "url";
  name: string;
  url: string;
}

export interface UpstreamPermissionPolicy {
  type: "always_allow" | "always_ask" | "auto";
}

export interface UpstreamToolConfig {
  name: string;
  enabled?: boolean;
  permission_policy?: UpstreamPermissionPolicy;
}

export type UpstreamToolParam =
  | {
      type: "agent_toolset_20260401";
      default_config?: { enabled?: boolean; permission_policy?: UpstreamPermissionPolicy };
      configs?: UpstreamToolConfig[];
    }
  | {
      type: "mcp_toolset";
      mcp_server_name: string;
      default_config?: { enabled?: boolean; permission_policy?: UpstreamPermissionPolicy };
      configs?: UpstreamToolConfig[];
    }
  | { type: "custom"; name: string; description: string; input_schema: Record<string, unknown> };

export interface UpstreamSessionParams {
  agent:
    | string
    | {
        type: "agent_with_overrides";
        id: string;
        version?: number;
        model?: string;
        system?: string | null;
        mcp_servers?: UpstreamMcpServer[];
        tools?: UpstreamToolParam[];
      };
  environment_id: string;
  title?: string | null;
  metadata?: Record<string, string>;
  vault_ids?: string[];
}

export interface UpstreamSession {
  id: string;
  status: "idle" | "running" | "rescheduling" | "terminated" | (string & {});
  [field: string]: unknown;
}

/** An event on a session's stream or in its history. Unknown types pass through. */
export interface UpstreamEvent {
  id: string;
  type: string;
  processed_at?: string | null;
  [field: string]: unknown;
}

export type UpstreamEventParams =
  | { type: "user.message"; content: { type: "text"; text: string }[] }
  | { type: "user.interrupt" }
  | { type: "user.tool_confirmation"; tool_use_id: string; result: "allow" | "deny"; deny_message?: string };
