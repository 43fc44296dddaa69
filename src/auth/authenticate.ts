import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { GovernorContext } from "../context.js";
import { ConfigError, VargateError } from "../errors.js";
import { API_KEY_PATTERN, hashApiKey, hashesEqual } from "./api-keys.js";

/** Who is calling: the tenant every read and write is scoped to, and a subject for audit records. */
export interface Identity {
  tenantId: string;
  /** Recorded as the `actor` of control-plane audit records, e.g. `key-…`, a JWT `sub`, or your own user id. */
  subject: string;
  method: "api_key" | "jwt" | "custom";
}

export interface JwtOptions {
  /** HS256 shared secret. Give this, `jwksUrl` or `jwks`. */
  secret?: string | Uint8Array;
  /** A JWKS endpoint; keys are fetched and cached by `jose`. */
  jwksUrl?: string | URL;
  /** An inline JWKS. */
  jwks?: JSONWebKeySet;
  /** Required `iss`, if set. */
  issuer?: string | string[];
  /** Required `aud`, if set. */
  audience?: string | string[];
  /** The claim naming the tenant. @default "tenant_id" */
  tenantClaim?: string;
}

export interface AuthOptions {
  /** Accept `Authorization: Bearer <JWT>` signed with this secret or key set. Off unless set. */
  jwt?: JwtOptions;
  /**
   * Your own identity. Runs first: return an Identity to accept the request, `null` to fall through to
   * vargate API keys and JWTs, or throw to reject it. The identity's tenant must exist.
   */
  authenticate?: (request: Request) => Promise<Identity | null | undefined> | Identity | null | undefined;
}

const MISSING = "Authentication required: provide X-API-Key or Authorization: Bearer";

/** Resolves a request to an Identity, or throws UNAUTHORIZED. There is no fallback tenant. */
export class Authenticator {
  readonly #context: GovernorContext;
  readonly #options: AuthOptions;
  readonly #jwtKey: Uint8Array | JWTVerifyGetKey | undefined;

  constructor(context: GovernorContext, options: AuthOptions = {}) {
    this.#context = context;
    this.#options = options;
    this.#jwtKey = options.jwt ? jwtKeyFrom(options.jwt) : undefined;
  }

  async authenticate(request: Request): Promise<Identity> {
    const custom = await this.#options.authenticate?.(request);
    if (custom) return this.#requireTenant(custom, "Unknown tenant");

    const apiKey = request.headers.get("x-api-key");
    if (apiKey !== null) return this.authenticateApiKey(apiKey);

    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim();
    if (bearer === undefined) throw new VargateError("UNAUTHORIZED", MISSING);
    // An API key may also travel as a bearer token (MCP clients only know bearer auth).
    if (API_KEY_PATTERN.test(bearer)) return this.authenticateApiKey(bearer);
    return this.#authenticateJwt(bearer);
  }

  /** Checks an API key: well-formed, known by hash (compared in constant time), not revoked. */
  async authenticateApiKey(apiKey: string): Promise<Identity> {
    const invalid = new VargateError("UNAUTHORIZED", "Invalid API key");
    if (!API_KEY_PATTERN.test(apiKey)) throw invalid;
    const hash = hashApiKey(apiKey);
    const record = await this.#context.storage.apiKeys.findByHash(hash);
    if (!record || !hashesEqual(record.key_hash, hash) || record.revoked_at !== null) throw invalid;
    return { tenantId: record.tenant_id, subject: record.key_id, method: "api_key" };
  }

  async #authenticateJwt(token: string): Promise<Identity> {
    const jwt = this.#options.jwt;
    if (!jwt || !this.#jwtKey) throw new VargateError("UNAUTHORIZED", "Invalid API key");
    let payload: Record<string, unknown>;
    try {
      const verifyOptions = {
        ...(jwt.issuer !== undefined && { issuer: jwt.issuer }),
        ...(jwt.audience !== undefined && { audience: jwt.audience }),
        ...(jwt.secret !== undefined && { algorithms: ["HS256"] }),
      };
      const key = this.#jwtKey;
      ({ payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, verifyOptions)
          : await jwtVerify(token, key, verifyOptions));
    } catch (error) {
      this.#context.logger.debug("JWT rejected", { reason: error instanceof Error ? error.name : "unknown" });
      throw new VargateError("UNAUTHORIZED", "Invalid or expired token");
    }
    const tenantId = payload[jwt.tenantClaim ?? "tenant_id"];
    if (typeof tenantId !== "string" || tenantId === "") {
      throw new VargateError("UNAUTHORIZED", "Token has no tenant_id claim");
    }
    const subject = typeof payload.sub === "string" ? payload.sub : `jwt:${tenantId}`;
    return this.#requireTenant({ tenantId, subject, method: "jwt" }, "Invalid or expired token");
  }

  async #requireTenant(identity: Identity, message: string): Promise<Identity> {
    const tenant = await this.#context.storage.tenants.get(identity.tenantId);
    if (!tenant) throw new VargateError("UNAUTHORIZED", message);
    return identity;
  }
}

function jwtKeyFrom(options: JwtOptions): Uint8Array | JWTVerifyGetKey {
  const given = [options.secret, options.jwksUrl, options.jwks].filter((value) => value !== undefined);
  if (given.length !== 1) throw new ConfigError("auth.jwt: give exactly one of secret, jwksUrl or jwks");
  if (options.secret !== undefined) {
    const secret = typeof options.secret === "string" ? new TextEncoder().encode(options.secret) : options.secret;
    if (secret.byteLength < 32) throw new ConfigError("auth.jwt.secret: must be at least 32 bytes for HS256");
    return secret;
  }
  if (options.jwksUrl !== undefined) return createRemoteJWKSet(new URL(options.jwksUrl));
  return createLocalJWKSet(options.jwks as JSONWebKeySet);
}
