interface Pending<Item, Result> {
  item: Item;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

/** How `groupCommit` groups items and runs a group. */
export interface GroupCommitOptions<Item, Result> {
  /** The queue `item` waits in: items of different queues never share a batch. */
  queue(item: Item): string;
  /** How much of `maxSize` the item takes (1 if not given). */
  size?(item: Item): number;
  /** The most a batch holds by `size`; an item larger than that still goes, alone. */
  maxSize: number;
  alone(item: Item): Promise<Result>;
  /** Runs two or more items together; the results are in item order. */
  together(items: Item[]): Promise<Result[]>;
}

/**
 * Group commit: items of one queue issued in the same tick, or arriving while that queue's previous batch runs,
 * go together (as many as fit in `maxSize`) in one `together` call. A lone item goes `alone`. A batch that fails
 * (a write's transaction rolls back whole) is then tried item by item, `alone`, so one bad item fails only its
 * caller, and a failing database still fails every one.
 *
 * Serves the audit writes of a tenant (one head lock and one commit for a batch) and the reads of governed calls
 * (one statement for a batch).
 */
export function groupCommit<Item, Result>(options: GroupCommitOptions<Item, Result>): (item: Item) => Promise<Result> {
  const size = options.size ?? (() => 1);
  const queues = new Map<string, Pending<Item, Result>[]>();
  const alone = (pending: Pending<Item, Result>) => options.alone(pending.item).then(pending.resolve, pending.reject);
  const flush = async (batch: Pending<Item, Result>[]) => {
    if (batch.length === 1) return alone(batch[0] as Pending<Item, Result>);
    let results: Result[];
    try {
      results = await options.together(batch.map((pending) => pending.item));
    } catch {
      for (const pending of batch) await alone(pending);
      return;
    }
    batch.forEach((pending, index) => {
      pending.resolve(results[index] as Result);
    });
  };
  /** The next items of `queue` to run together: at least one, then as many as fit in `maxSize`. */
  const take = (queue: Pending<Item, Result>[]) => {
    let count = 0;
    let taken = 0;
    while (taken < queue.length) {
      const itemSize = size((queue[taken] as Pending<Item, Result>).item);
      if (taken > 0 && count + itemSize > options.maxSize) break;
      count += itemSize;
      taken += 1;
    }
    return queue.splice(0, taken);
  };
  return (item) =>
    new Promise<Result>((resolve, reject) => {
      const queueKey = options.queue(item);
      const queued = queues.get(queueKey);
      if (queued) {
        queued.push({ item, resolve, reject });
        return;
      }
      const queue: Pending<Item, Result>[] = [{ item, resolve, reject }];
      queues.set(queueKey, queue);
      void (async () => {
        try {
          // After the current task's synchronous code: items issued together (`Promise.all`) share the first batch.
          await Promise.resolve();
          while (queue.length > 0) {
            await flush(take(queue));
            // One turn of the event loop before the next batch: the callers just answered (and any other
            // pending work) get to queue their next items, so batches fill instead of trickling one by one.
            await new Promise(setImmediate);
          }
        } finally {
          queues.delete(queueKey);
        }
      })();
    });
}
