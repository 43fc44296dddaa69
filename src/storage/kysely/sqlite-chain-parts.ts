import { createRequire } from "node:module";
import { type MessagePort, Worker } from "node:worker_threads";
import type BetterSqlite3 from "better-sqlite3";
import { sql } from "kysely";
import type { ChainPartCheck } from "../../audit/types.js";
import { SQLITE_HASHED_TEXT } from "./audit-read.js";
import { VARGATE_TABLES as T } from "./schema.js";
import type { Db } from "./transactions.js";

// Below this many records a walk on the calling thread takes a fraction of a second: threads would not pay off.
export const PARALLEL_MIN_RECORDS = 50_000;
// Records per read in a worker, as in the walk.
const PAGE = 1000;

// Both hashes as vargate writes them, text of 64 one-byte characters: the slices a worker cuts out of a packed
// record by position are then exactly the columns.
const HASHES_WRITTEN = sql.raw(
  ["prev_hash", "record_hash"]
    .map((column) => `typeof(${column}) = 'text' and length(${column}) = 64 and octet_length(${column}) = 64`)
    .join(" and "),
);

/**
 * A record as a worker reads it, one text: `<seq>:<prev_hash><record_hash><hashed_text>`, or NULL when a hash is
 * not as vargate writes it or the hashed text is NULL (`||` keeps NULL). Read as a row, better-sqlite3 builds an
 * array per record, which cost about a sixth of a worker's time.
 */
const PACKED_RECORD = sql<
  string | null
>`(case when ${HASHES_WRITTEN} then seq || ':' || prev_hash || record_hash || ${SQLITE_HASHED_TEXT} end)`;

/** What a worker is given: one part of one tenant's chain in one SQLite file. */
interface PartTask {
  driver: string;
  file: string;
  sql: string;
  tenantId: string;
  afterSeq: number;
  throughSeq: number;
  page: number;
}

/**
 * `checkChainParts` of the SQL storage on a SQLite file: `threads` parts of equal length, each checked by a worker
 * thread on its own read-only connection, so a long chain is hashed on every core. `undefined` when the chain is
 * short, `threads` is below 2 or the database is not a file; and when a worker fails (verification then walks the
 * chain on the calling thread, which reports real faults).
 */
export async function checkSqliteChainParts(
  db: Db,
  tenantId: string,
  throughSeq: number,
  threads: number,
): Promise<ChainPartCheck[] | undefined> {
  if (threads < 2 || throughSeq < PARALLEL_MIN_RECORDS) return undefined;
  const file = await databaseFile(db);
  const driver = driverPath();
  if (file === undefined || driver === undefined) return undefined;
  // A page of the part: its records in order from `afterSeq`, each as `PACKED_RECORD`.
  const page = db
    .selectFrom(T.auditLog)
    .select(PACKED_RECORD.as("packed"))
    .where("tenant_id", "=", sql<string>`@tenantId`)
    .where("seq", ">", sql<number>`@afterSeq`)
    .where("seq", "<=", sql<number>`@throughSeq`)
    .orderBy("seq", "asc")
    .limit(sql<number>`@page`)
    .compile().sql;
  const workers: Worker[] = [];
  try {
    return await Promise.all(
      partBounds(throughSeq, threads).map(([afterSeq, partEnd]) => {
        const task: PartTask = { driver, file, sql: page, tenantId, afterSeq, throughSeq: partEnd, page: PAGE };
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: task });
        workers.push(worker);
        return new Promise<ChainPartCheck>((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`chain part worker exited with code ${code}`)));
        });
      }),
    );
  } catch {
    return undefined;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** `[afterSeq, throughSeq]` of `count` parts of `(0, throughSeq]`, none empty. */
function partBounds(throughSeq: number, count: number): [number, number][] {
  const parts = Math.max(1, Math.min(count, throughSeq));
  const bounds: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    bounds.push([Math.floor((throughSeq * i) / parts), Math.floor((throughSeq * (i + 1)) / parts)]);
  }
  return bounds;
}

/** The database's file, or `undefined` for an in-memory or temporary one (no other connection can open it). */
async function databaseFile(db: Db): Promise<string | undefined> {
  const { rows } = await sql<{ name: string; file: string }>`pragma database_list`.execute(db);
  const file = rows.find((row) => row.name === "main")?.file;
  return file ? file : undefined;
}

let driver: string | null | undefined;

/**
 * Where `better-sqlite3` is, as this module resolves it (a worker's source runs without a module of its own):
 * resolved once, not on every verification.
 */
function driverPath(): string | undefined {
  if (driver === undefined) {
    try {
      driver = createRequire(import.meta.url).resolve("better-sqlite3");
    } catch {
      driver = null;
    }
  }
  return driver ?? undefined;
}

/**
 * A worker's whole program, sent as source text (`eval`), so that it runs the same from the TypeScript sources
 * and from either build. It must use nothing from outside its own body, and no syntax a build lowers through a
 * helper (`?.`, `??`: the CommonJS build does); the package tests run it from both builds. It reads its part
 * page by page and posts one `ChainPartCheck`; it stops reading at the first record that is not clean.
 */
function checkPart(): void {
  // Modules through `process`, not `require`: bundlers rewrite `require` calls in the function they see.
  const { parentPort, workerData } = process.getBuiltinModule("node:worker_threads");
  const { hash } = process.getBuiltinModule("node:crypto");
  const { createRequire } = process.getBuiltinModule("node:module");
  const task = workerData as PartTask;
  const Database = createRequire(task.driver)(task.driver) as typeof BetterSqlite3;
  const db = new Database(task.file, { readonly: true, fileMustExist: true });
  try {
    const read = db.prepare(task.sql).pluck();
    const { tenantId, throughSeq, page } = task;
    let afterSeq = task.afterSeq;
    let firstPrevHash: string | null = null;
    let lastHash: string | null = null;
    let clean = true;
    while (clean && afterSeq < throughSeq) {
      const rows = read.all({ tenantId, afterSeq, throughSeq, page }) as unknown[];
      if (rows.length === 0) clean = false;
      for (const packed of rows) {
        if (typeof packed !== "string") {
          clean = false;
          break;
        }
        const colon = packed.indexOf(":");
        const seq = Number(packed.slice(0, colon));
        const prevHash = packed.slice(colon + 1, colon + 65);
        const recordHash = packed.slice(colon + 65, colon + 129);
        clean =
          seq === afterSeq + 1 &&
          (lastHash === null || prevHash === lastHash) &&
          hash("sha256", packed.slice(colon + 129), "hex") === recordHash;
        if (!clean) break;
        if (firstPrevHash === null) firstPrevHash = prevHash;
        lastHash = recordHash;
        afterSeq = seq;
      }
    }
    const check: ChainPartCheck = {
      afterSeq: task.afterSeq,
      throughSeq,
      clean,
      firstPrevHash: clean ? firstPrevHash : null,
      lastHash: clean ? lastHash : null,
    };
    (parentPort as MessagePort).postMessage(check);
  } finally {
    db.close();
  }
}

const WORKER_SOURCE = `(${checkPart.toString()})();`;
