import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  EMPTY_TREE_HASH,
  inclusionProof,
  inclusionVerifier,
  LeafHashes,
  leafHash,
  MerkleTree,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from "../../src/merkle/index.js";

// Test vectors of the RFC 6962 / RFC 9162 reference implementation transparency-dev/merkle (the Merkle code
// formerly in google/trillian and certificate-transparency-go):
// - leaf inputs, node hashes and root hashes: https://github.com/transparency-dev/merkle, testonly/constants.go
//   (LeafInputs, NodeHashes, RootHashes, EmptyRootHash);
// - inclusion and consistency proofs, and the corruptions a verifier must reject:
//   https://github.com/transparency-dev/merkle, proof/verify_test.go (inclusionProofs, consistencyProofs,
//   corruptInclusionProof, corruptConsistencyProof, TestVerifyConsistency).

const LEAF_INPUTS = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];

const NODE_HASHES = [
  [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  ],
  [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  ],
  [
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ],
  ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

// Indexed by tree size, from the empty tree.
const ROOT_HASHES = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

// `leaf` is 1-based, as in the source.
const INCLUSION_PROOFS: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { leaf: 3, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    leaf: 2,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];

const CONSISTENCY_PROOFS: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

const SOME_HASH = "abacaba000000000000000000000000000000000000000000060061e00123456";
const WRONG = Buffer.from("WrongLeaf").toString("hex");
const LEAF_HASHES = LEAF_INPUTS.map((input) => leafHash(input));

const flipBit = (hex: string, mask: number) => {
  const bytes = Buffer.from(hex, "hex");
  bytes[0] = (bytes[0] as number) ^ mask;
  return bytes.toString("hex");
};

describe("RFC 9162 hashes (transparency-dev/merkle vectors)", () => {
  it("hashes leaves with the 0x00 prefix and nodes with the 0x01 prefix", () => {
    expect(LEAF_HASHES).toEqual(NODE_HASHES[0]);
    for (let level = 1; level < NODE_HASHES.length; level++) {
      const below = NODE_HASHES[level - 1] as string[];
      expect(NODE_HASHES[level]).toEqual(
        (NODE_HASHES[level] as string[]).map((_, i) => nodeHash(below[2 * i] as string, below[2 * i + 1] as string)),
      );
    }
    expect(leafHash(Buffer.from("")).length).toBe(64);
    expect(leafHash(new Uint8Array([0x00]))).toBe(NODE_HASHES[0]?.[1]);
  });

  it("computes the root of every tree size, 0 to 8", () => {
    expect(EMPTY_TREE_HASH).toBe(ROOT_HASHES[0]);
    expect(new MerkleTree([]).root()).toBe(ROOT_HASHES[0]);
    for (let size = 0; size <= 8; size++) {
      expect(merkleRoot(LEAF_HASHES.slice(0, size))).toBe(ROOT_HASHES[size]);
      const packed = new LeafHashes(1);
      for (const input of LEAF_INPUTS.slice(0, size)) packed.appendLeaf(input);
      expect(merkleRoot(packed)).toBe(ROOT_HASHES[size]);
    }
  });

  it("builds the published inclusion proofs, which verify; every published corruption fails", () => {
    for (const { leaf, size, proof } of INCLUSION_PROOFS) {
      const index = leaf - 1;
      const root = ROOT_HASHES[size] as string;
      const hash = LEAF_HASHES[index] as string;
      expect(inclusionProof(LEAF_HASHES.slice(0, size), index)).toEqual(proof);
      expect(new MerkleTree(LEAF_HASHES.slice(0, size)).inclusionProof(index)).toEqual(proof);
      expect(verifyInclusion(hash, index, size, proof, root)).toBe(true);

      const probes: [string, string, number, number, string[], string][] = [
        ["leafIndex - 1", hash, index - 1, size, proof, root],
        ["leafIndex + 1", hash, index + 1, size, proof, root],
        ["leafIndex ^ 2", hash, index ^ 2, size, proof, root],
        ["treeSize * 2", hash, index, size * 2, proof, root],
        ["treeSize / 2", hash, index, Math.floor(size / 2), proof, root],
        ["wrong leaf", WRONG, index, size, proof, root],
        ["empty root", hash, index, size, proof, EMPTY_TREE_HASH],
        ["random root", hash, index, size, proof, SOME_HASH],
        ["trailing garbage", hash, index, size, [...proof, ""], root],
        ["trailing root", hash, index, size, [...proof, root], root],
        ["preceding garbage", hash, index, size, ["", ...proof], root],
        ["preceding root", hash, index, size, [root, ...proof], root],
        ...proof.map((_, i): [string, string, number, number, string[], string] => [
          `modified proof[${i}] bit 3`,
          hash,
          index,
          size,
          proof.map((p, j) => (j === i ? flipBit(p, 8) : p)),
          root,
        ]),
      ];
      if (proof.length > 0) probes.push(["removed component", hash, index, size, proof.slice(0, -1), root]);
      if (proof.length > 1) {
        probes.push([
          "inserted component",
          hash,
          index,
          size,
          [proof[0] as string, SOME_HASH, ...proof.slice(1)],
          root,
        ]);
      }
      for (const [desc, leafHex, i, n, p, r] of probes) {
        expect(verifyInclusion(leafHex, i, n, p, r), `${desc} (leaf ${leaf}, size ${size})`).toBe(false);
      }
    }
  });

  it("verifies a single-entry tree only against its own hash", () => {
    const hash = leafHash(Buffer.from("data"));
    expect(verifyInclusion(hash, 0, 1, [], hash)).toBe(true);
    expect(verifyInclusion("", 0, 1, [], hash)).toBe(false);
    expect(verifyInclusion(hash, 0, 1, [], "")).toBe(false);
    expect(verifyInclusion("", 0, 1, [], "")).toBe(false);
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ] as const) {
      expect(verifyInclusion(SOME_HASH, index, size, [], EMPTY_TREE_HASH)).toBe(false);
    }
  });

  it("builds the published consistency proofs, which verify; every published corruption fails", () => {
    for (const { size1, size2, proof } of CONSISTENCY_PROOFS) {
      const root1 = ROOT_HASHES[size1] as string;
      const root2 = ROOT_HASHES[size2] as string;
      expect(consistencyProof(LEAF_HASHES, size1, size2)).toEqual(proof);
      expect(verifyConsistency(size1, size2, proof, root1, root2)).toBe(true);
      if (proof.length === 0) continue;
      const wrongRoot = Buffer.from("WrongRoot").toString("hex");
      const probes: [string, number, number, string[], string, string][] = [
        ["size1 - 1", size1 - 1, size2, proof, root1, root2],
        ["size1 + 1", size1 + 1, size2, proof, root1, root2],
        ["size1 ^ 2", size1 ^ 2, size2, proof, root1, root2],
        ["size2 * 2", size1, size2 * 2, proof, root1, root2],
        ["size2 / 2", size1, Math.floor(size2 / 2), proof, root1, root2],
        ["wrong root1", size1, size2, proof, wrongRoot, root2],
        ["wrong root2", size1, size2, proof, root1, wrongRoot],
        ["swapped roots", size1, size2, proof, root2, root1],
        ["empty proof", size1, size2, [], root1, root2],
        ["trailing garbage", size1, size2, [...proof, ""], root1, root2],
        ["trailing root1", size1, size2, [...proof, root1], root1, root2],
        ["trailing root2", size1, size2, [...proof, root2], root1, root2],
        ["preceding garbage", size1, size2, ["", ...proof], root1, root2],
        ["preceding root1", size1, size2, [root1, ...proof], root1, root2],
        ["preceding root2", size1, size2, [root2, ...proof], root1, root2],
        ["preceding proof[0]", size1, size2, [proof[0] as string, ...proof], root1, root2],
        ["truncated proof", size1, size2, proof.slice(0, -1), root1, root2],
        ...proof.map((_, i): [string, number, number, string[], string, string] => [
          `modified proof[${i}] bit 4`,
          size1,
          size2,
          proof.map((p, j) => (j === i ? flipBit(p, 16) : p)),
          root1,
          root2,
        ]),
      ];
      for (const [desc, m, n, p, r1, r2] of probes) {
        expect(verifyConsistency(m, n, p, r1, r2), `${desc} (${size1} -> ${size2})`).toBe(false);
      }
    }
  });

  it("handles the trivial sizes as the reference does", () => {
    const root1 = createHash("sha256").update("don't care 1").digest("hex");
    const root2 = createHash("sha256").update("don't care 2").digest("hex");
    const cases: [number, number, string, string, string[], boolean][] = [
      [0, 0, root1, root2, [], false],
      [1, 1, root1, root2, [], false],
      [0, 0, root1, root1, [], true],
      [0, 1, root1, root2, [], true],
      [1, 1, root2, root2, [], true],
      [1, 0, root1, root2, [], false],
      [2, 1, root1, root2, [], false],
      [1, 2, root1, root2, [], false],
      [0, 0, EMPTY_TREE_HASH, root2, [], false],
      [1, 1, EMPTY_TREE_HASH, root2, [], false],
      [0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], false],
      [0, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], false],
      [1, 1, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH], false],
    ];
    for (const [m, n, r1, r2, proof, valid] of cases) {
      expect(verifyConsistency(m, n, proof, r1, r2), `${m} -> ${n}`).toBe(valid);
    }
  });
});

describe("Merkle proofs, exhaustively", () => {
  const leaves = Array.from({ length: 64 }, () => leafHash(randomBytes(32)));
  const roots = Array.from({ length: 65 }, (_, n) => merkleRoot(leaves.slice(0, n)));

  it("every inclusion proof in every tree up to 64 leaves verifies; a tampered leaf, index or proof fails", () => {
    for (let n = 1; n <= 64; n++) {
      const tree = LeafHashes.from(leaves.slice(0, n));
      const whole = new MerkleTree(tree);
      expect(whole.root()).toBe(roots[n]);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i);
        expect(whole.inclusionProof(i)).toEqual(proof);
        expect(whole.leaf(i)).toBe(leaves[i]);
        expect(verifyInclusion(leaves[i] as string, i, n, proof, roots[n] as string)).toBe(true);
        expect(verifyInclusion(flipBit(leaves[i] as string, 1), i, n, proof, roots[n] as string)).toBe(false);
        if (n > 1) expect(verifyInclusion(leaves[i] as string, (i + 1) % n, n, proof, roots[n] as string)).toBe(false);
        for (let j = 0; j < proof.length; j++) {
          const tampered = proof.map((p, k) => (k === j ? flipBit(p, 0x80) : p));
          expect(verifyInclusion(leaves[i] as string, i, n, tampered, roots[n] as string)).toBe(false);
        }
      }
    }
  });

  it("inclusionVerifier answers every proof, valid or not, in any order, exactly as verifyInclusion does", () => {
    let checked = 0;
    for (let n = 1; n <= 64; n++) {
      const tree = LeafHashes.from(leaves.slice(0, n));
      const root = roots[n] as string;
      const verify = inclusionVerifier(n, root);
      const expectSame = (leaf: string, index: number, proof: string[]) => {
        expect(verify(leaf, index, proof), `n=${n} index=${index}`).toBe(verifyInclusion(leaf, index, n, proof, root));
        checked += 1;
      };
      // In leaf order (an export's), then in a scrambled order, each valid proof followed by corrupted ones: an
      // upper hash changed (the part a previous proof may have climbed already), a malformed hash, the proof one
      // hash too long or too short, the wrong index, the wrong leaf.
      const orders = [Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => (i * 37) % n)];
      for (const order of orders) {
        for (const i of order) {
          const leaf = leaves[i] as string;
          const proof = inclusionProof(tree, i);
          expectSame(leaf, i, proof);
          for (let j = 0; j < proof.length; j++) {
            expectSame(
              leaf,
              i,
              proof.map((p, k) => (k === j ? flipBit(p, 0x80) : p)),
            );
            expectSame(leaf, i, proof);
          }
          expectSame(leaf, i, [...proof.slice(0, -1), "zz"]);
          expectSame(leaf, i, [...proof, proof[0] ?? leaf]);
          expectSame(leaf, i, proof.slice(1));
          expectSame(leaf, (i + 1) % n, proof);
          expectSame(flipBit(leaf, 1), i, proof);
        }
      }
    }
    expect(checked).toBeGreaterThan(20_000);
    // Outside the tree.
    expect(inclusionVerifier(4, roots[4] as string)(leaves[0] as string, 4, [])).toBe(false);
    expect(inclusionVerifier(4, "not hex")(leaves[0] as string, 0, inclusionProof(leaves.slice(0, 4), 0))).toBe(false);
  });

  it("every consistency proof between sizes m <= n <= 64 verifies; a tampered proof or old leaf fails", () => {
    const tree = LeafHashes.from(leaves);
    for (let n = 1; n <= 64; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = consistencyProof(tree, m, n);
        expect(verifyConsistency(m, n, proof, roots[m] as string, roots[n] as string), `${m} -> ${n}`).toBe(true);
        if (m === 0 || m === n) continue;
        for (let j = 0; j < proof.length; j++) {
          const tampered = proof.map((p, k) => (k === j ? flipBit(p, 0x80) : p));
          expect(verifyConsistency(m, n, tampered, roots[m] as string, roots[n] as string)).toBe(false);
        }
        // History rewritten: one old leaf changed, the new tree recomputed over it.
        const rewritten = [...leaves.slice(0, n)];
        rewritten[m - 1] = leafHash(randomBytes(32));
        const rewrittenRoot = merkleRoot(rewritten);
        const rewrittenProof = consistencyProof(rewritten, m, n);
        expect(verifyConsistency(m, n, rewrittenProof, roots[m] as string, rewrittenRoot)).toBe(false);
      }
    }
  });

  it("rejects out-of-range arguments when building, and malformed input when verifying", () => {
    expect(() => inclusionProof(leaves.slice(0, 3), 3)).toThrow(RangeError);
    expect(() => inclusionProof(leaves.slice(0, 3), -1)).toThrow(RangeError);
    expect(() => consistencyProof(leaves.slice(0, 3), 2, 4)).toThrow(RangeError);
    expect(() => consistencyProof(leaves.slice(0, 3), 3, 2)).toThrow(RangeError);
    expect(() => merkleRoot(["zz"])).toThrow(TypeError);
    expect(verifyInclusion("zz", 0, 1, [], roots[1] as string)).toBe(false);
    expect(verifyInclusion(leaves[0] as string, -1, 1, [], roots[1] as string)).toBe(false);
    expect(verifyInclusion(leaves[0] as string, 0.5, 1, [], roots[1] as string)).toBe(false);
    expect(verifyConsistency(1, 2, ["xyz"], roots[1] as string, roots[2] as string)).toBe(false);
  });

  it("builds a tree of a million leaves and proves a leaf and a prefix", () => {
    const n = 1_000_000;
    const m = 999_983;
    const tree = new LeafHashes(n);
    const prefix = new LeafHashes(m);
    const leaf = randomBytes(32);
    for (let i = 0; i < n; i++) {
      leaf.writeUInt32BE(i, 0);
      tree.appendLeaf(leaf);
      if (i < m) prefix.append(tree.view(i, i + 1));
    }
    const root = merkleRoot(tree);
    const whole = new MerkleTree(tree);
    expect(whole.root()).toBe(root);
    expect(whole.inclusionProof(n - 1)).toEqual(inclusionProof(tree, n - 1));
    const proof = inclusionProof(tree, 524_288);
    expect(proof.length).toBe(20);
    expect(verifyInclusion(tree.hex(524_288), 524_288, n, proof, root)).toBe(true);
    expect(verifyConsistency(m, n, consistencyProof(tree, m, n), merkleRoot(prefix), root)).toBe(true);
  }, 180_000);
});
