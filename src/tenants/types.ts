/** A tenant and the limits its sessions run under. */
export interface TenantRecord {
  tenant_id: string;
  name: string;
  /** Active sessions running at once. Default 10. */
  max_concurrent_sessions: number;
  /** Sessions created in any 24-hour window. Default 50. */
  max_daily_sessions: number;
  /** Longest a session may run, and the default for agent configs that set none. Default 8. */
  max_session_hours: number;
  /** Replaces the default governance instructions of this tenant's sessions; `null` for the default. */
  governance_prompt_template: string | null;
  created_at: string;
}

/** What `tenants.update` may change. */
export type TenantChanges = Partial<
  Pick<
    TenantRecord,
    "name" | "max_concurrent_sessions" | "max_daily_sessions" | "max_session_hours" | "governance_prompt_template"
  >
>;

export const TENANT_DEFAULTS = {
  max_concurrent_sessions: 10,
  max_daily_sessions: 50,
  max_session_hours: 8,
} as const;

/** A stored API key. The key itself is never stored: only its SHA-256. */
export interface ApiKeyRecord {
  key_id: string;
  tenant_id: string;
  /** Lowercase hex SHA-256 of the full key. */
  key_hash: string;
  /** The first characters of the key (`vg-1a2b3c4d`), safe to show so people can tell keys apart. */
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}
