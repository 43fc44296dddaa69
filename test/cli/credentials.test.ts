// `vargate credentials set|list`: the secret comes from standard input, is stored encrypted, and is never printed.
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/run.js";
import { encryptedCredentialStore } from "../../src/credentials/encrypted-store.js";
import { kyselyStorageFromUrl } from "../../src/storage/kysely/index.js";
import { captureIo, tempDir } from "./helpers.js";

const temp = tempDir();
afterAll(() => temp.cleanup());
const KEY = "b".repeat(64);
const SECRET = "sk-live-0123456789abcdef";

describe("vargate credentials", () => {
  it("stores a secret from stdin encrypted, lists names only, and never prints it", async () => {
    const database = join(temp.dir, "credentials.db");
    const env = { VARGATE_CREDENTIAL_KEY: KEY };
    expect(await run(["tenants", "create", "acme", "--database", database], captureIo(env))).toBe(0);

    const io = { ...captureIo(env), readStdin: async () => `${SECRET}\n` };
    expect(await run(["credentials", "set", "acme", "crm", "--database", database], io)).toBe(0);
    expect(JSON.parse(io.out())).toEqual({ tenant_id: "acme", name: "crm", stored: true });

    const listed = captureIo(env);
    expect(await run(["credentials", "list", "acme", "--database", database], listed)).toBe(0);
    expect(JSON.parse(listed.out())).toEqual({ tenant_id: "acme", credentials: ["crm"] });
    expect(`${io.out()}${io.err()}${listed.out()}${listed.err()}`).not.toContain(SECRET);

    // At rest it is ciphertext; with the key it decrypts to exactly the secret (the trailing newline removed).
    const raw = new Database(database, { readonly: true });
    const row = raw.prepare("select ciphertext from vargate_credentials").get() as { ciphertext: string };
    raw.close();
    expect(row.ciphertext).not.toContain(SECRET);
    const storage = kyselyStorageFromUrl(database);
    const store = encryptedCredentialStore({ records: storage.credentials, key: KEY });
    expect(await store.get("acme", "crm")).toBe(SECRET);
    await storage.close();
  });

  it("refuses an empty secret and an unknown tenant", async () => {
    const database = join(temp.dir, "refusals.db");
    const env = { VARGATE_CREDENTIAL_KEY: KEY };
    await run(["tenants", "create", "acme", "--database", database], captureIo(env));
    const empty = { ...captureIo(env), readStdin: async () => "" };
    expect(await run(["credentials", "set", "acme", "crm", "--database", database], empty)).toBe(2);
    const unknown = { ...captureIo(env), readStdin: async () => SECRET };
    expect(await run(["credentials", "set", "nobody", "crm", "--database", database], unknown)).toBe(1);
    expect(unknown.err()).not.toContain(SECRET);
  });
});
