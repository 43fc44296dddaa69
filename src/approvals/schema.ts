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
