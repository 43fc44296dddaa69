import { randomBytes } from "node:crypto";
import type { ActorOptions } from "../agents/service.js";
import { controlPlaneEntry } from "../audit/entries.js";
import type { AuditRecord } from "../audit/types.js";
import { hashApiKey } from "../auth/api-keys.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { ConfigError, VargateError } from "../errors.js";
import type { TenantRecord } from "../tenants/types.js";
import type { ManagedAgentsUpstream } from "../upstream/port.js";
import { parseInput } from "../validation.js";
import { composeSystemPrompt, hashSystemPrompt, renderGovernanceInstructions } from "./governance-prompt.js";
import {
  type CreateSessionInput,
  createSessionSchema,
  type InterruptSessionInput,
  interruptSessionSchema,
  type ListSessionsQuery,
  listSessionsQuerySchema,
} from "./schema.js";
import type { EndedSessionStatus, SessionRecord } from "./types.js";
import { SessionUpstream } from "./upstream.js";
import { type CreatedSession, type InterruptResult, type SessionStatusView, sessionTotals } from "./views.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SessionOptions {
  /** Where the platform reaches this governor, including any mount prefix (`https://gov.example.com/api`). */
  publicUrl?: string;
  /** Environment for sessions that name none. @default one vargate creates once and reuses */
  environmentId?: string;
  /** Archive the upstream session after an interrupt, so it cannot be resumed. @default true */
  archiveOnInterrupt?: boolean;
  /**
   * The governance instructions for a tenant, computed in code. Return `null` to use the tenant's stored
   * `governance_prompt_template`, or the default when it has none.
   */
  governanceTemplate?: (tenant: TenantRecord) => string | null | undefined;
}

export interface SessionHooks {
  /** The tenant's active policy: built-in tools it forbids outright are disabled on new sessions. */
  policyFor(tenantId: string): Promise<{ compiled: { forbidsTool(tool: string): boolean } }>;
  /** A session became active: attach its consumer. */
  onActivated(session: SessionRecord): void;
  /** A session ended: stop its consumer. */
  onEnded(session: SessionRecord): Promise<void>;
}

/** Governed sessions on the Managed Agents API: `governor.sessions`. */
export class Sessions {
  readonly #context: GovernorContext;
  readonly #upstream: SessionUpstream;
  readonly #options: SessionOptions;
  readonly #hooks: SessionHooks;

  constructor(
    context: GovernorContext,
    upstream: ManagedAgentsUpstream | undefined,
    options: SessionOptions,
    hooks: SessionHooks,
  ) {
    this.#context = context;
    this.#upstream = new SessionUpstream(context, upstream, options.environmentId);
    this.#options = options;
    this.#hooks = hooks;
  }

  /**
   * Starts a governed session: checks limits (reserving a slot atomically), injects the governance instructions,
   * attaches the governor's MCP server with a per-session credential, creates the upstream session, records it,
   * attaches its consumer and sends the first message. A failed upstream call frees the slot.
   */
  async create(tenantId: string, input: CreateSessionInput, options: ActorOptions = {}): Promise<CreatedSession> {
    const body = parseInput(createSessionSchema, input);
    const upstream = this.#upstream.require();
    const publicUrl = this.#requirePublicUrl();
    const { storage, clock, ids } = this.#context;

    const config = await storage.agents.get(tenantId, body.agent_id);
    if (!config) throw new VargateError("AGENT_NOT_FOUND", `Agent config '${body.agent_id}' not found`);
    const tenant = await storage.tenants.get(tenantId);
    if (!tenant) throw new VargateError("TENANT_NOT_FOUND");

    const policy = await this.#hooks.policyFor(tenantId);
    const sessionHours = Math.min(config.max_session_hours, tenant.max_session_hours);
    const template = this.#options.governanceTemplate?.(tenant) ?? tenant.governance_prompt_template;
    const governance = renderGovernanceInstructions({ tenant, config, sessionHours, template });
    const systemPrompt = composeSystemPrompt(config.system_prompt, governance);
    const mcpToken = `vgs_${randomBytes(32).toString("hex")}`;
    const now = clock.now();
    const session: SessionRecord = {
      id: ids.sessionId(),
      tenant_id: tenantId,
      agent_id: config.id,
      agent_version: config.version,
      status: "pending",
      anthropic_session_id: null,
      environment_id: null,
      upstream_vault_id: null,
      system_prompt_hash: hashSystemPrompt(systemPrompt),
      mcp_token_hash: hashApiKey(mcpToken),
      metadata: body.metadata,
      max_session_hours: sessionHours,
      created_at: now.toISOString(),
      ended_at: null,
      end_reason: null,
    };
    await storage.sessions.reserve(session, {
      maxConcurrent: tenant.max_concurrent_sessions,
      maxDaily: tenant.max_daily_sessions,
      agentMaxDaily: config.max_daily_sessions,
      windowStart: new Date(now.getTime() - DAY_MS).toISOString(),
    });

    const mcpServerUrl = `${publicUrl}/managed/mcp/${session.id}`;
    let active: SessionRecord | null = null;
    let vaultId: string | null = null;
    try {
      const provisioned = await this.#upstream.provision({
        session,
        config,
        systemPrompt,
        mcpServerUrl,
        mcpToken,
        environmentId: body.environment_id ?? null,
        metadata: body.metadata,
        forbiddenTools: (tool) => policy.compiled.forbidsTool(tool),
      });
      vaultId = provisioned.vaultId;
      const audit = controlPlaneEntry(this.#context, {
        method: "create_session",
        actor: options.actor,
        agent_id: config.id,
        session_id: session.id,
        input: {
          agent_version: config.version,
          anthropic_session_id: provisioned.upstreamSession.id,
          environment_id: provisioned.environmentId,
          system_prompt_hash: session.system_prompt_hash,
          max_session_hours: sessionHours,
          metadata: body.metadata,
          user_message: body.user_message ?? null,
        },
      });
      active = await storage.sessions.activate(
        tenantId,
        session.id,
        {
          anthropic_session_id: provisioned.upstreamSession.id,
          environment_id: provisioned.environmentId,
          upstream_vault_id: provisioned.vaultId,
        },
        audit,
      );
      if (!active) throw new VargateError("CONCURRENT_MODIFICATION", "Session reservation was lost");
    } catch (error) {
      await storage.sessions.release(tenantId, session.id).catch(() => {});
      if (vaultId) await this.#upstream.discard(vaultId);
      throw error;
    }

    this.#hooks.onActivated(active);
    if (body.user_message) {
      try {
        await upstream.sendEvents(active.anthropic_session_id as string, [
          { type: "user.message", content: [{ type: "text", text: body.user_message }] },
        ]);
      } catch (error) {
        await this.#end(active, "failed", "The first message could not be sent", options, { archive: true });
        throw error;
      }
    }
    return {
      session_id: active.id,
      anthropic_session_id: active.anthropic_session_id,
      tenant_id: tenantId,
      agent_id: active.agent_id,
      status: "active",
      system_prompt_hash: active.system_prompt_hash,
      governance: "active",
      mcp_server_url: mcpServerUrl,
      created_at: active.created_at,
    };
  }

  /** The tenant's sessions, newest first, with live counts from the audit log. */
  async list(tenantId: string, query: ListSessionsQuery = {}) {
    const filter = parseInput(listSessionsQuerySchema, query, "query");
    const sessions = await this.#context.storage.sessions.list(tenantId, {
      limit: filter.limit,
      ...(filter.status && { status: filter.status }),
      ...(filter.agent_id && { agent_id: filter.agent_id }),
    });
    const counts = await this.#countsOf(tenantId, sessions);
    return sessions.map((session) => ({
      id: session.id,
      anthropic_session_id: session.anthropic_session_id,
      agent_id: session.agent_id,
      status: session.status,
      ...counts(session.id),
      created_at: session.created_at,
      ended_at: session.ended_at,
    }));
  }

  /** One session with live counts; `SESSION_NOT_FOUND` when missing or another tenant's. */
  async get(tenantId: string, sessionId: string): Promise<SessionStatusView> {
    const session = await this.#find(tenantId, sessionId);
    const counts = await this.#countsOf(tenantId, [session]);
    return {
      session_id: session.id,
      anthropic_session_id: session.anthropic_session_id,
      agent_id: session.agent_id,
      status: session.status,
      ...counts(session.id),
      system_prompt_hash: session.system_prompt_hash,
      created_at: session.created_at,
      ended_at: session.ended_at,
      end_reason: session.end_reason,
    };
  }

  /** The session's audit trail in chain order. @default limit 200 */
  async audit(tenantId: string, sessionId: string, options: { limit?: number } = {}): Promise<AuditRecord[]> {
    await this.#find(tenantId, sessionId);
    return this.#context.storage.audit.listBySession(tenantId, sessionId, { limit: options.limit ?? 200 });
  }

  /**
   * Emergency stop: marks the session interrupted (from then on every governed call is denied), writes the audit
   * record, then sends `user.interrupt` and, by default, archives the upstream session. `SESSION_ENDED` if it
   * already ended.
   */
  async interrupt(
    tenantId: string,
    sessionId: string,
    input: InterruptSessionInput,
    options: ActorOptions = {},
  ): Promise<InterruptResult> {
    const body = parseInput(interruptSessionSchema, input);
    const session = await this.#find(tenantId, sessionId);
    const ended = await this.#end(session, "interrupted", body.reason, options, {
      archive: this.#options.archiveOnInterrupt ?? true,
      interrupt: true,
      autoTriggered: body.auto_triggered,
    });
    return {
      status: "interrupted",
      session_id: session.id,
      reason: body.reason,
      interrupted_at: ended.session.ended_at as string,
      auto_triggered: body.auto_triggered,
      audit_action_id: ended.actionId,
    };
  }

  /** Ends a session normally and archives it upstream. `SESSION_ENDED` if it already ended. */
  async complete(tenantId: string, sessionId: string, options: ActorOptions = {}) {
    const session = await this.#find(tenantId, sessionId);
    const ended = await this.#end(session, "completed", "Completed by request", options, { archive: true });
    return {
      status: "completed" as const,
      session_id: session.id,
      ended_at: ended.session.ended_at as string,
      audit_action_id: ended.actionId,
    };
  }

  /** Records that the upstream session ended on its own (the consumer saw it). No-op if already ended. */
  async recordUpstreamEnd(session: SessionRecord, status: "completed" | "failed", reason: string): Promise<void> {
    await this.#end(session, status, reason, { actor: "consumer" }, {}).catch((error: unknown) => {
      if (!(error instanceof VargateError && error.code === "SESSION_ENDED")) throw error;
    });
  }

  /**
   * Interrupts (with `auto_triggered: true`) every active session that has outlived its effective
   * `max_session_hours`. Returns the ids interrupted. Runs on a timer after `governor.start()`.
   */
  async enforceDurations(): Promise<string[]> {
    const now = this.#context.clock.now().getTime();
    const interrupted: string[] = [];
    for (const session of await this.#context.storage.sessions.listActive()) {
      const deadline = Date.parse(session.created_at) + session.max_session_hours * 60 * 60 * 1000;
      if (now < deadline) continue;
      try {
        await this.interrupt(
          session.tenant_id,
          session.id,
          {
            reason: `Session exceeded its maximum duration of ${session.max_session_hours} hours`,
            auto_triggered: true,
          },
          { actor: "duration_limit" },
        );
        interrupted.push(session.id);
      } catch (error) {
        if (!(error instanceof VargateError && error.code === "SESSION_ENDED")) throw error;
      }
    }
    return interrupted;
  }

  /** Interrupts a session because anomaly detection crossed its threshold. No-op if it already ended. */
  async autoInterrupt(session: SessionRecord, reason: string): Promise<void> {
    await this.interrupt(
      session.tenant_id,
      session.id,
      { reason: reason.slice(0, 1000), auto_triggered: true },
      {
        actor: "anomaly_detection",
      },
    ).catch((error: unknown) => {
      if (!(error instanceof VargateError && error.code === "SESSION_ENDED")) throw error;
    });
  }

  async #end(
    session: SessionRecord,
    status: EndedSessionStatus,
    reason: string,
    options: ActorOptions,
    effects: { archive?: boolean; interrupt?: boolean; autoTriggered?: boolean },
  ): Promise<{ session: SessionRecord; actionId: string }> {
    const { storage, clock } = this.#context;
    const audit = controlPlaneEntry(this.#context, {
      method:
        status === "interrupted" ? "interrupt_session" : status === "completed" ? "complete_session" : "fail_session",
      actor: options.actor,
      agent_id: session.agent_id,
      session_id: session.id,
      input: { reason, auto_triggered: effects.autoTriggered ?? false },
    });
    if (status === "interrupted") {
      audit.violations = ["session_interrupted"];
      audit.severity = effects.autoTriggered ? "high" : "medium";
    }
    const ended = await storage.sessions.end(
      session.tenant_id,
      session.id,
      { status, ended_at: timestamp(clock), end_reason: reason },
      audit,
    );
    if (!ended) {
      const current = await storage.sessions.get(session.tenant_id, session.id);
      throw new VargateError("SESSION_ENDED", `Session already ended (status: ${current?.status ?? "unknown"})`);
    }
    await this.#hooks.onEnded(ended);
    await this.#upstream.stop(ended, effects);
    return { session: ended, actionId: audit.action_id };
  }

  async #find(tenantId: string, sessionId: string): Promise<SessionRecord> {
    const session = await this.#context.storage.sessions.get(tenantId, sessionId);
    if (!session || session.status === "pending") throw new VargateError("SESSION_NOT_FOUND");
    return session;
  }

  async #countsOf(tenantId: string, sessions: readonly SessionRecord[]) {
    const rows = await this.#context.storage.audit.countBySession(
      tenantId,
      sessions.map((session) => session.id),
    );
    const approvals = await Promise.all(
      sessions.map((session) =>
        this.#context.storage.approvals.list(tenantId, { session_id: session.id, limit: 10_000 }),
      ),
    );
    const bySession = new Map(sessions.map((session, index) => [session.id, approvals[index] ?? []]));
    return (sessionId: string) => {
      const mine = bySession.get(sessionId) ?? [];
      return sessionTotals({
        rows: rows.filter((row) => row.session_id === sessionId),
        pendingApprovals: mine.filter((approval) => approval.status === "pending").length,
        decidedApprovals: mine.filter((approval) => approval.status === "approved" || approval.status === "rejected")
          .length,
      });
    };
  }

  #requirePublicUrl(): string {
    const url = this.#options.publicUrl;
    if (!url) throw new ConfigError("sessions.publicUrl: set the URL the platform uses to reach this governor");
    return url.replace(/\/+$/, "");
  }
}

function _describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
