import { isVargateError } from "../errors.js";
import { VargateGovernor } from "../governor.js";
import { type DatabaseOption, openStorage, resolveDatabaseUrl } from "./database.js";
import { CliError, type CliIo, EXIT_OK, printJson } from "./io.js";

/** The `actor` of audit records the CLI writes. */
export const CLI_ACTOR = "vargate-cli";

export interface CreateTenantOptions extends DatabaseOption {
  name?: string;
}

/**
 * `vargate tenants create <tenant_id>`: creates the tenant and its first API key, and prints
 * `{"tenant_id", "key_id", "api_key"}`. The key is shown this once; only its hash is stored.
 */
export async function createTenant(tenantId: string, options: CreateTenantOptions, io: CliIo): Promise<number> {
  const storage = await openStorage(resolveDatabaseUrl(options, io));
  const governor = new VargateGovernor({ storage });
  try {
    const issued = await governor.tenants
      .create({ tenant_id: tenantId, ...(options.name !== undefined && { name: options.name }) }, { actor: CLI_ACTOR })
      .catch((error: unknown) => {
        if (isVargateError(error, "TENANT_EXISTS")) throw new CliError(`tenant "${tenantId}" already exists`);
        throw error;
      });
    printJson(io, { tenant_id: issued.tenant_id, key_id: issued.key_id, api_key: issued.api_key });
    return EXIT_OK;
  } finally {
    await governor.close();
  }
}
