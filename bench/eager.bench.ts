/**
 * bench/eager (issue 7): the eager runner against its limits, measured in one run.
 *
 * - `eager.vs-raw-copy`: divan's runner copying N todo-item@1 documents into a new database on the embedded
 *   server, migrated to v3 (2 documents per todo), over a raw copy (`_all_docs` pages → `_bulk_docs`, no
 *   translation) of the same documents. Throughput ratio (documents read per second); goal ≥ 0.9.
 * - `eager.vs-naive`: the runner over a naive migrator (one GET and one PUT per document, measured on a
 *   subset because it is slow). Throughput ratio; goal ≥ 10.
 * - `client.vs-raw-rewrite`: client-side migration of N documents in an in-memory PouchDB (deterministic
 *   revisions, in place) over a raw PouchDB rewrite of every document. Throughput ratio; goal ≥ 0.9.
 *   Peak RSS of both is printed.
 *
 * `DIVAN_BENCH_EAGER_DOCS` sets N (default 100 000).
 */
import { createStepGraph } from "../adapters/path.js";
import { todoSteps } from "../examples/todo-app/steps/index.js";
import { startEmbeddedServer } from "../server/embedded.js";
import { httpStore } from "../store/http.js";
import { openPouchStore } from "../store/pouch.js";
import { pouchDefaults } from "../store/pouchdb-node.js";
import type { Doc, DocumentStore } from "../store/port.js";
import { runMigration } from "../strategies/runner/runner.js";
import type { Benchmark, Figure } from "./harness.js";

const N = Number(process.env["DIVAN_BENCH_EAGER_DOCS"] ?? 100_000);
const NAIVE = Math.min(N, 3_000);
const PAGE = 1_000;
const graph = createStepGraph(todoSteps);
const V3 = { "todo-item": 3, "todo-item-status": 1 };

function todo(i: number): Doc {
  return { _id: `todo-item:${String(i).padStart(8, "0")}`, schema: "todo-item", version: 1, title: `todo ${i}`, isDone: i % 2 === 0, createdAt: "2024-01-01T00:00:00.000Z" };
}

async function seed(store: DocumentStore, n: number): Promise<void> {
  for (let i = 0; i < n; i += 5_000) {
    const docs: Doc[] = [];
    for (let j = i; j < Math.min(n, i + 5_000); j++) docs.push(todo(j));
    await store.bulkDocs(docs);
  }
}

async function rawCopy(source: DocumentStore, target: DocumentStore): Promise<number> {
  let startkey: string | undefined;
  let n = 0;
  for (;;) {
    const page = await source.allDocs({ includeDocs: true, limit: PAGE, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    const docs = page.rows.flatMap((r) => (r.doc ? [(({ _rev, ...d }) => (void _rev, d as Doc))(r.doc)] : []));
    if (docs.length > 0) await target.bulkDocs(docs);
    n += docs.length;
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < PAGE || last === undefined) return n;
    startkey = last.id;
  }
}

async function naive(source: DocumentStore, target: DocumentStore, n: number): Promise<void> {
  const path = graph.path({ "todo-item": 1 }, V3);
  for (let i = 0; i < n; i++) {
    const doc = await source.get(todo(i)._id);
    const out = path({ "todo-item": doc });
    for (const d of Object.values(out)) {
      const { _rev, ...rest } = d;
      void _rev;
      await target.put(rest as Doc);
    }
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T; peakRss: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - t0, value, peakRss: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

const bench: Benchmark = {
  name: "eager",
  async run(): Promise<Figure[]> {
    const figures: Figure[] = [];
    const server = await startEmbeddedServer();
    const open = async (name: string): Promise<DocumentStore> => {
      const s = httpStore(`${server.url}/${name}`);
      await s.create();
      return s;
    };
    try {
      const source = await open("bench-eager-source");
      await seed(source, N);
      const rawTarget = await open("bench-eager-raw");
      const r = await timed(() => rawCopy(source, rawTarget));
      const divanTarget = await open("bench-eager-divan");
      const d = await timed(() => runMigration({ source, target: divanTarget, plan: { graph, to: V3 }, batchSize: PAGE, concurrency: 3, lease: false }));
      const naiveTarget = await open("bench-eager-naive");
      const nv = await timed(() => naive(source, naiveTarget, NAIVE));
      const divanRate = N / d.ms;
      figures.push({ name: "eager.vs-raw-copy", value: divanRate / (N / r.ms), what: `divan runner throughput, ${N} todo-item@1 → v3 copied into a new db (goal ≥ 0.9)`, over: "raw _all_docs → _bulk_docs copy" });
      figures.push({ name: "eager.vs-naive", value: divanRate / (NAIVE / nv.ms), what: `divan runner throughput (goal ≥ 10)`, over: `naive GET + PUT per document (${NAIVE} docs)` });
      for (const s of [source, rawTarget, divanTarget, naiveTarget]) {
        await s.destroy();
        await s.close();
      }
    } finally {
      await server.close();
    }

    // Client side: PouchDB in memory.
    const Pouch = pouchDefaults({ adapter: "memory" });
    const a = openPouchStore(Pouch, "bench-client-divan");
    const b = openPouchStore(Pouch, "bench-client-raw");
    await seed(a, N);
    await seed(b, N);
    const rawRewrite = await timed(async () => {
      let startkey: string | undefined;
      for (;;) {
        const page = await b.allDocs({ includeDocs: true, limit: PAGE, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
        await b.bulkDocs(page.rows.flatMap((r) => (r.doc ? [{ ...r.doc, rewritten: true }] : [])));
        const last = page.rows[page.rows.length - 1];
        if (page.rows.length < PAGE || last === undefined) return;
        startkey = last.id;
      }
    });
    const client = await timed(() => runMigration({ source: a, plan: { graph, to: V3 }, batchSize: PAGE, deterministicRevs: true, lease: false, followChanges: false }));
    figures.push({
      name: "client.vs-raw-rewrite",
      value: rawRewrite.ms / client.ms,
      what: `client-side migration throughput, ${N} docs in PouchDB memory, deterministic revs (goal ≥ 0.9; peak RSS ${Math.round(client.peakRss / 2 ** 20)} MiB vs ${Math.round(rawRewrite.peakRss / 2 ** 20)} MiB)`,
      over: "raw PouchDB rewrite of every document",
    });
    await a.destroy();
    await b.destroy();
    return figures;
  },
};

export default bench;
