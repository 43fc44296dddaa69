import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { chainPartsJoin, GENESIS_HASH, sealAuditRecord, sha256Hex } from "../../src/audit/chain.js";
import { withHashedText } from "../../src/audit/stored.js";
import type { AuditRecord, ChainPartCheck, ChainVerification, StoredAuditRecord } from "../../src/audit/types.js";
import { VargateGovernor } from "../../src/governor.js";
import { kyselyStorageFromUrl } from "../../src/storage/kysely/from-url.js";
import { PARALLEL_MIN_RECORDS } from "../../src/storage/kysely/sqlite-chain-parts.js";
import type { VargateStorage } from "../../src/storage/port.js";
import { entry as checkpointEntry } from "../checkpoints/helpers.js";

// Verification of a long chain in a SQLite file, in parts checked side by side by worker threads: a chain that
// verifies gives the walk's verdict, and every tampering gives the walk's verdict too, including a suffix
// re-sealed onto a forged link, which leaves every part clean and only breaks where two parts meet.

const THREADS = 3;
const RECORDS = PARALLEL_MIN_RECORDS + 1_000;

// Records of one session, with text that JSON escapes (the workers hash SQLite's joined text).
const entry = (i: number) =>
  checkpointEntry(i, {
    session_id: "vs-0123456789abcdef",
    event_id: `sevt_${i}`,
    input: { customer_id: `cus_${i}`, note: 'Büro ☕ \u2028 "quoted"' },
  });

describe("verification in parts (SQLite file, worker threads)", () => {
  let directory: string;
  let storage: VargateStorage;
  let governor: VargateGovernor;
  /** The same file verified record by record on the calling thread. */
  let walker: VargateGovernor;
  /** The same file, for tampering. */
  let raw: Database.Database;
  let tenantId: string;
  let head: number;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "vargate-parallel-verify-"));
    const file = join(directory, "chain.db");
    storage = kyselyStorageFromUrl(file, { verifyThreads: THREADS });
    governor = new VargateGovernor({ storage });
    await governor.migrate();
    walker = new VargateGovernor({ storage: kyselyStorageFromUrl(file, { verifyThreads: 0 }) });
    raw = new Database(file);
    tenantId = `t-${randomBytes(5).toString("hex")}`;
    await governor.tenants.create({ tenant_id: tenantId });
    for (let start = 0; start < RECORDS; start += 10_000) {
      const count = Math.min(10_000, RECORDS - start);
      await storage.audit.append(
        tenantId,
        Array.from({ length: count }, (_, i) => entry(start + i)),
      );
    }
    head = (await storage.audit.head(tenantId)).seq;
  });

  afterAll(async () => {
    raw?.close();
    await walker?.close();
    await governor?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Where the second and third parts start. */
  const partStart = (part: 1 | 2) => Math.floor((head * part) / THREADS) + 1;
  const rowAt = (seq: number) =>
    raw.prepare("select * from vargate_audit_log where tenant_id = ? and seq = ?").get(tenantId, seq) as Record<
      string,
      unknown
    >;
  const insertRow = (row: Record<string, unknown>) => {
    const columns = Object.keys(row);
    raw
      .prepare(
        `insert into vargate_audit_log (${columns.join(", ")}) values (${columns.map((c) => `@${c}`).join(", ")})`,
      )
      .run(row);
  };

  /**
   * Which parts are clean (when given), then the verdict: the same from the parts as from the walk, whatever was
   * done to the file, and matching `expected`.
   */
  async function expectVerdict(clean: boolean[] | undefined, expected: Partial<ChainVerification>): Promise<void> {
    if (clean)
      expect((await storage.audit.checkChainParts?.(tenantId, head))?.map((part) => part.clean)).toEqual(clean);
    const verdict = await governor.audit.verify(tenantId);
    expect(verdict).toEqual(await walker.audit.verify(tenantId));
    expect(verdict).toMatchObject(expected);
  }

  it("checks a long chain in one clean part per thread, joined up to the head", async () => {
    const parts = await storage.audit.checkChainParts?.(tenantId, head);
    expect(parts?.map((part) => [part.afterSeq, part.throughSeq, part.clean])).toEqual([
      [0, partStart(1) - 1, true],
      [partStart(1) - 1, partStart(2) - 1, true],
      [partStart(2) - 1, head, true],
    ]);
    await expectVerdict(undefined, { valid: true, record_count: RECORDS + 1 });
  });

  it("finds an edited record: its part is not clean, and the walk names it", async () => {
    const seq = partStart(1) + 77;
    const { tool } = rowAt(seq);
    raw.prepare("update vargate_audit_log set tool = 'forged' where tenant_id = ? and seq = ?").run(tenantId, seq);
    onTestFinished(() => {
      raw.prepare("update vargate_audit_log set tool = ? where tenant_id = ? and seq = ?").run(tool, tenantId, seq);
    });
    await expectVerdict([true, false, true], { valid: false, failed_at_seq: seq, reason: "record_hash mismatch" });
  });

  it("resumes the walk after the parts that are clean and join up: their records are not read again", async () => {
    const seq = partStart(2) + 5;
    const { tool } = rowAt(seq);
    raw.prepare("update vargate_audit_log set tool = 'forged' where tenant_id = ? and seq = ?").run(tenantId, seq);
    onTestFinished(() => {
      raw.prepare("update vargate_audit_log set tool = ? where tenant_id = ? and seq = ?").run(tool, tenantId, seq);
    });
    const scanStored = storage.audit.scanStored?.bind(storage.audit);
    const readAfter: number[] = [];
    storage.audit.scanStored = (id, options) => {
      readAfter.push(options.afterSeq);
      return (scanStored as NonNullable<typeof scanStored>)(id, options);
    };
    onTestFinished(() => {
      storage.audit.scanStored = scanStored;
    });
    await expectVerdict([true, true, false], { valid: false, failed_at_seq: seq, reason: "record_hash mismatch" });
    expect(Math.min(...readAfter)).toBe(partStart(2) - 1);
  });

  it("finds a record deleted where two parts meet", async () => {
    const seq = partStart(1);
    const row = rowAt(seq);
    raw.prepare("delete from vargate_audit_log where tenant_id = ? and seq = ?").run(tenantId, seq);
    onTestFinished(() => insertRow(row));
    await expectVerdict(undefined, { valid: false, failed_at_seq: seq, reason: `record at seq ${seq} is missing` });
  });

  /**
   * Re-seals the records from `from` to the head, each keeping its seq, the first linked to `prevHash`, and moves
   * the head: what a forger who can write the file but not the checkpoints could do. `without` is deleted first.
   * Undone when the test ends.
   */
  async function reseal(from: number, prevHash: string, without?: number): Promise<void> {
    const originals: AuditRecord[] = [];
    for await (const record of governor.audit.records(tenantId, { afterSeq: from - 1 })) originals.push(record);
    const removed = without === undefined ? undefined : rowAt(without);
    let hash = prevHash;
    const resealed = originals
      .filter((record) => record.seq !== without)
      .map((record) => {
        const sealed = sealAuditRecord(tenantId, { seq: record.seq - 1, hash }, record);
        hash = sealed.record_hash;
        return sealed;
      });
    const relink = raw.prepare(
      "update vargate_audit_log set prev_hash = ?, record_hash = ? where tenant_id = ? and seq = ?",
    );
    const moveHead = raw.prepare("update vargate_audit_heads set hash = ? where tenant_id = ?");
    const remove = raw.prepare("delete from vargate_audit_log where tenant_id = ? and seq = ?");
    raw.transaction(() => {
      if (without !== undefined) remove.run(tenantId, without);
      for (const record of resealed) relink.run(record.prev_hash, record.record_hash, tenantId, record.seq);
      moveHead.run(hash, tenantId);
    })();
    onTestFinished(() => {
      raw.transaction(() => {
        if (removed) insertRow(removed);
        for (const record of originals) relink.run(record.prev_hash, record.record_hash, tenantId, record.seq);
        moveHead.run((originals.at(-1) as AuditRecord).record_hash, tenantId);
      })();
    });
  }

  it("finds a suffix re-sealed onto a forged link: every part is clean, but they do not join", async () => {
    const from = partStart(2);
    await reseal(from, "f".repeat(64));
    await expectVerdict([true, true, true], { valid: false, failed_at_seq: from, reason: "prev_hash mismatch" });
  });

  it("finds a record removed and the chain re-sealed around the gap", async () => {
    const gap = partStart(1) + 500;
    await reseal(gap + 1, rowAt(gap - 1).record_hash as string, gap);
    await expectVerdict([true, false, true], {
      valid: false,
      failed_at_seq: gap,
      reason: `record at seq ${gap} is missing`,
    });
  });

  it("reads every hash whole: a prev_hash a character too long, forged to match if cut at 64, breaks its part", async () => {
    // A worker reads a record as one text and cuts the hashes out of it by position. Were a prev_hash of 65
    // characters let through, the record's text, shifted by one, could be made to hash to the cut record hash:
    // the forger tries the extra character until the hash starts with it.
    const seq = partStart(1) + 200;
    const row = rowAt(seq);
    const link = rowAt(seq - 1).record_hash as string;
    let forged: { prevHash: string; recordHash: string; hash: string } | undefined;
    for (const extra of "0123456789abcdef") {
      for (const last of "0123456789abcdef") {
        const prevHash = link + extra;
        const text = withHashedText({ ...row, prev_hash: prevHash } as unknown as StoredAuditRecord).hashed_text;
        const hash = sha256Hex(last + text);
        if (!forged && hash.startsWith(extra)) forged = { prevHash, recordHash: hash.slice(1) + last, hash };
      }
    }
    if (!forged) throw new Error("no forgery found in 256 tries");
    raw
      .prepare("update vargate_audit_log set prev_hash = ?, record_hash = ? where tenant_id = ? and seq = ?")
      .run(forged.prevHash, forged.recordHash, tenantId, seq);
    onTestFinished(() => {
      raw
        .prepare("update vargate_audit_log set prev_hash = ?, record_hash = ? where tenant_id = ? and seq = ?")
        .run(row.prev_hash, row.record_hash, tenantId, seq);
    });
    // Cut at 64, the forged record would link to the one before it and hash; the rest is re-sealed onto its cut hash.
    await reseal(seq + 1, forged.hash);
    await expectVerdict([true, false, true], { valid: false, failed_at_seq: seq });
  });

  it("takes a hash stored as a BLOB as the walk does: not the record's hash, though its bytes are", async () => {
    const seq = partStart(2) + 40;
    const { record_hash } = rowAt(seq);
    const setHash = raw.prepare("update vargate_audit_log set record_hash = ? where tenant_id = ? and seq = ?");
    setHash.run(Buffer.from(record_hash as string), tenantId, seq);
    onTestFinished(() => {
      setHash.run(record_hash, tenantId, seq);
    });
    await expectVerdict([true, true, false], { valid: false, failed_at_seq: seq });
  });

  it("finds a record beyond the head", async () => {
    insertRow({ ...rowAt(head), seq: head + 1, action_id: "stray-action", event_id: "sevt_stray" });
    onTestFinished(() => {
      raw.prepare("delete from vargate_audit_log where tenant_id = ? and seq = ?").run(tenantId, head + 1);
    });
    await expectVerdict(undefined, {
      valid: false,
      failed_at_seq: head + 1,
      reason: "record lies beyond the chain head",
    });
  });

  it("verifies again once every edit is undone", async () => {
    await expectVerdict(undefined, { valid: true, record_count: RECORDS + 1 });
  });

  it("leaves a short chain, a single thread and an in-memory database to the walk", async () => {
    const short = `t-${randomBytes(5).toString("hex")}`;
    await governor.tenants.create({ tenant_id: short });
    await storage.audit.append(short, [entry(1), entry(2)]);
    expect(await storage.audit.checkChainParts?.(short, 3)).toBeUndefined();
    expect(await walker.storage.audit.checkChainParts?.(tenantId, head)).toBeUndefined();
    const memory = kyselyStorageFromUrl(":memory:", { verifyThreads: THREADS });
    await memory.migrate();
    expect(await memory.audit.checkChainParts?.(tenantId, head)).toBeUndefined();
    await memory.close();
  });
});

describe("chainPartsJoin", () => {
  const clean = (afterSeq: number, throughSeq: number, firstPrevHash: string, lastHash: string): ChainPartCheck => ({
    afterSeq,
    throughSeq,
    clean: true,
    firstPrevHash,
    lastHash,
  });
  const head = { seq: 20, hash: "c".repeat(64) };
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  const c = head.hash;
  const joined = [clean(0, 10, GENESIS_HASH, a), clean(10, 15, a, b), clean(15, 20, b, c)];

  it("joins parts that run from the genesis hash to the head, each from where the last ended", () => {
    expect(chainPartsJoin(joined, head)).toBe(true);
  });

  it.each([
    ["a part that is not clean", [joined[0], { ...joined[1], clean: false }, joined[2]]],
    ["a first part that does not start at the genesis hash", [clean(0, 10, b, a), joined[1], joined[2]]],
    ["a part that does not link to the one before it", [joined[0], clean(10, 15, b, b), joined[2]]],
    ["a gap between parts", [joined[0], clean(11, 15, a, b), joined[2]]],
    ["overlapping parts", [joined[0], clean(9, 15, a, b), joined[2]]],
    ["an empty part", [joined[0], clean(10, 10, a, a), clean(10, 15, a, b), joined[2]]],
    ["parts that end before the head", [joined[0], joined[1]]],
    ["parts that end at another hash", [joined[0], joined[1], clean(15, 20, b, a)]],
    ["no parts for a chain that has records", []],
  ] as [string, ChainPartCheck[]][])("rejects %s", (_, parts) => {
    expect(chainPartsJoin(parts, head)).toBe(false);
  });
});
