/**
 * bench/eager (issues 7, 18): the eager runner against its limits, on the embedded server and (with `COUCHDB_URL`)
 * on CouchDB, measured in one run.
 *
 * Every ratio is a throughput ratio in **source documents per second** (documents read from the source and
 * migrated or copied, per second of wall time). Two migrations of the same N todo-item@1 documents, each copied
 * into a new database: `split` (1→3, todo-item@3 + todo-item-status@1: two documents written per source document)
 * and `nosplit` (1→2, todo-item@2: one).
 *
 * - `eager.<split|nosplit>.vs-same-output-copy`: divan's runner over the **same-output raw copy**: the same
 *   `_all_docs?include_docs` pages of the source, answered by `_bulk_docs` of the *same output documents* (computed
 *   with the compiled path before the clock starts, so only the I/O is timed), the same page size and the same
 *   pipelining freedom (the next page is read while up to `concurrency` pages are written). Goal ≥ 0.9.
 * - `eager.vs-plain-copy`: the 1→3 runner over the plain raw copy (each page's documents written unchanged, one
 *   page at a time): how a migration compares with copying the database.
 * - `eager.vs-naive`: the 1→3 runner over a naive migrator (one GET per source document, one PUT per output
 *   document), measured on a subset because it is slow (its rate does not depend on N). Goal ≥ 20.
 *
 * Rounds alternate (baseline, divan, divan, baseline, …) and ratios are of the medians.
 *
 * **Where the server runs.** The embedded server runs in a child process (its TypeScript bundled once with
 * esbuild and run by plain `node`), as a real CouchDB server is another process: server-side work (parsing,
 * PouchDB writes) and client-side work (the runner, or the raw loop) can use both cores, as they do in
 * production. Both sides are measured against that same server.
 *
 * **On CouchDB.** With `COUCHDB_URL` set, the server figures are measured a second time against that server
 * (names ending in `.couchdb`) on `DIVAN_BENCH_EAGER_COUCHDB_DOCS` documents (default: N; CouchDB writes to disk and
 * the test server is shared: every database has a unique name and is deleted afterwards).
 *
 * `DIVAN_BENCH_EAGER_DOCS` sets N (default 100 000, the issue's count), `DIVAN_BENCH_EAGER_ROUNDS` the rounds per
 * side (default 3), `DIVAN_BENCH_EAGER_SERVERS` (`embedded` or `couchdb`) one column only. `DIVAN_BENCH_SERVER_ARGS`
 * passes node flags to the embedded server's process (`--cpu-prof --cpu-prof-dir=<dir>` profiles it). Client-side figures are in `bench/client.bench.ts`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { createStepGraph } from "../adapters/path.js";
import { todoShapes, todoSteps } from "../examples/todo-app/steps/index.js";
import { httpStore } from "../store/http.js";
import type { Doc, DocumentStore } from "../store/port.js";
import type { Shape } from "../adapters/types.js";
import { runMigration } from "../strategies/runner/runner.js";
import { couchDbOf, median, seed, todo, type Benchmark, type Figure } from "./harness.js";

const N = Number(process.env["DIVAN_BENCH_EAGER_DOCS"] ?? 100_000);
const COUCHDB_N = Number(process.env["DIVAN_BENCH_EAGER_COUCHDB_DOCS"] ?? N);
const ROUNDS = Math.max(1, Number(process.env["DIVAN_BENCH_EAGER_ROUNDS"] ?? 3));
/** Page size and pages in flight of both sides. */
const PAGE = 1_000;
const CONCURRENCY = 3;
const graph = createStepGraph(todoSteps);
const V3 = todoShapes.v3;
/** The two shapes of migration measured. */
const SHAPES = [
  { name: "split", to: todoShapes.v3, perDoc: 2, what: "1→3 (2 docs written per source doc)" },
  { name: "nosplit", to: todoShapes.v2, perDoc: 1, what: "1→2 (1 doc written per source doc)" },
] as const;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

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

/**
 * The same-output raw copy: the same `_all_docs` pages as the runner reads, each answered by `_bulk_docs` of the
 * output documents `out` holds for its rows (computed before timing), at most {@link CONCURRENCY} writes in flight
 * while the next page is read.
 */
async function sameOutputCopy(source: DocumentStore, target: DocumentStore, out: ReadonlyMap<string, readonly Doc[]>): Promise<number> {
  let startkey: string | undefined;
  const open = new Set<Promise<void>>();
  let n = 0;
  for (;;) {
    const page = await source.allDocs({ includeDocs: true, limit: PAGE, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    const docs: Doc[] = [];
    for (const r of page.rows) for (const d of out.get(r.id) ?? []) docs.push(d);
    const w: Promise<void> = target.bulkDocs(docs).then(() => void open.delete(w));
    open.add(w);
    n += page.rows.length;
    while (open.size >= CONCURRENCY) await Promise.race(open);
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < PAGE || last === undefined) break;
    startkey = last.id;
  }
  await Promise.all(open);
  return n;
}

/** Every source document's output documents at `to`, without revisions (what a copy writes). */
function outputsOf(n: number, to: Shape): Map<string, Doc[]> {
  const path = graph.path(todoShapes.v1, to);
  const out = new Map<string, Doc[]>();
  for (let i = 0; i < n; i++) {
    const src = todo(i);
    out.set(src._id, Object.values(path({ "todo-item": src })).map((d) => d as Doc));
  }
  return out;
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
  /** CPU ms this process (the client side) used. */
  readonly cpuMs: number;
  /** CPU ms the server process used, when it can be seen (the embedded server's child process on Linux). */
  readonly serverCpuMs: number | undefined;
}

/** The server process whose CPU {@link timed} reads (`/proc/<pid>/stat`), if any. */
let serverPid: number | undefined;

async function serverCpu(): Promise<number | undefined> {
  if (serverPid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${serverPid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ 100
  } catch {
    return undefined; // not Linux
  }
}

async function timed(fn: () => Promise<unknown>): Promise<Timed> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const s0 = await serverCpu();
  try {
    await fn();
    const c = process.cpuUsage(c0);
    const s1 = await serverCpu();
    const serverCpuMs = s0 === undefined || s1 === undefined ? undefined : s1 - s0;
    return { ms: performance.now() - t0, peakRss: Math.max(peak, process.memoryUsage.rss()), cpuMs: (c.user + c.system) / 1000, serverCpuMs };
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
  // DIVAN_BENCH_SERVER_ARGS: extra node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const flags = (process.env["DIVAN_BENCH_SERVER_ARGS"] ?? "").split(" ").filter((f) => f !== "");
  const child: ChildProcess = spawn(process.execPath, [...flags, file], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
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
  serverPid = child.pid;
  return {
    url,
    close: async () => {
      serverPid = undefined;
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
 * The server figures on the server at `serverUrl` with `n` source documents; figure names end in `suffix` and say
 * which server `where` names. Databases get names no one else uses, and are deleted.
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
  const list = (ts: readonly Timed[]): string => `${ts.map((t) => Math.round(t.ms)).join("/")}, client CPU ms ${ts.map((t) => Math.round(t.cpuMs)).join("/")}${ts.every((t) => t.serverCpuMs !== undefined) ? `, server CPU ms ${ts.map((t) => Math.round(t.serverCpuMs!)).join("/")}` : ""}`;
  const figures: Figure[] = [];
  try {
    const source = await open("source");
    await seed(source, n);
    let split: Timed[] = [];
    for (const shape of SHAPES) {
      const out = outputsOf(n, shape.to);
      const raw = async (r: number): Promise<Timed> => {
        const target = await open(`raw-${shape.name}-${r}`);
        const t = await timed(() => sameOutputCopy(source, target, out));
        await drop(target);
        return t;
      };
      const divan = async (r: number): Promise<Timed> => {
        const target = await open(`divan-${shape.name}-${r}`);
        const t = await timed(() => runMigration({ source, target, plan: { graph, to: shape.to }, batchSize: PAGE, concurrency: CONCURRENCY, lease: false }));
        const info = await target.info();
        if (info.docCount !== shape.perDoc * n) throw new Error(`divan wrote ${info.docCount} documents, expected ${shape.perDoc * n}`);
        await drop(target);
        return t;
      };
      const { a: d, b: r } = await alternate(divan, raw);
      if (shape.name === "split") split = d;
      // On a machine shared with other work, wall time follows the CPU each side gets; the CPU both sides spend
      // (this process and the server's) is the load-independent view of the same comparison.
      const cpu = (ts: readonly Timed[]): number | undefined =>
        ts.every((t) => t.serverCpuMs !== undefined) ? median(ts.map((t) => t.cpuMs + t.serverCpuMs!)) : undefined;
      const cd = cpu(d);
      const cr = cpu(r);
      if (cd !== undefined && cr !== undefined) {
        figures.push({
          name: `eager.${shape.name}.cpu-vs-same-output-copy${suffix}`,
          value: cr / cd,
          what: `divan's CPU efficiency: ${shape.what}, CPU ms of this process and the server, median ${Math.round(cd)} ms, ${where}`,
          over: `the same-output raw copy's (median ${Math.round(cr)} ms)`,
          goal: 0.9,
          better: "higher",
        });
      }
      figures.push({
        name: `eager.${shape.name}.vs-same-output-copy${suffix}`,
        value: medianMs(r) / medianMs(d),
        what: `divan runner, source docs/s: ${n} todo-item@1 → ${shape.what} copied into a new db, page ${PAGE}, ${CONCURRENCY} pages in flight, ${where}, median of ${ROUNDS} alternating rounds (ms ${list(d)})`,
        over: `same-output raw copy: the same pages answered by _bulk_docs of the same output docs, precomputed (ms ${list(r)})`,
        goal: 0.9,
        better: "higher",
      });
    }
    const plain: Timed[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const target = await open(`plain-${r}`);
      plain.push(await timed(() => rawCopy(source, target)));
      await drop(target);
    }
    const naiveTarget = await open("naive");
    const nv = await timed(() => naive(source, naiveTarget, naiveCount));
    await drop(naiveTarget);
    await drop(source);
    const divanRate = n / medianMs(split);
    figures.push(
      {
        name: `eager.vs-plain-copy${suffix}`,
        value: medianMs(plain) / medianMs(split),
        what: `divan runner 1→3, source docs/s, ${where}`,
        over: `plain raw copy (each page's docs written unchanged, one page at a time; ms ${list(plain)})`,
      },
      {
        name: `eager.vs-naive${suffix}`,
        value: divanRate / (naiveCount / nv.ms),
        what: `divan runner 1→3, source docs/s, ${where}`,
        goal: 20,
        better: "higher",
        over: `naive GET + PUT per document (${naiveCount} docs, ${Math.round(nv.ms)} ms)`,
      },
    );
    return figures;
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
  }
}

const bench: Benchmark = {
  name: "eager",
  async run(): Promise<Figure[]> {
    const figures: Figure[] = [];
    // DIVAN_BENCH_EAGER_SERVERS=couchdb measures only the CouchDB column (e.g. beside an embedded run).
    const only = process.env["DIVAN_BENCH_EAGER_SERVERS"];
    if (only !== "couchdb") {
      const server = await startServerProcess();
      try {
        figures.push(...(await serverFigures(server.url, N, "", "embedded server in a child process")));
      } finally {
        await server.close();
      }
    }
    const couchdb = only === "embedded" ? undefined : await couchDbOf(process.env);
    if (couchdb !== undefined) figures.push(...(await serverFigures(couchdb.url, COUCHDB_N, ".couchdb", couchdb.name)));
    return figures;
  },
};

export default bench;
