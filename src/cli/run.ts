import { Command, CommanderError, Option } from "commander";
import { isVargateError, ValidationError } from "../errors.js";
import { verifyAudit } from "./audit.js";
import { listCredentials, setCredential } from "./credentials.js";
import { databaseSecrets, resolveDatabaseUrl } from "./database.js";
import { demo } from "./demo.js";
import { DEFAULT_REAL_DEMO_PORT } from "./demo-platform.js";
import { CliError, type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Redact, redactor } from "./io.js";
import { DEFAULT_HOST, DEFAULT_PORT, parsePort, type ServeOptions, serve } from "./serve.js";
import { createTenant } from "./tenants.js";
import { verifyExportFile } from "./verify.js";
import { VERSION } from "./version.js";

export type { CliIo } from "./io.js";
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./io.js";

/**
 * Runs the `vargate` command line with `argv` (the arguments after the program name) and resolves to the
 * process exit code: 0 success, 1 failure, 2 usage error. It never calls `process.exit`.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const state = { exitCode: EXIT_OK, secrets: [] as (string | undefined)[] };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (error) {
    return report(error, io, redactor(state.secrets));
  }
}

interface RunState {
  exitCode: number;
  /** Secrets in play (database password, JWT secret), redacted from anything printed. */
  secrets: (string | undefined)[];
}

function buildProgram(io: CliIo, state: RunState): Command {
  const program = new Command("vargate")
    .description(
      "Governance for Anthropic Managed Agents: serve the /managed/ REST API, manage tenants, verify audit chains.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
    });
  program.addHelpText(
    "after",
    `
Exit codes: 0 success, 1 failure (broken audit chain, duplicate tenant, database unavailable), 2 usage error.
Documentation: docs/cli.md`,
  );

  program
    .command("serve")
    .description("start the /managed/ REST API over HTTP (runs migrations first)")
    .option("-p, --port <port>", `port to listen on, 0 for any free port (default: ${DEFAULT_PORT}, env: PORT)`)
    .option("--host <host>", "interface to bind", DEFAULT_HOST)
    .addOption(databaseOption())
    .option(
      "--jwt-secret <secret>",
      "accept HS256 JWTs signed with this secret, at least 32 bytes (env: VARGATE_JWT_SECRET)",
    )
    .option(
      "--public-url <url>",
      "base URL the Managed Agents platform uses to reach this server's MCP endpoint (env: VARGATE_PUBLIC_URL)",
    )
    .option(
      "--config <file>",
      "tools config file: declarative HTTP tools to serve as governed tools (env: VARGATE_TOOLS_CONFIG)",
    )
    .addHelpText(
      "after",
      `
Governed sessions need ANTHROPIC_API_KEY (and optionally ANTHROPIC_BASE_URL), a public URL, and optionally
VARGATE_ENVIRONMENT_ID for the default environment. Tools that need credentials read them from the credential
store, encrypted under VARGATE_CREDENTIAL_KEY (docs/tools-and-credentials.md).
Prints one line "vargate listening on http://HOST:PORT" on stdout once ready; logs are JSON lines on stderr.
SIGINT or SIGTERM stops it cleanly. Prefer VARGATE_JWT_SECRET over --jwt-secret: arguments are visible to other users.`,
    )
    .action(async (options: ServeOptions) => {
      state.secrets.push(
        ...databaseSecrets(resolveDatabaseUrl(options, io)),
        options.jwtSecret ?? io.env.VARGATE_JWT_SECRET,
        io.env.ANTHROPIC_API_KEY,
        io.env.VARGATE_CREDENTIAL_KEY,
      );
      state.exitCode = await serve(options, io, redactor(state.secrets));
    });

  const tenants = program.command("tenants").description("manage tenants and their API keys");
  tenants
    .command("create")
    .description("create a tenant and print its first API key as JSON (shown once; only its hash is stored)")
    .argument("<tenant_id>", "1-64 characters of a-z, 0-9, '.', '_' or '-', starting alphanumeric")
    .option("--name <name>", "display name (default: the tenant id)")
    .addOption(databaseOption())
    .action(async (tenantId: string, options: { name?: string; database?: string }) => {
      state.secrets.push(...databaseSecrets(resolveDatabaseUrl(options, io)));
      state.exitCode = await createTenant(tenantId, options, io);
    });

  const credentials = program
    .command("credentials")
    .description("manage brokered credentials (encrypted with VARGATE_CREDENTIAL_KEY)");
  credentials
    .command("set")
    .description(
      'store a credential read from standard input, e.g. printf %s "$TOKEN" | vargate credentials set acme crm',
    )
    .argument("<tenant_id>", "the tenant")
    .argument("<name>", "the credential name tools ask for")
    .addOption(databaseOption())
    .action(async (tenantId: string, name: string, options: { database?: string }) => {
      state.secrets.push(...databaseSecrets(resolveDatabaseUrl(options, io)), io.env.VARGATE_CREDENTIAL_KEY);
      state.exitCode = await setCredential(tenantId, name, options, io);
    });
  credentials
    .command("list")
    .description("print the tenant's credential names as JSON (never the secrets)")
    .argument("<tenant_id>", "the tenant")
    .addOption(databaseOption())
    .action(async (tenantId: string, options: { database?: string }) => {
      state.secrets.push(...databaseSecrets(resolveDatabaseUrl(options, io)));
      state.exitCode = await listCredentials(tenantId, options, io);
    });

  const audit = program.command("audit").description("inspect the tamper-evident audit log");
  audit
    .command("verify")
    .description("verify audit hash chains and print the result as JSON; exit code 1 if any chain is broken")
    .option("--tenant <tenant_id>", "verify only this tenant (default: every tenant)")
    .addOption(databaseOption())
    .action(async (options: { tenant?: string; database?: string }) => {
      state.secrets.push(...databaseSecrets(resolveDatabaseUrl(options, io)));
      state.exitCode = await verifyAudit(options, io);
    });

  program
    .command("verify")
    .description("verify a compliance export offline; exit code 1 if it does not verify")
    .argument("<export.json>", "the export (GET /managed/sessions/{id}/compliance)")
    .option(
      "--public-key <key>",
      "the tenant's checkpoint public key, obtained independently: a file (PEM, raw base64 or the public-key JSON) or the key itself (default: the key embedded in the export)",
    )
    .action(async (path: string, options: { publicKey?: string }) => {
      state.exitCode = await verifyExportFile(path, options, io);
    });

  program
    .command("demo")
    .description(
      "play one governed session end to end and print its evidence (the fake platform, or the real API when ANTHROPIC_API_KEY and VARGATE_PUBLIC_URL are set)",
    )
    .option("--real", "require the real Managed Agents API (ANTHROPIC_API_KEY and VARGATE_PUBLIC_URL)")
    .option("--fake", "use the fake platform even when ANTHROPIC_API_KEY is set")
    .option(
      "--port <port>",
      `port the real API reaches through VARGATE_PUBLIC_URL (default: ${DEFAULT_REAL_DEMO_PORT})`,
    )
    .action(async ({ port, ...options }: { real?: boolean; fake?: boolean; port?: string }) => {
      const colour = process.stdout.isTTY === true && io.env.NO_COLOR === undefined;
      state.exitCode = await demo({ ...options, ...(port !== undefined && { port: parsePort(port) }), colour }, io);
    });

  return program;
}

function databaseOption(): Option {
  return new Option(
    "-d, --database <url>",
    "SQLite file path, postgres://... or mysql://... (default: ./vargate.db, env: VARGATE_DATABASE_URL)",
  );
}

function report(error: unknown, io: CliIo, redact: Redact): number {
  // Commander has already printed its own message (or the help/version text).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;

  const print = (message: string) => io.stderr(`vargate: ${redact(message)}\n`);
  if (error instanceof CliError) {
    print(error.message);
    return error.exitCode;
  }
  if (error instanceof ValidationError) {
    const issues = error.issues.map(
      (issue) => `${issue.loc.filter((part) => part !== "options").join(".")}: ${issue.msg}`,
    );
    print(`invalid arguments: ${issues.join("; ")}`);
    return EXIT_USAGE;
  }
  if (isVargateError(error, "INVALID_CONFIG")) {
    print(error.message);
    return EXIT_USAGE;
  }
  if (isVargateError(error, "STORAGE_ERROR")) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    print(`storage error: ${error.message}${cause}`);
    return EXIT_FAILURE;
  }
  if (isVargateError(error)) {
    print(error.message);
    return EXIT_FAILURE;
  }
  print(`unexpected error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  return EXIT_FAILURE;
}
