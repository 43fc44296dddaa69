import type { AuditEntry } from "../audit/types.js";

/**
 * The credential port: where brokered secrets live. Tools name the credentials they need; the governor reads them
 * only when an allowed call executes, and never returns, logs or audits them.
 *
 * `encryptedCredentialStore()` (the default) keeps them in vargate's storage, encrypted with AES-256-GCM. Another
 * implementation (a cloud secret manager, an HSM) receives each change's audit entry and must record it, e.g. with
 * `storage.audit.append`, so that every change stays on the chain.
 */
export interface CredentialStore {
  /** The secret, for one execution. `null` when the tenant has no such credential. */
  get(tenantId: string, name: string): Promise<string | null>;
  /** Stores or replaces a secret, with the audit record of the change (which holds the name, never the secret). */
  put(tenantId: string, name: string, secret: string, audit: AuditEntry): Promise<void>;
  /** Removes a secret, with its audit record. Returns whether one existed. */
  delete(tenantId: string, name: string, audit: AuditEntry): Promise<boolean>;
  /** The tenant's credential names, sorted. */
  list(tenantId: string): Promise<string[]>;
}
