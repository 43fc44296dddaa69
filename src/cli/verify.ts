import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { verifyComplianceExportStream } from "../compliance/verify.js";
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from "./io.js";

/**
 * `vargate verify <export.json> [--public-key K]`: checks a compliance export offline, with nothing but the file
 * and the public key (a file holding it, or the key itself: PEM or raw base64). Prints the result as JSON on
 * stdout and each failure on stderr; exit code 0 valid, 1 not valid, 2 usage error.
 */
export async function verifyExportFile(path: string, options: { publicKey?: string }, io: CliIo): Promise<number> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`no such export file: ${path}`);
  const publicKey = options.publicKey === undefined ? undefined : readKey(options.publicKey);
  const result = await verifyComplianceExportStream(() => createReadStream(path), {
    ...(publicKey !== undefined && { publicKey }),
  });
  io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  if (result.public_key_source === "embedded") {
    io.stderr(
      "warning: checked with the public key embedded in the export; pass --public-key to check who signed it\n",
    );
  }
  if (result.valid) return EXIT_OK;
  for (const failure of result.failures) {
    const where = failure.action_id ? ` [action ${failure.action_id}]` : "";
    io.stderr(`FAILED ${failure.check}: ${failure.detail}${where}\n`);
  }
  io.stderr(`vargate: the export does NOT verify (${result.failures.length} failure(s))\n`);
  return EXIT_FAILURE;
}

// A key given inline (PEM, or 44 characters of base64), or the path of a file holding one.
function readKey(value: string): string {
  const trimmed = value.trim();
  if (trimmed.includes("-----BEGIN") || /^[A-Za-z0-9+/]{43}=$/.test(trimmed)) return trimmed;
  if (!existsSync(value)) throw new UsageError(`--public-key: not a key and no such file: ${value}`);
  const text = readFileSync(value, "utf8").trim();
  // A file may hold the JSON of GET /managed/checkpoints/public-key.
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { public_key_pem?: unknown };
      if (typeof parsed.public_key_pem === "string") return parsed.public_key_pem;
    } catch {
      // Not JSON after all: passed on as it is.
    }
  }
  return text;
}
