import { FakeApiError } from "./errors.js";
import type {
  FakeDropOpenStreamsOptions,
  FakeDropStreamsOptions,
  FakeFailRequestsOptions,
  FakeFaultHandle,
  FakePlatformFaults,
  FakeStreamDropMode,
} from "./types.js";

interface StreamRule {
  afterFrames: number;
  mode: FakeStreamDropMode;
  remaining: number;
  sessionId: string | undefined;
}

interface RequestRule {
  remaining: number;
  options: FakeFailRequestsOptions;
}

/** An injected HTTP failure: the error plus the extra headers to send with it. */
export interface InjectedFailure {
  error: FakeApiError;
  headers: Record<string, string>;
}

/** Arms currently open streams; implemented by the stream hub. */
export type ArmOpenStreams = (afterFrames: number, mode: FakeStreamDropMode, sessionId: string | undefined) => number;

function nonNegativeInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

/** Fault rules. The server consults it on every request; the stream hub consults it on every new stream. */
export class Faults implements FakePlatformFaults {
  private streamRules: StreamRule[] = [];
  private requestRules: RequestRule[] = [];

  constructor(private readonly armOpen: ArmOpenStreams) {}

  dropStreams(options: FakeDropStreamsOptions): FakeFaultHandle {
    const rule: StreamRule = {
      afterFrames: nonNegativeInt(options.afterFrames, "afterFrames"),
      mode: options.mode ?? "destroy",
      remaining: options.times === undefined ? Number.POSITIVE_INFINITY : nonNegativeInt(options.times, "times"),
      sessionId: options.sessionId,
    };
    this.streamRules.push(rule);
    return this.handle(rule, () => {
      this.streamRules = this.streamRules.filter((r) => r !== rule);
    });
  }

  dropOpenStreams(options: FakeDropOpenStreamsOptions = {}): number {
    return this.armOpen(
      nonNegativeInt(options.afterFrames ?? 0, "afterFrames"),
      options.mode ?? "destroy",
      options.sessionId,
    );
  }

  failNext(count: number, options: FakeFailRequestsOptions = {}): FakeFaultHandle {
    const rule: RequestRule = { remaining: nonNegativeInt(count, "count"), options };
    this.requestRules.push(rule);
    return this.handle(rule, () => {
      this.requestRules = this.requestRules.filter((r) => r !== rule);
    });
  }

  clear(): void {
    for (const rule of [...this.streamRules, ...this.requestRules]) rule.remaining = 0;
    this.streamRules = [];
    this.requestRules = [];
  }

  /** The drop rule for a stream that is opening now, consuming one use of it. */
  takeStreamRule(sessionId: string): { afterFrames: number; mode: FakeStreamDropMode } | undefined {
    const rule = this.streamRules.find((r) => r.remaining > 0 && (!r.sessionId || r.sessionId === sessionId));
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.streamRules = this.streamRules.filter((r) => r !== rule);
    return { afterFrames: rule.afterFrames, mode: rule.mode };
  }

  /** The injected failure for this request, consuming one use of the first matching rule. */
  takeRequestFailure(method: string, path: string): InjectedFailure | undefined {
    const rule = this.requestRules.find((r) => r.remaining > 0 && matches(r.options, method, path));
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.requestRules = this.requestRules.filter((r) => r !== rule);
    const { status = 500, errorType, message, retryAfterMs } = rule.options;
    const error = new FakeApiError(status, message ?? "Internal server error (injected by the fake platform)", {
      ...(errorType === undefined ? {} : { type: errorType }),
    });
    const headers: Record<string, string> = {};
    if (retryAfterMs !== undefined) headers["retry-after-ms"] = String(retryAfterMs);
    return { error, headers };
  }

  private handle(rule: { remaining: number }, remove: () => void): FakeFaultHandle {
    return {
      cancel: () => {
        rule.remaining = 0;
        remove();
      },
      get remaining() {
        return rule.remaining;
      },
    };
  }
}

function matches(options: FakeFailRequestsOptions, method: string, path: string): boolean {
  if (options.method && options.method.toUpperCase() !== method.toUpperCase()) return false;
  if (options.path === undefined) return true;
  return typeof options.path === "string" ? path.includes(options.path) : options.path.test(path);
}
