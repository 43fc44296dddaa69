import * as z from "zod";
import { agentConfigRecordSchema, createAgentConfigSchema, updateAgentConfigSchema } from "../agents/schema.js";
import { approvalRecordSchema, decideApprovalSchema, listApprovalsQuerySchema } from "../approvals/schema.js";
import type { Identity } from "../auth/authenticate.js";
import {
  consistencyProofQuerySchema,
  inclusionProofQuerySchema,
  listCheckpointsQuerySchema,
} from "../checkpoints/schema.js";
import { VargateError } from "../errors.js";
import type { VargateGovernor } from "../governor.js";
import { mcpRoutes } from "../mcp/routes.js";
import { tenantPolicySchema } from "../policy/document.js";
import { policyViewSchema } from "../policy/service.js";
import { replayBodySchema, replayOptionsFromBody, sessionReplayBodySchema } from "../replay/routes.js";
import {
  completedSessionSchema,
  createdSessionSchema,
  createSessionSchema,
  interruptResultSchema,
  interruptSessionSchema,
  listSessionsQuerySchema,
  sessionAuditQuerySchema,
  sessionListItemSchema,
  sessionStatusSchema,
} from "../sessions/schema.js";
import { parseInput } from "../validation.js";
import type { RawRoute } from "./handler.js";
import { openApiDocument } from "./openapi.js";

/** What a route handler receives. */
export interface RouteContext {
  governor: VargateGovernor;
  identity: Identity;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The parsed JSON body (`{}` when empty); only read for methods that carry one. */
  body: unknown;
}

/** What a route answers on success; the OpenAPI document's 200 response. */
export interface RouteResponse {
  description: string;
  /** The body's schema, where it is modelled; left out for streamed or free-form bodies. */
  schema?: z.ZodType;
  /** @default "application/json" */
  contentType?: string;
}

/**
 * One row of the REST surface. `body` and `query` are the very schemas the handler, or the governor method it
 * calls, validates with, so the OpenAPI document built from this table cannot drift from what is enforced.
 */
export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Relative to the mount point; `:name` segments become `params`. */
  path: string;
  summary: string;
  /** The JSON body's schema (validated with location `body`). */
  body?: z.ZodType;
  /** The query's schema (validated with location `query`); values arrive as strings, so numbers coerce. */
  query?: z.ZodObject;
  response: RouteResponse;
  handle(context: RouteContext): Promise<unknown>;
}

const policyQuerySchema = z.object({ expected_version: z.coerce.number().int().min(0).optional() });

/** A list response: `{ <key>: [...], count }`. */
function listOf(key: string, item: z.ZodType) {
  return z.object({ [key]: z.array(item), count: z.number().int() });
}

// Built on the first request: the table is fixed once this module loads.
let openApiJson: string | undefined;

/** The whole `/managed/` REST surface. Each row names the governor method it calls. */
export const routes: readonly Route[] = [
  {
    method: "POST",
    path: "/managed/agents",
    summary: "Create an agent config",
    body: createAgentConfigSchema,
    response: { description: "The new agent config", schema: agentConfigRecordSchema },
    handle: ({ governor, identity, body }) =>
      governor.agents.create(identity.tenantId, body as never, { actor: identity.subject }),
  },
  {
    method: "GET",
    path: "/managed/agents",
    summary: "List agent configs, newest first",
    response: { description: "The tenant's agent configs", schema: listOf("configs", agentConfigRecordSchema) },
    handle: async ({ governor, identity }) => {
      const configs = await governor.agents.list(identity.tenantId);
      return { configs, count: configs.length };
    },
  },
  {
    method: "GET",
    path: "/managed/agents/:agentId",
    summary: "Get an agent config",
    response: { description: "The agent config", schema: agentConfigRecordSchema },
    handle: ({ governor, identity, params }) => governor.agents.get(identity.tenantId, params.agentId as string),
  },
  {
    method: "PATCH",
    path: "/managed/agents/:agentId",
    summary: "Update an agent config; bumps its version",
    body: updateAgentConfigSchema,
    response: { description: "The updated agent config", schema: agentConfigRecordSchema },
    handle: ({ governor, identity, params, body }) =>
      governor.agents.update(identity.tenantId, params.agentId as string, body as never, { actor: identity.subject }),
  },
  {
    method: "POST",
    path: "/managed/sessions",
    summary: "Start a governed session",
    body: createSessionSchema,
    response: { description: "The started session", schema: createdSessionSchema },
    handle: ({ governor, identity, body }) =>
      governor.sessions.create(identity.tenantId, body as never, { actor: identity.subject }),
  },
  {
    method: "GET",
    path: "/managed/sessions",
    summary: "List sessions, newest first, with live counts",
    query: listSessionsQuerySchema,
    response: { description: "The tenant's sessions", schema: listOf("sessions", sessionListItemSchema) },
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
      response: { description: "The session with live counts", schema: sessionStatusSchema },
      handle: ({ governor, identity, params }) => governor.sessions.get(identity.tenantId, params.sessionId as string),
    }),
  ),
  {
    method: "GET",
    path: "/managed/sessions/:sessionId/audit",
    summary: "A session's audit trail",
    query: sessionAuditQuerySchema,
    response: { description: "`{session_id, records, count}`: the session's audit records in chain order" },
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
    response: { description: "The compliance export, streamed as a JSON attachment" },
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
    body: interruptSessionSchema,
    response: { description: "The interrupt's outcome", schema: interruptResultSchema },
    handle: ({ governor, identity, params, body }) =>
      governor.sessions.interrupt(identity.tenantId, params.sessionId as string, body as never, {
        actor: identity.subject,
      }),
  },
  {
    method: "POST",
    path: "/managed/sessions/:sessionId/complete",
    summary: "End a session normally",
    response: { description: "The session's end", schema: completedSessionSchema },
    handle: ({ governor, identity, params }) =>
      governor.sessions.complete(identity.tenantId, params.sessionId as string, { actor: identity.subject }),
  },
  {
    method: "POST",
    path: "/managed/sessions/:sessionId/replay",
    summary: "Replay a session's governed decisions against the current (or a candidate) policy",
    body: sessionReplayBodySchema,
    response: { description: "Replayed decisions: totals and the calls whose decision changed" },
    handle: ({ governor, identity, params, body }) =>
      governor.replay.session(identity.tenantId, params.sessionId as string, {
        ...replayOptionsFromBody(parseInput(sessionReplayBodySchema, body)),
        actor: identity.subject,
      }),
  },
  {
    method: "POST",
    path: "/managed/replay",
    summary: "Replay the tenant's last `limit` governed decisions against the current (or a candidate) policy",
    body: replayBodySchema,
    response: { description: "Replayed decisions: totals and the calls whose decision changed" },
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
    response: { description: "`{consumers, count}`: each consumer's session, status and progress" },
    handle: async ({ governor, identity }) => {
      const consumers = await governor.consumers(identity.tenantId);
      return { consumers, count: consumers.length };
    },
  },
  {
    method: "GET",
    path: "/managed/policy",
    summary: "The tenant's current policy document and version",
    response: { description: "The current policy (version 0 before the first PUT)", schema: policyViewSchema },
    handle: ({ governor, identity }) => governor.policy.get(identity.tenantId),
  },
  {
    method: "PUT",
    path: "/managed/policy",
    summary: "Store a new policy version (optionally only if the current version is `expected_version`)",
    body: tenantPolicySchema,
    query: policyQuerySchema,
    response: { description: "The stored policy version", schema: policyViewSchema },
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
    query: listApprovalsQuerySchema,
    response: { description: "The tenant's approvals", schema: listOf("approvals", approvalRecordSchema) },
    handle: async ({ governor, identity, query }) => {
      const approvals = await governor.approvals.list(identity.tenantId, Object.fromEntries(query));
      return { approvals, count: approvals.length };
    },
  },
  {
    method: "POST",
    path: "/managed/approvals/:actionId/approve",
    summary: "Approve a pending call; a governed call then runs exactly once",
    body: decideApprovalSchema,
    response: { description: "The approved approval", schema: approvalRecordSchema },
    handle: ({ governor, identity, params, body }) =>
      governor.approvals.approve(identity.tenantId, params.actionId as string, body as never, {
        actor: identity.subject,
      }),
  },
  {
    method: "POST",
    path: "/managed/approvals/:actionId/reject",
    summary: "Reject a pending call",
    body: decideApprovalSchema,
    response: { description: "The rejected approval", schema: approvalRecordSchema },
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
    response: { description: "Whether the chain verifies and, if not, the first broken record" },
    handle: ({ governor, identity }) => governor.audit.verify(identity.tenantId),
  },
  {
    method: "POST",
    path: "/managed/checkpoints",
    summary: "Take a signed Merkle checkpoint of the tenant's audit chain now",
    response: { description: "The new signed checkpoint" },
    handle: ({ governor, identity }) => governor.checkpoints.create(identity.tenantId),
  },
  {
    method: "GET",
    path: "/managed/checkpoints",
    summary: "The tenant's checkpoints, largest tree first",
    query: listCheckpointsQuerySchema,
    response: { description: "`{checkpoints, count}`" },
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
    response: { description: "The latest signed checkpoint" },
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
    response: { description: "The signing key" },
    handle: ({ governor, identity }) => governor.checkpoints.publicKey(identity.tenantId),
  },
  {
    method: "GET",
    path: "/managed/audit/proofs/inclusion",
    summary: "Inclusion proof of an audit record in a checkpoint (default: the latest)",
    query: inclusionProofQuerySchema,
    response: { description: "The inclusion proof (RFC 9162 audit path)" },
    handle: ({ governor, identity, query }) => {
      const { seq, tree_size } = parseInput(inclusionProofQuerySchema, Object.fromEntries(query), "query");
      return governor.checkpoints.inclusionProof(identity.tenantId, seq, tree_size);
    },
  },
  {
    method: "GET",
    path: "/managed/audit/proofs/consistency",
    summary: "Consistency proof between two checkpoints (`to` defaults to the latest)",
    query: consistencyProofQuerySchema,
    response: { description: "The consistency proof (RFC 9162)" },
    handle: ({ governor, identity, query }) => {
      const { from, to } = parseInput(consistencyProofQuerySchema, Object.fromEntries(query), "query");
      return governor.checkpoints.consistencyProof(identity.tenantId, from, to);
    },
  },
  openApiRoute(),
];

/**
 * `GET /managed/openapi.json`: this table as an OpenAPI 3.1 document. Public, like most OpenAPI documents: it
 * describes the surface and holds no tenant data, so clients and tools can read it before they have a key.
 */
function openApiRoute(): RawRoute {
  return {
    method: "GET",
    path: "/managed/openapi.json",
    summary: "This API as an OpenAPI 3.1 document (no authentication)",
    response: { description: "The OpenAPI 3.1 document" },
    authentication: "none",
    handle: async () => {
      throw new VargateError("INTERNAL_ERROR", "The OpenAPI route answers raw requests only");
    },
    serve: async () => {
      openApiJson ??= JSON.stringify(openApiDocument(routes));
      return new Response(openApiJson, {
        headers: { "content-type": "application/json; charset=utf-8", "cache-control": "public, max-age=300" },
      });
    },
  };
}
