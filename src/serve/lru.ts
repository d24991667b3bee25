// A bounded Map that forgets its least recently used entry first (Map keeps insertion order; a hit re-inserts).

export class LruMap<K, V> {
  readonly #map = new Map<K, V>();
  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('LruMap capacity must be a positive integer');
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marked most recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, v);
    return v;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break;
      const v = this.#map.get(oldest.value) as V;
      this.#map.delete(oldest.value);
      this.onEvict?.(oldest.value, v);
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Removes every entry for which `drop` is true; returns how many went. */
  sweep(drop: (value: V, key: K) => boolean): number {
    let n = 0;
    for (const [k, v] of this.#map) {
      if (drop(v, k)) {
        this.#map.delete(k);
        n++;
      }
    }
    return n;
  }
}
