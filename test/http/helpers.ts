// Small helpers shared by the adapter-specific HTTP tests.
import { VargateGovernor } from "../../src/index.js";
import { memoryStorage } from "../../src/storage/memory/index.js";

/** A governor on fresh memory storage with one tenant, `acme`, and its API key. */
export async function governorWithTenant(): Promise<{ governor: VargateGovernor; apiKey: string }> {
  const governor = new VargateGovernor({ storage: memoryStorage() });
  const { api_key } = await governor.tenants.create({ tenant_id: "acme" });
  return { governor, apiKey: api_key };
}

/**
 * A request body that never ends, in 64 KiB chunks of spaces (valid JSON whitespace). A server that buffers bodies
 * before checking their size would wait on it forever; one that counts while streaming answers 413.
 */
export function endlessBody(): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(chunk);
    },
  });
}

/** POSTs a streamed body (no content-length, chunked) with an API key. */
export function postStream(url: string, apiKey: string, body: ReadableStream<Uint8Array>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body,
    duplex: "half",
  } as RequestInit);
}
