/**
 * Benchmark harness: every `bench/*.bench.ts` module default-exports a {@link Benchmark}; `bench/run.ts`
 * runs them and prints one line per figure: `bench <name>: <number>x (<what> over <baseline>)`.
 * Figures are ratios measured in one run on one machine; the only absolute figures are the transformer
 * lags in ms (`unit: "ms"`, printed `bench <name>: <number> ms (<what>)`) and its highest rate (`unit: "/s"`). Benchmarks that talk to a
 * server measure their server figures a second time on `COUCHDB_URL` when it is set ({@link couchDbOf}),
 * as figures whose names end in `.couchdb`.
 */
import nano from "nano";
import { redact } from "../core/redact.js";
import type { Doc, DocumentStore } from "../store/port.js";

/** One ratio. */
export interface Figure {
  /** Dotted name, e.g. `steps.compiled-vs-hand`. */
  readonly name: string;
  /** The ratio (measured time or size over the baseline's). */
  readonly value: number;
  /** What was measured, e.g. `compiled 1→3 path, 100k docs`. */
  readonly what: string;
  /** The baseline, e.g. `hand-written function`. */
  readonly over: string;
  /** A goal the figure should meet, if any (reported, never enforced by tests). */
  readonly goal?: number;
  /** Whether the goal is a ceiling (`lower`, the default: times) or a floor (`higher`: throughputs). */
  readonly better?: "lower" | "higher";
  /** `x` (default): a ratio over `over`; `ms`: an absolute duration, `/s` a rate (the few absolute figures the issues ask for). */
  readonly unit?: "x" | "ms" | "/s";
}

/** A benchmark module's default export. */
export interface Benchmark {
  /** Name prefix shared by its figures (`steps`); `npm run bench -- steps` selects it. */
  readonly name: string;
  /** Runs and returns its figures. */
  run(): Promise<Figure[]> | Figure[];
}

/** Time one call of `fn` in milliseconds. */
export function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** The median of `xs`. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Time `subject` and `baseline` alternately (`rounds` each, after `warmup` rounds) and return the ratio
 * of their medians, so both see the same machine load.
 */
export function ratioOfMedians(subject: () => void, baseline: () => void, rounds = 15, warmup = 3): number {
  for (let i = 0; i < warmup; i++) {
    subject();
    baseline();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      a.push(timeOnce(subject));
      b.push(timeOnce(baseline));
    } else {
      b.push(timeOnce(baseline));
      a.push(timeOnce(subject));
    }
  }
  return median(a) / median(b);
}

/** The CouchDB server of `COUCHDB_URL` (its URL with credentials, and `CouchDB <version>` as `GET /` reports it), if set. */
export async function couchDbOf(env: NodeJS.ProcessEnv): Promise<{ url: string; name: string } | undefined> {
  const url = env["COUCHDB_URL"]?.trim().replace(/\/+$/, "");
  if (url === undefined || url === "") return undefined;
  try {
    return { url, name: `CouchDB ${(await nano(url).info()).version}` };
  } catch (e) {
    throw new Error(`COUCHDB_URL ${redact(url)} does not answer: ${redact(String(e))}`, { cause: e });
  }
}

/** Todo `i` of the benchmarks' source database: a todo-item@1, ids sorted by `i`. */
export function todo(i: number): Doc {
  return { _id: `todo-item:${String(i).padStart(8, "0")}`, schema: "todo-item", version: 1, title: `todo ${i}`, isDone: i % 2 === 0, createdAt: "2024-01-01T00:00:00.000Z" };
}

/** Writes todos 0 … n-1 into `store`, 5,000 per request. */
export async function seed(store: DocumentStore, n: number): Promise<void> {
  for (let i = 0; i < n; i += 5_000) {
    const docs: Doc[] = [];
    for (let j = i; j < Math.min(n, i + 5_000); j++) docs.push(todo(j));
    await store.bulkDocs(docs);
  }
}
