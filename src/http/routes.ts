import * as z from "zod";
import type { Identity } from "../auth/authenticate.js";
import {
  consistencyProofQuerySchema,
  inclusionProofQuerySchema,
  listCheckpointsQuerySchema,
} from "../checkpoints/schema.js";
import { VargateError } from "../errors.js";
import type { VargateGovernor } from "../governor.js";
import { mcpRoutes } from "../mcp/routes.js";
import { replayBodySchema, replayOptionsFromBody } from "../replay/routes.js";
import { sessionAuditQuerySchema } from "../sessions/schema.js";
import { parseInput } from "../validation.js";

/** What a route handler receives. */
export interface RouteContext {
  governor: VargateGovernor;
  identity: Identity;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body (`{}` when empty); only read for methods that carry one. */
  body: unknown;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Relative to the mount point; `:name` segments become `params`. */
  path: string;
  summary: string;
  handle(context: RouteContext): Promise<unknown>;
}

const policyQuerySchema = z.object({ expected_version: z.coerce.number().int().min(0).optional() });

/** The whole `/managed/` REST surface. Each row names the governor method it calls. */
export const routes: readonly Route[] = [
  {
    method: "POST",
    path: "/managed/agents",
    summary: "Create an agent config",
    handle: ({ governor, identity, body }) =>
      governor.agents.create(identity.tenantId, body as never, { actor: identity.subject }),
  },
  {
    method: "GET",
    path: "/managed/agents",
    summary: "List agent configs, newest first",
    handle: async ({ governor, identity }) => {
      const configs = await governor.agents.list(identity.tenantId);
      return { configs, count: configs.length };
    },
  },
  {
    method: "GET",
    path: "/managed/agents/:agentId",
    summary: "Get an agent config",
    handle: ({ governor, identity, params }) => governor.agents.get(identity.tenantId, params.agentId as string),
  },
  {
    method: "PATCH",
    path: "/managed/agents/:agentId",
    summary: "Update an agent config; bumps its version",
    handle: ({ governor, identity, params, body }) =>
      governor.agents.update(identity.tenantId, params.agentId as string, body as never, { actor: identity.subject }),
  },
  {
    method: "POST",
    path: "/managed/sessions",
    summary: "Start a governed session",
    handle: ({ governor, identity, body }) =>
      governor.sessions.create(identity.tenantId, body as never, { actor: identity.subject }),
  },
  {
    method: "GET",
    path: "/managed/sessions",
    summary: "List sessions, newest first, with live counts",
    handle: async ({ governor, identity, query }) => {
      const sessions = await governor.sessions.list(identity.tenantId, Object.fromEntries(query));
      return { sessions, count: sessions.length };
    },
  },
  ...["/managed/sessions/:sessionId", "/managed/sessions/:sessionId/status"].map(
    (path): Route => ({
      method: "GET",
      path,
      summary: "Get a session's status with live counts",
      handle: ({ governor, identity, params }) => governor.sessions.get(identity.tenantId, params.sessionId as string),
    }),
  ),
  {
    method: "GET",
    path: "/managed/sessions/:sessionId/audit",
    summary: "A session's audit trail",
    handle: async ({ governor, identity, params, query }) => {
      const { limit } = parseInput(sessionAuditQuerySchema, Object.fromEntries(query), "query");
      const sessionId = params.sessionId as string;
      const records = await governor.sessions.audit(identity.tenantId, sessionId, { limit });
      return { session_id: sessionId, records, count: records.length };
    },
  },
  {
    method: "GET",
    path: "/managed/sessions/:sessionId/compliance",
    summary: "A session's compliance export, streamed, verifiable offline with `vargate verify`",
    handle: async ({ governor, identity, params }) => {
      const sessionId = params.sessionId as string;
      const body = await governor.compliance.exportStream(identity.tenantId, sessionId);
      return new Response(body, {
        headers: {
          "content-type": "application/json; charset=utf-8",
          "cache-control": "no-store",
          "content-disposition": `attachment; filename="compliance-${sessionId}.json"`,
        },
      });
    },
  },
  {
    method: "POST",
    path: "/managed/sessions/:sessionId/interrupt",
    summary: "Emergency stop: interrupt and archive the session",
    handle: ({ governor, identity, params, body }) =>
      governor.sessions.interrupt(identity.tenantId, params.sessionId as string, body as never, {
        actor: identity.subject,
      }),
  },
  {
    method: "POST",
    path: "/managed/sessions/:sessionId/complete",
    summary: "End a session normally",
    handle: ({ governor, identity, params }) =>
      governor.sessions.complete(identity.tenantId, params.sessionId as string, { actor: identity.subject }),
  },
  {
    method: "POST",
    path: "/managed/sessions/:sessionId/replay",
    summary: "Replay a session's governed decisions against the current (or a candidate) policy",
    handle: ({ governor, identity, params, body }) =>
      governor.replay.session(identity.tenantId, params.sessionId as string, {
        ...replayOptionsFromBody(parseInput(replayBodySchema.omit({ limit: true }), body)),
        actor: identity.subject,
      }),
  },
  {
    method: "POST",
    path: "/managed/replay",
    summary: "Replay the tenant's last `limit` governed decisions against the current (or a candidate) policy",
    handle: ({ governor, identity, body }) =>
      governor.replay.tenant(identity.tenantId, {
        ...replayOptionsFromBody(parseInput(replayBodySchema, body)),
        actor: identity.subject,
      }),
  },
  {
    method: "GET",
    path: "/managed/consumers",
    summary: "The tenant's active stream consumers",
    handle: async ({ governor, identity }) => {
      const consumers = await governor.consumers(identity.tenantId);
      return { consumers, count: consumers.length };
    },
  },
  {
    method: "GET",
    path: "/managed/policy",
    summary: "The tenant's current policy document and version",
    handle: ({ governor, identity }) => governor.policy.get(identity.tenantId),
  },
  {
    method: "PUT",
    path: "/managed/policy",
    summary: "Store a new policy version (optionally only if the current version is `expected_version`)",
    handle: ({ governor, identity, body, query }) => {
      const { expected_version } = parseInput(policyQuerySchema, Object.fromEntries(query), "query");
      return governor.policy.put(identity.tenantId, body, {
        actor: identity.subject,
        ...(expected_version !== undefined && { expectedVersion: expected_version }),
      });
    },
  },
  {
    method: "GET",
    path: "/managed/approvals",
    summary: "The approval queue, newest first",
    handle: async ({ governor, identity, query }) => {
      const approvals = await governor.approvals.list(identity.tenantId, Object.fromEntries(query));
      return { approvals, count: approvals.length };
    },
  },
  {
    method: "POST",
    path: "/managed/approvals/:actionId/approve",
    summary: "Approve a pending call; a governed call then runs exactly once",
    handle: ({ governor, identity, params, body }) =>
      governor.approvals.approve(identity.tenantId, params.actionId as string, body as never, {
        actor: identity.subject,
      }),
  },
  {
    method: "POST",
    path: "/managed/approvals/:actionId/reject",
    summary: "Reject a pending call",
    handle: ({ governor, identity, params, body }) =>
      governor.approvals.reject(identity.tenantId, params.actionId as string, body as never, {
        actor: identity.subject,
      }),
  },
  ...mcpRoutes,
  {
    method: "GET",
    path: "/managed/audit/verify",
    summary: "Verify the tenant's audit hash chain",
    handle: ({ governor, identity }) => governor.audit.verify(identity.tenantId),
  },
  {
    method: "POST",
    path: "/managed/checkpoints",
    summary: "Take a signed Merkle checkpoint of the tenant's audit chain now",
    handle: ({ governor, identity }) => governor.checkpoints.create(identity.tenantId),
  },
  {
    method: "GET",
    path: "/managed/checkpoints",
    summary: "The tenant's checkpoints, largest tree first",
    handle: async ({ governor, identity, query }) => {
      const { limit } = parseInput(listCheckpointsQuerySchema, Object.fromEntries(query), "query");
      const checkpoints = await governor.checkpoints.list(identity.tenantId, { limit });
      return { checkpoints, count: checkpoints.length };
    },
  },
  {
    method: "GET",
    path: "/managed/checkpoints/latest",
    summary: "The tenant's latest checkpoint",
    handle: async ({ governor, identity }) => {
      const latest = await governor.checkpoints.latest(identity.tenantId);
      if (!latest) throw new VargateError("NOT_FOUND", "No checkpoint yet");
      return latest;
    },
  },
  {
    method: "GET",
    path: "/managed/checkpoints/public-key",
    summary: "The Ed25519 public key that signs the tenant's checkpoints",
    handle: ({ governor, identity }) => governor.checkpoints.publicKey(identity.tenantId),
  },
  {
    method: "GET",
    path: "/managed/audit/proofs/inclusion",
    summary: "Inclusion proof of an audit record in a checkpoint (default: the latest)",
    handle: ({ governor, identity, query }) => {
      const { seq, tree_size } = parseInput(inclusionProofQuerySchema, Object.fromEntries(query), "query");
      return governor.checkpoints.inclusionProof(identity.tenantId, seq, tree_size);
    },
  },
  {
    method: "GET",
    path: "/managed/audit/proofs/consistency",
    summary: "Consistency proof between two checkpoints (`to` defaults to the latest)",
    handle: ({ governor, identity, query }) => {
      const { from, to } = parseInput(consistencyProofQuerySchema, Object.fromEntries(query), "query");
      return governor.checkpoints.consistencyProof(identity.tenantId, from, to);
    },
  },
];
