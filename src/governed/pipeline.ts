import * as z from "zod";
import type { Approvals } from "../approvals/service.js";
import type { ApprovalRecord } from "../approvals/types.js";
import type { AuditEntry } from "../audit/types.js";
import type { GovernorContext } from "../context.js";
import type { CredentialStore } from "../credentials/store.js";
import type { JsonObject, JsonValue } from "../json.js";
import type { EvaluationInput, PolicyDecision } from "../policy/evaluate.js";
import type { TenantPolicies } from "../policy/service.js";
import type { SessionRecord } from "../sessions/types.js";
import { readDecisionInputs } from "../storage/decision-inputs.js";
import type { DecisionInputs } from "../storage/port.js";
import { executeTool } from "../tools/execute.js";
import type { ToolRegistry } from "../tools/registry.js";
import { milliseconds, positiveMilliseconds } from "../validation.js";
import { callDigest } from "./digest.js";
import type { GovernedCallOutcome, GovernedCallRequest } from "./types.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface GovernedCallOptions {
  /** How long a pending approval waits for a human before it expires (a deny). @default 3600000 (1 hour) */
  approvalTtlMs: number;
  /**
   * How long a `tools/call` that needs approval waits for the decision before answering `pending_approval`.
   * The agent then asks `vargate_approval_status`. @default 10000
   */
  approvalWaitMs: number;
  /** How often a waiting call re-reads the approval. @default 250 */
  approvalPollMs: number;
  /** Largest tool result kept and returned, in bytes of JSON. @default 65536 */
  maxResultBytes: number;
  /**
   * How long an approved call may run before its outcome is recorded as unknown: the instance that claimed the
   * run is taken to have stopped, and the call is not run again. Keep it above your slowest tool's run time.
   * @default 900000 (15 minutes)
   */
  approvedRunLeaseMs: number;
}

export const DEFAULT_GOVERNED_CALL_OPTIONS: GovernedCallOptions = {
  approvalTtlMs: 60 * 60 * 1000,
  approvalWaitMs: 10_000,
  approvalPollMs: 250,
  maxResultBytes: 64 * 1024,
  approvedRunLeaseMs: 15 * 60 * 1000,
};

/** `governedCalls` as given to the governor: any of the options, each checked. */
export const governedCallOptionsSchema = z.strictObject({
  approvalTtlMs: positiveMilliseconds.optional(),
  // 0 answers `pending_approval` at once.
  approvalWaitMs: milliseconds.nonnegative({ error: "expected 0 or more milliseconds" }).optional(),
  approvalPollMs: positiveMilliseconds.optional(),
  maxResultBytes: z
    .int({ error: "expected a whole number of bytes" })
    .positive({ error: "expected 1 or more bytes" })
    .optional(),
  approvedRunLeaseMs: positiveMilliseconds.optional(),
});

/**
 * The governed-call pipeline behind the MCP endpoint: `governor.governedCalls`.
 *
 * For each call it builds the evaluation input (tool, input, agent config, session, time, per-tool counters),
 * evaluates the tenant policy (pure, fail-closed), writes the `mcp_governed` record with that exact input and the
 * policy version, and then runs the tool with brokered credentials, refuses it, or queues it for approval.
 */
export class GovernedCalls {
  readonly #context: GovernorContext;
  readonly #policies: TenantPolicies;
  readonly #tools: ToolRegistry;
  /** Resolves the store only when a tool declares credentials: tools without any run without a credential key. */
  readonly #credentials: Pick<CredentialStore, "get">;
  readonly #approvals: Approvals;
  readonly #options: GovernedCallOptions;

  constructor(deps: {
    context: GovernorContext;
    policies: TenantPolicies;
    tools: ToolRegistry;
    credentials: () => CredentialStore;
    approvals: Approvals;
    options: GovernedCallOptions;
  }) {
    this.#context = deps.context;
    this.#policies = deps.policies;
    this.#tools = deps.tools;
    this.#credentials = { get: (tenantId, name) => deps.credentials().get(tenantId, name) };
    this.#approvals = deps.approvals;
    this.#options = deps.options;
  }

  /** Decides, audits and (when allowed) runs one governed call. The input is already schema-valid. */
  async call(request: GovernedCallRequest): Promise<GovernedCallOutcome> {
    const { session, tool } = request;
    const { storage, clock } = this.#context;
    const input = (request.input ?? {}) as JsonObject;
    const now = clock.now();
    const since = new Date(now.getTime() - DAY_MS).toISOString();
    const inputs = await readDecisionInputs(storage, session.tenant_id, {
      session_id: session.id,
      agent_id: session.agent_id,
      since,
    });
    const active = await this.#policies.atVersion(session.tenant_id, inputs.policy_version);
    const actionId = this.#context.ids.actionId();
    // Decided under the chain's head lock, on the counters as they stand there: concurrent calls cannot all
    // pass a counter limit on counts read before any of them was stored.
    const { record, approval } = await storage.audit.decideAndAppend(session.tenant_id, {
      counters: { session_id: session.id, agent_id: session.agent_id, since },
      ...(inputs.seq !== null && { known: { seq: inputs.seq, counters: inputs.counters } }),
      decide: (counters) => {
        const evaluation = evaluationInput(session, tool, input, now, { ...inputs, counters });
        const decision: PolicyDecision =
          session.status === "active"
            ? active.compiled.evaluate(evaluation)
            : {
                decision: "deny",
                violations: [`Session is not active (status: ${session.status})`],
                severity: "high",
                matched_rules: ["builtin:session_not_active"],
              };
        const entry: AuditEntry = {
          action_id: actionId,
          session_id: session.id,
          agent_id: session.agent_id,
          event_id: null,
          actor: null,
          source: "mcp_governed",
          tool,
          method: "tools/call",
          decision: decision.decision,
          severity: decision.severity,
          violations: decision.violations,
          input: evaluation,
          policy_version: active.version,
          requested_at: now.toISOString(),
        };
        const approval =
          decision.decision === "requires_human" ? this.#approvalFor(session, tool, input, entry, now) : null;
        return { entry, approval };
      },
    });

    if (approval) return this.#awaitDecision(approval, request.signal);
    if (record.decision !== "allow") {
      return { kind: "denied", action_id: actionId, violations: record.violations, severity: record.severity };
    }
    return this.#run(session, tool, input, actionId, request.signal);
  }

  /** What `vargate_approval_status` answers: the approval's state and, once it ran, the result. */
  async approvalStatus(session: SessionRecord, actionId: string): Promise<JsonValue> {
    const found = await this.#context.storage.approvals.get(session.tenant_id, actionId);
    if (!found || found.session_id !== session.id) return { action_id: actionId, status: "not_found" };
    await this.#approvals.expireDue();
    let approval = (await this.#context.storage.approvals.get(session.tenant_id, actionId)) ?? found;
    approval = (await this.#approvals.runIfApproved(approval)) ?? approval;
    return statusView(approval);
  }

  /** Runs an approved call (the `claimExecution` winner calls this). */
  async runApproved(approval: ApprovalRecord): Promise<JsonValue> {
    // The approval covers exactly the call that was queued: a changed tool or input is refused.
    if (callDigest(approval.tool, approval.input) !== approval.input_digest) {
      const error = "The approved call does not match the digest that was queued";
      await this.#context.storage.audit.setActionResult(approval.tenant_id, approval.action_id, { ok: false, error });
      return { ok: false, error };
    }
    const session = await this.#context.storage.sessions.get(approval.tenant_id, approval.session_id);
    if (session?.status !== "active") {
      const error = `Session is not active (status: ${session?.status ?? "missing"})`;
      await this.#context.storage.audit.setActionResult(approval.tenant_id, approval.action_id, { ok: false, error });
      return { ok: false, error };
    }
    const outcome = await this.#run(session, approval.tool, approval.input as JsonObject, approval.action_id);
    return outcome.kind === "allowed"
      ? { ok: true, output: outcome.output, truncated: outcome.truncated }
      : { ok: false, error: outcome.kind === "failed" ? outcome.error : "not executed" };
  }

  async #run(
    session: SessionRecord,
    toolName: string,
    input: JsonObject,
    actionId: string,
    signal?: AbortSignal,
  ): Promise<GovernedCallOutcome> {
    const tool = this.#tools.get(toolName);
    const result = tool
      ? await executeTool(tool, input, {
          credentials: this.#credentials,
          tenantId: session.tenant_id,
          sessionId: session.id,
          agentId: session.agent_id,
          actionId,
          maxResultBytes: this.#options.maxResultBytes,
          ...(signal && { signal }),
        })
      : ({ ok: false, error: `Tool '${toolName}' is not registered` } as const);
    await this.#context.storage.audit.setActionResult(session.tenant_id, actionId, result as unknown as JsonValue);
    return result.ok
      ? { kind: "allowed", action_id: actionId, output: result.output, truncated: result.truncated }
      : { kind: "failed", action_id: actionId, error: result.error };
  }

  async #awaitDecision(approval: ApprovalRecord, signal?: AbortSignal): Promise<GovernedCallOutcome> {
    const { storage } = this.#context;
    // Wall-clock on purpose: this bounds how long an HTTP request is held, not a governance rule.
    const deadline = Date.now() + this.#options.approvalWaitMs;
    while (Date.now() < deadline && !signal?.aborted) {
      await sleep(Math.min(this.#options.approvalPollMs, Math.max(0, deadline - Date.now())));
      const current = await storage.approvals.get(approval.tenant_id, approval.action_id);
      if (!current || current.status === "pending") continue;
      if (current.status !== "approved") {
        return {
          kind: "denied",
          action_id: approval.action_id,
          violations: [`Approval ${current.status}${current.note ? `: ${current.note}` : ""}`],
          severity: "medium",
        };
      }
      const ran = await this.#approvals.runIfApproved(current);
      const result = ran?.result as { ok?: boolean; output?: JsonValue; truncated?: boolean; error?: string } | null;
      if (result?.ok) {
        return {
          kind: "allowed",
          action_id: approval.action_id,
          output: result.output ?? null,
          truncated: !!result.truncated,
        };
      }
      if (result) return { kind: "failed", action_id: approval.action_id, error: result.error ?? "failed" };
    }
    return {
      kind: "pending",
      action_id: approval.action_id,
      expires_at: approval.expires_at,
      message: "This action requires human approval. Call vargate_approval_status with the action_id for the outcome.",
    };
  }

  #approvalFor(session: SessionRecord, tool: string, input: JsonObject, entry: AuditEntry, now: Date): ApprovalRecord {
    return {
      action_id: entry.action_id,
      tenant_id: session.tenant_id,
      session_id: session.id,
      agent_id: session.agent_id,
      kind: "governed_call",
      tool,
      input,
      input_digest: callDigest(tool, input),
      upstream_event_id: null,
      status: "pending",
      requested_at: now.toISOString(),
      expires_at: new Date(now.getTime() + this.#options.approvalTtlMs).toISOString(),
      decided_at: null,
      decided_by: null,
      note: null,
      execution: "none",
      result: null,
    };
  }
}

function statusView(approval: ApprovalRecord): JsonValue {
  return {
    action_id: approval.action_id,
    status: approval.status,
    tool: approval.tool,
    decided_at: approval.decided_at,
    note: approval.note,
    expires_at: approval.expires_at,
    result: approval.result,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The evaluation input of one call: what the policy decides on, and what the audit record stores. */
function evaluationInput(
  session: SessionRecord,
  tool: string,
  input: JsonObject,
  now: Date,
  inputs: DecisionInputs,
): EvaluationInput {
  const { agent } = inputs;
  return {
    tenant_id: session.tenant_id,
    tool,
    input,
    agent: {
      id: session.agent_id,
      version: agent?.version ?? session.agent_version,
      allowed_tools: agent?.allowed_tools ?? [],
      require_human_approval: agent?.require_human_approval ?? [],
    },
    session: { id: session.id },
    now: now.toISOString(),
    counters: { session: inputs.counters.session, agent_24h: inputs.counters.agent_since },
  };
}
