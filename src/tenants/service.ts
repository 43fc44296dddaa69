import * as z from "zod";
import type { ActorOptions } from "../agents/service.js";
import { controlPlaneEntry } from "../audit/entries.js";
import { apiKeyPrefix, generateApiKey, hashApiKey } from "../auth/api-keys.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { VargateError } from "../errors.js";
import { parseInput } from "../validation.js";
import { type ApiKeyRecord, TENANT_DEFAULTS, type TenantChanges, type TenantRecord } from "./types.js";

export const createTenantSchema = z.strictObject({
  tenant_id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9._-]{0,63}$/,
      "Must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting alphanumeric",
    ),
  name: z.string().min(1).max(256).optional(),
  max_concurrent_sessions: z.number().int().min(1).max(10_000).default(TENANT_DEFAULTS.max_concurrent_sessions),
  max_daily_sessions: z.number().int().min(1).max(1_000_000).default(TENANT_DEFAULTS.max_daily_sessions),
  max_session_hours: z.number().min(0.1).max(24).default(TENANT_DEFAULTS.max_session_hours),
  governance_prompt_template: z.string().min(1).max(20_000).nullish(),
});

/** What `governor.tenants.update` accepts: any of the tenant's settings, at least one. */
export const updateTenantSchema = createTenantSchema
  .omit({ tenant_id: true })
  .partial()
  .extend({
    max_concurrent_sessions: z.number().int().min(1).max(10_000).optional(),
    max_daily_sessions: z.number().int().min(1).max(1_000_000).optional(),
    max_session_hours: z.number().min(0.1).max(24).optional(),
  })
  .refine((changes) => Object.keys(changes).length > 0, { message: "At least one field must be given" });

export type CreateTenantInput = z.input<typeof createTenantSchema>;
export type UpdateTenantInput = z.input<typeof updateTenantSchema>;

/** A freshly issued key. `api_key` is shown once and never stored. */
export interface IssuedApiKey {
  tenant_id: string;
  key_id: string;
  api_key: string;
  created_at: string;
}

/** Tenants and their API keys: `governor.tenants`. */
export class Tenants {
  readonly #context: GovernorContext;

  constructor(context: GovernorContext) {
    this.#context = context;
  }

  /** Creates a tenant and its first API key. The key is returned once; only its hash is stored. */
  async create(input: CreateTenantInput, options: ActorOptions = {}): Promise<{ tenant: TenantRecord } & IssuedApiKey> {
    const body = parseInput(createTenantSchema, input, "options");
    const now = timestamp(this.#context.clock);
    const tenant: TenantRecord = {
      tenant_id: body.tenant_id,
      name: body.name ?? body.tenant_id,
      max_concurrent_sessions: body.max_concurrent_sessions,
      max_daily_sessions: body.max_daily_sessions,
      max_session_hours: body.max_session_hours,
      governance_prompt_template: body.governance_prompt_template ?? null,
      created_at: now,
    };
    const { key, record } = this.#newKey(tenant.tenant_id, now);
    const audit = controlPlaneEntry(this.#context, {
      method: "create_tenant",
      actor: options.actor,
      input: { tenant: { ...tenant }, key_id: record.key_id, key_prefix: record.prefix },
    });
    await this.#context.storage.tenants.create(tenant, record, audit);
    return { tenant, tenant_id: tenant.tenant_id, key_id: record.key_id, api_key: key, created_at: now };
  }

  async get(tenantId: string): Promise<TenantRecord> {
    const tenant = await this.#context.storage.tenants.get(tenantId);
    if (!tenant) throw new VargateError("TENANT_NOT_FOUND");
    return tenant;
  }

  async list(): Promise<TenantRecord[]> {
    return this.#context.storage.tenants.list();
  }

  /** Changes a tenant's name, limits or governance template. The change is audited. */
  async update(tenantId: string, input: UpdateTenantInput, options: ActorOptions = {}): Promise<TenantRecord> {
    const changes = parseInput(updateTenantSchema, input, "options") as TenantChanges;
    const audit = controlPlaneEntry(this.#context, {
      method: "update_tenant",
      actor: options.actor,
      input: { changes: { ...changes } },
    });
    const updated = await this.#context.storage.tenants.update(tenantId, changes, audit);
    if (!updated) throw new VargateError("TENANT_NOT_FOUND");
    return updated;
  }

  /** Issues an additional key; existing keys stay valid. */
  async createApiKey(tenantId: string, options: ActorOptions = {}): Promise<IssuedApiKey> {
    return this.#issueKey(tenantId, "create_api_key", false, options);
  }

  /** Issues a new key and revokes every other key of the tenant in the same transaction. */
  async rotateApiKey(tenantId: string, options: ActorOptions = {}): Promise<IssuedApiKey> {
    return this.#issueKey(tenantId, "rotate_api_key", true, options);
  }

  /** Revokes one key by id. `API_KEY_NOT_FOUND` when the tenant has no such active key. */
  async revokeApiKey(tenantId: string, keyId: string, options: ActorOptions = {}): Promise<void> {
    const now = timestamp(this.#context.clock);
    const audit = controlPlaneEntry(this.#context, {
      method: "revoke_api_key",
      actor: options.actor,
      input: { key_id: keyId },
    });
    const changed = await this.#context.storage.apiKeys.revoke(tenantId, now, audit, keyId);
    if (changed === 0) throw new VargateError("API_KEY_NOT_FOUND");
  }

  /** The tenant's keys (hash omitted), newest first. */
  async listApiKeys(tenantId: string): Promise<Omit<ApiKeyRecord, "key_hash">[]> {
    const keys = await this.#context.storage.apiKeys.list(tenantId);
    return keys.map(({ key_hash: _hash, ...key }) => key);
  }

  async #issueKey(tenantId: string, method: string, revokeOthers: boolean, options: ActorOptions) {
    await this.get(tenantId);
    const now = timestamp(this.#context.clock);
    const { key, record } = this.#newKey(tenantId, now);
    const audit = controlPlaneEntry(this.#context, {
      method,
      actor: options.actor,
      input: { key_id: record.key_id, key_prefix: record.prefix, revoked_others: revokeOthers },
    });
    await this.#context.storage.apiKeys.create(record, audit, revokeOthers ? { revokeOthersAt: now } : {});
    return { tenant_id: tenantId, key_id: record.key_id, api_key: key, created_at: now };
  }

  #newKey(tenantId: string, now: string): { key: string; record: ApiKeyRecord } {
    const key = generateApiKey();
    const record: ApiKeyRecord = {
      key_id: this.#context.ids.keyId(),
      tenant_id: tenantId,
      key_hash: hashApiKey(key),
      prefix: apiKeyPrefix(key),
      created_at: now,
      revoked_at: null,
    };
    return { key, record };
  }
}
