import type { UpstreamEvent, UpstreamEventStream } from "../upstream/port.js";

/**
 * The events of `source` in arrival groups: `batches()` of a stream that offers them (one group per network read),
 * else one event per group. Iterating by group saves the stream's plumbing a promise and a turn per event.
 */
export function arrivals(
  source: AsyncIterable<UpstreamEvent> | UpstreamEventStream,
): AsyncIterable<readonly UpstreamEvent[]> {
  if ("batches" in source && typeof source.batches === "function") return source.batches();
  return singles(source);
}

async function* singles<T>(source: AsyncIterable<T>): AsyncGenerator<readonly T[]> {
  for await (const item of source) yield [item];
}

/**
 * Groups arrivals into batches of what has already arrived: after the first group of a batch, it keeps taking
 * groups while the next one is ready before a macrotask turn (parsed from data already read), so a batch never
 * waits for the network and a busy stream costs a few transactions per read rather than several per event. A
 * stream that trickles yields small batches. Batches hold at most `max` items; a larger arrival is split.
 *
 * When the source fails, the items that arrived before the failure are yielded first; then it surfaces.
 */
export async function* arrived<T>(source: AsyncIterable<readonly T[]>, max: number): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const first = await next.catch((error: unknown) => {
        finished = true;
        throw error;
      });
      if (first.done) {
        finished = true;
        return;
      }
      const batch = [...first.value];
      next = iterator.next();
      // One turn for the whole batch: groups parsed from data already read all settle before it.
      const turn = nextMacrotask();
      let failure: { error: unknown } | undefined;
      while (batch.length < max) {
        let ready: IteratorResult<readonly T[]> | typeof NOT_YET;
        try {
          ready = await Promise.race([next, turn]);
        } catch (error) {
          failure = { error };
          break;
        }
        if (ready === NOT_YET) break;
        if (ready.done) {
          finished = true;
          break;
        }
        // A loop, not a spread: one read of a fast stream may hold more events than a call takes arguments.
        for (const item of ready.value) batch.push(item);
        next = iterator.next();
      }
      for (let start = 0; start < batch.length; start += max) yield batch.slice(start, start + max);
      if (failure) {
        finished = true;
        throw failure.error;
      }
      if (finished) return;
    }
  } finally {
    // Stopped early: a read is in flight, so the source cannot close now; it closes when that read settles
    // (the consumer aborts the connection, which settles it at once).
    if (!finished) {
      next.catch(() => {});
      iterator.return?.()?.catch(() => {});
    }
  }
}

const NOT_YET = Symbol("not yet");

function nextMacrotask(): Promise<typeof NOT_YET> {
  return new Promise((resolve) => setImmediate(resolve, NOT_YET));
}
