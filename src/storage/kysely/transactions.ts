import { type Kysely, sql } from "kysely";
import { isVargateError, StorageError } from "../../errors.js";
import { driverErrorCode, isBusy, isDeadlock, sleep } from "./dialects.js";
import type { KyselyDialectName, VargateDatabase } from "./schema.js";

export type Db = Kysely<VargateDatabase>;

/** Thrown inside a write to roll it back and still return `value` (e.g. a compare-and-set that lost). */
export class Rollback<T> {
  constructor(readonly value: T) {}
}

/**
 * Thrown inside a write to roll it back and fail with `error` as it is: an error of the caller's code run in the
 * transaction (`audit.decideAndAppend`'s `decide`), not a storage failure.
 */
export class Passthrough {
  constructor(readonly error: unknown) {}
}

// A deadlock victim is rolled back whole, so running it again is safe; more than a few means something is wrong.
const DEADLOCK_ATTEMPTS = 8;

export interface RunnerOptions {
  name: string;
  dialect: KyselyDialectName;
  db: Db;
  busyTimeoutMs: number;
  isClosed: () => boolean;
}

/**
 * Runs storage operations: checks the storage is open, retries what is safe to retry (a busy SQLite file, a
 * deadlock victim) and turns driver failures into `StorageError`s that carry no SQL and no connection string.
 */
export class Runner {
  readonly #options: RunnerOptions;

  constructor(options: RunnerOptions) {
    this.#options = options;
  }

  /** Work outside an explicit transaction: a single read, or the migrator (which takes its own locks). */
  run<T>(operation: string, fn: (db: Db) => Promise<T>): Promise<T> {
    return this.#run(operation, () => fn(this.#options.db));
  }

  /**
   * One write transaction. SQLite: `BEGIN IMMEDIATE`, so it holds the file's write lock from the start and two
   * processes serialise instead of failing on a lock upgrade. PostgreSQL and MySQL: a normal transaction in which
   * the caller takes row locks (`SELECT ... FOR UPDATE`).
   */
  write<T>(operation: string, fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.#run(operation, () => this.#transaction(fn));
  }

  /** Wraps a failure the way every operation does; for work that does not go through `read`/`write`. */
  fail(operation: string, error: unknown): Error {
    if (isVargateError(error)) return error;
    const code = driverErrorCode(error);
    return new StorageError(this.#options.name, `Storage operation ${operation} failed${code ? ` (${code})` : ""}`, {
      cause: error,
    });
  }

  async #run<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    if (this.#options.isClosed()) throw new StorageError(this.#options.name, "Storage is closed");
    try {
      return await this.retrying(attempt);
    } catch (error) {
      if (error instanceof Passthrough) throw error.error;
      throw this.fail(operation, error);
    }
  }

  /**
   * Runs `attempt` until it stops failing with a retryable error. SQLite's blocking `busy_timeout` would freeze
   * the event loop (better-sqlite3 is synchronous) and, with two connections in one process, could never see
   * the other connection finish; so vargate waits here, asynchronously, with backoff, up to `busyTimeoutMs`.
   */
  async retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const { dialect, busyTimeoutMs } = this.#options;
    const deadline = Date.now() + busyTimeoutMs;
    let delay = 1;
    let deadlocks = 0;
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (isBusy(dialect, error) && Date.now() < deadline) {
          await sleep(delay + Math.random() * delay);
          delay = Math.min(delay * 2, 50);
          continue;
        }
        if (isDeadlock(dialect, error) && ++deadlocks < DEADLOCK_ATTEMPTS) {
          await sleep(Math.random() * 5 * deadlocks);
          continue;
        }
        throw error;
      }
    }
  }

  async #transaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    const { db, dialect } = this.#options;
    try {
      if (dialect !== "sqlite") return await db.transaction().execute(fn);
      // One connection for the whole transaction; released between retries so reads are not held up.
      return await db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const result = await fn(connection);
          await sql`commit`.execute(connection);
          return result;
        } catch (error) {
          await sql`rollback`.execute(connection).catch(() => undefined);
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof Rollback) return error.value as T;
      throw error;
    }
  }
}
