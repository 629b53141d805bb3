/**
 * Shared fixtures of the runner tests: the todo step graph, shapes, documents and store helpers.
 */
import path from "node:path";
import { afterEach } from "vitest";
import { createStepGraph } from "../../adapters/path.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { loadRegistry } from "../../schemas/load.js";
import type { Registry } from "../../schemas/registry.js";
import { openPouchStore } from "../../store/pouch.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";

/** The todo steps compiled once. */
export const graph = createStepGraph(todoSteps);
/** App 3.0's whole shape. */
export const V3 = { "todo-item": 3, "todo-item-status": 1, settings: 1 } as const;
/** App 1.1's whole shape. */
export const V1 = { "todo-item": 1, settings: 1 } as const;

let registry: Registry | undefined;
/** The todo registry (loaded once). */
export async function todoRegistry(): Promise<Registry> {
  registry ??= await loadRegistry(path.join(import.meta.dirname, "../../examples/todo-app/schemas"));
  return registry;
}

/** A fresh in-memory PouchDB store. */
export function memoryStore(prefix = "runner"): DocumentStore {
  return openPouchStore(MemoryPouchDB, uniqueDbName(prefix));
}

/**
 * A `store()` for one test file: each call opens a fresh in-memory store named after `prefix`, and every store it
 * opened is destroyed after each test. Call it once, at the top level of the file (it registers the `afterEach`).
 */
export function memoryStores(prefix = "runner"): () => DocumentStore {
  const open: DocumentStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.destroy().catch(() => undefined);
  });
  return () => {
    const s = memoryStore(prefix);
    open.push(s);
    return s;
  };
}

/** The live leaves of `id`, winner first (none when it has no live winner). */
export async function leavesOf(s: DocumentStore, id: string): Promise<Doc[]> {
  const winner = await s.get(id, { conflicts: true }).catch(() => undefined);
  if (winner === undefined) return [];
  const others = (await s.bulkGet((winner._conflicts ?? []).map((rev) => ({ id, rev })))).flatMap((r) => ("ok" in r && r.ok._deleted !== true ? [r.ok] : []));
  return [winner, ...others];
}

/** A valid todo-item@1 with entity id `n` (zero-padded). */
export function todoV1(n: number, extra: Record<string, unknown> = {}): Doc {
  return {
    _id: `todo-item:${String(n).padStart(6, "0")}`,
    schema: "todo-item",
    version: 1,
    title: `todo ${n}`,
    isDone: n % 3 === 0,
    createdAt: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
    ...extra,
  };
}

/** Every non-design document, sorted by id, without `_rev`. */
export async function contents(store: DocumentStore): Promise<Doc[]> {
  const page = await store.allDocs({ includeDocs: true });
  return page.rows
    .filter((r) => r.doc && !r.id.startsWith("_design/"))
    .map((r) => {
      const { _rev, ...rest } = r.doc!;
      void _rev;
      return rest as Doc;
    });
}

/** Every non-design document with its `_rev`, sorted by id. */
export async function withRevs(store: DocumentStore): Promise<Doc[]> {
  const page = await store.allDocs({ includeDocs: true });
  return page.rows.filter((r) => r.doc && !r.id.startsWith("_design/")).map((r) => r.doc!);
}
