/**
 * The fake's in-memory state. Wire objects are stored in their response shape and mutated in place, so a
 * read returns exactly what the last write left. Every record and event gets a monotonic sequence key, used
 * for ordering and as the pagination cursor.
 */
import type { Turn } from "./runtime.js";
import type { FakeEvent, JsonObject } from "./types.js";

export interface AgentRecord {
  /** The current version's wire object. */
  current: JsonObject;
  /** Every version's wire object, index = version - 1. */
  versions: JsonObject[];
}

export interface CredentialRecord {
  wire: JsonObject;
  vaultId: string;
  /** The write-only secret (bearer or OAuth access token) used when the fake calls an MCP server. */
  token: string | undefined;
  deleted: boolean;
}

export interface SessionRecord {
  wire: JsonObject;
  events: FakeEvent[];
  received: FakeEvent[];
  deleted: boolean;
  /** `user.message` events waiting for the running turn to finish. */
  queue: FakeEvent[];
  /** The turn being played, or `null` when idle. */
  turn: Turn | null;
  /** Turns started so far. */
  turns: number;
  /** Cumulative usage, mirrored into `wire.usage`. */
  usage: { input_tokens: number; output_tokens: number };
}

/** Deterministic ids: `<prefix>_01FAKE` + an 18-digit counter, unique within one fake and sortable. */
export class IdSource {
  private readonly counters = new Map<string, number>();

  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}_01FAKE${String(n).padStart(18, "0")}`;
  }
}

export class Store {
  readonly ids = new IdSource();
  readonly agents = new Map<string, AgentRecord>();
  readonly environments = new Map<string, JsonObject>();
  readonly vaults = new Map<string, JsonObject>();
  readonly credentials = new Map<string, CredentialRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  private readonly seqs = new WeakMap<object, number>();
  private seq = 0;

  constructor(private readonly clock: () => Date) {}

  /** RFC 3339 timestamp from the injected clock. */
  now(): string {
    return this.clock().toISOString();
  }

  /** Gives an object its sequence key (once) and returns it. */
  stamp<T extends object>(obj: T): T {
    if (!this.seqs.has(obj)) this.seqs.set(obj, ++this.seq);
    return obj;
  }

  /** The sequence key of a stamped object. */
  seqOf(obj: object): number {
    return this.seqs.get(obj) ?? 0;
  }

  /** Stored objects sorted by creation, in the requested order. */
  sorted<T extends object>(items: Iterable<T>, order: "asc" | "desc"): T[] {
    const list = [...items].sort((a, b) => this.seqOf(a) - this.seqOf(b));
    return order === "asc" ? list : list.reverse();
  }
}
