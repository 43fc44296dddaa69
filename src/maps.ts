/** What `getOrCreate` needs of a map: a `Map` or a `WeakMap`. */
interface KeyedStore<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

/** The value of `key` in `map`; made by `create` and stored there the first time. */
export function getOrCreate<K, V>(map: KeyedStore<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
