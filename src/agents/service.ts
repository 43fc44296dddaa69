import { controlPlaneEntry } from "../audit/entries.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { ValidationError, VargateError } from "../errors.js";
import type { JsonObject } from "../json.js";
import { TENANT_DEFAULTS } from "../tenants/types.js";
import { parseInput } from "../validation.js";
import {
  type CreateAgentConfigInput,
  createAgentConfigSchema,
  type UpdateAgentConfigInput,
  updateAgentConfigSchema,
} from "./schema.js";
import type { AgentConfigChanges, AgentConfigRecord } from "./types.js";

/** Who asked for a change; recorded on its audit record. */
export interface ActorOptions {
  actor?: string | null;
}

/** The upper bound of an agent's `max_daily_sessions`, from the seed. */
const MAX_AGENT_DAILY_SESSIONS = 1000;

// A compare-and-set update retries this often when other writers keep winning, then reports a conflict.
const UPDATE_ATTEMPTS = 5;

/** Agent configs: `governor.agents`. Every change is written to the tenant's audit chain with the change. */
export class AgentConfigs {
  readonly #context: GovernorContext;

  constructor(context: GovernorContext) {
    this.#context = context;
  }

  /** Validates and stores a config. Missing limits take the tenant's defaults. */
  async create(
    tenantId: string,
    input: CreateAgentConfigInput,
    options: ActorOptions = {},
  ): Promise<AgentConfigRecord> {
    const body = parseInput(createAgentConfigSchema, input);
    const { storage, ids, clock } = this.#context;
    const tenant = await storage.tenants.get(tenantId);
    if (!tenant) throw new VargateError("TENANT_NOT_FOUND");

    const parentId = body.parent_agent_id ?? null;
    if (parentId !== null) await this.#checkDelegationDepth(tenantId, parentId);

    const now = timestamp(clock);
    const config: AgentConfigRecord = {
      id: ids.agentId(),
      tenant_id: tenantId,
      name: body.name,
      anthropic_model: body.anthropic_model,
      system_prompt: body.system_prompt ?? null,
      allowed_tools: body.allowed_tools,
      require_human_approval: body.require_human_approval,
      max_session_hours: body.max_session_hours ?? tenant.max_session_hours ?? TENANT_DEFAULTS.max_session_hours,
      // Clamped to the field's own range, so the stored value is one PATCH would accept.
      max_daily_sessions: body.max_daily_sessions ?? Math.min(tenant.max_daily_sessions, MAX_AGENT_DAILY_SESSIONS),
      max_delegation_depth: body.max_delegation_depth,
      governance_profile: body.governance_profile as JsonObject,
      parent_agent_id: parentId,
      anthropic_agent_id: null,
      version: 1,
      created_at: now,
      updated_at: now,
    };
    const audit = controlPlaneEntry(this.#context, {
      method: "create_agent",
      actor: options.actor,
      agent_id: config.id,
      input: { config: withoutTenant(config) },
    });
    await storage.agents.create(config, audit);
    return config;
  }

  /** The tenant's configs, newest first. */
  async list(tenantId: string): Promise<AgentConfigRecord[]> {
    return this.#context.storage.agents.list(tenantId);
  }

  /** One config; `AGENT_NOT_FOUND` when missing or owned by another tenant. */
  async get(tenantId: string, agentId: string): Promise<AgentConfigRecord> {
    const config = await this.#context.storage.agents.get(tenantId, agentId);
    if (!config) throw new VargateError("AGENT_NOT_FOUND");
    return config;
  }

  /** Applies a partial update and bumps `version`. Safe under concurrent updates (compare-and-set). */
  async update(
    tenantId: string,
    agentId: string,
    input: UpdateAgentConfigInput,
    options: ActorOptions = {},
  ): Promise<AgentConfigRecord> {
    const changes = parseInput(updateAgentConfigSchema, input) as AgentConfigChanges;
    const { storage, clock } = this.#context;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt += 1) {
      const current = await this.get(tenantId, agentId);
      const audit = controlPlaneEntry(this.#context, {
        method: "update_agent",
        actor: options.actor,
        agent_id: agentId,
        input: { agent_id: agentId, from_version: current.version, changes: changes as JsonObject },
      });
      const updated = await storage.agents.update(tenantId, agentId, changes, {
        expectedVersion: current.version,
        updatedAt: timestamp(clock),
        audit,
      });
      if (updated) return updated;
    }
    throw new VargateError("CONCURRENT_MODIFICATION");
  }

  /**
   * A child sits one level below its parent. Each ancestor allows sub-agents down to its own
   * `max_delegation_depth` levels below it, so the new child must be within every ancestor's reach.
   */
  async #checkDelegationDepth(tenantId: string, parentId: string): Promise<void> {
    const parent = await this.#context.storage.agents.get(tenantId, parentId);
    if (!parent) throw new VargateError("PARENT_AGENT_NOT_FOUND");

    let ancestor: AgentConfigRecord | null = parent;
    let levelsBelow = 1;
    const seen = new Set<string>();
    while (ancestor) {
      if (seen.has(ancestor.id)) break; // defensive: parents are fixed at creation, so no cycle can form
      seen.add(ancestor.id);
      if (levelsBelow > ancestor.max_delegation_depth) {
        throw new ValidationError(
          [
            {
              loc: ["body", "parent_agent_id"],
              msg: `Delegation depth exceeded: agent ${ancestor.id} allows sub-agents ${ancestor.max_delegation_depth} level(s) below it, this one would be ${levelsBelow}`,
              type: "delegation_depth_exceeded",
            },
          ],
          undefined,
          "DELEGATION_DEPTH_EXCEEDED",
        );
      }
      ancestor = ancestor.parent_agent_id
        ? await this.#context.storage.agents.get(tenantId, ancestor.parent_agent_id)
        : null;
      levelsBelow += 1;
    }
  }
}

function withoutTenant(config: AgentConfigRecord): JsonObject {
  const { tenant_id: _tenant, ...rest } = config;
  return rest as unknown as JsonObject;
}
