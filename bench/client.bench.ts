/**
 * bench/client: client-side migration (`migrateLocal`, in place, deterministic revisions) of N todo-item@1
 * documents to v3 (1→3: two documents written per source document), each run in a process of its own
 * (`bench/client-child.ts`) so that peak RSS belongs to one side only. Rounds alternate which side goes first;
 * ratios are of the medians, in source documents per second.
 *
 * - `client.vs-same-output-rewrite.memory` / `.leveldb`: over the same-output PouchDB rewrite (same pages, same
 *   pages in flight, the very documents divan writes precomputed before the clock starts), goal ≥ 0.9;
 * - `client.cpu-vs-same-output-rewrite.<adapter>`: the same ratio in CPU time of each process (what a loaded machine does
 *   not move);
 * - `client.vs-rxdb`: over RxDB 17's schema migration of the same N documents (memory storage, its default batch),
 *   goal ≥ 2 (`client.cpu-vs-rxdb` the same in CPU time), and `client.rss-vs-rxdb`: divan's peak RSS over RxDB's (goal ≤ 1);
 * - `client.leveldb-growth`: RSS growth during `migrateLocal` on LevelDB over 100 MB (goal ≤ 1: ≤ 100 MB).
 *
 * `DIVAN_BENCH_CLIENT_DOCS` sets N (default 100 000), `DIVAN_BENCH_CLIENT_ROUNDS` the rounds per side (default 3).
 * RxDB is imported from the project, or from `DIVAN_BENCH_RXDB/node_modules/rxdb` when that is set; when it
 * cannot be loaded, the RxDB figures are left out with a note.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, type Benchmark, type Figure } from "./harness.js";

const N = Number(process.env["DIVAN_BENCH_CLIENT_DOCS"] ?? 100_000);
const ROUNDS = Math.max(1, Number(process.env["DIVAN_BENCH_CLIENT_ROUNDS"] ?? 3));
const here = dirname(fileURLToPath(import.meta.url));

interface Run {
  readonly ms: number;
  /** CPU ms of the child process during the migration (the same on a loaded machine, where wall times are not). */
  readonly cpuMs: number;
  readonly rssBefore: number;
  readonly peakRss: number;
  readonly written: number;
}

/** Runs one job of `client-child.ts` and returns its measurement. */
function child(job: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join(here, "client-child.ts"), job], { cwd: join(here, ".."), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    p.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    p.on("error", reject);
    p.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code === 0 && line.startsWith("{")) resolve(JSON.parse(line) as Run);
      else reject(new Error(`client-child ${job} failed (${String(code)}): ${err.trim().split("\n").slice(-5).join(" | ")}`));
    });
  });
}

/** `ROUNDS` runs of each job, alternating which goes first. */
async function alternate(a: string, b: string): Promise<{ a: Run[]; b: Run[] }> {
  const as: Run[] = [];
  const bs: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      bs.push(await child(b));
      as.push(await child(a));
    } else {
      as.push(await child(a));
      bs.push(await child(b));
    }
  }
  return { a: as, b: bs };
}

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20);
const ms = (rs: readonly Run[]): number => median(rs.map((r) => r.ms));
const list = (rs: readonly Run[]): string => rs.map((r) => Math.round(r.ms)).join("/");
const cpu = (rs: readonly Run[]): number => median(rs.map((r) => r.cpuMs));
const peak = (rs: readonly Run[]): number => median(rs.map((r) => r.peakRss));
const growth = (rs: readonly Run[]): number => Math.max(...rs.map((r) => r.peakRss - r.rssBefore));

const bench: Benchmark = {
  name: "client",
  async run(): Promise<Figure[]> {
    const figures: Figure[] = [];
    for (const adapter of ["memory", "leveldb"] as const) {
      const { a: d, b: w } = await alternate(`divan:${adapter}:${N}`, `rewrite:${adapter}:${N}`);
      figures.push({
        name: `client.vs-same-output-rewrite.${adapter}`,
        value: ms(w) / ms(d),
        what: `migrateLocal, source docs/s: ${N} todo-item@1 → v3 in place in PouchDB ${adapter}, median of ${ROUNDS} alternating rounds, a process each (ms ${list(d)}; peak RSS ${mib(peak(d))} MiB, growth ≤ ${mib(growth(d))} MiB)`,
        over: `the same output documents written by a raw PouchDB rewrite, same pages and pages in flight (ms ${list(w)}; peak RSS ${mib(peak(w))} MiB)`,
        goal: 0.9,
        better: "higher",
      });
      figures.push({
        name: `client.cpu-vs-same-output-rewrite.${adapter}`,
        value: cpu(w) / cpu(d),
        what: `migrateLocal's CPU efficiency on PouchDB ${adapter} (CPU ms of its process, median ${Math.round(cpu(d))})`,
        over: `the same-output rewrite's (median ${Math.round(cpu(w))} CPU ms)`,
        goal: 0.9,
        better: "higher",
      });
      if (adapter === "leveldb") {
        figures.push({
          name: "client.leveldb-growth",
          value: growth(d) / (100 * 2 ** 20),
          what: `largest RSS growth during migrateLocal of ${N} docs on LevelDB: ${mib(growth(d))} MiB (pages streamed, the database never held)`,
          over: "100 MB",
          goal: 1,
        });
      }
    }
    let rx: { a: Run[]; b: Run[] } | undefined;
    try {
      rx = await alternate(`divan:memory:${N}`, `rxdb:memory:${N}`);
    } catch (e) {
      console.log(`  note: RxDB figures left out: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (rx !== undefined) {
      figures.push(
        {
          name: "client.vs-rxdb",
          value: ms(rx.b) / ms(rx.a),
          what: `migrateLocal on PouchDB memory, source docs/s, ${N} docs 1→3 (ms ${list(rx.a)})`,
          over: `RxDB 17 schema migration of ${N} docs on its memory storage, default batch (ms ${list(rx.b)})`,
          goal: 2,
          better: "higher",
        },
        {
          name: "client.cpu-vs-rxdb",
          value: cpu(rx.b) / cpu(rx.a),
          what: `migrateLocal's CPU on PouchDB memory, ${N} docs 1→3 (median ${Math.round(cpu(rx.a))} CPU ms of its process)`,
          over: `RxDB 17's schema migration's (median ${Math.round(cpu(rx.b))} CPU ms)`,
          goal: 2,
          better: "higher",
        },
        {
          name: "client.rss-vs-rxdb",
          value: peak(rx.a) / peak(rx.b),
          what: `peak RSS of the migrateLocal process, ${mib(peak(rx.a))} MiB (median)`,
          over: `the RxDB process's, ${mib(peak(rx.b))} MiB`,
          goal: 1,
        },
      );
    }
    return figures;
  },
};

export default bench;
