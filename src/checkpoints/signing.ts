import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from "node:crypto";
import { canonicalJson } from "../audit/chain.js";
import type { CheckpointRecord } from "./types.js";

/**
 * Ed25519 signatures of checkpoints and messages (`node:crypto`), and the exact bytes they cover. Pure: no
 * storage, usable by an offline verifier.
 */

/** Prefixes the canonical JSON of a checkpoint, so no other signed text can be taken for a checkpoint. */
export const CHECKPOINT_SIGNATURE_CONTEXT = "vargate-checkpoint/v1\n";

/** The fields of a checkpoint its signature covers. */
export type CheckpointBody = Pick<CheckpointRecord, "tenant_id" | "tree_size" | "root_hash" | "timestamp">;

/** A signing key's public half, as `publicKey()` exports it. */
export interface CheckpointPublicKey {
  /** `Ed25519`. */
  algorithm: "Ed25519";
  /** The first 16 hex characters of SHA-256 of the raw 32-byte public key. */
  key_id: string;
  /** SPKI, PEM. */
  public_key_pem: string;
  /** The raw 32-byte public key (RFC 8032), base64. */
  public_key_raw_base64: string;
}

/**
 * The bytes a checkpoint's signature covers: UTF-8 of `"vargate-checkpoint/v1\n"` followed by the RFC 8785 (JCS)
 * JSON of `{ tenant_id, tree_size, root_hash, timestamp }`, e.g.
 * `vargate-checkpoint/v1\n{"root_hash":"5dc9…","tenant_id":"acme","timestamp":"2026-01-01T00:00:00.000Z","tree_size":8}`.
 */
export function checkpointSigningBytes(checkpoint: CheckpointBody): Buffer {
  const body = {
    tenant_id: checkpoint.tenant_id,
    tree_size: checkpoint.tree_size,
    root_hash: checkpoint.root_hash,
    timestamp: checkpoint.timestamp,
  };
  return Buffer.from(CHECKPOINT_SIGNATURE_CONTEXT + canonicalJson(body), "utf8");
}

/** The key id of an Ed25519 public (or private) key: the first 16 hex characters of SHA-256 of its raw 32 bytes. */
export function checkpointKeyId(key: KeyObject | string): string {
  return createHash("sha256")
    .update(rawPublicKey(toPublicKey(key)))
    .digest("hex")
    .slice(0, 16);
}

/** The public half of an Ed25519 key in every form vargate exports. */
export function exportPublicKey(key: KeyObject | string): CheckpointPublicKey {
  const publicKey = toPublicKey(key);
  return {
    algorithm: "Ed25519",
    key_id: checkpointKeyId(publicKey),
    public_key_pem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    public_key_raw_base64: rawPublicKey(publicKey).toString("base64"),
  };
}

/** Signs a checkpoint body with an Ed25519 private key; returns the base64 signature. */
export function signCheckpoint(checkpoint: CheckpointBody, privateKey: KeyObject): string {
  return edSign(null, checkpointSigningBytes(checkpoint), privateKey).toString("base64");
}

/**
 * Whether `checkpoint.signature` is a valid Ed25519 signature of its body by `publicKey` (PEM, raw base64, or a
 * KeyObject) and `checkpoint.key_id` names that key. Never throws: a malformed key or signature fails.
 */
export function verifyCheckpointSignature(checkpoint: CheckpointRecord, publicKey: KeyObject | string): boolean {
  try {
    const key = toPublicKey(publicKey);
    if (checkpoint.key_id !== checkpointKeyId(key)) return false;
    const signature = fromBase64(checkpoint.signature);
    return signature !== null && edVerify(null, checkpointSigningBytes(checkpoint), key, signature);
  } catch {
    return false;
  }
}

/**
 * Signs `message` (its UTF-8 bytes, nothing added) with an Ed25519 private key; returns the base64 signature.
 * Refuses text that starts like a checkpoint's signed bytes.
 */
export function signMessage(message: string, privateKey: KeyObject): string {
  if (message.startsWith(CHECKPOINT_SIGNATURE_CONTEXT)) {
    throw new TypeError(`A signed message may not start with ${JSON.stringify(CHECKPOINT_SIGNATURE_CONTEXT)}`);
  }
  return edSign(null, Buffer.from(message, "utf8"), privateKey).toString("base64");
}

/**
 * Whether `signatureBase64` is a valid Ed25519 signature of the UTF-8 bytes of `message` by `publicKey` (PEM,
 * raw base64, or a KeyObject). Plain Ed25519 (RFC 8032): `openssl pkeyutl -verify -rawin` checks the same thing.
 * Never throws: a malformed key or signature fails.
 */
export function verifySignature(publicKey: KeyObject | string, message: string, signatureBase64: string): boolean {
  try {
    const signature = fromBase64(signatureBase64);
    return signature !== null && edVerify(null, Buffer.from(message, "utf8"), toPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * Reads an Ed25519 private key: a KeyObject, or PEM text (PKCS #8). Throws `TypeError` for anything else.
 */
export function toEd25519PrivateKey(key: KeyObject | string): KeyObject {
  const privateKey = typeof key === "string" ? createPrivateKey(key) : key;
  if (privateKey?.type !== "private" || privateKey.asymmetricKeyType !== "ed25519") {
    throw new TypeError("expected an Ed25519 private key (a KeyObject or PKCS #8 PEM)");
  }
  return privateKey;
}

// A public key from a KeyObject (public or private), SPKI PEM, a private key's PEM, or the raw key in base64.
function toPublicKey(key: KeyObject | string): KeyObject {
  let publicKey: KeyObject;
  if (typeof key === "string") {
    if (key.includes("-----BEGIN")) {
      publicKey = createPublicKey(key);
    } else {
      const raw = fromBase64(key);
      if (raw?.length !== 32) throw new TypeError("expected a PEM key or a raw 32-byte key in base64");
      publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    }
  } else {
    publicKey = key.type === "private" ? createPublicKey(key) : key;
  }
  if (publicKey.asymmetricKeyType !== "ed25519") throw new TypeError("expected an Ed25519 key");
  return publicKey;
}

function rawPublicKey(publicKey: KeyObject): Buffer {
  const { x } = publicKey.export({ format: "jwk" });
  return Buffer.from(x as string, "base64url");
}

function fromBase64(text: string): Buffer | null {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  return Buffer.from(text, "base64");
}
