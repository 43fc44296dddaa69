import type { ChainVerification } from "../audit/types.js";
import { isVargateError } from "../errors.js";
import { VargateGovernor } from "../governor.js";
import { type DatabaseOption, openStorage, resolveDatabaseUrl } from "./database.js";
import { CliError, type CliIo, EXIT_FAILURE, EXIT_OK, printJson } from "./io.js";

export interface VerifyOptions extends DatabaseOption {
  tenant?: string;
}

/** What `vargate audit verify` prints without `--tenant`. */
export interface VerifyAllResult {
  valid: boolean;
  tenants: ChainVerification[];
}

/**
 * `vargate audit verify [--tenant T]`: walks the hash chain of one tenant (printing its ChainVerification) or
 * of every tenant (printing `{valid, tenants}`). Exit code 1 when any chain is broken.
 */
export async function verifyAudit(options: VerifyOptions, io: CliIo): Promise<number> {
  const storage = await openStorage(resolveDatabaseUrl(options, io), { mustExist: true });
  const governor = new VargateGovernor({ storage });
  try {
    let results: ChainVerification[];
    if (options.tenant !== undefined) {
      await governor.tenants.get(options.tenant).catch((error: unknown) => {
        if (isVargateError(error, "TENANT_NOT_FOUND")) throw new CliError(`tenant "${options.tenant}" not found`);
        throw error;
      });
      results = [await governor.audit.verify(options.tenant)];
      printJson(io, results[0]);
    } else {
      results = await governor.audit.verifyAll();
      const all: VerifyAllResult = { valid: results.every((result) => result.valid), tenants: results };
      printJson(io, all);
    }
    for (const result of results) {
      if (!result.valid) io.stderr(`vargate: ${describeBreak(result)}\n`);
    }
    return results.every((result) => result.valid) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await governor.close();
  }
}

function describeBreak(result: ChainVerification): string {
  const action = result.failed_at_action_id ? ` (action_id ${result.failed_at_action_id})` : "";
  return `audit chain of tenant "${result.tenant_id}" is broken at seq ${result.failed_at_seq}${action}: ${result.reason}`;
}
