import { generateKeyPairSync } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkpointSigningBytes, verifyCheckpointSignature, verifySignature } from "../../src/checkpoints/index.js";
import type { CheckpointRecord } from "../../src/checkpoints/types.js";
import { ConfigError } from "../../src/errors.js";
import { VargateGovernor, type VargateGovernorOptions } from "../../src/governor.js";
import { type Logger, silentLogger } from "../../src/logger.js";
import { leafHash, merkleRoot, verifyConsistency, verifyInclusion } from "../../src/merkle/index.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import { manualClock } from "../sessions/harness.js";
import { grow } from "./helpers.js";

async function setup(options: Partial<VargateGovernorOptions> = {}) {
  const clock = manualClock(new Date("2026-03-01T09:00:00.000Z"));
  const storage = memoryStorage();
  const governor = new VargateGovernor({ storage, clock, ...options });
  await governor.tenants.create({ tenant_id: "acme" });
  await governor.tenants.create({ tenant_id: "globex" });
  return { governor, storage, clock };
}

const recordHashes = async (governor: VargateGovernor, tenantId: string) => {
  const hashes: string[] = [];
  for await (const record of governor.audit.records(tenantId)) hashes.push(record.record_hash);
  return hashes;
};

describe("checkpoints", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("signs the RFC 9162 root over the tenant's record hashes, with a per-tenant key stored in settings", async () => {
    const { governor, storage } = await setup();
    await grow(governor, "acme", 6);
    const checkpoint = await governor.checkpoints.create("acme");
    const hashes = await recordHashes(governor, "acme");
    expect(hashes).toHaveLength(7);
    expect(checkpoint).toEqual({
      tenant_id: "acme",
      tree_size: 7,
      root_hash: merkleRoot(hashes.map((hash) => leafHash(hash))),
      timestamp: "2026-03-01T09:00:00.000Z",
      key_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      signature: expect.any(String),
    });
    // The exact signed bytes: a context line, then RFC 8785 JSON of the four fields.
    expect(checkpointSigningBytes(checkpoint).toString("utf8")).toBe(
      `vargate-checkpoint/v1\n{"root_hash":"${checkpoint.root_hash}","tenant_id":"acme","timestamp":"2026-03-01T09:00:00.000Z","tree_size":7}`,
    );
    const key = await governor.checkpoints.publicKey("acme");
    expect(key).toEqual({
      algorithm: "Ed25519",
      key_id: checkpoint.key_id,
      public_key_pem: expect.stringContaining("-----BEGIN PUBLIC KEY-----"),
      public_key_raw_base64: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
    });
    expect(verifyCheckpointSignature(checkpoint, key.public_key_pem)).toBe(true);
    expect(verifyCheckpointSignature(checkpoint, key.public_key_raw_base64)).toBe(true);
    expect(governor.checkpoints.verifyCheckpoint(checkpoint, key.public_key_pem)).toBe(true);
    // Stored, unencrypted, as PKCS #8 PEM; the other tenant has its own key.
    expect(await storage.settings.get("checkpoint_key:acme")).toContain("-----BEGIN PRIVATE KEY-----");
    const other = await governor.checkpoints.publicKey("globex");
    expect(other.key_id).not.toBe(key.key_id);
    expect(verifyCheckpointSignature(checkpoint, other.public_key_pem)).toBe(false);
    // A second governor on the same storage uses the same stored key.
    const again = new VargateGovernor({ storage });
    expect(await again.checkpoints.publicKey("acme")).toEqual(key);
    await expect(governor.checkpoints.publicKey("nobody")).rejects.toMatchObject({ code: "TENANT_NOT_FOUND" });
    await expect(governor.checkpoints.create("nobody")).rejects.toMatchObject({ code: "TENANT_NOT_FOUND" });
    expect(await storage.settings.get("checkpoint_key:nobody")).toBeNull();
  });

  it("rejects a forged or altered checkpoint signature", async () => {
    const { governor } = await setup();
    const checkpoint = await governor.checkpoints.create("acme");
    const { public_key_pem } = await governor.checkpoints.publicKey("acme");
    const forged = (fields: Partial<CheckpointRecord>) =>
      verifyCheckpointSignature({ ...checkpoint, ...fields }, public_key_pem);
    expect(forged({ tree_size: 2 })).toBe(false);
    expect(forged({ root_hash: "0".repeat(64) })).toBe(false);
    expect(forged({ timestamp: "2026-03-01T09:00:00.001Z" })).toBe(false);
    expect(forged({ tenant_id: "globex" })).toBe(false);
    expect(forged({ key_id: "0".repeat(16) })).toBe(false);
    const bytes = Buffer.from(checkpoint.signature, "base64");
    bytes[10] = (bytes[10] as number) ^ 1;
    expect(forged({ signature: bytes.toString("base64") })).toBe(false);
    expect(forged({ signature: "not base64!" })).toBe(false);
    // Signed by another key, with this key's id.
    const { privateKey } = generateKeyPairSync("ed25519");
    const mallory = new VargateGovernor({ storage: memoryStorage(), checkpoints: { privateKey } });
    await mallory.tenants.create({ tenant_id: "acme" });
    const malloryCheckpoint = await mallory.checkpoints.create("acme");
    expect(forged({ signature: malloryCheckpoint.signature })).toBe(false);
    expect(verifyCheckpointSignature(checkpoint, "not a key")).toBe(false);
  });

  it("signs messages with the tenant's key; verifySignature accepts only the genuine message and key", async () => {
    const { governor } = await setup();
    const message = "sha256:0123abcd export hash";
    const { key_id, signature } = await governor.checkpoints.sign("acme", message);
    const { public_key_pem, public_key_raw_base64 } = await governor.checkpoints.publicKey("acme");
    expect(key_id).toBe((await governor.checkpoints.publicKey("acme")).key_id);
    expect(governor.checkpoints.verifySignature(public_key_pem, message, signature)).toBe(true);
    expect(verifySignature(public_key_raw_base64, message, signature)).toBe(true);
    expect(verifySignature(public_key_pem, `${message} `, signature)).toBe(false);
    const forged = Buffer.from(signature, "base64");
    forged[0] = (forged[0] as number) ^ 0x80;
    expect(verifySignature(public_key_pem, message, forged.toString("base64"))).toBe(false);
    expect(verifySignature(public_key_pem, message, "")).toBe(false);
    expect(verifySignature("garbage", message, signature)).toBe(false);
    const globex = await governor.checkpoints.publicKey("globex");
    expect(verifySignature(globex.public_key_pem, message, signature)).toBe(false);
    // A message can never pass for a checkpoint.
    await expect(governor.checkpoints.sign("acme", "vargate-checkpoint/v1\n{}")).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
  });

  it("uses a configured key for every tenant and stores none", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const { governor, storage } = await setup({ checkpoints: { privateKey: pem } });
    const a = await governor.checkpoints.create("acme");
    const g = await governor.checkpoints.create("globex");
    expect(a.key_id).toBe(g.key_id);
    const spki = publicKey.export({ type: "spki", format: "pem" }).toString();
    expect((await governor.checkpoints.publicKey("acme")).public_key_pem).toBe(spki);
    expect(verifyCheckpointSignature(a, spki)).toBe(true);
    expect(verifyCheckpointSignature(g, publicKey)).toBe(true);
    expect(await storage.settings.get("checkpoint_key:acme")).toBeNull();

    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    expect(() => new VargateGovernor({ storage, checkpoints: { privateKey: rsa } })).toThrow(ConfigError);
    expect(() => new VargateGovernor({ storage, checkpoints: { privateKey: "nonsense" } })).toThrow(ConfigError);
    expect(() => new VargateGovernor({ storage, checkpoints: { privateKey: publicKey } })).toThrow(ConfigError);
    expect(() => new VargateGovernor({ storage, checkpoints: { intervalMs: -1 } })).toThrow(ConfigError);
  });

  it("is idempotent for an unchanged head; lists largest first; keeps tenants apart", async () => {
    const witness = vi.fn();
    const { governor, clock } = await setup({ checkpoints: { witness } });
    const first = await governor.checkpoints.create("acme");
    clock.advance(1000);
    expect(await governor.checkpoints.create("acme")).toEqual(first);
    expect(witness).toHaveBeenCalledTimes(1);
    await grow(governor, "acme", 3);
    const second = await governor.checkpoints.create("acme");
    expect(second.tree_size).toBe(4);
    expect(second.timestamp).toBe("2026-03-01T09:00:01.000Z");
    expect(await governor.checkpoints.latest("acme")).toEqual(second);
    expect(await governor.checkpoints.get("acme", 1)).toEqual(first);
    expect(await governor.checkpoints.list("acme")).toEqual([second, first]);
    expect(await governor.checkpoints.list("acme", { limit: 1 })).toEqual([second]);
    expect(await governor.checkpoints.latest("globex")).toBeNull();
    expect(await governor.checkpoints.list("globex")).toEqual([]);
    await expect(governor.checkpoints.inclusionProof("globex", 1)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(governor.checkpoints.inclusionProof("acme", 1, 3)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("proves every record's inclusion in every checkpoint of a growing chain", async () => {
    const { governor } = await setup();
    const checkpoints: CheckpointRecord[] = [];
    for (const count of [0, 1, 2, 5, 9, 16, 30]) {
      await grow(governor, "acme", count);
      checkpoints.push(await governor.checkpoints.create("acme"));
    }
    const hashes = await recordHashes(governor, "acme");
    for (const checkpoint of checkpoints) {
      const seqs = Array.from({ length: checkpoint.tree_size }, (_, i) => i + 1);
      const proofs = await governor.checkpoints.inclusionProofs("acme", seqs, checkpoint.tree_size);
      for (const proof of proofs) {
        expect(proof.record_hash).toBe(hashes[proof.seq - 1]);
        expect(proof.leaf_hash).toBe(leafHash(proof.record_hash));
        expect(proof.root_hash).toBe(checkpoint.root_hash);
        expect(verifyInclusion(proof.leaf_hash, proof.leaf_index, proof.tree_size, proof.hashes, proof.root_hash)).toBe(
          true,
        );
      }
    }
    // The default tree size is the latest checkpoint's.
    const latest = checkpoints.at(-1) as CheckpointRecord;
    const proof = await governor.checkpoints.inclusionProof("acme", 3);
    expect(proof).toMatchObject({ seq: 3, leaf_index: 2, tree_size: latest.tree_size, root_hash: latest.root_hash });
    const wrongSeq = proof.hashes.length > 0 ? 4 : 3;
    expect(
      verifyInclusion(leafHash(hashes[wrongSeq - 1] as string), 2, proof.tree_size, proof.hashes, proof.root_hash),
    ).toBe(wrongSeq === 3);
    for (const seq of [0, -1, 1.5, latest.tree_size + 1]) {
      await expect(governor.checkpoints.inclusionProof("acme", seq)).rejects.toMatchObject({
        code: "VALIDATION_FAILED",
      });
    }
  });

  it("proves consistency between any two checkpoints of a growing chain", async () => {
    const { governor } = await setup();
    const checkpoints: CheckpointRecord[] = [await governor.checkpoints.create("acme")];
    for (const count of [1, 1, 3, 7, 1, 20, 31]) {
      await grow(governor, "acme", count);
      checkpoints.push(await governor.checkpoints.create("acme"));
    }
    for (const to of checkpoints) {
      for (const from of checkpoints.filter((c) => c.tree_size <= to.tree_size)) {
        const proof = await governor.checkpoints.consistencyProof("acme", from.tree_size, to.tree_size);
        expect(proof).toMatchObject({
          from_size: from.tree_size,
          to_size: to.tree_size,
          from_root_hash: from.root_hash,
          to_root_hash: to.root_hash,
        });
        expect(verifyConsistency(from.tree_size, to.tree_size, proof.hashes, from.root_hash, to.root_hash)).toBe(true);
        if (from.tree_size < to.tree_size) {
          expect(verifyConsistency(from.tree_size, to.tree_size, proof.hashes, to.root_hash, from.root_hash)).toBe(
            false,
          );
        }
      }
    }
    const latest = checkpoints.at(-1) as CheckpointRecord;
    expect((await governor.checkpoints.consistencyProof("acme", 2)).to_size).toBe(latest.tree_size);
    await expect(governor.checkpoints.consistencyProof("acme", 4)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(governor.checkpoints.consistencyProof("acme", latest.tree_size + 1)).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
    });
    await expect(governor.checkpoints.consistencyProof("acme", 2, 5)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("calls the witness with every new checkpoint; a failing witness is logged and the checkpoint kept", async () => {
    const errors: unknown[][] = [];
    const logger: Logger = { ...silentLogger, error: (...args) => void errors.push(args) };
    const seen: CheckpointRecord[] = [];
    let fail: "throw" | "reject" | null = null;
    const { governor } = await setup({
      logger,
      checkpoints: {
        witness: async (checkpoint) => {
          if (fail === "throw") throw new Error("witness down");
          if (fail === "reject") return Promise.reject(new Error("witness rejected"));
          seen.push(checkpoint);
        },
      },
    });
    const first = await governor.checkpoints.create("acme");
    expect(seen).toEqual([first]);
    fail = "throw";
    await grow(governor, "acme", 1);
    const second = await governor.checkpoints.create("acme");
    fail = "reject";
    await grow(governor, "acme", 1);
    const third = await governor.checkpoints.create("acme");
    expect(await governor.checkpoints.list("acme")).toEqual([third, second, first]);
    expect(errors.map(([message]) => message)).toEqual([
      "Checkpoint witness failed; the checkpoint is kept",
      "Checkpoint witness failed; the checkpoint is kept",
    ]);
    expect(errors[1]?.[1]).toMatchObject({ tenant_id: "acme", tree_size: 3, error: "witness rejected" });
  });

  it("takes scheduled checkpoints when the head moved and the interval passed on the injected clock", async () => {
    const witness = vi.fn();
    const { governor, clock } = await setup({ checkpoints: { intervalMs: 60_000, witness } });
    // No checkpoint yet: both tenants are due.
    const firstPass = await governor.checkpoints.runDue();
    expect(firstPass.map((c) => [c.tenant_id, c.tree_size])).toEqual([
      ["acme", 1],
      ["globex", 1],
    ]);
    await grow(governor, "acme", 2);
    // The head moved, but the interval has not passed.
    clock.advance(59_999);
    expect(await governor.checkpoints.runDue()).toEqual([]);
    clock.advance(1);
    const due = await governor.checkpoints.runDue();
    expect(due.map((c) => [c.tenant_id, c.tree_size, c.timestamp])).toEqual([["acme", 3, "2026-03-01T09:01:00.000Z"]]);
    // globex did not move: no checkpoint however much time passes.
    clock.advance(3_600_000);
    expect(await governor.checkpoints.runDue()).toEqual([]);
    expect(witness).toHaveBeenCalledTimes(3);
  });

  it("runs the schedule from start() until stop()", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const witness = vi.fn();
    const { governor, clock } = await setup({ checkpoints: { intervalMs: 10_000, witness } });
    governor.start();
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(witness).toHaveBeenCalledTimes(2));
    await grow(governor, "acme", 1);
    clock.advance(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.waitFor(() => expect(witness).toHaveBeenCalledTimes(3));
    expect((await governor.checkpoints.latest("acme"))?.tree_size).toBe(2);
    await governor.stop();
    await grow(governor, "acme", 1);
    clock.advance(10_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(witness).toHaveBeenCalledTimes(3);
  });

  it("keeps the schedule off with intervalMs 0", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const witness = vi.fn();
    const { governor } = await setup({ checkpoints: { intervalMs: 0, witness } });
    governor.start();
    await vi.advanceTimersByTimeAsync(7_200_000);
    expect(witness).not.toHaveBeenCalled();
    await governor.stop();
  });
});
