// The CLI against PostgreSQL and MySQL/MariaDB (when VARGATE_TEST_POSTGRES_URL / VARGATE_TEST_MYSQL_URL are set):
// tenants create, audit verify (including a tampered record) and serve, each in a schema or database of its own.
import { randomBytes } from "node:crypto";
import { createConnection } from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_FAILURE, EXIT_OK, run } from "../../src/cli/run.js";
import { captureIo } from "./helpers.js";

const required = (process.env.VARGATE_TEST_REQUIRE_DATABASES ?? "").split(",").map((name) => name.trim());

interface Server {
  label: string;
  name: "postgres" | "mysql";
  envVar: string;
  url: string | undefined;
  /** Creates an empty schema/database; returns the URL the CLI should use and how to run SQL and clean up. */
  create(
    url: string,
  ): Promise<{ url: string; exec: (sql: string, params: unknown[]) => Promise<void>; drop: () => Promise<void> }>;
}

const SERVERS: Server[] = [
  {
    label: "PostgreSQL",
    name: "postgres",
    envVar: "VARGATE_TEST_POSTGRES_URL",
    url: process.env.VARGATE_TEST_POSTGRES_URL || undefined,
    async create(url) {
      const schema = `vargate_cli_${randomBytes(6).toString("hex")}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE SCHEMA ${schema}`);
      const scoped = new URL(url);
      scoped.searchParams.set("options", `-c search_path=${schema}`);
      return {
        url: scoped.toString(),
        exec: async (sql, params) => {
          await client.query(`SET search_path TO ${schema}`);
          await client.query(
            sql.replace(/\?/g, (_, offset: number) => `$${sql.slice(0, offset).split("?").length}`),
            params,
          );
        },
        drop: async () => {
          await client.query(`DROP SCHEMA ${schema} CASCADE`);
          await client.end();
        },
      };
    },
  },
  {
    label: "MySQL/MariaDB",
    name: "mysql",
    envVar: "VARGATE_TEST_MYSQL_URL",
    url: process.env.VARGATE_TEST_MYSQL_URL || undefined,
    async create(url) {
      const database = `vargate_cli_${randomBytes(6).toString("hex")}`;
      const connection = await createConnection({ uri: url });
      await connection.query(`CREATE DATABASE ${database}`);
      const scoped = new URL(url);
      scoped.pathname = `/${database}`;
      return {
        url: scoped.toString(),
        exec: async (sql, params) => {
          await connection.query(`USE ${database}`);
          await connection.query(sql, params);
        },
        drop: async () => {
          await connection.query(`DROP DATABASE ${database}`);
          await connection.end();
        },
      };
    },
  },
];

for (const server of SERVERS) {
  describe(`vargate CLI on ${server.label}`, () => {
    // Registered only when it fails, so a complete CI run shows no skipped guard.
    if (!server.url && required.includes(server.name)) {
      it(`is required but ${server.envVar} is not set`, () => {
        expect.fail(`VARGATE_TEST_REQUIRE_DATABASES lists ${server.name} but ${server.envVar} is not set`);
      });
    }

    describe.skipIf(!server.url)(`${server.label} (${server.envVar})`, () => {
      let database: Awaited<ReturnType<Server["create"]>>;
      beforeAll(async () => {
        database = await server.create(server.url as string);
      });
      afterAll(async () => {
        await database?.drop();
      });

      it("creates a tenant, refuses a duplicate, and verifies the chain", async () => {
        const created = captureIo();
        expect(await run(["tenants", "create", "acme", "--database", database.url], created)).toBe(EXIT_OK);
        expect(JSON.parse(created.out())).toMatchObject({ tenant_id: "acme", api_key: expect.stringMatching(/^vg-/) });

        const duplicate = captureIo();
        expect(await run(["tenants", "create", "acme", "--database", database.url], duplicate)).toBe(EXIT_FAILURE);
        expect(duplicate.err()).toBe('vargate: tenant "acme" already exists\n');

        const verified = captureIo();
        expect(await run(["audit", "verify", "--database", database.url], verified)).toBe(EXIT_OK);
        expect(JSON.parse(verified.out())).toMatchObject({
          valid: true,
          tenants: [{ tenant_id: "acme", valid: true }],
        });
      });

      it("serves the REST API with a key from tenants create, and verify catches a direct edit", async () => {
        const created = captureIo();
        await run(["tenants", "create", "beta", "--database", database.url], created);
        const { api_key } = JSON.parse(created.out()) as { api_key: string };

        const controller = new AbortController();
        const io = captureIo({}, controller.signal);
        const exit = run(["serve", "--port", "0", "--database", database.url], io);
        try {
          const [, url] = await io.waitForStdout(/^vargate listening on (http:\/\/127\.0\.0\.1:\d+)\n$/);
          const response = await fetch(`${url}/managed/agents`, {
            method: "POST",
            headers: { "x-api-key": api_key, "content-type": "application/json" },
            body: JSON.stringify({ name: "on a server database" }),
          });
          expect(response.status).toBe(200);
          expect(await response.json()).toMatchObject({ tenant_id: "beta", name: "on a server database" });
        } finally {
          controller.abort();
        }
        expect(await exit).toBe(EXIT_OK);

        await database.exec("UPDATE vargate_audit_log SET actor = ? WHERE tenant_id = ? AND seq = ?", [
          "someone-else",
          "beta",
          2,
        ]);
        const verified = captureIo();
        expect(await run(["audit", "verify", "--tenant", "beta", "--database", database.url], verified)).toBe(
          EXIT_FAILURE,
        );
        expect(JSON.parse(verified.out())).toMatchObject({
          tenant_id: "beta",
          valid: false,
          failed_at_seq: 2,
          reason: "record_hash mismatch",
        });
      });
    });
  });
}
