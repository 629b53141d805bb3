/**
 * A lock per key for the translating proxy: revision records are read-modify-write.
 */

/** Serializes work per key (revision records are read-modify-write). */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async with<T>(keys: readonly string[], f: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const k of sorted) {
        const before = this.#tails.get(k) ?? Promise.resolve();
        let release!: () => void;
        const mine = new Promise<void>((r) => (release = r));
        const tail = before.then(() => mine);
        this.#tails.set(k, tail);
        releases.push(() => {
          release();
          if (this.#tails.get(k) === tail) this.#tails.delete(k);
        });
        await before;
      }
      return await f();
    } finally {
      for (const r of releases.reverse()) r();
    }
  }
}
