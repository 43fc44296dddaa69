import * as z from "zod";
import type { ActorOptions } from "../agents/service.js";
import { type AnomalyRuleSet, compileAnomalyRules, DEFAULT_ANOMALY_THRESHOLD } from "../anomaly/index.js";
import { controlPlaneEntry } from "../audit/entries.js";
import { timestamp } from "../clock.js";
import type { GovernorContext } from "../context.js";
import { VargateError } from "../errors.js";
import type { JsonObject } from "../json.js";
import { parseTenantPolicy, type TenantPolicy } from "./document.js";
import { type CodeRule, type CompiledPolicy, compilePolicy, failClosedDecision } from "./evaluate.js";

/** A tenant's policy as `GET /managed/policy` returns it. Version 0 is the empty policy before the first `PUT`. */
export interface PolicyView {
  tenant_id: string;
  version: number;
  document: JsonObject;
  created_at: string | null;
  created_by: string | null;
}

/** `PolicyView` as a schema, for the OpenAPI document (test/http/openapi.test.ts checks they match). */
export const policyViewSchema = z.object({
  tenant_id: z.string(),
  version: z.number().int(),
  document: z.record(z.string(), z.json()),
  created_at: z.string().nullable(),
  created_by: z.string().nullable(),
});

/** A policy ready to evaluate: the compiled rules and the tenant's anomaly rules. */
export interface ActivePolicy {
  /** `null` before the tenant stored any policy. */
  version: number | null;
  compiled: CompiledPolicy;
  anomalies: AnomalyRuleSet;
  anomalyThreshold: number;
}

const EMPTY_POLICY: JsonObject = { rules: [] };
const PUT_ATTEMPTS = 5;
// Compiled policies kept per governor; versions never change once stored, so entries never go stale.
const MAX_CACHED = 256;

/** Tenant policy documents, versioned: `governor.policy`. Every change is audited. */
export class TenantPolicies {
  readonly #context: GovernorContext;
  readonly #codeRules: readonly CodeRule[];
  readonly #cache = new Map<string, Promise<ActivePolicy>>();

  constructor(context: GovernorContext, options: { codeRules?: readonly CodeRule[] } = {}) {
    this.#context = context;
    this.#codeRules = options.codeRules ?? [];
  }

  /** The tenant's current policy (version 0 and no rules before the first `put`). */
  async get(tenantId: string): Promise<PolicyView> {
    const record = await this.#context.storage.policies.current(tenantId);
    if (!record) return { tenant_id: tenantId, version: 0, document: EMPTY_POLICY, created_at: null, created_by: null };
    return { ...record };
  }

  /**
   * Validates and stores a new version. With `expectedVersion`, refuses (409) if the current version differs, so
   * two editors cannot silently overwrite each other; without it, the write goes on top of whatever is current.
   */
  async put(
    tenantId: string,
    document: unknown,
    options: ActorOptions & { expectedVersion?: number } = {},
  ): Promise<PolicyView> {
    const parsed = parseTenantPolicy(document);
    const { storage, clock } = this.#context;
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt += 1) {
      const current = (await storage.policies.current(tenantId))?.version ?? 0;
      if (options.expectedVersion !== undefined && options.expectedVersion !== current) {
        throw new VargateError(
          "CONCURRENT_MODIFICATION",
          `Policy is at version ${current}, not ${options.expectedVersion}`,
        );
      }
      const record = {
        tenant_id: tenantId,
        version: current + 1,
        document: parsed as unknown as JsonObject,
        created_at: timestamp(clock),
        created_by: options.actor ?? null,
      };
      const audit = controlPlaneEntry(this.#context, {
        method: "update_policy",
        actor: options.actor,
        input: { version: record.version, document: record.document },
      });
      audit.policy_version = record.version;
      if (await storage.policies.put(record, audit)) return { ...record };
      if (options.expectedVersion !== undefined) {
        throw new VargateError("CONCURRENT_MODIFICATION", "Policy was changed concurrently");
      }
    }
    throw new VargateError("CONCURRENT_MODIFICATION", "Policy was changed concurrently");
  }

  /** The tenant's current policy, compiled (cached per version). */
  async active(tenantId: string): Promise<ActivePolicy> {
    return this.atVersion(tenantId, await this.#context.storage.policies.currentVersion(tenantId));
  }

  /**
   * The compiled policy of one stored version (`null`: none yet, the built-in default). A stored version never
   * changes, so hot paths read only the current version number and get its compiled form from a cache here.
   */
  atVersion(tenantId: string, version: number | null): Promise<ActivePolicy> {
    const key = `${tenantId}\u0000${version ?? 0}`;
    const cached = this.#cache.get(key);
    if (cached) return cached;
    // The promise is cached, not its value: calls that arrive together (a burst after a start or a new version)
    // share one read and one compilation.
    const loading = this.#load(tenantId, version);
    if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, loading);
    // A failed read, or a version that is not stored, is not kept: the next call reads again.
    const forget = () => {
      if (this.#cache.get(key) === loading) this.#cache.delete(key);
    };
    loading.then((active) => active.version !== version && forget(), forget);
    return loading;
  }

  async #load(tenantId: string, version: number | null): Promise<ActivePolicy> {
    const record = version === null ? null : await this.#context.storage.policies.get(tenantId, version);
    return this.compile(record ? (record.document as unknown as TenantPolicy) : null, record?.version ?? null);
  }

  /**
   * Compiles a document (stored, or a candidate for impact analysis) with the governor's code rules. A document
   * that no longer compiles (edited in the database, or code rules that changed) fails closed: every call is
   * denied with the reason, and the default anomaly rules apply.
   */
  compile(document: TenantPolicy | null, version: number | null = null): ActivePolicy {
    try {
      return {
        version,
        compiled: compilePolicy(document, { codeRules: this.#codeRules }),
        anomalies: compileAnomalyRules(document?.anomaly ?? null),
        anomalyThreshold: document?.anomaly?.threshold ?? DEFAULT_ANOMALY_THRESHOLD,
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#context.logger.error("Tenant policy does not compile; denying every call", { version, reason });
      return {
        version,
        compiled: { policy: document, evaluate: () => failClosedDecision(reason), forbidsTool: () => false },
        anomalies: compileAnomalyRules(null),
        anomalyThreshold: DEFAULT_ANOMALY_THRESHOLD,
      };
    }
  }
}
