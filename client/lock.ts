/**
 * One migrator across browser tabs: an exclusive lock by name.
 *
 * - `web-locks`: `navigator.locks.request(name, fn)` where the browser has it (every current browser).
 * - `broadcast-channel`: leader election over a `BroadcastChannel` for browsers without Web Locks. A
 *   contender announces a random token and listens for a short window (the holder answers `held`, a
 *   lower competing token wins), then claims with `held` and listens once more, yielding to a lower
 *   token that claimed at the same time (a channel opened later misses earlier messages); the holder
 *   answers later requests with `held` and announces `released` when done, which wakes the waiters. Tabs of one origin only; a tab killed while holding the lock
 *   leaves waiters to retry after `staleMs` (the migration itself is resumable through its checkpoint).
 * - `none`: no other context can run concurrently (Node, a worker without either API): runs `fn`.
 */

/** Which mechanism guards a migration. */
export type LockKind = "web-locks" | "broadcast-channel" | "none";

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}

type BroadcastChannelCtor = new (name: string) => BroadcastChannelLike;

/** The mechanism available in this context (`kind` forces one, for tests). */
export function lockKind(): LockKind {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  if (nav?.locks !== undefined && typeof nav.locks.request === "function") return "web-locks";
  const isBrowser = typeof (globalThis as { document?: unknown }).document !== "undefined" || typeof (globalThis as { importScripts?: unknown }).importScripts === "function";
  if (isBrowser && typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel === "function") return "broadcast-channel";
  return "none";
}

/** Options of {@link withLock}. */
export interface LockOptions {
  /** Force a mechanism (default: {@link lockKind}). */
  kind?: LockKind;
  /** Election window of the BroadcastChannel fallback in ms (default 100). */
  windowMs?: number;
  /** A waiter retries the election after this long without a `released` message (default 5000). */
  staleMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` while holding the exclusive lock `name`; resolves with its result. */
export async function withLock<T>(name: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const kind = options.kind ?? lockKind();
  if (kind === "web-locks") {
    const locks = (globalThis as unknown as { navigator: { locks: LockManagerLike } }).navigator.locks;
    return locks.request(name, fn);
  }
  if (kind === "none") return fn();
  return electAndRun(name, fn, options.windowMs ?? 100, options.staleMs ?? 5000);
}

async function electAndRun<T>(name: string, fn: () => Promise<T>, windowMs: number, staleMs: number): Promise<T> {
  const Ctor = (globalThis as unknown as { BroadcastChannel: BroadcastChannelCtor }).BroadcastChannel;
  const channel = new Ctor(`divan-lock:${name}`);
  const token = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  let holding = false;
  let contested = false;
  let held = false;
  let wake: (() => void) | undefined;
  channel.onmessage = (event) => {
    const m = event.data as { kind?: string; token?: string } | null;
    if (m === null || typeof m !== "object" || typeof m.token !== "string") return;
    if (m.kind === "request") {
      if (holding) channel.postMessage({ kind: "held", token });
      else if (m.token < token) contested = true;
    } else if (m.kind === "held") {
      held = true;
      if (m.token < token) contested = true;
    } else if (m.kind === "released") wake?.();
  };
  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, ms);
    }).then(() => {
      wake = undefined;
    });
  try {
    for (;;) {
      // Phase 1: ask; a holder answers `held`, a lower token competing in the same window wins.
      contested = false;
      held = false;
      channel.postMessage({ kind: "request", token });
      await sleep(windowMs);
      if (held || contested) {
        await pause(held ? staleMs : windowMs);
        continue;
      }
      // Phase 2: claim, and yield to a lower token that claimed at the same time (it missed our request).
      holding = true;
      contested = false;
      channel.postMessage({ kind: "held", token });
      await sleep(windowMs);
      if (!contested) break;
      holding = false;
      channel.postMessage({ kind: "released", token });
      await pause(staleMs);
    }
    try {
      return await fn();
    } finally {
      holding = false;
      channel.postMessage({ kind: "released", token });
    }
  } finally {
    channel.close();
  }
}
