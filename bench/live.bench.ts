/**
 * `bench live.read-vs-plain`: reading 10k todos of mixed versions (a third each stored as v1, v2 and v3, v3 being two
 * documents) at app 3.0 through the live adapter's entity pages, over plain PouchDB `allDocs` of the same database
 * (memory adapter), same run, rounds rotating which side goes first, ratio of medians; `live.cpu-read-vs-plain` the
 * same in CPU time (which a loaded machine moves less). Goal ≤ 2. `live.read-vs-plain.stored-id-pages` (and its CPU
 * figure): the adapter translating stored-id pages (`translatePage`), the figure measured before entity pages.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLiveAdapter } from "../strategies/live/adapter.js";
import { todoShapes, todoSteps } from "../examples/todo-app/steps/index.js";
import { loadRegistry } from "../schemas/load.js";
import { pouchStore } from "../store/pouch.js";
import { pouchDefaults } from "../store/pouchdb-node.js";
import type { Doc } from "../store/port.js";
import { median, type Benchmark } from "./harness.js";

const N = 10_000;
const PAGE = 1_000;
const ROUNDS = 7;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function makeDocs(): Doc[] {
  const out: Doc[] = [];
  const createdAt = "2024-03-01T09:30:00.000Z";
  for (let i = 0; i < N; i++) {
    const id = i.toString(16).padStart(6, "0");
    const title = `todo number ${i}`;
    if (i % 3 === 0) out.push({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title, isDone: i % 2 === 0, createdAt });
    else if (i % 3 === 1) out.push({ _id: `todo-item:${id}`, schema: "todo-item", version: 2, title, status: "blocked", isImportant: false, createdAt });
    else {
      out.push({ _id: `todo-item:${id}`, schema: "todo-item", version: 3, title, isImportant: true, createdAt, group: "home" });
      out.push({ _id: `todo-item-status:${id}`, schema: "todo-item-status", version: 1, status: "done" });
    }
  }
  return out;
}

/** Reads every page of `read` (startkey paging) and returns the rows seen. */
async function readAll(read: (startkey: string | undefined) => Promise<{ rows: { id: string }[]; last: string | undefined; full: boolean }>): Promise<number> {
  let rows = 0;
  let startkey: string | undefined;
  for (;;) {
    const page = await read(startkey);
    rows += page.rows.length;
    if (!page.full || page.last === undefined) return rows;
    startkey = `${page.last}\u0000`;
  }
}

const bench: Benchmark = {
  name: "live",
  async run() {
    const registry = await loadRegistry(path.join(root, "examples/todo-app/schemas"));
    const Pouch = pouchDefaults({ adapter: "memory" });
    const db = new Pouch(`bench-live-${process.pid}`);
    const store = pouchStore(db);
    try {
      await store.bulkDocs(makeDocs());
      const adapter = createLiveAdapter(store, { registry, steps: todoSteps, shape: todoShapes.v3 });
      const plain = () =>
        readAll(async (startkey) => {
          const p = await store.allDocs({ includeDocs: true, limit: PAGE, ...(startkey ? { startkey } : {}) });
          return { rows: p.rows, last: p.rows[p.rows.length - 1]?.id, full: p.rows.length === PAGE };
        });
      // The adapter pages by entity: each page a range of entity ids, read from the todo-item and todo-item-status ranges.
      const lazy = async (): Promise<number> => {
        let rows = 0;
        for await (const p of adapter.entityPages({ limit: PAGE, includeDocs: true })) rows += p.rows.length;
        return rows;
      };
      // The adapter translates stored-id pages as plain reads page them (their entities' other documents read again).
      const storedIdPages = () =>
        readAll(async (startkey) => {
          const p = await store.allDocs({ includeDocs: true, limit: PAGE, ...(startkey ? { startkey } : {}) });
          const translated = await adapter.translatePage(p, { includeDocs: true });
          return { rows: translated.rows, last: p.rows[p.rows.length - 1]?.id, full: p.rows.length === PAGE };
        });
      // sanity: the adapter shows every todo at v3 (two documents each)
      const check = await adapter.allDocs({ includeDocs: true });
      if (check.rows.length !== 2 * N || check.rows.some((r) => r.doc === undefined || r.doc === null)) {
        throw new Error(`live adapter read ${check.rows.length} rows, expected ${2 * N} documents at v3`);
      }
      // (stored-id pages give an entity's rows with each page holding one of its documents: more rows than documents)
      const paged = await lazy();
      if (paged !== 2 * N) throw new Error(`live adapter entity pages read ${paged} rows, expected ${2 * N}`);
      const sides = [lazy, storedIdPages, plain];
      const wall: number[][] = sides.map(() => []);
      const cpus: number[][] = sides.map(() => []);
      const cpu = (): number => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };
      for (let i = 0; i < ROUNDS + 1; i++) {
        for (let k = 0; k < sides.length; k++) {
          const s = (i + k) % sides.length; // each round starts with the next side
          const [c0, t0] = [cpu(), performance.now()];
          await sides[s]!();
          const [c1, t1] = [cpu(), performance.now()];
          if (i === 0) continue; // warm-up
          wall[s]!.push(t1 - t0);
          cpus[s]!.push(c1 - c0);
        }
      }
      const [a, old, b] = wall.map(median) as [number, number, number];
      const [ca, cold, cb] = cpus.map(median) as [number, number, number];
      return [
        {
          name: "live.read-vs-plain",
          value: a / b,
          what: `lazy read at app 3.0 of ${N} todos stored as v1/v2/v3 (entity pages of ${PAGE} rows per type range, translated)`,
          over: "plain PouchDB allDocs of the same documents",
          goal: 2,
        },
        {
          name: "live.cpu-read-vs-plain",
          value: ca / cb,
          what: `the same in CPU time of this process (median ${Math.round(ca)} ms)`,
          over: `plain allDocs's (median ${Math.round(cb)} ms)`,
          goal: 2,
        },
        {
          name: "live.read-vs-plain.stored-id-pages",
          value: old / b,
          what: `the same read translating stored-id pages (${PAGE} rows, translatePage)`,
          over: "plain PouchDB allDocs of the same documents",
        },
        {
          name: "live.cpu-read-vs-plain.stored-id-pages",
          value: cold / cb,
          what: `the same in CPU time (median ${Math.round(cold)} ms)`,
          over: `plain allDocs's (median ${Math.round(cb)} ms)`,
        },
      ];
    } finally {
      await db.destroy();
    }
  },
};

export default bench;
