import type { AgentConfigRecord } from "../agents/types.js";
import { controlPlaneEntry } from "../audit/entries.js";
import type { GovernorContext } from "../context.js";
import { ConfigError } from "../errors.js";
import type { ManagedAgentsUpstream, UpstreamSession } from "../upstream/port.js";
import { buildSessionParams } from "./attachment.js";
import type { SessionRecord } from "./types.js";

const ENVIRONMENT_SETTING = "upstream_environment_id";

/** What `provision` needs to create one governed upstream session. */
export interface ProvisionRequest {
  session: SessionRecord;
  config: AgentConfigRecord;
  systemPrompt: string;
  mcpServerUrl: string;
  mcpToken: string;
  environmentId: string | null;
  metadata: Record<string, string>;
  /** Built-in tools the tenant policy forbids outright; they are disabled upstream. */
  forbiddenTools: (tool: string) => boolean;
}

/**
 * Everything sessions ask of the Managed Agents API: the mirrored agent, the default environment, the per-session
 * vault and credential, the session itself, and stopping it.
 */
export class SessionUpstream {
  readonly #context: GovernorContext;
  readonly #upstream: ManagedAgentsUpstream | undefined;
  readonly #environmentId: string | undefined;

  constructor(context: GovernorContext, upstream: ManagedAgentsUpstream | undefined, environmentId?: string) {
    this.#context = context;
    this.#upstream = upstream;
    this.#environmentId = environmentId;
  }

  /** The upstream, or a ConfigError explaining that sessions need one. */
  require(): ManagedAgentsUpstream {
    if (!this.#upstream) {
      throw new ConfigError("upstream: configure an upstream (anthropicUpstream()) to start sessions");
    }
    return this.#upstream;
  }

  /**
   * Creates the vault with the session's bearer credential (bound to exactly its MCP URL) and the upstream
   * session. On failure the vault is deleted again and the error rethrown.
   */
  async provision(
    request: ProvisionRequest,
  ): Promise<{ upstreamSession: UpstreamSession; vaultId: string; environmentId: string }> {
    const upstream = this.require();
    const { session } = request;
    const upstreamAgentId = await this.#agentFor(request.config);
    const environmentId = request.environmentId ?? (await this.#defaultEnvironment());
    const vault = await upstream.createVault({
      display_name: `vargate ${session.id}`,
      metadata: { vargate_session: session.id },
    });
    try {
      await upstream.createBearerCredential(vault.id, {
        mcp_server_url: request.mcpServerUrl,
        token: request.mcpToken,
        display_name: "vargate governor",
      });
      const upstreamSession = await upstream.createSession(
        buildSessionParams({
          config: request.config,
          upstreamAgentId,
          environmentId,
          systemPrompt: request.systemPrompt,
          mcpServerUrl: request.mcpServerUrl,
          vaultId: vault.id,
          forbiddenTools: request.forbiddenTools,
          metadata: { ...request.metadata, vargate_session: session.id },
        }),
      );
      return { upstreamSession, vaultId: vault.id, environmentId };
    } catch (error) {
      await upstream.deleteVault(vault.id).catch(() => {});
      throw error;
    }
  }

  /** Deletes a provisioned vault (the session could not be recorded). Best effort. */
  async discard(vaultId: string): Promise<void> {
    await this.#upstream?.deleteVault(vaultId).catch(() => {});
  }

  /**
   * Stops an ended session upstream: `user.interrupt`, then archive and delete the vault. Governance has already
   * stopped (the session is ended in storage), so failures are logged and recorded, not thrown.
   */
  async stop(session: SessionRecord, effects: { archive?: boolean; interrupt?: boolean }): Promise<void> {
    const upstream = this.#upstream;
    const upstreamId = session.anthropic_session_id;
    if (!upstream || !upstreamId) return;
    const failures: string[] = [];
    if (effects.interrupt) {
      await upstream.sendEvents(upstreamId, [{ type: "user.interrupt" }]).catch((error: unknown) => {
        failures.push(`user.interrupt: ${describe(error)}`);
      });
    }
    if (effects.archive) {
      await upstream.archiveSession(upstreamId).catch((error: unknown) => {
        failures.push(`archive: ${describe(error)}`);
      });
    }
    // Without an archive the platform could still call: keep the credential so those calls reach the governor,
    // which denies and audits them, instead of failing unseen.
    if (effects.archive && session.upstream_vault_id) {
      await upstream.deleteVault(session.upstream_vault_id).catch(() => {});
    }
    if (failures.length === 0) return;
    this.#context.logger.error("Upstream stop failed", { session_id: session.id, failures });
    await this.#context.storage.audit
      .append(session.tenant_id, [
        controlPlaneEntry(this.#context, {
          method: "upstream_stop_failed",
          session_id: session.id,
          agent_id: session.agent_id,
          decision: "deny",
          input: { failures },
        }),
      ])
      .catch(() => {});
  }

  /** The upstream agent mirroring a config: created on first use, then reused (overrides carry every change). */
  async #agentFor(config: AgentConfigRecord): Promise<string> {
    if (config.anthropic_agent_id) return config.anthropic_agent_id;
    const created = await this.require().createAgent({
      name: config.name,
      model: config.anthropic_model,
      system: config.system_prompt,
      metadata: { vargate_agent: config.id, vargate_tenant: config.tenant_id },
    });
    const recorded = await this.#context.storage.agents.setUpstreamAgent(config.tenant_id, config.id, created.id);
    return recorded ?? created.id;
  }

  /** The configured environment, else one created once and shared by every instance (insert-if-absent). */
  async #defaultEnvironment(): Promise<string> {
    if (this.#environmentId) return this.#environmentId;
    const { settings } = this.#context.storage;
    const known = await settings.get(ENVIRONMENT_SETTING);
    if (known) return known;
    const created = await this.require().createEnvironment({ name: "vargate-default" });
    return settings.putIfAbsent(ENVIRONMENT_SETTING, created.id);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
