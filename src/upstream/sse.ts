import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Parses an SSE body into messages with `eventsource-parser`, yielding the messages of each network read together
 * (reads that complete no message yield nothing).
 *
 * The SDK's own stream reader drops frames without an `event:` line and ignores `id:`; this keeps every frame.
 * The iterable ends when the body ends and throws when the connection breaks.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage[]> {
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const take = () => {
    const messages = pending;
    pending = [];
    return messages;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (pending.length > 0) yield take();
    }
    parser.feed(decoder.decode());
    if (pending.length > 0) yield take();
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
