/**
 * A minimal typed event emitter (browser-safe; Node's `events` is not).
 */

/** Listener of event `K` of map `M`. */
export type Listener<M, K extends keyof M> = (payload: M[K]) => void;

/** Emits events of the map `M`; listener errors are swallowed so one bad listener never stops a run. */
export class TypedEmitter<M> {
  private readonly listeners = new Map<keyof M, Set<(payload: never) => void>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(event: K, listener: Listener<M, K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  /** Removes a listener. */
  off<K extends keyof M>(event: K, listener: Listener<M, K>): void {
    this.listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  /** True when someone listens to `event` (to skip building payloads nobody reads). */
  has<K extends keyof M>(event: K): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener of `event`. */
  emit<K extends keyof M>(event: K, payload: M[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const l of set) {
      try {
        (l as Listener<M, K>)(payload);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}
