import { randomBytes, randomUUID } from "node:crypto";

/**
 * Generates the ids vargate hands out. Injectable so tests can make ids predictable.
 */
export interface IdGenerator {
  /** `agent-` + 12 hex characters. */
  agentId(): string;
  /** `vs-` + 16 hex characters. */
  sessionId(): string;
  /** A UUIDv4, used for audit action ids. */
  actionId(): string;
  /** `key-` + 16 hex characters: the public id of an API key (not the key). */
  keyId(): string;
}

export const randomIds: IdGenerator = {
  agentId: () => `agent-${randomBytes(6).toString("hex")}`,
  sessionId: () => `vs-${randomBytes(8).toString("hex")}`,
  actionId: () => randomUUID(),
  keyId: () => `key-${randomBytes(8).toString("hex")}`,
};
