import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Parses an SSE body into messages with `eventsource-parser`.
 *
 * The SDK's own stream reader drops frames without an `event:` line and ignores `id:`; this keeps every frame.
 * The iterable ends when the body ends and throws when the connection breaks.
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      while (pending.length > 0) yield pending.shift() as EventSourceMessage;
    }
    parser.feed(decoder.decode());
    yield* pending.splice(0);
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
