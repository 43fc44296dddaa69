/**
 * The Anthropic error envelope: `{type:'error', error:{type, message[, details:{error_code}]}, request_id}`.
 * Route handlers throw {@link FakeApiError}; the server turns it into the envelope once.
 */

/** Default `error.type` for a status, as the real API reports it. */
export function errorTypeForStatus(status: number): string {
  switch (status) {
    case 400:
    case 409:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 408:
      return "timeout_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

/** An API error with its HTTP status; `errorCode` becomes `error.details.error_code` (typed SDK subclasses). */
export class FakeApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly errorCode: string | undefined;

  constructor(status: number, message: string, options: { type?: string; errorCode?: string } = {}) {
    super(message);
    this.name = "FakeApiError";
    this.status = status;
    this.type = options.type ?? errorTypeForStatus(status);
    this.errorCode = options.errorCode;
  }
}

/** The envelope body for an error. */
export function errorEnvelope(error: FakeApiError, requestId: string): Record<string, unknown> {
  const inner: Record<string, unknown> = { type: error.type, message: error.message };
  if (error.errorCode !== undefined) inner.details = { error_code: error.errorCode };
  return { type: "error", error: inner, request_id: requestId };
}

/** 400 `invalid_request_error`. */
export const badRequest = (message: string, errorCode?: string) =>
  new FakeApiError(400, message, errorCode === undefined ? {} : { errorCode });

/** 404 `not_found_error`. */
export const notFound = (message: string, errorCode?: string) =>
  new FakeApiError(404, message, errorCode === undefined ? {} : { errorCode });

/** 409 with `invalid_request_error`, which is what Managed Agents sends for state conflicts. */
export const conflict = (message: string) => new FakeApiError(409, message);
