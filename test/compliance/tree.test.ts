import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/audit/chain.js";
import { ProofTree } from "../../src/compliance/tree.js";
import { inclusionProof, LeafHashes, leafHash, merkleRoot, verifyInclusion } from "../../src/merkle/index.js";

describe("ProofTree", () => {
  it("gives the same roots and audit paths as vargate/merkle for every leaf of trees of 1 to 40 leaves", () => {
    for (let size = 1; size <= 40; size++) {
      const leaves = new LeafHashes();
      for (let i = 0; i < size; i++) leaves.appendLeaf(sha256Hex(`record ${i}`));
      const tree = new ProofTree(leaves);
      const root = merkleRoot(leaves);
      expect(tree.root()).toBe(root);
      for (let i = 0; i < size; i++) {
        const proof = tree.proof(i);
        expect(proof).toEqual(inclusionProof(leaves, i));
        expect(verifyInclusion(leafHash(sha256Hex(`record ${i}`)), i, size, proof, root)).toBe(true);
      }
    }
  });

  it("proves against a prefix of the leaves", () => {
    const leaves = new LeafHashes();
    for (let i = 0; i < 13; i++) leaves.appendLeaf(sha256Hex(`r${i}`));
    const tree = new ProofTree(leaves, 9);
    expect(tree.root()).toBe(merkleRoot(leaves.prefix(9)));
    expect(tree.proof(8)).toEqual(inclusionProof(leaves.prefix(9), 8));
    expect(() => tree.proof(9)).toThrow(RangeError);
  });
});
