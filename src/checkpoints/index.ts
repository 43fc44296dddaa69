export {
  type CheckpointOptions,
  Checkpoints,
  type ConsistencyProofView,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  type InclusionProofView,
} from "./service.js";
export {
  CHECKPOINT_SIGNATURE_CONTEXT,
  type CheckpointBody,
  type CheckpointPublicKey,
  checkpointKeyId,
  checkpointSigningBytes,
  exportPublicKey,
  signCheckpoint,
  signMessage,
  verifyCheckpointSignature,
  verifySignature,
} from "./signing.js";
export type { CheckpointRecord } from "./types.js";
