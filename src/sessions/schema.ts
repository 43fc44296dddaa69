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

const sessionStatus = z.enum(["pending", "active", "completed", "interrupted", "failed"]);

/** Live totals every session view carries (`sessionTotals`). */
const sessionTotalsShape = {
  total_governed_calls: z.number().int(),
  total_observed_calls: z.number().int(),
  total_denied: z.number().int(),
  total_pending: z.number().int(),
  approvals_used: z.number().int(),
  anomalies_detected: z.number().int(),
};

// Response schemas: each matches the type the governor method returns (test/http/openapi.test.ts checks).

/** Response of `POST /managed/sessions`: `CreatedSession`. */
export const createdSessionSchema = z.object({
  session_id: z.string(),
  anthropic_session_id: z.string().nullable(),
  tenant_id: z.string(),
  agent_id: z.string(),
  status: z.literal("active"),
  system_prompt_hash: z.string(),
  governance: z.literal("active"),
  mcp_server_url: z.string(),
  created_at: z.string(),
});

/** One entry of `GET /managed/sessions`. */
export const sessionListItemSchema = z.object({
  id: z.string(),
  anthropic_session_id: z.string().nullable(),
  agent_id: z.string(),
  status: sessionStatus,
  ...sessionTotalsShape,
  created_at: z.string(),
  ended_at: z.string().nullable(),
});

/** Response of `GET /managed/sessions/{id}`: `SessionStatusView`. */
export const sessionStatusSchema = z.object({
  session_id: z.string(),
  anthropic_session_id: z.string().nullable(),
  agent_id: z.string(),
  status: sessionStatus,
  ...sessionTotalsShape,
  system_prompt_hash: z.string(),
  created_at: z.string(),
  ended_at: z.string().nullable(),
  end_reason: z.string().nullable(),
});

/** Response of `POST /managed/sessions/{id}/interrupt`: `InterruptResult`. */
export const interruptResultSchema = z.object({
  status: z.literal("interrupted"),
  session_id: z.string(),
  reason: z.string(),
  interrupted_at: z.string(),
  auto_triggered: z.boolean(),
  audit_action_id: z.string(),
});

/** Response of `POST /managed/sessions/{id}/complete`. */
export const completedSessionSchema = z.object({
  status: z.literal("completed"),
  session_id: z.string(),
  ended_at: z.string(),
  audit_action_id: z.string(),
});
