import type { Identity } from "../auth/authenticate.js";
import type { VargateGovernor } from "../governor.js";

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
    method: "GET",
    path: "/managed/audit/verify",
    summary: "Verify the tenant's audit hash chain",
    handle: ({ governor, identity }) => governor.audit.verify(identity.tenantId),
  },
];
