import { randomBytes } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/**
 * Generates the ids vargate hands out. Injectable so tests can make ids predictable.
 */
export interface IdGenerator {
  /** `agent-` + 12 hex characters. */
  agentId(): string;
  /** `vs-` + 16 hex characters. */
  sessionId(): string;
  /**
   * A UUIDv7 (RFC 9562), used for audit action ids: unique, and ordered by creation time, so each new record's
   * `(tenant_id, action_id)` index entry lands at the end of the index instead of on a random page.
   */
  actionId(): string;
  /** `key-` + 16 hex characters: the public id of an API key (not the key). */
  keyId(): string;
}

export const randomIds: IdGenerator = {
  agentId: () => `agent-${randomBytes(6).toString("hex")}`,
  sessionId: () => `vs-${randomBytes(8).toString("hex")}`,
  actionId: () => uuidv7(),
  keyId: () => `key-${randomBytes(8).toString("hex")}`,
};
