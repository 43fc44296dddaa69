import * as z from "zod";

const positive = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** `GET /managed/checkpoints` query. */
export const listCheckpointsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** `GET /managed/audit/proofs/inclusion` query: `tree_size` defaults to the latest checkpoint's. */
export const inclusionProofQuerySchema = z.object({ seq: positive, tree_size: positive.optional() });

/** `GET /managed/audit/proofs/consistency` query: `to` defaults to the latest checkpoint's size. */
export const consistencyProofQuerySchema = z.object({ from: positive, to: positive.optional() });
