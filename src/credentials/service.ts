import * as z from "zod";
import type { ActorOptions } from "../agents/service.js";
import { controlPlaneEntry } from "../audit/entries.js";
import type { GovernorContext } from "../context.js";
import { CREDENTIAL_NAME_PATTERN } from "../tools/define.js";
import { parseInput } from "../validation.js";
import type { CredentialStore } from "./store.js";

const credentialName = z.string().regex(CREDENTIAL_NAME_PATTERN, "1-64 characters of a-z, A-Z, 0-9, '_' or '-'");
const putCredentialSchema = z.strictObject({ name: credentialName, secret: z.string().min(1).max(16_384) });

/**
 * Brokered credentials: `governor.credentials`. Tools name the credentials they need; the secret is read only when
 * an allowed call runs. Changes are audited by name; the secret never reaches a record, a log or a response.
 */
export class Credentials {
  readonly #context: GovernorContext;
  readonly #store: () => CredentialStore;

  constructor(context: GovernorContext, store: () => CredentialStore) {
    this.#context = context;
    this.#store = store;
  }

  /** Stores or replaces a tenant's credential. */
  async put(tenantId: string, name: string, secret: string, options: ActorOptions = {}): Promise<void> {
    const body = parseInput(putCredentialSchema, { name, secret }, "options");
    const audit = controlPlaneEntry(this.#context, { method: "put_credential", actor: options.actor, input: { name } });
    await this.#store().put(tenantId, body.name, body.secret, audit);
  }

  /** Removes a credential. Returns whether it existed. */
  async delete(tenantId: string, name: string, options: ActorOptions = {}): Promise<boolean> {
    const audit = controlPlaneEntry(this.#context, {
      method: "delete_credential",
      actor: options.actor,
      input: { name },
    });
    return this.#store().delete(tenantId, name, audit);
  }

  /** The tenant's credential names (never the secrets). */
  async list(tenantId: string): Promise<string[]> {
    return this.#store().list(tenantId);
  }

  /** The store itself, for the tool executor. */
  store(): CredentialStore {
    return this.#store();
  }
}
