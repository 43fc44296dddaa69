import { hash } from "node:crypto";

/**
 * RFC 9162 (Certificate Transparency v2) Merkle trees, the same tree as RFC 6962 §2.1, with SHA-256.
 *
 * - A leaf hashes as `SHA-256(0x00 || leaf bytes)`, an interior node as `SHA-256(0x01 || left || right)`.
 * - The tree over `n` leaves splits at the largest power of two below `n` (RFC 9162 §2.1.1); the empty tree's
 *   hash is `SHA-256("")`.
 * - Proofs are built with the RFC's `PATH` (§2.1.3.1) and `SUBPROOF` (§2.1.4.1) and verified with exactly the
 *   algorithms of §2.1.3.2 and §2.1.4.2.
 *
 * Hashes travel as lowercase hex strings. Functions that take a tree take the **leaf hashes** (already hashed
 * with `leafHash`), as hex strings, 32-byte arrays, or one packed `LeafHashes` buffer (the fast path: no object
 * per leaf). Work is iterative and linear in the number of leaves; a million leaves need one 32 MB buffer.
 *
 * vargate's leaves are its audit records' `record_hash` values, in `seq` order, each as its 32 raw bytes (the
 * hex decoded): leaf `i` (0-based) is `leafHash(record_hash)` of the record with `seq` `i + 1`.
 */

const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);
const HEX = /^(?:[0-9a-fA-F]{2})*$/;
// 0x00 followed by one 32-byte leaf, reused by `appendLeaf` (synchronous, so never shared between calls).
const LEAF_SCRATCH = Buffer.alloc(1 + HASH_SIZE);

/** A hash or leaf given as hex text or as bytes. */
export type HashInput = string | Uint8Array;

/** Leaf hashes: a list, or one packed buffer. */
export type MerkleLeaves = readonly HashInput[] | LeafHashes;

/**
 * Leaf hashes packed back to back in one growable buffer: `size` hashes of 32 bytes. Build one with `append` (or
 * `appendLeaf` for a leaf's bytes) to keep a large tree free of per-leaf objects.
 */
export class LeafHashes {
  #buffer: Buffer;
  #size = 0;

  constructor(capacity = 1024) {
    this.#buffer = Buffer.allocUnsafe(Math.max(1, capacity) * HASH_SIZE);
  }

  /** How many leaf hashes are held. */
  get size(): number {
    return this.#size;
  }

  /** Adds a leaf hash (32 bytes, or 64 hex characters). */
  append(hash: HashInput): void {
    const bytes = toHash(hash, "leaf hash");
    this.#reserve();
    bytes.copy(this.#buffer, this.#size * HASH_SIZE);
    this.#size += 1;
  }

  /** Hashes a leaf's bytes (or hex) with `leafHash` and adds the result. */
  appendLeaf(leaf: HashInput): void {
    this.#reserve();
    // The common leaf, a record hash as 64 hex characters, is decoded straight after the prefix byte: no
    // intermediate buffers per leaf.
    if (typeof leaf === "string" && leaf.length === 2 * HASH_SIZE && HEX.test(leaf)) {
      LEAF_SCRATCH.write(leaf, 1, HASH_SIZE, "hex");
      sha256(LEAF_SCRATCH).copy(this.#buffer, this.#size * HASH_SIZE);
    } else {
      hashLeafInto(toBytes(leaf, "leaf"), this.#buffer, this.#size * HASH_SIZE);
    }
    this.#size += 1;
  }

  /** The leaf hash at `index`, as hex. */
  hex(index: number): string {
    if (!isIndex(index) || index >= this.#size) throw new RangeError(`hex: ${index} is outside 0..${this.#size - 1}`);
    return this.view(0, this.#size)
      .subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE)
      .toString("hex");
  }

  /** The packed hashes of leaves `[start, end)`, without copying. */
  view(start: number, end: number): Buffer {
    return this.#buffer.subarray(start * HASH_SIZE, end * HASH_SIZE);
  }

  /** A copy of the first `size` leaf hashes. */
  prefix(size: number): LeafHashes {
    if (!isIndex(size) || size > this.#size) throw new RangeError(`prefix: ${size} is outside 0..${this.#size}`);
    const copy = new LeafHashes(size);
    this.view(0, size).copy(copy.#buffer, 0);
    copy.#size = size;
    return copy;
  }

  /** Packs a list of leaf hashes. */
  static from(leaves: MerkleLeaves): LeafHashes {
    if (leaves instanceof LeafHashes) return leaves;
    const packed = new LeafHashes(leaves.length);
    for (const leaf of leaves) packed.append(leaf);
    return packed;
  }

  #reserve(): void {
    if ((this.#size + 1) * HASH_SIZE <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(this.#buffer.length * 2);
    this.#buffer.copy(grown, 0, 0, this.#size * HASH_SIZE);
    this.#buffer = grown;
  }
}

/**
 * RFC 9162 leaf hash: `SHA-256(0x00 || leaf)`, as hex. A string is read as hex (so `leafHash(record.record_hash)`
 * hashes the record hash's 32 raw bytes); bytes are taken as they are.
 */
export function leafHash(leaf: HashInput): string {
  return sha256(Buffer.concat([LEAF_PREFIX, toBytes(leaf, "leaf")])).toString("hex");
}

/** RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`, as hex. */
export function nodeHash(left: HashInput, right: HashInput): string {
  return hashNode(toHash(left, "left hash"), toHash(right, "right hash")).toString("hex");
}

/** The hash of the empty tree, `SHA-256("")`. */
export const EMPTY_TREE_HASH = hash("sha256", "", "hex");

/** The Merkle Tree Hash (RFC 9162 §2.1.1) of the tree over `leaves` (leaf hashes), as hex. */
export function merkleRoot(leaves: MerkleLeaves): string {
  const packed = LeafHashes.from(leaves);
  return rangeRoot(packed, 0, packed.size, scratch(packed.size)).toString("hex");
}

/**
 * The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` (0-based) in the tree over `leaves`: the
 * sibling hashes from the leaf up to the root, as hex.
 */
export function inclusionProof(leaves: MerkleLeaves, index: number): string[] {
  const packed = LeafHashes.from(leaves);
  const n = packed.size;
  if (!isIndex(index) || index >= n) throw new RangeError(`inclusionProof: index ${index} is outside a tree of ${n}`);
  const work = scratch(n);
  // PATH(m, D[lo:hi]) from the root down; each step adds the sibling subtree's hash, which comes later in the
  // RFC's (leaf-first) order, so the list is reversed at the end.
  const path: string[] = [];
  let lo = 0;
  let hi = n;
  let m = index;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m < k) {
      path.push(rangeRoot(packed, lo + k, hi, work).toString("hex"));
      hi = lo + k;
    } else {
      path.push(rangeRoot(packed, lo, lo + k, work).toString("hex"));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/**
 * The consistency proof (RFC 9162 §2.1.4.1) between the tree of the first `m` leaves and the tree of the first
 * `n` leaves (`0 <= m <= n <= leaves`), as hex. Empty when `m` is 0 or equal to `n`.
 */
export function consistencyProof(leaves: MerkleLeaves, m: number, n: number): string[] {
  const packed = LeafHashes.from(leaves);
  if (!isIndex(m) || !isIndex(n) || m > n || n > packed.size) {
    throw new RangeError(`consistencyProof: need 0 <= m <= n <= ${packed.size}, got m ${m}, n ${n}`);
  }
  if (m === 0 || m === n) return [];
  const work = scratch(n);
  // SUBPROOF(m, D[lo:hi], b), unrolled from the root down, reversed at the end like PATH.
  const proof: string[] = [];
  let lo = 0;
  let hi = n;
  let size = m;
  let complete = true;
  for (;;) {
    if (size === hi - lo) {
      if (!complete) proof.push(rangeRoot(packed, lo, hi, work).toString("hex"));
      break;
    }
    const k = largestPowerOfTwoBelow(hi - lo);
    if (size <= k) {
      proof.push(rangeRoot(packed, lo + k, hi, work).toString("hex"));
      hi = lo + k;
    } else {
      proof.push(rangeRoot(packed, lo, lo + k, work).toString("hex"));
      lo += k;
      size -= k;
      complete = false;
    }
  }
  return proof.reverse();
}

/**
 * A whole tree kept in memory, level by level (about twice the leaves' size: 64 MB for a million leaves), for
 * many proofs of one tree: building is linear, then each inclusion proof takes O(log n).
 */
export class MerkleTree {
  // levels[0] holds the leaf hashes; each level above pairs neighbours and carries a lone last node up unchanged,
  // which is RFC 9162's left-filled tree.
  readonly #levels: Buffer[] = [];
  readonly #counts: number[] = [];

  constructor(leaves: MerkleLeaves) {
    const packed = LeafHashes.from(leaves);
    let count = packed.size;
    let level = Buffer.from(packed.view(0, count));
    this.#levels.push(level);
    this.#counts.push(count);
    const node = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
    node[0] = 0x01;
    while (count > 1) {
      const pairs = Math.floor(count / 2);
      const next = Buffer.allocUnsafe((pairs + (count % 2)) * HASH_SIZE);
      for (let i = 0; i < pairs; i++) {
        level.copy(node, 1, 2 * i * HASH_SIZE, 2 * (i + 1) * HASH_SIZE);
        sha256(node).copy(next, i * HASH_SIZE);
      }
      if (count % 2 === 1) level.copy(next, pairs * HASH_SIZE, (count - 1) * HASH_SIZE, count * HASH_SIZE);
      count = pairs + (count % 2);
      level = next;
      this.#levels.push(level);
      this.#counts.push(count);
    }
  }

  /** The number of leaves. */
  get size(): number {
    return this.#counts[0] as number;
  }

  /** The root hash, as hex (the empty tree's hash for no leaves). */
  root(): string {
    if (this.size === 0) return EMPTY_TREE_HASH;
    return (this.#levels.at(-1) as Buffer).subarray(0, HASH_SIZE).toString("hex");
  }

  /** The leaf hash at `index`, as hex. */
  leaf(index: number): string {
    if (!isIndex(index) || index >= this.size) throw new RangeError(`leaf: ${index} is outside a tree of ${this.size}`);
    return (this.#levels[0] as Buffer).subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE).toString("hex");
  }

  /** The same audit path as `inclusionProof(leaves, index)`. */
  inclusionProof(index: number): string[] {
    if (!isIndex(index) || index >= this.size) {
      throw new RangeError(`inclusionProof: index ${index} is outside a tree of ${this.size}`);
    }
    const path: string[] = [];
    let i = index;
    for (let h = 0; h < this.#levels.length - 1; h++) {
      const sibling = i % 2 === 1 ? i - 1 : i + 1;
      // A lone last node has no sibling at this level: it is carried up.
      if (sibling < (this.#counts[h] as number)) path.push(this.#nodeHex(h, sibling));
      i = Math.floor(i / 2);
    }
    return path;
  }

  // The hex of the node last asked for, per level: proofs of neighbouring leaves (an export's, in order) share
  // all but their lowest nodes, so most are not converted again.
  readonly #hexIndex: number[] = [];
  readonly #hex: string[] = [];

  #nodeHex(level: number, index: number): string {
    if (this.#hexIndex[level] === index) return this.#hex[level] as string;
    const hex = (this.#levels[level] as Buffer).subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE).toString("hex");
    this.#hexIndex[level] = index;
    this.#hex[level] = hex;
    return hex;
  }
}

/**
 * Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2: that the leaf with hash `leafHashHex` is
 * leaf `index` (0-based) of the tree of `treeSize` leaves whose root is `rootHex`. Never throws: malformed input
 * (bad hex, a hash that is not 32 bytes, a negative index) fails.
 */
export function verifyInclusion(
  leafHashHex: HashInput,
  index: number,
  treeSize: number,
  proof: readonly HashInput[],
  rootHex: HashInput,
): boolean {
  const leaf = maybeHash(leafHashHex);
  const root = maybeHash(rootHex);
  const path = proof.map(maybeHash);
  if (!leaf || !root || path.some((p) => p === null) || !isIndex(index) || !isIndex(treeSize)) return false;
  // 1. leaf_index must be below tree_size.
  if (index >= treeSize) return false;
  // 2-3.
  const state: PathState = { fn: index, sn: treeSize - 1, r: leaf };
  // 4.
  for (const p of path as Buffer[]) if (!climb(state, p)) return false;
  // 5.
  return state.sn === 0 && state.r.equals(root);
}

/** Where the verification of an inclusion proof stands before one of its hashes (RFC 9162 §2.1.3.2). */
interface PathState {
  fn: number;
  sn: number;
  r: Buffer;
}

// RFC 9162 §2.1.3.2 step 4 for one proof hash `p`; false when the proof is longer than the path.
function climb(state: PathState, p: Buffer): boolean {
  if (state.sn === 0) return false;
  if (isOdd(state.fn) || state.fn === state.sn) {
    state.r = hashNode(p, state.r);
    while (!isOdd(state.fn) && state.fn !== 0) {
      state.fn = half(state.fn);
      state.sn = half(state.sn);
    }
  } else {
    state.r = hashNode(state.r, p);
  }
  state.fn = half(state.fn);
  state.sn = half(state.sn);
  return true;
}

/**
 * `verifyInclusion` against one tree (`treeSize`, `rootHex`) for many proofs with hex hashes, fastest when given
 * neighbouring leaves one after another (an export's records): a proof is climbed until it reaches the state
 * (position and node hash) the previous proof reached at the same step, with the same hashes left to climb; the
 * rest of the climb would then repeat the previous one, so its result is taken. Every answer is exactly
 * `verifyInclusion`'s.
 */
export function inclusionVerifier(
  treeSize: number,
  rootHex: HashInput,
): (leafHashHex: HashInput, index: number, proof: readonly string[]) => boolean {
  const root = maybeHash(rootHex);
  // The previous proof that was climbed to its end: its hashes, the state before each, and its result.
  let last: { proof: readonly string[]; states: PathState[]; result: boolean } | null = null;
  const repeats = (state: PathState, proof: readonly string[], step: number): boolean => {
    if (!last || last.proof.length !== proof.length) return false;
    const before = last.states[step] as PathState;
    if (before.fn !== state.fn || before.sn !== state.sn || !before.r.equals(state.r)) return false;
    for (let i = step; i < proof.length; i++) if (proof[i] !== last.proof[i]) return false;
    return true;
  };
  if (!root || !isIndex(treeSize)) return () => false;
  return (leafHashHex, index, proof) => {
    const leaf = maybeHash(leafHashHex);
    if (!leaf || !isIndex(index) || index >= treeSize) return false;
    if (!proof.every((p) => typeof p === "string")) return false;
    // A copy: a leaf given as bytes is a view of the caller's memory, and the state is kept for the next proof.
    const state: PathState = { fn: index, sn: treeSize - 1, r: Buffer.from(leaf) };
    const states: PathState[] = [];
    for (let step = 0; step < proof.length; step++) {
      if (last && repeats(state, proof, step)) {
        last = { proof, states: [...states, ...last.states.slice(step)], result: last.result };
        return last.result;
      }
      states.push({ ...state });
      const p = maybeHash(proof[step] as string);
      if (!p || !climb(state, p)) return false;
    }
    last = { proof, states, result: state.sn === 0 && state.r.equals(root) };
    return last.result;
  };
}

/**
 * Verifies a consistency proof with the algorithm of RFC 9162 §2.1.4.2: that the tree of `m` leaves with root
 * `oldRootHex` is a prefix of the tree of `n` leaves with root `newRootHex`. The RFC's algorithm covers
 * `0 < m < n`; as in its reference implementations, `m === n` holds with an empty proof and equal roots, and
 * `m === 0` with an empty proof (every tree extends the empty one). Never throws: malformed input fails.
 */
export function verifyConsistency(
  m: number,
  n: number,
  proof: readonly HashInput[],
  oldRootHex: HashInput,
  newRootHex: HashInput,
): boolean {
  const firstHash = maybeHash(oldRootHex);
  const secondHash = maybeHash(newRootHex);
  const given = proof.map(maybeHash);
  if (!firstHash || !secondHash || given.some((p) => p === null) || !isIndex(m) || !isIndex(n) || m > n) {
    return false;
  }
  if (m === n) return given.length === 0 && firstHash.equals(secondHash);
  if (m === 0) return given.length === 0;
  // 1. An empty path fails.
  if (given.length === 0) return false;
  // 2. When first is an exact power of 2, prepend first_hash.
  const path = isPowerOfTwo(m) ? [firstHash, ...(given as Buffer[])] : (given as Buffer[]);
  // 3.
  let fn = m - 1;
  let sn = n - 1;
  // 4.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5.
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  // 6.
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = hashNode(c, fr);
      sr = hashNode(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashNode(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 7.
  return fr.equals(firstHash) && sr.equals(secondHash) && sn === 0;
}

// The Merkle Tree Hash of leaves [lo, hi), reduced level by level in `work` (at least (hi - lo) * 32 bytes).
// Pairing neighbours and carrying a lone last node up unchanged gives exactly RFC 9162's left-filled tree.
function rangeRoot(leaves: LeafHashes, lo: number, hi: number, work: Buffer): Buffer {
  let count = hi - lo;
  if (count === 0) return Buffer.from(EMPTY_TREE_HASH, "hex");
  if (count === 1) return Buffer.from(leaves.view(lo, hi));
  leaves.view(lo, hi).copy(work, 0);
  const node = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
  node[0] = 0x01;
  while (count > 1) {
    const pairs = Math.floor(count / 2);
    for (let i = 0; i < pairs; i++) {
      work.copy(node, 1, 2 * i * HASH_SIZE, 2 * (i + 1) * HASH_SIZE);
      sha256(node).copy(work, i * HASH_SIZE);
    }
    if (count % 2 === 1) work.copy(work, pairs * HASH_SIZE, (count - 1) * HASH_SIZE, count * HASH_SIZE);
    count = pairs + (count % 2);
  }
  return Buffer.from(work.subarray(0, HASH_SIZE));
}

// One-shot `crypto.hash` is about twice as fast as `createHash` for inputs this small.
function sha256(data: Buffer): Buffer {
  return hash("sha256", data, "buffer");
}

// 0x01 followed by two 32-byte hashes, reused by `hashNode` (synchronous, so never shared between calls).
const NODE_SCRATCH = Buffer.alloc(1 + 2 * HASH_SIZE, NODE_PREFIX);

function hashNode(left: Buffer, right: Buffer): Buffer {
  left.copy(NODE_SCRATCH, 1);
  right.copy(NODE_SCRATCH, 1 + HASH_SIZE);
  return sha256(NODE_SCRATCH);
}

function hashLeafInto(leaf: Buffer, target: Buffer, offset: number): void {
  sha256(Buffer.concat([LEAF_PREFIX, leaf])).copy(target, offset);
}

function scratch(leaves: number): Buffer {
  return Buffer.allocUnsafe(Math.max(1, leaves) * HASH_SIZE);
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

// Tree sizes may exceed 2^31, so no 32-bit bitwise operators.
const isOdd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);
const isIndex = (n: number) => Number.isSafeInteger(n) && n >= 0;

function toBytes(value: HashInput, what: string): Buffer {
  if (typeof value === "string") {
    if (!HEX.test(value)) throw new TypeError(`${what}: expected hex text`);
    return Buffer.from(value, "hex");
  }
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`${what}: expected hex text or bytes`);
}

function toHash(value: HashInput, what: string): Buffer {
  const bytes = toBytes(value, what);
  if (bytes.length !== HASH_SIZE) throw new TypeError(`${what}: expected ${HASH_SIZE} bytes, got ${bytes.length}`);
  return bytes;
}

function maybeHash(value: HashInput): Buffer | null {
  try {
    return toHash(value, "hash");
  } catch {
    return null;
  }
}
