/**
 * A minimal typed event emitter (browser-safe; Node's `events` is not) whose listener errors are reported, not lost.
 */

/** Listener of event `K` of map `M`. */
export type Listener<M, K extends keyof M> = (payload: M[K]) => void;

/**
 * Emits events of the map `M`. A listener that throws does not stop the emitter's work or the other listeners; its
 * error goes to {@link TypedEmitter.listenerFailed}, which by default throws it again on its own microtask, so it
 * reaches the host's uncaught-error handling (Node's `uncaughtException`, the browser's `error` event).
 */
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
      } catch (e) {
        this.listenerFailed(e, event);
      }
    }
  }

  /** Reports what a listener of `event` threw (override to route it elsewhere); by default throws it on a microtask. */
  protected listenerFailed(error: unknown, event: keyof M): void {
    void event;
    queueMicrotask(() => {
      throw error;
    });
  }
}
