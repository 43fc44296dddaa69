import { badRequest, notFound } from "./errors.js";
import { requireObject } from "./http.js";
import { paginate } from "./pagination.js";
import { patchMetadata, validateMetadata } from "./resolve.js";
import type { RouteDeps } from "./routes.js";
import type { CredentialRecord } from "./store.js";
import type { JsonObject } from "./types.js";

const requireString = (value: unknown, field: string): string => {
  if (typeof value !== "string" || value === "") throw badRequest(`${field}: required string`);
  return value;
};

/**
 * Validates a credential's `auth` and splits it into the public response shape and the write-only secret the
 * fake uses when it calls an MCP server.
 */
function parseAuth(value: unknown): { auth: JsonObject; token: string | undefined } {
  const auth = requireObject(value, "auth");
  switch (auth.type) {
    case "static_bearer":
      return {
        auth: { type: "static_bearer", mcp_server_url: requireString(auth.mcp_server_url, "auth.mcp_server_url") },
        token: requireString(auth.token, "auth.token"),
      };
    case "mcp_oauth": {
      let refresh: JsonObject | null = null;
      if (auth.refresh !== undefined && auth.refresh !== null) {
        const { refresh_token: _secret, token_endpoint_auth, ...rest } = requireObject(auth.refresh, "auth.refresh");
        const endpointAuth = requireObject(token_endpoint_auth, "auth.refresh.token_endpoint_auth");
        refresh = { ...rest, token_endpoint_auth: { type: endpointAuth.type } };
      }
      return {
        auth: {
          type: "mcp_oauth",
          mcp_server_url: requireString(auth.mcp_server_url, "auth.mcp_server_url"),
          expires_at: auth.expires_at ?? null,
          refresh,
        },
        token: requireString(auth.access_token, "auth.access_token"),
      };
    }
    case "environment_variable": {
      const location = (auth.injection_location ?? {}) as JsonObject;
      requireString(auth.secret_value, "auth.secret_value");
      return {
        auth: {
          type: "environment_variable",
          secret_name: requireString(auth.secret_name, "auth.secret_name"),
          networking: requireObject(auth.networking, "auth.networking"),
          injection_location: { header: location.header !== false, body: location.body === true },
        },
        // Sandbox egress secrets are not MCP auth: never sent to an MCP server.
        token: undefined,
      };
    }
    default:
      throw badRequest("auth.type: must be static_bearer, mcp_oauth or environment_variable");
  }
}

export function registerVaultRoutes(deps: RouteDeps): void {
  const { router, store } = deps;
  const findVault = (id: string): JsonObject => {
    const vault = store.vaults.get(id);
    if (!vault) throw notFound(`Vault ${id} not found`);
    return vault;
  };
  const findCredential = (vaultId: string, id: string): CredentialRecord => {
    findVault(vaultId);
    const credential = store.credentials.get(id);
    if (!credential || credential.deleted || credential.vaultId !== vaultId) {
      throw notFound(`Credential ${id} not found in vault ${vaultId}`);
    }
    return credential;
  };
  const touch = (obj: JsonObject) => {
    obj.updated_at = store.now();
  };

  router.add("POST", "/v1/vaults", ({ body }) => {
    const params = requireObject(body);
    const now = store.now();
    const vault = store.stamp({
      id: store.ids.next("vlt"),
      type: "vault",
      display_name: requireString(params.display_name, "display_name"),
      metadata: validateMetadata(params.metadata),
      created_at: now,
      updated_at: now,
      archived_at: null,
    } as JsonObject);
    store.vaults.set(vault.id as string, vault);
    return { body: vault };
  });

  router.add("GET", "/v1/vaults", ({ query }) => {
    const includeArchived = query.bool("include_archived");
    const items = store.sorted(store.vaults.values(), "desc").filter((v) => includeArchived || !v.archived_at);
    return { body: paginate(items, (v) => store.seqOf(v), "desc", query, { defaultLimit: deps.defaultPageSize }) };
  });

  router.add("GET", "/v1/vaults/:id", ({ params }) => ({ body: findVault(params.id as string) }));

  router.add("POST", "/v1/vaults/:id", ({ params, body }) => {
    const vault = findVault(params.id as string);
    const patch = requireObject(body);
    if (patch.display_name !== undefined && patch.display_name !== null) {
      vault.display_name = requireString(patch.display_name, "display_name");
    }
    if ("metadata" in patch) vault.metadata = patchMetadata(vault.metadata as Record<string, string>, patch.metadata);
    touch(vault);
    return { body: vault };
  });

  router.add("DELETE", "/v1/vaults/:id", ({ params }) => {
    const vault = findVault(params.id as string);
    store.vaults.delete(vault.id as string);
    for (const credential of store.credentials.values()) {
      if (credential.vaultId === vault.id) credential.deleted = true;
    }
    return { body: { id: vault.id, type: "vault_deleted" } };
  });

  router.add("POST", "/v1/vaults/:id/archive", ({ params }) => {
    const vault = findVault(params.id as string);
    if (!vault.archived_at) {
      vault.archived_at = store.now();
      touch(vault);
    }
    return { body: vault };
  });

  router.add("POST", "/v1/vaults/:id/credentials", ({ params, body }) => {
    const vault = findVault(params.id as string);
    if (vault.archived_at) throw badRequest(`Vault ${vault.id} is archived`);
    const input = requireObject(body);
    const { auth, token } = parseAuth(input.auth);
    const now = store.now();
    const wire: JsonObject = {
      id: store.ids.next("vcrd"),
      type: "vault_credential",
      vault_id: vault.id,
      display_name: typeof input.display_name === "string" ? input.display_name : null,
      auth,
      metadata: validateMetadata(input.metadata),
      created_at: now,
      updated_at: now,
      archived_at: null,
    };
    store.credentials.set(wire.id as string, store.stamp({ wire, vaultId: vault.id as string, token, deleted: false }));
    return { body: wire };
  });

  router.add("GET", "/v1/vaults/:id/credentials", ({ params, query }) => {
    const vault = findVault(params.id as string);
    const includeArchived = query.bool("include_archived");
    const items = store
      .sorted(store.credentials.values(), "desc")
      .filter((c) => c.vaultId === vault.id && !c.deleted && (includeArchived || !c.wire.archived_at));
    const page = paginate(items, (c) => store.seqOf(c), "desc", query, { defaultLimit: deps.defaultPageSize });
    return { body: { ...page, data: page.data.map((c) => c.wire) } };
  });

  router.add("GET", "/v1/vaults/:vid/credentials/:id", ({ params }) => ({
    body: findCredential(params.vid as string, params.id as string).wire,
  }));

  router.add("POST", "/v1/vaults/:vid/credentials/:id", ({ params, body }) => {
    const credential = findCredential(params.vid as string, params.id as string);
    const patch = requireObject(body);
    if (patch.auth !== undefined && patch.auth !== null) {
      const auth = requireObject(patch.auth, "auth");
      const current = credential.wire.auth as JsonObject;
      if (auth.type !== current.type) throw badRequest("auth.type: cannot change the credential type");
      if (auth.mcp_server_url !== undefined && auth.mcp_server_url !== current.mcp_server_url) {
        throw badRequest("auth.mcp_server_url: cannot be changed after creation");
      }
      if (typeof auth.token === "string") credential.token = auth.token;
      if (typeof auth.access_token === "string") credential.token = auth.access_token;
      if (auth.expires_at !== undefined) current.expires_at = auth.expires_at;
    }
    if ("display_name" in patch) credential.wire.display_name = patch.display_name ?? null;
    if ("metadata" in patch) {
      credential.wire.metadata = patchMetadata(credential.wire.metadata as Record<string, string>, patch.metadata);
    }
    touch(credential.wire);
    return { body: credential.wire };
  });

  router.add("DELETE", "/v1/vaults/:vid/credentials/:id", ({ params }) => {
    const credential = findCredential(params.vid as string, params.id as string);
    credential.deleted = true;
    return { body: { id: credential.wire.id, type: "vault_credential_deleted" } };
  });

  router.add("POST", "/v1/vaults/:vid/credentials/:id/archive", ({ params }) => {
    const credential = findCredential(params.vid as string, params.id as string);
    if (!credential.wire.archived_at) {
      credential.wire.archived_at = store.now();
      touch(credential.wire);
    }
    return { body: credential.wire };
  });
}
