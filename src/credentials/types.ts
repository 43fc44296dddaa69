/** A stored credential: only ciphertext, never the secret. */
export interface CredentialRecord {
  tenant_id: string;
  /** The name tools ask for, e.g. `stripe` or `crm_token`. */
  name: string;
  /** Opaque to storage: what the credential store wrote (for the default store, AES-256-GCM output, base64). */
  ciphertext: string;
  created_at: string;
  updated_at: string;
}
