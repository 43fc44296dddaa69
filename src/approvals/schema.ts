import * as z from "zod";

/** Body of `POST /managed/approvals/{action_id}/approve` and `/reject`. */
export const decideApprovalSchema = z.strictObject({
  note: z.string().max(2000).nullish(),
});

/** Query of `GET /managed/approvals`. */
export const listApprovalsQuerySchema = z.object({
  status: z.enum(["pending", "approved", "rejected", "expired"]).optional(),
  session_id: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export type DecideApprovalInput = z.input<typeof decideApprovalSchema>;
export type ListApprovalsQuery = z.input<typeof listApprovalsQuerySchema>;

/** An approval as the API returns it: `ApprovalRecord` (test/http/openapi.test.ts checks they match). */
export const approvalRecordSchema = z.object({
  action_id: z.string(),
  tenant_id: z.string(),
  session_id: z.string(),
  agent_id: z.string(),
  kind: z.enum(["governed_call", "builtin_tool"]),
  tool: z.string(),
  input: z.json(),
  input_digest: z.string(),
  upstream_event_id: z.string().nullable(),
  status: z.enum(["pending", "approved", "rejected", "expired"]),
  requested_at: z.string(),
  expires_at: z.string(),
  decided_at: z.string().nullable(),
  decided_by: z.string().nullable(),
  note: z.string().nullable(),
  execution: z.enum(["none", "claimed", "done"]),
  result: z.json().nullable(),
});
