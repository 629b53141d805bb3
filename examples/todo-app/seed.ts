/**
 * Seeded randomness and time for the comparison: the same seed gives the same ids, timestamps and
 * event order, so a run replays exactly. Nothing here reads the real clock or `Math.random`.
 */
import type { Clock } from "../../strategies/types.js";

/** A seeded pseudo-random source (mulberry32). */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** 32 lowercase hex digits, like a CouchDB uuid. */
  hexId(): string;
  /** A shuffled copy of `items`. */
  shuffle<T>(items: readonly T[]): T[];
}

/** A {@link Random} fully determined by `seed` (any integer). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    hexId: () => {
      let s = "";
      for (let i = 0; i < 4; i++) s += Math.floor(next() * 0x100000000).toString(16).padStart(8, "0");
      return s;
    },
    shuffle: <T>(items: readonly T[]): T[] => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const a = out[i] as T;
        out[i] = out[j] as T;
        out[j] = a;
      }
      return out;
    },
  };
}

/** The first instant of every seeded clock: 2024-01-01T00:00:00.000Z. */
export const CLOCK_EPOCH = Date.UTC(2024, 0, 1);

/** A clock that starts at `start` and advances `stepMs` on every reading. */
export function seededClock(start: number = CLOCK_EPOCH, stepMs = 1000): Clock {
  let t = start;
  const now = (): number => {
    const v = t;
    t += stepMs;
    return v;
  };
  return { now, iso: () => new Date(now()).toISOString() };
}
