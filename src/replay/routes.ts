import * as z from "zod";
import { MAX_REPLAY_LIMIT, parseCandidatePolicy, type TenantReplayOptions } from "./service.js";

/** Body of `POST /managed/sessions/{id}/replay` (without `limit`) and `POST /managed/replay`. */
export const replayBodySchema = z.strictObject({
  policy: z.unknown().optional(),
  limit: z.number().int().min(1).max(MAX_REPLAY_LIMIT).optional(),
});

/** Body of `POST /managed/sessions/{id}/replay`: a session replays all its decisions, so it takes no `limit`. */
export const sessionReplayBodySchema = replayBodySchema.omit({ limit: true });

/** Options for `governor.replay` from a parsed body; a bad candidate is a 422 naming `["body", "policy", ...]`. */
export function replayOptionsFromBody(body: { policy?: unknown; limit?: number }): TenantReplayOptions {
  return {
    ...(body.policy !== undefined && { policy: parseCandidatePolicy(body.policy, "body") }),
    ...(body.limit !== undefined && { limit: body.limit }),
  };
}
