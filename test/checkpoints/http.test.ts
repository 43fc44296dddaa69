import { describe, expect, it } from "vitest";
import { verifyCheckpointSignature } from "../../src/checkpoints/index.js";
import type { CheckpointRecord } from "../../src/checkpoints/types.js";
import { VargateGovernor } from "../../src/governor.js";
import { createRequestHandler } from "../../src/http/handler.js";
import { verifyConsistency, verifyInclusion } from "../../src/merkle/index.js";
import { memoryStorage } from "../../src/storage/memory/index.js";
import { grow } from "./helpers.js";

async function setup() {
  const governor = new VargateGovernor({ storage: memoryStorage() });
  const acme = await governor.tenants.create({ tenant_id: "acme" });
  const globex = await governor.tenants.create({ tenant_id: "globex" });
  const handler = createRequestHandler(governor);
  const call = async (apiKey: string, method: string, path: string) => {
    const response = await handler(
      new Request(`http://vargate.test${path}`, { method, headers: { "x-api-key": apiKey } }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field.
    return { status: response.status, body: (await response.json()) as any };
  };
  return {
    governor,
    acme: (method: string, path: string) => call(acme.api_key, method, path),
    globex: (method: string, path: string) => call(globex.api_key, method, path),
  };
}

describe("checkpoint routes", () => {
  it("creates, lists and reads checkpoints, and exports the public key that signs them", async () => {
    const { governor, acme } = await setup();
    expect(await acme("GET", "/managed/checkpoints/latest")).toMatchObject({
      status: 404,
      body: { code: "NOT_FOUND" },
    });
    expect(await acme("GET", "/managed/checkpoints")).toEqual({ status: 200, body: { checkpoints: [], count: 0 } });

    const first = await acme("POST", "/managed/checkpoints");
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ tenant_id: "acme", tree_size: 1 });
    await grow(governor, "acme", 4);
    const second = (await acme("POST", "/managed/checkpoints")).body as CheckpointRecord;
    expect(second.tree_size).toBe(5);
    expect(await acme("GET", "/managed/checkpoints/latest")).toEqual({ status: 200, body: second });
    expect(await acme("GET", "/managed/checkpoints")).toEqual({
      status: 200,
      body: { checkpoints: [second, first.body], count: 2 },
    });
    expect((await acme("GET", "/managed/checkpoints?limit=1")).body).toEqual({ checkpoints: [second], count: 1 });

    const key = await acme("GET", "/managed/checkpoints/public-key");
    expect(key.status).toBe(200);
    expect(key.body.key_id).toBe(second.key_id);
    expect(verifyCheckpointSignature(second, key.body.public_key_pem)).toBe(true);
  });

  it("serves inclusion and consistency proofs that verify against the signed checkpoints", async () => {
    const { governor, acme } = await setup();
    await grow(governor, "acme", 6);
    const old = (await acme("POST", "/managed/checkpoints")).body as CheckpointRecord;
    await grow(governor, "acme", 9);
    const latest = (await acme("POST", "/managed/checkpoints")).body as CheckpointRecord;

    const proof = await acme("GET", "/managed/audit/proofs/inclusion?seq=4");
    expect(proof.status).toBe(200);
    expect(proof.body).toMatchObject({
      seq: 4,
      leaf_index: 3,
      tree_size: latest.tree_size,
      root_hash: latest.root_hash,
    });
    const { leaf_hash, leaf_index, tree_size, hashes, root_hash } = proof.body;
    expect(verifyInclusion(leaf_hash, leaf_index, tree_size, hashes, root_hash)).toBe(true);
    const inOld = (await acme("GET", `/managed/audit/proofs/inclusion?seq=7&tree_size=${old.tree_size}`)).body;
    expect(inOld.root_hash).toBe(old.root_hash);
    expect(verifyInclusion(inOld.leaf_hash, 6, old.tree_size, inOld.hashes, old.root_hash)).toBe(true);

    const consistency = await acme(
      "GET",
      `/managed/audit/proofs/consistency?from=${old.tree_size}&to=${latest.tree_size}`,
    );
    expect(consistency.status).toBe(200);
    expect(consistency.body).toMatchObject({ from_size: 7, to_size: 16, from_root_hash: old.root_hash });
    expect(verifyConsistency(7, 16, consistency.body.hashes, old.root_hash, latest.root_hash)).toBe(true);
    const defaultTo = (await acme("GET", `/managed/audit/proofs/consistency?from=${old.tree_size}`)).body;
    expect(defaultTo).toEqual(consistency.body);
  });

  it("validates queries with 422 naming the field, and answers 404 for a missing checkpoint", async () => {
    const { acme } = await setup();
    expect((await acme("GET", "/managed/audit/proofs/inclusion?seq=1")).status).toBe(404);
    await acme("POST", "/managed/checkpoints");
    const cases: [string, (string | number)[]][] = [
      ["/managed/audit/proofs/inclusion", ["query", "seq"]],
      ["/managed/audit/proofs/inclusion?seq=abc", ["query", "seq"]],
      ["/managed/audit/proofs/inclusion?seq=0", ["query", "seq"]],
      ["/managed/audit/proofs/inclusion?seq=1&tree_size=-2", ["query", "tree_size"]],
      ["/managed/audit/proofs/inclusion?seq=2", ["seq"]],
      ["/managed/audit/proofs/consistency", ["query", "from"]],
      ["/managed/audit/proofs/consistency?from=1&to=1.5", ["query", "to"]],
      ["/managed/checkpoints?limit=0", ["query", "limit"]],
    ];
    for (const [path, loc] of cases) {
      const response = await acme("GET", path);
      expect(response.status, path).toBe(422);
      expect(response.body.code).toBe("VALIDATION_FAILED");
      expect(response.body.detail[0].loc, path).toEqual(loc);
    }
    expect(await acme("GET", "/managed/audit/proofs/inclusion?seq=1&tree_size=2")).toMatchObject({
      status: 404,
      body: { code: "NOT_FOUND" },
    });
    expect((await acme("GET", "/managed/audit/proofs/consistency?from=1&to=9")).status).toBe(404);
  });

  it("keeps tenants apart", async () => {
    const { governor, acme, globex } = await setup();
    await grow(governor, "acme", 3);
    const mine = (await acme("POST", "/managed/checkpoints")).body as CheckpointRecord;
    expect((await globex("GET", "/managed/checkpoints/latest")).status).toBe(404);
    expect((await globex("GET", "/managed/checkpoints")).body).toEqual({ checkpoints: [], count: 0 });
    expect((await globex("GET", `/managed/audit/proofs/inclusion?seq=1&tree_size=${mine.tree_size}`)).status).toBe(404);
    expect((await globex("GET", `/managed/audit/proofs/consistency?from=${mine.tree_size}`)).status).toBe(404);
    const theirs = (await globex("POST", "/managed/checkpoints")).body as CheckpointRecord;
    expect(theirs).toMatchObject({ tenant_id: "globex", tree_size: 1 });
    const keys = [
      await acme("GET", "/managed/checkpoints/public-key"),
      await globex("GET", "/managed/checkpoints/public-key"),
    ];
    expect(keys[0]?.body.key_id).not.toBe(keys[1]?.body.key_id);
    expect(verifyCheckpointSignature(theirs, keys[0]?.body.public_key_pem)).toBe(false);
    expect(verifyCheckpointSignature(theirs, keys[1]?.body.public_key_pem)).toBe(true);
  });
});
