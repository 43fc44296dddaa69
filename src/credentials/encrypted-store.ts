import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { type Clock, systemClock, timestamp } from "../clock.js";
import { ConfigError, VargateError } from "../errors.js";
import type { CredentialRecordStore } from "../storage/port.js";
import type { CredentialStore } from "./store.js";

const FORMAT = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface EncryptedCredentialStoreOptions {
  /** Where ciphertext is kept: `storage.credentials` of any vargate storage. */
  records: CredentialRecordStore;
  /**
   * The 32-byte AES-256 key, as bytes or as 64 hex / 44 base64 characters.
   * @default process.env.VARGATE_CREDENTIAL_KEY
   */
  key?: string | Uint8Array;
  clock?: Clock;
}

/**
 * Keeps credentials encrypted at rest with AES-256-GCM. Each secret gets a random 96-bit IV, and the tenant and
 * credential name are bound in as associated data, so a ciphertext copied to another tenant or name fails to
 * decrypt instead of leaking.
 */
export function encryptedCredentialStore(options: EncryptedCredentialStoreOptions): CredentialStore {
  const key = parseKey(options.key ?? process.env.VARGATE_CREDENTIAL_KEY);
  const clock = options.clock ?? systemClock;
  const { records } = options;

  return {
    async get(tenantId, name) {
      const record = await records.get(tenantId, name);
      return record ? decrypt(key, record.ciphertext, associatedData(tenantId, name)) : null;
    },
    async put(tenantId, name, secret, audit) {
      const now = timestamp(clock);
      const existing = await records.get(tenantId, name);
      await records.put(
        {
          tenant_id: tenantId,
          name,
          ciphertext: encrypt(key, secret, associatedData(tenantId, name)),
          created_at: existing?.created_at ?? now,
          updated_at: now,
        },
        audit,
      );
    },
    delete: (tenantId, name, audit) => records.delete(tenantId, name, audit),
    list: (tenantId) => records.list(tenantId),
  };
}

function associatedData(tenantId: string, name: string): Buffer {
  return Buffer.from(`${tenantId}\u0000${name}`, "utf8");
}

function encrypt(key: Buffer, secret: string, aad: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return `${FORMAT}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
}

function decrypt(key: Buffer, ciphertext: string, aad: Buffer): string {
  const [format, payload] = ciphertext.split(".", 2);
  const bytes = Buffer.from(payload ?? "", "base64");
  if (format !== FORMAT || bytes.length < IV_BYTES + TAG_BYTES) {
    throw new VargateError("INTERNAL_ERROR", "Stored credential has an unknown format");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch (cause) {
    // Wrong key, or a ciphertext moved to another tenant or name.
    throw new VargateError("INTERNAL_ERROR", "Stored credential failed to decrypt", { cause });
  }
}

function parseKey(value: string | Uint8Array | undefined): Buffer {
  if (value === undefined || value === "") {
    throw new ConfigError("credentials: set VARGATE_CREDENTIAL_KEY (32 bytes as hex or base64) or pass `key`");
  }
  const key =
    typeof value !== "string"
      ? Buffer.from(value)
      : /^[0-9a-f]{64}$/i.test(value)
        ? Buffer.from(value, "hex")
        : Buffer.from(value, "base64");
  if (key.length !== 32) throw new ConfigError("credentials: the key must be exactly 32 bytes (AES-256)");
  return key;
}
