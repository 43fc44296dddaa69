import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, run } from "../../src/cli/run.js";
import { VERSION } from "../../src/cli/version.js";
import { VargateGovernor } from "../../src/index.js";
import { kyselyStorageFromUrl } from "../../src/storage/kysely/index.js";
import { captureIo, ROOT, tempDir } from "./helpers.js";

const temp = tempDir();
afterAll(() => temp.cleanup());

let counter = 0;
/** A fresh SQLite file path in the temp directory. */
function freshDb(): string {
  counter += 1;
  return join(temp.dir, `run-${counter}.db`);
}

const API_KEY = /^vg-[0-9a-f]{48}$/;

describe("help and version", () => {
  it.each([
    [["--help"], "Usage: vargate [options] [command]"],
    [["serve", "--help"], "Usage: vargate serve [options]"],
    [["tenants", "--help"], "Usage: vargate tenants [options] [command]"],
    [["tenants", "create", "--help"], "Usage: vargate tenants create [options] <tenant_id>"],
    [["audit", "--help"], "Usage: vargate audit [options] [command]"],
    [["audit", "verify", "--help"], "Usage: vargate audit verify [options]"],
    [["help", "serve"], "Usage: vargate serve [options]"],
  ])("%j prints usage and exits 0", async (argv, usage) => {
    const io = captureIo();
    expect(await run(argv, io)).toBe(EXIT_OK);
    expect(io.out()).toContain(usage);
    expect(io.err()).toBe("");
  });

  it("documents every option with its environment variable", async () => {
    const io = captureIo();
    await run(["serve", "--help"], io);
    for (const text of [
      "--port",
      "PORT",
      "--host",
      "127.0.0.1",
      "--database",
      "VARGATE_DATABASE_URL",
      "./vargate.db",
    ]) {
      expect(io.out()).toContain(text);
    }
    expect(io.out()).toContain("VARGATE_JWT_SECRET");
  });

  it("prints the package version", async () => {
    const io = captureIo();
    expect(await run(["--version"], io)).toBe(EXIT_OK);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(io.out()).toBe(`${pkg.version}\n`);
  });

  it.each([[["bogus"]], [["serve", "--bogus"]], [["tenants"]], [["tenants", "create"]], [[]]])(
    "%j is a usage error (exit 2, message on stderr)",
    async (argv) => {
      const io = captureIo();
      expect(await run(argv, io)).toBe(EXIT_USAGE);
      expect(io.err()).not.toBe("");
      expect(io.out()).toBe("");
    },
  );
});

describe("vargate tenants create", () => {
  it("creates a tenant and prints its id, key id and API key as JSON", async () => {
    const database = freshDb();
    const io = captureIo();
    expect(await run(["tenants", "create", "acme", "--database", database], io)).toBe(EXIT_OK);
    const printed = JSON.parse(io.out()) as Record<string, string>;
    expect(Object.keys(printed).sort()).toEqual(["api_key", "key_id", "tenant_id"]);
    expect(printed.tenant_id).toBe("acme");
    expect(printed.key_id).toMatch(/^key-[0-9a-f]{16}$/);
    expect(printed.api_key).toMatch(API_KEY);
    expect(io.err()).toBe("");
  });

  it("stores the name and only the key's hash", async () => {
    const database = freshDb();
    const io = captureIo();
    await run(["tenants", "create", "acme", "--name", "Acme Corp", "--database", database], io);
    const { api_key } = JSON.parse(io.out()) as { api_key: string };
    const bytes = Buffer.concat(
      [database, `${database}-wal`].filter((file) => existsSync(file)).map((file) => readFileSync(file)),
    );
    expect(bytes.includes(Buffer.from("Acme Corp"))).toBe(true);
    expect(bytes.includes(Buffer.from(api_key))).toBe(false);
  });

  it("records the tenant's creation in its audit chain with actor vargate-cli", async () => {
    const database = freshDb();
    await run(["tenants", "create", "acme", "--name", "Acme Corp", "--database", database], captureIo());
    const governor = new VargateGovernor({ storage: kyselyStorageFromUrl(database) });
    try {
      expect(await governor.tenants.get("acme")).toMatchObject({ tenant_id: "acme", name: "Acme Corp" });
      const records = [];
      for await (const record of governor.audit.records("acme")) records.push(record);
      expect(records).toMatchObject([{ seq: 1, method: "create_tenant", actor: "vargate-cli" }]);
    } finally {
      await governor.close();
    }
  });

  it("refuses a duplicate tenant with exit 1 and prints no key", async () => {
    const database = freshDb();
    expect(await run(["tenants", "create", "acme", "--database", database], captureIo())).toBe(EXIT_OK);
    const io = captureIo();
    expect(await run(["tenants", "create", "acme", "--database", database], io)).toBe(EXIT_FAILURE);
    expect(io.err()).toBe('vargate: tenant "acme" already exists\n');
    expect(io.out()).toBe("");
  });

  it.each(["Acme", "has space", "_leading-underscore", "x".repeat(65), "semi;colon"])(
    "refuses the bad tenant id %j with exit 2 and stores nothing",
    async (tenantId) => {
      const database = freshDb();
      const io = captureIo();
      expect(await run(["tenants", "create", tenantId, "--database", database], io)).toBe(EXIT_USAGE);
      expect(io.err()).toMatch(/^vargate: invalid arguments: tenant_id: /);
      expect(io.out()).toBe("");
      const verify = captureIo();
      await run(["audit", "verify", "--database", database], verify);
      expect(JSON.parse(verify.out())).toEqual({ valid: true, tenants: [] });
    },
  );

  it("reads the database from VARGATE_DATABASE_URL when --database is absent", async () => {
    const database = freshDb();
    const io = captureIo({ VARGATE_DATABASE_URL: database });
    expect(await run(["tenants", "create", "acme"], io)).toBe(EXIT_OK);
    expect(existsSync(database)).toBe(true);
    const verify = captureIo();
    await run(["audit", "verify", "--tenant", "acme", "--database", database], verify);
    expect(JSON.parse(verify.out())).toMatchObject({ tenant_id: "acme", valid: true, record_count: 1 });
  });
});

describe("vargate audit verify", () => {
  it("verifies every tenant and prints {valid, tenants}", async () => {
    const database = freshDb();
    await run(["tenants", "create", "acme", "--database", database], captureIo());
    await run(["tenants", "create", "beta", "--database", database], captureIo());
    const io = captureIo();
    expect(await run(["audit", "verify", "--database", database], io)).toBe(EXIT_OK);
    const result = JSON.parse(io.out()) as { valid: boolean; tenants: { tenant_id: string; valid: boolean }[] };
    expect(result.valid).toBe(true);
    expect(result.tenants.map((t) => [t.tenant_id, t.valid])).toEqual([
      ["acme", true],
      ["beta", true],
    ]);
    expect(io.err()).toBe("");
  });

  it("prints one tenant's ChainVerification with --tenant", async () => {
    const database = freshDb();
    await run(["tenants", "create", "acme", "--database", database], captureIo());
    const io = captureIo();
    expect(await run(["audit", "verify", "--tenant", "acme", "--database", database], io)).toBe(EXIT_OK);
    expect(JSON.parse(io.out())).toEqual({
      tenant_id: "acme",
      valid: true,
      record_count: 1,
      head_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("reports an unknown tenant with exit 1", async () => {
    const database = freshDb();
    await run(["tenants", "create", "acme", "--database", database], captureIo());
    const io = captureIo();
    expect(await run(["audit", "verify", "--tenant", "nobody", "--database", database], io)).toBe(EXIT_FAILURE);
    expect(io.err()).toBe('vargate: tenant "nobody" not found\n');
  });

  it("refuses a SQLite path that does not exist instead of verifying an empty new database", async () => {
    const database = join(temp.dir, "missing", "nothing.db");
    const io = captureIo();
    expect(await run(["audit", "verify", "--database", database], io)).toBe(EXIT_FAILURE);
    expect(io.err()).toContain("database file not found");
    expect(existsSync(database)).toBe(false);
  });
});

describe("secrets", () => {
  it("never prints the database password, even when the database is unreachable", async () => {
    const io = captureIo();
    const code = await run(["audit", "verify", "--database", "postgres://vargate:s3cret-pw@127.0.0.1:1/none"], io);
    expect(code).toBe(EXIT_FAILURE);
    expect(io.err()).toMatch(/^vargate: /);
    expect(`${io.out()}${io.err()}`).not.toContain("s3cret-pw");
  });
});

describe("vargate serve (in-process)", () => {
  const controllers: AbortController[] = [];
  const blockers: Server[] = [];
  afterEach(async () => {
    for (const controller of controllers.splice(0)) controller.abort();
    for (const server of blockers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  async function startServe(args: string[], env: Record<string, string> = {}) {
    const controller = new AbortController();
    controllers.push(controller);
    const io = captureIo(env, controller.signal);
    const exit = run(["serve", "--port", "0", ...args], io);
    const ready = io.waitForStdout(/^vargate listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/);
    const first = await Promise.race([ready, exit]);
    if (typeof first === "number") throw new Error(`serve exited with ${first}: ${io.err()}`);
    return { io, exit, url: first[1] as string, stop: () => controller.abort() };
  }

  it("prints exactly one listening line with the bound port, serves, and stops cleanly on abort", async () => {
    const database = freshDb();
    const server = await startServe(["--database", database]);
    expect(Number(new URL(server.url).port)).toBeGreaterThan(0);
    const response = await fetch(`${server.url}/managed/agents`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "UNAUTHORIZED" });
    server.stop();
    expect(await server.exit).toBe(EXIT_OK);
    expect(server.io.out().split("\n")).toEqual([`vargate listening on ${server.url}`, ""]);
    await expect(fetch(`${server.url}/managed/agents`)).rejects.toThrow();
  });

  it("migrates a fresh database and accepts keys created while it runs", async () => {
    const database = freshDb();
    const server = await startServe(["--database", database]);
    const created = captureIo();
    await run(["tenants", "create", "acme", "--database", database], created);
    const { api_key } = JSON.parse(created.out()) as { api_key: string };
    const response = await fetch(`${server.url}/managed/agents`, {
      method: "POST",
      headers: { "x-api-key": api_key, "content-type": "application/json" },
      body: JSON.stringify({ name: "Research Assistant" }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ tenant_id: "acme", name: "Research Assistant" });
  });

  it("accepts HS256 JWTs when VARGATE_JWT_SECRET is set", async () => {
    const database = freshDb();
    const secret = "a-test-secret-that-is-at-least-32-bytes-long";
    await run(["tenants", "create", "acme", "--database", database], captureIo());
    const server = await startServe(["--database", database], { VARGATE_JWT_SECRET: secret });
    const token = await new SignJWT({ tenant_id: "acme" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("user-1")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(secret));
    const response = await fetch(`${server.url}/managed/agents`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ configs: [], count: 0 });
    expect(`${server.io.out()}${server.io.err()}${JSON.stringify(server.io.logs)}`).not.toContain(secret);
  });

  it("reads the port from PORT", async () => {
    const database = freshDb();
    const controller = new AbortController();
    controllers.push(controller);
    const io = captureIo({ PORT: "0" }, controller.signal);
    const exit = run(["serve", "--database", database], io);
    await io.waitForStdout(/^vargate listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    controller.abort();
    expect(await exit).toBe(EXIT_OK);
  });

  it.each([["abc"], ["-1"], ["65536"], ["80.5"]])("refuses --port %s with exit 2", async (port) => {
    const io = captureIo();
    expect(await run(["serve", "--port", port, "--database", freshDb()], io)).toBe(EXIT_USAGE);
    expect(io.err()).toContain("invalid port");
    expect(io.out()).toBe("");
  });

  it("refuses a JWT secret shorter than 32 bytes with exit 2 without echoing it", async () => {
    const io = captureIo();
    expect(await run(["serve", "--port", "0", "--jwt-secret", "too-short-secret", "--database", freshDb()], io)).toBe(
      EXIT_USAGE,
    );
    expect(io.err()).toContain("at least 32 bytes");
    expect(io.err()).not.toContain("too-short-secret");
  });

  it("reports a port in use with exit 1", async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    const io = captureIo();
    expect(await run(["serve", "--port", String(port), "--database", freshDb()], io)).toBe(EXIT_FAILURE);
    expect(io.err()).toContain("address already in use");
    expect(io.out()).toBe("");
  });
});
