import type { JsonObject } from "../json.js";

/** One version of a tenant's policy document. Versions start at 1 and never change once stored. */
export interface PolicyRecord {
  tenant_id: string;
  version: number;
  document: JsonObject;
  created_at: string;
  created_by: string | null;
}
