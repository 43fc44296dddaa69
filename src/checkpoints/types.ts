/**
 * A signed Merkle checkpoint of one tenant's audit chain: the RFC 9162 tree over the `record_hash` of records
 * `1..tree_size`, its root, when it was taken and the Ed25519 signature over `checkpointSigningBytes()`.
 */
export interface CheckpointRecord {
  tenant_id: string;
  /** How many records the tree covers: records with `seq` 1 to `tree_size`. */
  tree_size: number;
  /** The tree's root hash, lowercase hex. */
  root_hash: string;
  /** When the checkpoint was taken: RFC 3339, UTC, milliseconds. */
  timestamp: string;
  /** The signing key: the first 16 hex characters of SHA-256 of the raw 32-byte Ed25519 public key. */
  key_id: string;
  /** Ed25519 signature, base64. */
  signature: string;
}
