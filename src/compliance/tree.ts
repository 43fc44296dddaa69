import { hash } from "node:crypto";
import { EMPTY_TREE_HASH, type LeafHashes } from "../merkle/index.js";

const HASH_SIZE = 32;

/**
 * Every level of the RFC 9162 tree over `leaves`, built once, so each inclusion proof is a walk of `log n` levels
 * instead of a rebuild of the tree (what `vargate/merkle`'s `inclusionProof` does per call). Pairing neighbours
 * level by level and carrying a lone last node up unchanged gives exactly RFC 9162's left-filled tree, so the
 * siblings met on the way up, leaf first, are the RFC's audit path. About 64 bytes per leaf.
 *
 * An adapter of the compliance export: `src/merkle` has no batch proof API.
 */
export class ProofTree {
  readonly size: number;
  readonly #levels: Buffer[] = [];

  constructor(leaves: LeafHashes, size: number = leaves.size) {
    this.size = size;
    let level = Buffer.from(leaves.view(0, size));
    this.#levels.push(level);
    const node = Buffer.allocUnsafe(1 + 2 * HASH_SIZE);
    node[0] = 0x01;
    let count = size;
    while (count > 1) {
      const pairs = Math.floor(count / 2);
      const next = Buffer.allocUnsafe((pairs + (count % 2)) * HASH_SIZE);
      for (let i = 0; i < pairs; i++) {
        level.copy(node, 1, 2 * i * HASH_SIZE, 2 * (i + 1) * HASH_SIZE);
        hash("sha256", node, "buffer").copy(next, i * HASH_SIZE);
      }
      if (count % 2 === 1) level.copy(next, pairs * HASH_SIZE, (count - 1) * HASH_SIZE, count * HASH_SIZE);
      level = next;
      count = pairs + (count % 2);
      this.#levels.push(level);
    }
  }

  /** The tree's root hash, hex (`SHA-256("")` for the empty tree). */
  root(): string {
    if (this.size === 0) return EMPTY_TREE_HASH;
    return (this.#levels.at(-1) as Buffer).subarray(0, HASH_SIZE).toString("hex");
  }

  /** The audit path of leaf `index` (0-based), leaf to root, hex: RFC 9162 §2.1.3.1 `PATH`. */
  proof(index: number): string[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`proof: index ${index} is outside a tree of ${this.size}`);
    }
    const path: string[] = [];
    let position = index;
    for (let l = 0; l < this.#levels.length - 1; l++) {
      const level = this.#levels[l] as Buffer;
      const count = level.length / HASH_SIZE;
      const sibling = position % 2 === 0 ? position + 1 : position - 1;
      if (sibling < count) path.push(level.subarray(sibling * HASH_SIZE, (sibling + 1) * HASH_SIZE).toString("hex"));
      position = Math.floor(position / 2);
    }
    return path;
  }
}
