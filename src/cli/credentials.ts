import { encryptedCredentialStore } from "../credentials/encrypted-store.js";
import { VargateGovernor } from "../governor.js";
import { type DatabaseOption, openStorage, resolveDatabaseUrl } from "./database.js";
import { type CliIo, EXIT_OK, printJson, UsageError } from "./io.js";
import { CLI_ACTOR } from "./tenants.js";

/**
 * `vargate credentials set <tenant_id> <name>`: stores a brokered credential, read from standard input (one
 * trailing newline removed) so it never appears in the process list or shell history. Encrypted with
 * `VARGATE_CREDENTIAL_KEY`. Prints `{"tenant_id", "name", "stored": true}`.
 */
export async function setCredential(
  tenantId: string,
  name: string,
  options: DatabaseOption,
  io: CliIo,
): Promise<number> {
  if (!io.readStdin) throw new UsageError("the secret is read from standard input, which is not available");
  const secret = (await io.readStdin()).replace(/\r?\n$/, "");
  if (secret === "") throw new UsageError('no secret on standard input (pipe it in: printf %s "$SECRET" | vargate …)');
  const storage = await openStorage(resolveDatabaseUrl(options, io));
  try {
    // Inside the try: a bad VARGATE_CREDENTIAL_KEY throws here, and the storage must still be closed.
    const governor = new VargateGovernor({
      storage,
      credentialStore: encryptedCredentialStore({ records: storage.credentials, key: io.env.VARGATE_CREDENTIAL_KEY }),
    });
    await governor.tenants.get(tenantId);
    await governor.credentials.put(tenantId, name, secret, { actor: CLI_ACTOR });
    printJson(io, { tenant_id: tenantId, name, stored: true });
    return EXIT_OK;
  } finally {
    // The governor was never started, so closing its storage is all `governor.close()` would do.
    await storage.close();
  }
}

/** `vargate credentials list <tenant_id>`: the tenant's credential names (never the secrets). */
export async function listCredentials(tenantId: string, options: DatabaseOption, io: CliIo): Promise<number> {
  // Listing names needs no key: it reads the stored names, never the ciphertext.
  const storage = await openStorage(resolveDatabaseUrl(options, io));
  const governor = new VargateGovernor({ storage });
  try {
    await governor.tenants.get(tenantId);
    printJson(io, { tenant_id: tenantId, credentials: await storage.credentials.list(tenantId) });
    return EXIT_OK;
  } finally {
    await governor.close();
  }
}
