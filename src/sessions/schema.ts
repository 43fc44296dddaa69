import * as z from "zod";

/** Body of `POST /managed/sessions`. */
export const createSessionSchema = z.strictObject({
  agent_id: z.string().min(1).max(64),
  user_message: z.string().min(1).max(100_000).nullish(),
  environment_id: z.string().min(1).max(128).nullish(),
  /** Stored with the session and passed upstream; the platform allows 16 string pairs. */
  metadata: z
    .record(z.string().min(1).max(64), z.string().max(512))
    .refine((value) => Object.keys(value).length <= 16, { message: "At most 16 metadata entries" })
    .default({}),
});

/** Body of `POST /managed/sessions/{id}/interrupt`. */
export const interruptSessionSchema = z.strictObject({
  reason: z.string().min(1).max(1000),
  auto_triggered: z.boolean().default(false),
});

/** Query of `GET /managed/sessions`. */
export const listSessionsQuerySchema = z.object({
  status: z.enum(["active", "completed", "interrupted", "failed"]).optional(),
  agent_id: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** Query of `GET /managed/sessions/{id}/audit`. */
export const sessionAuditQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(200),
});

export type CreateSessionInput = z.input<typeof createSessionSchema>;
export type InterruptSessionInput = z.input<typeof interruptSessionSchema>;
export type ListSessionsQuery = z.input<typeof listSessionsQuerySchema>;
