/**
 * bench/eager (issue 7): the eager runner against its limits, measured in one run.
 *
 * Every ratio is a throughput ratio in **source documents per second** (documents read from the source and
 * migrated or copied, per second of wall time), so a 1→2 split (todo-item@1 → todo-item@3 + todo-item-status@1)
 * counts one document, although it writes two.
 *
 * - `eager.vs-raw-copy`: divan's runner copying N todo-item@1 documents into a new database on the embedded
 *   server, migrated to v3, over a raw copy (`_all_docs` pages → `_bulk_docs` of the same documents, no
 *   translation, same page size) of the same source database on the same server. Rounds alternate
 *   (raw, divan, divan, raw, …) and the ratio is of the medians; goal ≥ 0.9.
 * - `eager.vs-naive`: the runner's median over a naive migrator (one GET and one PUT per output document),
 *   measured on a subset because it is slow (its rate does not depend on N). Goal ≥ 10.
 * - `client.vs-raw-rewrite`: client-side migration of N documents in an in-memory PouchDB (in place,
 *   deterministic revisions) over a raw PouchDB rewrite of every document (`_all_docs` page → `_bulk_docs`),
 *   alternating rounds, ratio of medians; goal ≥ 0.9. Peak RSS of both is printed.
 *
 * **Where the server runs.** The embedded server runs in a child process (its TypeScript bundled once with
 * esbuild and run by plain `node`), like a real CouchDB server is another process: server-side work
 * (parsing, PouchDB writes) and client-side work (the runner, or the raw loop) can use both cores, as they
 * do in production. Both sides are measured against that same server, so the arrangement is fair to both;
 * with the server in the bench's own process, client and server work would serialise on one core and the
 * ratio would measure a single-threaded artefact instead of the engine.
 *
 * **On CouchDB.** With `COUCHDB_URL` set, the two server figures are measured a second time against that
 * server (divan and its baseline on the same CouchDB, in the same run), as `eager.vs-raw-copy.couchdb`
 * and `eager.vs-naive.couchdb`, on `DIVAN_BENCH_EAGER_COUCHDB_DOCS` documents (default 20 000: CouchDB
 * writes to disk, and the shared test server must not fill up).
 *
 * `DIVAN_BENCH_EAGER_DOCS` sets N (default 100 000, the count), `DIVAN_BENCH_EAGER_ROUNDS` the
 * rounds per side (default 3).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { createStepGraph } from "../adapters/path.js";
import { todoSteps } from "../examples/todo-app/steps/index.js";
import { httpStore } from "../store/http.js";
import { openPouchStore } from "../store/pouch.js";
import { pouchDefaults } from "../store/pouchdb-node.js";
import type { Doc, DocumentStore } from "../store/port.js";
import { runMigration } from "../strategies/runner/runner.js";
import { couchDbOf, median, type Benchmark, type Figure } from "./harness.js";

const N = Number(process.env["DIVAN_BENCH_EAGER_DOCS"] ?? 100_000);
const COUCHDB_N = Number(process.env["DIVAN_BENCH_EAGER_COUCHDB_DOCS"] ?? 20_000);
const ROUNDS = Math.max(1, Number(process.env["DIVAN_BENCH_EAGER_ROUNDS"] ?? 3));
const PAGE = 1_000;
const graph = createStepGraph(todoSteps);
const V3 = { "todo-item": 3, "todo-item-status": 1 };
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

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

/** The raw limit: `_all_docs` pages (with documents) → `_bulk_docs` into the target, no translation. */
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

/** The raw PouchDB rewrite: every document read by `_all_docs` pages and written back changed. */
async function rawRewrite(store: DocumentStore): Promise<void> {
  let startkey: string | undefined;
  for (;;) {
    const page = await store.allDocs({ includeDocs: true, limit: PAGE, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    await store.bulkDocs(page.rows.flatMap((r) => (r.doc ? [{ ...r.doc, rewritten: true }] : [])));
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < PAGE || last === undefined) return;
    startkey = last.id;
  }
}

/** The naive migrator: one GET per source document, one PUT per output document. */
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

interface Timed {
  readonly ms: number;
  readonly peakRss: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t0 = performance.now();
  try {
    await fn();
    return { ms: performance.now() - t0, peakRss: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `a` and `b` `ROUNDS` times each, alternating which goes first, and returns both lists of results. */
async function alternate(a: (round: number) => Promise<Timed>, b: (round: number) => Promise<Timed>): Promise<{ a: Timed[]; b: Timed[] }> {
  const as: Timed[] = [];
  const bs: Timed[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      bs.push(await b(r));
      as.push(await a(r));
    } else {
      as.push(await a(r));
      bs.push(await b(r));
    }
  }
  return { a: as, b: bs };
}

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
const medianMs = (ts: readonly Timed[]): number => median(ts.map((t) => t.ms));

/** The embedded server in a child process, bundled once by esbuild and run by plain node. */
async function startServerProcess(): Promise<{ url: string; close(): Promise<void> }> {
  const out = await build({
    stdin: {
      contents: [
        `import { startEmbeddedServer } from ${JSON.stringify(join(root, "server/embedded.ts"))};`,
        `const server = await startEmbeddedServer();`,
        `process.stdout.write(server.url + "\\n");`,
        // The parent closing stdin (or dying) ends the server.
        `process.stdin.resume();`,
        `process.stdin.on("end", () => server.close().then(() => process.exit(0)));`,
      ].join("\n"),
      resolveDir: root,
      sourcefile: "bench-eager-server.ts",
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "warning",
    // leveldown is a native addon: resolved at run time from the project, like every `require` of the bundle.
    external: ["leveldown"],
    banner: { js: `import { createRequire as __divanCreateRequire } from "node:module"; const require = __divanCreateRequire(${JSON.stringify(join(root, "package.json"))});` },
  });
  const code = out.outputFiles[0]?.text;
  if (code === undefined) throw new Error("esbuild produced no server bundle");
  const dir = await mkdtemp(join(tmpdir(), "divan-bench-eager-"));
  const file = join(dir, "server.mjs");
  await writeFile(file, code);
  // stdin stays open as the lifeline: when this process ends, the server does too.
  const child: ChildProcess = spawn(process.execPath, [file], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (c: string) => {
      buf += c;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve(buf.slice(0, nl).trim());
    });
    child.on("error", reject);
    child.on("exit", (status) => reject(new Error(`bench server exited early (${String(status)})`)));
  });
  return {
    url,
    close: async () => {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin!.end();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `eager.vs-raw-copy` and `eager.vs-naive` on the server at `serverUrl` with `n` source documents; figure
 * names end in `suffix` and say which server `where` names. Databases get names no one else uses.
 */
async function serverFigures(serverUrl: string, n: number, suffix: string, where: string): Promise<Figure[]> {
  const naiveCount = Math.min(n, 1_000);
  const prefix = `bench-eager-${process.pid}-${Date.now().toString(36)}`;
  const stores: DocumentStore[] = [];
  const open = async (name: string): Promise<DocumentStore> => {
    const s = httpStore(`${serverUrl}/${prefix}-${name}`);
    stores.push(s);
    await s.create();
    return s;
  };
  const drop = async (s: DocumentStore): Promise<void> => {
    await s.destroy();
    await s.close();
  };
  try {
    const source = await open("source");
    await seed(source, n);
    const raw = async (r: number): Promise<Timed> => {
      const target = await open(`raw-${r}`);
      const t = await timed(() => rawCopy(source, target));
      await drop(target);
      return t;
    };
    const divan = async (r: number): Promise<Timed> => {
      const target = await open(`divan-${r}`);
      const t = await timed(() => runMigration({ source, target, plan: { graph, to: V3 }, batchSize: PAGE, concurrency: 3, lease: false }));
      const info = await target.info();
      if (info.docCount !== 2 * n) throw new Error(`divan wrote ${info.docCount} documents, expected ${2 * n}`);
      await drop(target);
      return t;
    };
    const { a: d, b: r } = await alternate(divan, raw);
    const naiveTarget = await open("naive");
    const nv = await timed(() => naive(source, naiveTarget, naiveCount));
    await drop(naiveTarget);
    await drop(source);
    const divanRate = n / medianMs(d);
    const list = (ts: readonly Timed[]): string => ts.map((t) => Math.round(t.ms)).join("/");
    const copyRatio = divanRate / (n / medianMs(r));
    return [
      {
        name: `eager.vs-raw-copy${suffix}`,
        value: copyRatio,
        what: `divan runner, source docs/s: ${n} todo-item@1 → v3 (2 docs written per source doc, so ${(2 * copyRatio).toFixed(2)}x in docs written/s) copied into a new db, page ${PAGE}, ${where}, median of ${ROUNDS} alternating rounds (ms ${list(d)})`,
        over: `raw _all_docs → _bulk_docs copy of the same docs on the same server (ms ${list(r)})`,
        goal: 0.9,
        better: "higher",
      },
      {
        name: `eager.vs-naive${suffix}`,
        value: divanRate / (naiveCount / nv.ms),
        what: `divan runner, source docs/s, ${where}`,
        goal: 10,
        better: "higher",
        over: `naive GET + PUT per document (${naiveCount} docs, ${Math.round(nv.ms)} ms)`,
      },
    ];
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
  }
}

const bench: Benchmark = {
  name: "eager",
  async run(): Promise<Figure[]> {
    const figures: Figure[] = [];
    const server = await startServerProcess();
    try {
      figures.push(...(await serverFigures(server.url, N, "", "embedded server in a child process")));
    } finally {
      await server.close();
    }
    const couchdb = await couchDbOf(process.env);
    if (couchdb !== undefined) figures.push(...(await serverFigures(couchdb.url, COUCHDB_N, ".couchdb", couchdb.name)));

    // Client side: PouchDB in memory, in this process (a device migrates its own database).
    const Pouch = pouchDefaults({ adapter: "memory" });
    const rewrite = async (r: number): Promise<Timed> => {
      const b = openPouchStore(Pouch, `bench-client-raw-${r}`);
      await seed(b, N);
      const t = await timed(() => rawRewrite(b));
      await b.destroy();
      return t;
    };
    const client = async (r: number): Promise<Timed> => {
      const a = openPouchStore(Pouch, `bench-client-divan-${r}`);
      await seed(a, N);
      const t = await timed(() => runMigration({ source: a, plan: { graph, to: V3 }, batchSize: PAGE, deterministicRevs: true, lease: false, followChanges: false }));
      const info = await a.info();
      if (info.docCount !== 2 * N) throw new Error(`client migration left ${info.docCount} documents, expected ${2 * N}`);
      await a.destroy();
      return t;
    };
    const { a: c, b: w } = await alternate(client, rewrite);
    const peak = (ts: readonly Timed[]): number => mib(Math.max(...ts.map((t) => t.peakRss)));
    const clientRatio = medianMs(w) / medianMs(c);
    figures.push({
      name: "client.vs-raw-rewrite",
      value: clientRatio,
      what: `client-side migration, source docs/s: ${N} todo-item@1 → v3 in place in PouchDB memory (2 docs written per source doc, so ${(2 * clientRatio).toFixed(2)}x in docs written/s), deterministic revs, median of ${ROUNDS} alternating rounds (ms ${c.map((t) => Math.round(t.ms)).join("/")}; peak RSS ${peak(c)} MiB)`,
      goal: 0.9,
      better: "higher",
      over: `raw PouchDB rewrite of every document, 1 doc written per source doc (ms ${w.map((t) => Math.round(t.ms)).join("/")}; peak RSS ${peak(w)} MiB)`,
    });
    return figures;
  },
};

export default bench;
