/**
 * One client-side migration in a process of its own, so its peak RSS is its own: `bench/client.bench.ts`
 * runs `node --import tsx bench/client-child.ts <job>` and reads one JSON line from stdout
 * (`{ ms, cpuMs, rssBefore, peakRss, written }`). Seeding happens before the clock starts and before `rssBefore`.
 *
 * Jobs (`<what>:<adapter>:<n>`):
 * - `divan:<memory|leveldb>:<n>`: `migrateLocal` of n todo-item@1 documents to v3 (1→3: two documents per source);
 * - `rewrite:<memory|leveldb>:<n>`: the same-output PouchDB rewrite: `_all_docs` pages of the same size, each page's
 *   rows answered by writing the *same output documents* divan writes, revisions included (precomputed with the
 *   compiled path, the same recorded bases and the same deterministic revisions before the clock starts, written with
 *   `new_edits: false` as divan writes them), the same pipelining (pages in flight);
 * - `rxdb:memory:<n>`: RxDB's schema migration (version 0 → 1, the same 1→3 translation as a migration strategy) of n
 *   documents on its memory storage, default batch, `autoMigrate`. RxDB is a development dependency of the bench only.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createStepGraph } from "../adapters/path.js";
import { migrateLocal } from "../client/migrate.js";
import { todoShapes, todoSteps } from "../examples/todo-app/steps/index.js";
import { openPouchStore } from "../store/pouch.js";
import { pouchDefaults } from "../store/pouchdb-node.js";
import type { Doc, DocumentStore } from "../store/port.js";
import { attributeHashes, withBases } from "../strategies/runner/bases.js";
import { withDeterministicRev } from "../strategies/runner/canonical.js";
import { recordingSplit } from "../strategies/runner/split.js";
import { seed, todo } from "./harness.js";

/** Page size of both sides (the runner's `batchSize`). */
export const CLIENT_PAGE = 500;
/** Pages in flight of both sides (the runner's default `concurrency`). */
export const CLIENT_CONCURRENCY = 2;

const graph = createStepGraph(todoSteps);
const path13 = graph.path(todoShapes.v1, todoShapes.v3);

/**
 * Samples RSS every 50 ms while `fn` runs; also its process CPU time. With `DIVAN_BENCH_CLIENT_PROFILE=<file>`,
 * `fn` alone is profiled (V8 CPU profile written to `<file>`, open it in Chrome DevTools).
 */
async function measured(fn: () => Promise<number>): Promise<{ ms: number; cpuMs: number; rssBefore: number; peakRss: number; written: number }> {
  const profile = process.env["DIVAN_BENCH_CLIENT_PROFILE"];
  const session = profile === undefined ? undefined : new Session();
  const post = (method: string): Promise<unknown> => new Promise((ok, fail) => session!.post(method, (e, r) => (e ? fail(e) : ok(r))));
  if (session !== undefined) {
    session.connect();
    await post("Profiler.enable");
    await post("Profiler.start");
  }
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const written = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  clearInterval(timer);
  if (session !== undefined) {
    const { profile: p } = (await post("Profiler.stop")) as { profile: object };
    await writeFile(profile!, JSON.stringify(p));
    session.disconnect();
  }
  return { ms, cpuMs: (c.user + c.system) / 1000, rssBefore, peakRss: Math.max(peak, process.memoryUsage.rss()), written };
}

/** Reads `_all_docs` pages and hands each to `write`, at most `concurrency` writes in flight (read-ahead as the runner). */
export async function pipelined(store: DocumentStore, page: number, concurrency: number, write: (rows: { id: string; rev: string }[]) => Promise<number>): Promise<number> {
  let startkey: string | undefined;
  const open = new Set<Promise<void>>();
  let written = 0;
  for (;;) {
    const p = await store.allDocs({ includeDocs: true, limit: page, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    const rows = p.rows.flatMap((r) => (r.value === undefined ? [] : [{ id: r.id, rev: r.value.rev }]));
    const w: Promise<void> = write(rows).then((n) => {
      written += n;
      open.delete(w);
    });
    open.add(w);
    while (open.size >= concurrency) await Promise.race(open);
    const last = p.rows[p.rows.length - 1];
    if (p.rows.length < page || last === undefined) break;
    startkey = last.id;
  }
  await Promise.all(open);
  return written;
}

async function pouchJob(what: string, adapter: "memory" | "leveldb", n: number): Promise<void> {
  const dir = adapter === "leveldb" ? await mkdtemp(join(tmpdir(), "divan-bench-client-")) : undefined;
  const Pouch = pouchDefaults(dir === undefined ? { adapter } : { adapter, prefix: `${dir}/` });
  const store = openPouchStore(Pouch, `bench-client-${what}`);
  try {
    await seed(store, n);
    let result: Awaited<ReturnType<typeof measured>>;
    if (what === "divan") {
      result = await measured(async () => (await migrateLocal(store, { steps: graph, to: todoShapes.v3, batchSize: CLIENT_PAGE, lock: "none" })).report.totals.written);
    } else {
      // The same output documents, precomputed (with the revision each replaces) before the clock starts: each records
      // the hashes of its attributes as the translation of its source revision (`divan.bases`), the translated document
      // records the document split off it (`divan.split`), as migrateLocal's do, and each has the same deterministic revision.
      const out = new Map<string, Doc[]>();
      const revs = await store.allDocs({});
      for (const r of revs.rows) {
        const i = Number(r.id.slice("todo-item:".length));
        const rev = r.value!.rev;
        const e = path13({ "todo-item": { ...todo(i), _rev: rev } });
        const docs = Object.values(e).map((d) => ({ doc: withBases(d as Doc, { [rev]: attributeHashes(d) }) }));
        out.set(r.id, recordingSplit(docs, new Set([r.id])).map((w) => withDeterministicRev(w.doc)));
      }
      result = await measured(() =>
        pipelined(store, CLIENT_PAGE, CLIENT_CONCURRENCY, async (rows) => {
          const docs = rows.flatMap((r) => out.get(r.id) ?? []);
          await store.bulkDocs(docs, { newEdits: false });
          return docs.length;
        }),
      );
    }
    const info = await store.info();
    if (info.docCount !== 2 * n) throw new Error(`${what} left ${info.docCount} documents, expected ${2 * n}`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await store.destroy().catch(() => undefined);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** What the bench uses of RxDB (typed here: RxDB is not a dependency of divan itself). */
interface RxCollectionLike {
  bulkInsert(docs: readonly object[]): Promise<unknown>;
  count(): { exec(): Promise<number> };
}
interface RxDatabaseLike {
  addCollections(c: Record<string, object>): Promise<Record<string, RxCollectionLike>>;
  close(): Promise<unknown>;
  remove(): Promise<unknown>;
}
interface RxdbModules {
  createRxDatabase(o: object): Promise<RxDatabaseLike>;
  addRxPlugin(p: unknown): void;
  getRxStorageMemory(): unknown;
  RxDBMigrationSchemaPlugin: unknown;
}

/**
 * RxDB, resolved at run time: `rxdb` from the project (a development dependency of the bench only), or the copy
 * installed under the directory `DIVAN_BENCH_RXDB` names (`<dir>/node_modules/rxdb`).
 */
async function loadRxdb(): Promise<RxdbModules> {
  const dir = process.env["DIVAN_BENCH_RXDB"];
  const spec = (sub: string, bare: string): string => (dir ? pathToFileURL(join(dir, "node_modules/rxdb/dist/esm", sub, "index.js")).href : bare);
  const core = (await import(spec("", "rxdb"))) as Pick<RxdbModules, "createRxDatabase" | "addRxPlugin">;
  const mem = (await import(spec("plugins/storage-memory", "rxdb/plugins/storage-memory"))) as Pick<RxdbModules, "getRxStorageMemory">;
  const mig = (await import(spec("plugins/migration-schema", "rxdb/plugins/migration-schema"))) as Pick<RxdbModules, "RxDBMigrationSchemaPlugin">;
  return { ...core, ...mem, ...mig };
}

async function rxdbJob(n: number): Promise<void> {
  const rx = await loadRxdb();
  rx.addRxPlugin(rx.RxDBMigrationSchemaPlugin);
  const storage = rx.getRxStorageMemory();
  const name = `benchrx${process.pid}`;
  const v0 = {
    version: 0,
    primaryKey: "id",
    type: "object",
    properties: { id: { type: "string", maxLength: 40 }, title: { type: "string" }, isDone: { type: "boolean" }, createdAt: { type: "string" } },
    required: ["id", "title", "isDone", "createdAt"],
  } as const;
  const v1 = {
    version: 1,
    primaryKey: "id",
    type: "object",
    properties: {
      id: { type: "string", maxLength: 40 },
      title: { type: "string" },
      status: { type: "string" },
      isImportant: { type: "boolean" },
      group: { type: "string" },
      createdAt: { type: "string" },
    },
    required: ["id", "title", "status", "createdAt"],
  } as const;
  const db0 = await rx.createRxDatabase({ name, storage, multiInstance: false, closeDuplicates: true });
  const c0 = await db0.addCollections({ todos: { schema: v0 } });
  for (let i = 0; i < n; i += 5_000) {
    const docs = [];
    for (let j = i; j < Math.min(n, i + 5_000); j++) docs.push({ id: String(j).padStart(8, "0"), title: `todo ${j}`, isDone: j % 2 === 0, createdAt: "2024-01-01T00:00:00.000Z" });
    await c0.todos!.bulkInsert(docs);
  }
  await db0.close();
  const result = await measured(async () => {
    const db1 = await rx.createRxDatabase({ name, storage, multiInstance: false, closeDuplicates: true });
    // The same translation as the todo 1→3 path: isDone → status, group default, isImportant kept.
    const c1 = await db1.addCollections({
      todos: {
        schema: v1,
        autoMigrate: true,
        migrationStrategies: {
          1: (d: { id: string; title: string; isDone: boolean; createdAt: string; isImportant?: boolean }) => {
            const { isDone, ...rest } = d;
            return { ...rest, status: isDone ? "done" : "active", group: "default" };
          },
        },
      },
    });
    const count = await c1.todos!.count().exec();
    await db1.remove();
    return count;
  });
  if (result.written !== n) throw new Error(`RxDB migrated ${result.written} documents, expected ${n}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const [what, adapter, count] = (process.argv[2] ?? "").split(":");
const n = Number(count);
if (!Number.isInteger(n) || n <= 0) throw new Error(`usage: client-child.ts <divan|rewrite|rxdb>:<memory|leveldb>:<n>, got ${process.argv[2] ?? "nothing"}`);
if (what === "rxdb") await rxdbJob(n);
else if ((what === "divan" || what === "rewrite") && (adapter === "memory" || adapter === "leveldb")) await pouchJob(what, adapter, n);
else throw new Error(`unknown job ${process.argv[2] ?? ""}`);
