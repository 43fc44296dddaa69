/**
 * One error family for everything vargate throws on purpose.
 *
 * Every error has a stable UPPER_SNAKE `code`; `VARGATE_ERROR_CODES` is the single table that maps a code to
 * its HTTP status. The HTTP core never invents a status of its own.
 */

export const VARGATE_ERROR_CODES = {
  VALIDATION_FAILED: { status: 422, message: "Request validation failed" },
  DELEGATION_DEPTH_EXCEEDED: { status: 422, message: "Delegation depth exceeded" },
  UNAUTHORIZED: { status: 401, message: "Authentication required or invalid" },
  FORBIDDEN: { status: 403, message: "Forbidden" },
  NOT_FOUND: { status: 404, message: "Not found" },
  AGENT_NOT_FOUND: { status: 404, message: "Agent config not found" },
  PARENT_AGENT_NOT_FOUND: { status: 404, message: "Parent agent config not found" },
  TENANT_NOT_FOUND: { status: 404, message: "Tenant not found" },
  SESSION_NOT_FOUND: { status: 404, message: "Session not found" },
  APPROVAL_NOT_FOUND: { status: 404, message: "Approval not found" },
  API_KEY_NOT_FOUND: { status: 404, message: "API key not found" },
  ROUTE_NOT_FOUND: { status: 404, message: "Route not found" },
  METHOD_NOT_ALLOWED: { status: 405, message: "Method not allowed" },
  TENANT_EXISTS: { status: 409, message: "Tenant already exists" },
  CONCURRENT_MODIFICATION: { status: 409, message: "The resource was modified concurrently; retry" },
  SESSION_ENDED: { status: 409, message: "Session already ended" },
  APPROVAL_NOT_PENDING: { status: 409, message: "Approval is no longer pending" },
  SESSION_LIMIT_EXCEEDED: { status: 429, message: "Session limit exceeded" },
  PAYLOAD_TOO_LARGE: { status: 413, message: "Request body too large" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Request body must be application/json" },
  UPSTREAM_RATE_LIMITED: { status: 429, message: "The Managed Agents API is rate limiting requests" },
  UPSTREAM_ERROR: { status: 502, message: "The Managed Agents API returned an error" },
  UPSTREAM_UNAVAILABLE: { status: 503, message: "The Managed Agents API is unreachable" },
  UPSTREAM_TIMEOUT: { status: 504, message: "The Managed Agents API timed out" },
  STORAGE_ERROR: { status: 503, message: "Storage is unavailable" },
  INTERNAL_ERROR: { status: 500, message: "Internal server error" },
  INVALID_CONFIG: { status: 500, message: "Invalid vargate configuration" },
} as const satisfies Record<string, { status: number; message: string }>;

export type VargateErrorCode = keyof typeof VARGATE_ERROR_CODES;

/** One entry of a 422 body, in the `{loc, msg, type}` shape clients of the original API already parse. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

// Recognise our errors across the ESM and CJS copies of the package (dual-package hazard).
const BRAND = Symbol.for("vargate.error");

export interface VargateErrorOptions {
  /** Sent to clients as `detail`. Defaults to the message. Never put secrets or SQL here. */
  detail?: unknown;
  cause?: unknown;
}

export class VargateError extends Error {
  readonly code: VargateErrorCode;
  readonly detail: unknown;
  readonly [BRAND] = true;

  constructor(code: VargateErrorCode, message?: string, options: VargateErrorOptions = {}) {
    super(message ?? VARGATE_ERROR_CODES[code].message, { cause: options.cause });
    this.name = "VargateError";
    this.code = code;
    this.detail = options.detail ?? this.message;
  }

  /** The HTTP status that `VARGATE_ERROR_CODES` assigns to this error's code. */
  get status(): number {
    return VARGATE_ERROR_CODES[this.code].status;
  }
}

/** A request or input failed its schema. `issues` name each bad field. */
export class ValidationError extends VargateError {
  readonly issues: ValidationIssue[];

  constructor(
    issues: ValidationIssue[],
    message?: string,
    code: "VALIDATION_FAILED" | "DELEGATION_DEPTH_EXCEEDED" = "VALIDATION_FAILED",
  ) {
    super(code, message ?? describeIssues(issues), { detail: issues });
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** The storage driver failed. The message never carries SQL or connection strings. */
export class StorageError extends VargateError {
  readonly adapter: string;

  constructor(adapter: string, message: string, options: { cause?: unknown } = {}) {
    super("STORAGE_ERROR", message, { cause: options.cause, detail: VARGATE_ERROR_CODES.STORAGE_ERROR.message });
    this.name = "StorageError";
    this.adapter = adapter;
  }
}

/** The Managed Agents API failed. Keeps the upstream evidence: status, request id and error type. */
export class UpstreamError extends VargateError {
  readonly upstreamStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly upstreamType: string | undefined;

  constructor(
    code: "UPSTREAM_ERROR" | "UPSTREAM_UNAVAILABLE" | "UPSTREAM_TIMEOUT" | "UPSTREAM_RATE_LIMITED",
    message: string,
    evidence: { upstreamStatus?: number; requestId?: string; upstreamType?: string; cause?: unknown } = {},
  ) {
    super(code, message, {
      cause: evidence.cause,
      detail: {
        message: VARGATE_ERROR_CODES[code].message,
        upstream_status: evidence.upstreamStatus ?? null,
        request_id: evidence.requestId ?? null,
        upstream_type: evidence.upstreamType ?? null,
      },
    });
    this.name = "UpstreamError";
    this.upstreamStatus = evidence.upstreamStatus;
    this.requestId = evidence.requestId;
    this.upstreamType = evidence.upstreamType;
  }
}

/** Thrown by constructors given bad options; never reaches HTTP clients. */
export class ConfigError extends VargateError {
  constructor(message: string) {
    super("INVALID_CONFIG", message);
    this.name = "ConfigError";
  }
}

export function isVargateError(error: unknown, code?: VargateErrorCode): error is VargateError {
  const branded = typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
  return branded && (code === undefined || (error as VargateError).code === code);
}

/** Normalises anything thrown into a VargateError; unknown errors become INTERNAL_ERROR and keep `cause`. */
export function toVargateError(error: unknown): VargateError {
  if (isVargateError(error)) return error;
  return new VargateError("INTERNAL_ERROR", undefined, { cause: error });
}

function describeIssues(issues: ValidationIssue[]): string {
  return issues.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; ");
}
