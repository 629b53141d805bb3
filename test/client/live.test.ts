import { afterEach, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { divan } from "../../client/plugin.js";
import { loadManifests, loadRegistry } from "../../schemas/load.js";
import type { Manifest } from "../../schemas/manifest.js";
import type { Registry } from "../../schemas/registry.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { pouchStore } from "../../store/pouch.js";
import { createLiveAdapter, type LiveAdapter, type LiveRow } from "../../strategies/live/adapter.js";
import { todoShapes, todoSteps } from "../../examples/todo-app/steps/index.js";
import type { DeclarativeStep } from "../../adapters/steps.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const Pouch = pouchDefaults({ adapter: "memory" }).plugin(divan);
let registry: Registry;
let manifests: Manifest[];
const manifest = (v: string): Manifest => manifests.find((m) => m.version === v)!;
const open: PouchDB.Database[] = [];
let n = 0;

const seed = (d: PouchDB.Database, docs: Doc[]) => d.bulkDocs(docs as PouchDB.Core.PutDocument<{}>[]);

function db() {
  const d = new Pouch(`live-${process.pid}-${++n}`);
  open.push(d);
  return d;
}

beforeAll(async () => {
  registry = await loadRegistry(path.join(root, "examples/todo-app/schemas"));
  manifests = await loadManifests(path.join(root, "examples/todo-app/manifests"));
});
afterEach(async () => {
  for (const d of open.splice(0)) await d.destroy();
});

const T = "2024-03-01T09:30:00.000Z";
const v1 = (id: string, isDone: boolean, extra: Record<string, unknown> = {}): Doc => ({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: `t ${id}`, isDone, createdAt: T, ...extra });
const v2 = (id: string, status: string): Doc => ({ _id: `todo-item:${id}`, schema: "todo-item", version: 2, title: `t ${id}`, status, isImportant: false, createdAt: T });
const v3 = (id: string, group: string, status: string): Doc[] => [
  { _id: `todo-item:${id}`, schema: "todo-item", version: 3, title: `t ${id}`, isImportant: true, createdAt: T, group },
  { _id: `todo-item-status:${id}`, schema: "todo-item-status", version: 1, status },
];

describe("divan/client plugin", () => {
  it("is registered explicitly and refuses to work before it is configured", async () => {
    const d = db();
    expect(d.divan.configured).toBe(false);
    await expect(async () => d.divan.get("x")).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    d.divan({ registry, steps: todoSteps, manifest: manifest("3.0.0") });
    expect(d.divan.configured).toBe(true);
    expect(d.divan.adapter.shape).toEqual({ "todo-item": 3, "todo-item-status": 1, settings: 1 });
  });

  it("a 3.0 app reads v1, v2 and v3 todos as v3 (the split status document included)", async () => {
    const d = db();
    await seed(d, [v1("a", true), v2("b", "blocked"), ...v3("c", "garden", "rejected"), { _id: "settings", schema: "settings", version: 1, color: "#ff0000" }]);
    d.divan.configure({ registry, steps: todoSteps, manifest: manifest("3.0.0") });
    const page = await d.divan.allDocs({ includeDocs: true });
    const byId = new Map(page.rows.map((r) => [r.id, r.doc]));
    expect(page.rows.map((r) => r.id)).toEqual([
      "settings",
      "todo-item-status:a",
      "todo-item-status:b",
      "todo-item-status:c",
      "todo-item:a",
      "todo-item:b",
      "todo-item:c",
    ]);
    expect(byId.get("todo-item:a")).toMatchObject({ version: 3, group: "default", title: "t a" });
    expect(byId.get("todo-item:a")).not.toHaveProperty("isDone");
    expect(byId.get("todo-item-status:a")).toMatchObject({ schema: "todo-item-status", version: 1, status: "done" });
    expect(byId.get("todo-item-status:b")).toMatchObject({ status: "blocked" });
    expect(byId.get("todo-item:c")).toMatchObject({ group: "garden" });
    for (const doc of byId.values()) if (doc && doc["schema"] !== undefined) expect(registry.validate(doc).ok).toBe(true);
    // the stored documents did not change (lazy: migrate on write only)
    expect(await d.get("todo-item:a")).toMatchObject({ version: 1, isDone: true });
    await expect(d.get("todo-item-status:a")).rejects.toMatchObject({ status: 404 });
    expect(await d.divan.get("todo-item-status:b")).toMatchObject({ status: "blocked" });
  });

  it("a 1.0 app reads v3 todos as v1 and never sees the status documents", async () => {
    const d = db();
    await seed(d, [...v3("c", "garden", "done"), ...v3("e", "x", "blocked")]);
    d.divan({ registry, steps: todoSteps, manifest: manifest("1.0.0") });
    const page = await d.divan.allDocs({ includeDocs: true });
    expect(page.rows.map((r) => r.id)).toEqual(["todo-item:c", "todo-item:e"]);
    expect(page.rows[0]!.doc).toMatchObject({ version: 1, isDone: true, title: "t c" });
    expect(page.rows[0]!.doc).not.toHaveProperty("group");
    expect(page.rows[1]!.doc).toMatchObject({ version: 1, isDone: false });
    await expect(d.divan.get("todo-item-status:c")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("a 1.0 edit of a v3 todo is written as v3 with the stored documents as base: group and blocked status survive", async () => {
    const d = db();
    await seed(d, v3("g", "garden", "blocked"));
    d.divan({ registry, steps: todoSteps, manifest: manifest("1.0.0") });
    const old = await d.divan.get("todo-item:g");
    const r = await d.divan.put({ ...old, title: "plant tulips in the garden" });
    expect(r.id).toBe("todo-item:g");
    const item = await d.get<Record<string, unknown>>("todo-item:g");
    expect(item).toMatchObject({ version: 3, group: "garden", title: "plant tulips in the garden", isImportant: true });
    expect(item._rev).toBe(r.rev);
    expect(await d.get("todo-item-status:g")).toMatchObject({ status: "blocked" });
    // toggling done from the old app moves the status, and only the status document changes
    const again = await d.divan.get("todo-item:g");
    const statusRev = (await d.get("todo-item-status:g"))._rev;
    await d.divan.put({ ...again, isDone: true });
    const status = await d.get<Record<string, unknown>>("todo-item-status:g");
    expect(status).toMatchObject({ status: "done" });
    expect(status._rev).not.toBe(statusRev);
    expect((await d.get("todo-item:g"))._rev).toBe(r.rev);
  });

  it("a 3.0 edit of a v1 todo migrates the entity on write (todo-item@3 and a new todo-item-status@1)", async () => {
    const d = db();
    await seed(d, [v1("m", true, { note: "kept" })]);
    d.divan({ registry, steps: todoSteps, manifest: manifest("3.0.0") });
    const item = await d.divan.get("todo-item:m");
    const [res] = await d.divan.bulkDocs([{ ...item, title: "buy oat milk" }]);
    expect(res).toMatchObject({ ok: true, id: "todo-item:m" });
    expect(await d.get("todo-item:m")).toMatchObject({ version: 3, title: "buy oat milk", group: "default", note: "kept" });
    expect(await d.get("todo-item-status:m")).toMatchObject({ version: 1, status: "done" });
    // an old app still reads it (down), a conflict is reported per document
    const stale = await d.divan.bulkDocs([{ ...item, title: "stale" }]);
    expect(stale[0]).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
  });

  it("validates on write with the server's code and reason", async () => {
    const d = db();
    d.divan({ registry, steps: todoSteps, manifest: manifest("3.0.0") });
    const bad = { _id: "todo-item:z", schema: "todo-item", version: 3, title: "x".repeat(65), createdAt: T, group: "g" };
    const [r] = await d.divan.bulkDocs([bad, { _id: "todo-item-status:z", schema: "todo-item-status", version: 1, status: "active" }]);
    expect(r).toMatchObject({ ok: false, error: { code: "SCHEMA_INVALID" } });
    expect(r!.ok ? "" : r!.error.reason).toMatch(/^invalid todo-item@3 document todo-item:z: \/title /);
    await expect(d.divan.put({ ...bad, title: "ok", version: 1 })).rejects.toMatchObject({ code: "SCHEMA_INVALID" });
    await expect(d.get("todo-item:z")).rejects.toMatchObject({ status: 404 });
  });

  it("a document whose step throws is a STEP_FAILED row and the rest of the page returns", async () => {
    const d = db();
    await seed(d, [v1("a", false), v1("b", true), v1("c", false)]);
    const throwing = {
      name: "todo-item 1→2 (throws on b)",
      from: { "todo-item": 1 },
      to: { "todo-item": 2 },
      type: "todo-item",
      up: (doc: Doc) => {
        if (doc._id === "todo-item:b") throw new Error("cannot convert b");
        const { isDone, ...rest } = doc;
        return { ...rest, version: 2, status: isDone === true ? "done" : "active" };
      },
      down: (doc: Doc) => {
        const { status, ...rest } = doc;
        return { ...rest, version: 1, isDone: status === "done" };
      },
    };
    d.divan({ registry, steps: [throwing], manifest: manifest("2.0.0") });
    const page = await d.divan.allDocs({ includeDocs: true });
    expect(page.rows.map((r) => [r.id, r.error ?? r.doc?.["status"]])).toEqual([
      ["todo-item:a", "active"],
      ["todo-item:b", "STEP_FAILED"],
      ["todo-item:c", "active"],
    ]);
    expect(page.rows[1]!.problem?.reason).toMatch(/cannot convert b/);
    await expect(d.divan.get("todo-item:b")).rejects.toMatchObject({ code: "STEP_FAILED" });
  });

  it("reports a missing part per document (todo-item@3 whose status has not replicated) for an app that must merge it", async () => {
    const d = db();
    await seed(d, [v3("p", "g", "done")[0]!, v1("q", false)]);
    d.divan({ registry, steps: todoSteps, manifest: manifest("1.0.0") });
    const page = await d.divan.allDocs({ includeDocs: true });
    expect(page.rows.map((r) => [r.id, r.error ?? "ok"])).toEqual([
      ["todo-item:p", "ENTITY_INCOMPLETE"],
      ["todo-item:q", "ok"],
    ]);
    expect(page.rows[0]!.problem?.reason).toMatch(/todo-item-status:p/);
  });

  it("find matches the selector in the app's version; changes report entity changes at the app's ids", async () => {
    const d = db();
    await seed(d, [v1("a", true), v2("b", "done"), ...v3("c", "g", "blocked"), ...v3("e", "g", "done")]);
    d.divan({ registry, steps: todoSteps, manifest: manifest("1.0.0") });
    const found = await d.divan.find({ selector: { isDone: true }, fields: ["_id"] });
    expect(found.docs).toEqual([{ _id: "todo-item:a" }, { _id: "todo-item:b" }, { _id: "todo-item:e" }]);
    const since = (await d.changes({ since: "now" } as PouchDB.Core.ChangesOptions)).last_seq;
    await d.put({ ...(await d.get("todo-item-status:c")), status: "done" });
    const ch = await d.divan.changes({ since: String(since), includeDocs: true });
    expect(ch.results.map((c) => [c.id, c.doc?.["isDone"]])).toEqual([["todo-item:c", true]]);
  });

  it("steps stored as data in the database teach an old app the versions released after it", async () => {
    const d = db();
    await seed(d, v3("g", "garden", "blocked"));
    d.divan({ registry, steps: [], manifest: manifest("1.0.0"), stepsDocId: "_design/divan-steps" });
    // without steps the 1.0 app's adapter knows no entity: the v3 documents pass through as stored
    expect(await d.divan.get("todo-item:g")).toMatchObject({ version: 3, group: "garden" });
    await d.put({ _id: "_design/divan-steps", steps: JSON.parse(JSON.stringify(todoSteps)) as DeclarativeStep[] });
    const after = await d.divan.get("todo-item:g");
    expect(after).toMatchObject({ version: 1, isDone: false });
  });

  it("write-back stores the translated form of an old document on read, when asked", async () => {
    const d = db();
    await seed(d, [v1("w", true)]);
    d.divan({ registry, steps: todoSteps, manifest: manifest("3.0.0"), writeBack: true });
    const read = await d.divan.get("todo-item:w");
    const stored = await d.get("todo-item:w");
    expect(stored).toMatchObject({ version: 3 });
    expect(read._rev).toBe(stored._rev);
    expect(await d.get("todo-item-status:w")).toMatchObject({ status: "done" });
  });
});

describe("ending deletions a sync completed", () => {
  /** A v3 todo whose todo-item is deleted and whose status document arrived after (two conflicting leaves). */
  const lateStatus = async (d: PouchDB.Database, id: string): Promise<void> => {
    const [item] = v3(id, "garden", "active");
    const put = await d.put(item as PouchDB.Core.PutDocument<{}>);
    await d.remove(item!._id, put.rev);
    const status = `todo-item-status:${id}`;
    const leaf = (rev: string, value: string): Doc => ({ _id: status, _rev: rev, schema: "todo-item-status", version: 1, status: value });
    await d.bulkDocs([leaf("1-aaa", "done"), leaf("1-bbb", "blocked")] as PouchDB.Core.PutDocument<{}>[], { new_edits: false });
  };

  it("deletes every live leaf of an entity that reads as deleted, with the same revisions on every device, and nothing else", async () => {
    const [a, b] = [db(), db()];
    for (const d of [a, b]) {
      await lateStatus(d, "x");
      await seed(d, [...v3("kept", "garden", "done"), v3("waits", "garden", "active")[0]!]); // complete; status not arrived (not deleted)
      d.divan({ registry, steps: todoSteps, manifest: manifest("3.0.0") });
      expect(await d.divan.allDocs({ keys: ["todo-item-status:x"] })).toMatchObject({ rows: [{ error: "not_found" }] });
    }
    const first = await a.divan.adapter.endDeleted();
    expect(first.ended).toEqual(["x"]);
    await b.divan.adapter.endDeleted();
    const leaves = async (d: PouchDB.Database) => (await d.changes({ style: "all_docs", doc_ids: ["todo-item-status:x"] } as PouchDB.Core.ChangesOptions)).results[0];
    const [la, lb] = [await leaves(a), await leaves(b)];
    expect(la?.deleted).toBe(true);
    expect(la?.changes.map((c) => c.rev).sort()).toEqual(lb?.changes.map((c) => c.rev).sort());
    await expect(a.get("todo-item-status:x", { conflicts: true })).rejects.toMatchObject({ status: 404 });
    expect(await a.get("todo-item-status:kept")).toMatchObject({ status: "done" });
    expect(await a.get("todo-item:waits")).toMatchObject({ version: 3 });
    // from the sequence it returned, nothing is left to end
    expect((await a.divan.adapter.endDeleted(first.lastSeq)).ended).toEqual([]);
  });
});

describe("reading by entity pages", () => {
  /** `store` with every live row it hands out counted by id (rows of `allDocs`, `get`s). */
  const counting = (store: DocumentStore): { store: DocumentStore; reads: Map<string, number> } => {
    const reads = new Map<string, number>();
    const count = (id: string): void => void reads.set(id, (reads.get(id) ?? 0) + 1);
    const wrapped = new Proxy(store, {
      get(target, prop) {
        if (prop === "allDocs")
          return async (o: Parameters<DocumentStore["allDocs"]>[0]) => {
            const page = await target.allDocs(o);
            for (const r of page.rows) if (r.error === undefined && r.value !== undefined && r.value.deleted !== true) count(r.id);
            return page;
          };
        if (prop === "get")
          return async (id: string, o: Parameters<DocumentStore["get"]>[1]) => {
            const doc = await target.get(id, o);
            count(id);
            return doc;
          };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { store: wrapped, reads };
  };
  const byEntity = async (adapter: LiveAdapter, limit: number, start?: string): Promise<{ rows: LiveRow[]; pages: number; next: (string | undefined)[] }> => {
    const rows: LiveRow[] = [];
    const next: (string | undefined)[] = [];
    for await (const page of adapter.entityPages({ limit, includeDocs: true, ...(start === undefined ? {} : { start }) })) {
      expect(page.rows.length).toBeGreaterThan(0);
      expect(page.rows.map((r) => r.id)).toEqual(page.rows.map((r) => r.id).sort());
      rows.push(...page.rows);
      next.push(page.next);
    }
    return { rows, pages: next.length, next };
  };
  /** Rows in a canonical order: by id, then by content (an id can be a row twice: a document passed through and a problem). */
  const canonical = (rows: readonly LiveRow[]): LiveRow[] => {
    const key = (r: LiveRow): string => JSON.stringify(r);
    return [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  };
  const live = async (d: PouchDB.Database): Promise<string[]> => (await d.allDocs()).rows.map((r) => r.id);

  type Kind = "v1" | "v2" | "v3" | "v3-item" | "status" | "broken" | "v3-status-deleted" | "deleted" | "conflict" | "foreign";
  const kinds: Kind[] = ["v1", "v2", "v3", "v3-item", "status", "broken", "v3-status-deleted", "deleted", "conflict", "foreign"];
  /** Stores one entity of `kind` (`conflict`: two leaves of its todo-item; `foreign`: a family type's id holding another type). */
  const store = async (d: PouchDB.Database, id: string, kind: Kind): Promise<void> => {
    const [item, status] = v3(id, "g", "blocked");
    const put = (docs: Doc[], newEdits = true) => d.bulkDocs(docs as PouchDB.Core.PutDocument<{}>[], { new_edits: newEdits });
    if (kind === "v1") await put([v1(id, id.length % 2 === 0)]);
    else if (kind === "v2") await put([v2(id, "active")]);
    else if (kind === "v3") await put([item!, status!]);
    else if (kind === "v3-item") await put([item!]);
    else if (kind === "status") await put([status!]);
    else if (kind === "broken") await put([v1(id, true, { isDone: "nope" })]);
    else if (kind === "foreign") await put([{ _id: `todo-item:${id}`, schema: "widget", version: 7, size: 1 }]);
    else if (kind === "conflict") await put([{ ...v1(id, true), _rev: "1-aaa" }, { ...v2(id, "blocked"), _rev: "1-bbb" }], false);
    else {
      const [r] = await put(kind === "deleted" ? [item!] : [item!, status!]);
      const gone = kind === "deleted" ? item! : status!;
      const rev = kind === "deleted" ? (r as { rev: string }).rev : (await d.get(gone._id))._rev;
      await d.remove(gone._id, rev);
    }
  };
  const others: Doc[] = [
    { _id: "_design/app", views: {} },
    { _id: "settings", schema: "settings", version: 1, color: "#000000" },
    { _id: "widget:w", schema: "widget", version: 7, size: 3 },
    { _id: "todo-item:", schema: "todo-item", version: 1, title: "no entity id", isDone: false, createdAt: T },
    { _id: "todo-item:a:v:3", schema: "todo-item", version: 3, title: "multi-version id", isImportant: true, createdAt: T, group: "g" },
    { _id: "todo-itemz", note: "between the ranges" },
  ];

  it("gives the rows allDocs gives for the whole database, reading every stored row once, at any page size (property)", async () => {
    const entity = fc.record({ id: fc.string({ unit: fc.constantFrom("a", "b", "z", "0", ":", "-", "v", "3", "\u00e9"), minLength: 1, maxLength: 4 }), kind: fc.constantFrom(...kinds) });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(entity, { selector: (e) => e.id, maxLength: 14 }),
        fc.subarray(others),
        fc.constantFrom<keyof typeof todoShapes>("v1", "v2", "v3"),
        fc.integer({ min: 1, max: 6 }),
        async (entities, extra, app, limit) => {
          const d = db();
          for (const e of entities) await store(d, e.id, e.kind);
          if (extra.length > 0) await seed(d, extra);
          const config = { registry, steps: todoSteps, shape: todoShapes[app] };
          const whole = await createLiveAdapter(pouchStore(d), config).allDocs({ includeDocs: true });
          const { store: counted, reads } = counting(pouchStore(d));
          const paged = await byEntity(createLiveAdapter(counted, config), limit);
          expect(canonical(paged.rows)).toEqual(canonical(whole.rows));
          const stored = await live(d);
          expect(Object.fromEntries([...reads].sort())).toEqual(Object.fromEntries(stored.map((id) => [id, 1])));
          expect(paged.next.slice(0, -1).every((t) => t !== undefined)).toBe(true);
          await d.destroy();
          open.splice(open.indexOf(d), 1);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reads a todo-item page and the status documents of the same entities together, by entity id", async () => {
    const d = db();
    await seed(d, [v1("a", true), ...v3("b", "g", "blocked"), v2("c", "done"), ...v3("d", "h", "active"), v1("e", false)]);
    const { store: counted, reads } = counting(pouchStore(d));
    const adapter = createLiveAdapter(counted, { registry, steps: todoSteps, shape: todoShapes.v3 });
    const pages: string[][] = [];
    for await (const page of adapter.entityPages({ limit: 2 })) pages.push(page.rows.map((r) => r.id));
    expect(pages).toEqual([
      ["todo-item-status:a", "todo-item-status:b", "todo-item:a", "todo-item:b"],
      ["todo-item-status:c", "todo-item-status:d", "todo-item:c", "todo-item:d"],
      ["todo-item-status:e", "todo-item:e"],
    ]);
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
    expect(reads.size).toBe(7);
  });

  it("continues after a page from its next token, in a new iteration", async () => {
    const d = db();
    await seed(d, [...["a", "b", "c", "d", "e"].map((id) => v1(id, true)), ...v3("f", "g", "done"), ...others]);
    const adapter = createLiveAdapter(pouchStore(d), { registry, steps: todoSteps, shape: todoShapes.v3 });
    const all = await byEntity(adapter, 2);
    for (const [i, next] of all.next.entries()) {
      const rest = next === undefined ? [] : (await byEntity(adapter, 2, next)).rows;
      const before = (await byEntity(adapter, 2)).rows.slice(0, all.rows.length - rest.length);
      expect([...before, ...rest], `after page ${i}`).toEqual(all.rows);
    }
    // the last page's token, when the read could not tell it was the last, leads to no more rows
    const last = all.next.at(-1);
    if (last !== undefined) expect((await byEntity(adapter, 2, last)).rows).toEqual([]);
    expect(all.next.slice(0, -1).every((t) => t !== undefined)).toBe(true);
    await expect(async () => {
      for await (const _ of adapter.entityPages({ start: "todo-item:c" })) void _;
    }).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("reads a family's singletons and entity ids after \\uffff between the ranges, with their other documents by key, as allDocs does", async () => {
    const d = db();
    const odd = "\uffff\uffffx";
    await seed(d, [
      { _id: "todo-item", schema: "todo-item", version: 3, title: "singleton", isImportant: false, createdAt: T, group: "g" },
      { _id: "todo-item-status", schema: "todo-item-status", version: 1, status: "done" },
      v1(odd, true),
      ...v3("m", "g", "done"),
    ]);
    const config = { registry, steps: todoSteps, shape: todoShapes.v3 };
    const whole = await createLiveAdapter(pouchStore(d), config).allDocs({ includeDocs: true });
    const { store: counted, reads } = counting(pouchStore(d));
    const paged = await byEntity(createLiveAdapter(counted, config), 1);
    expect(canonical(paged.rows)).toEqual(canonical(whole.rows));
    expect(paged.rows.map((r) => r.id)).toEqual(["todo-item-status:m", "todo-item:m", "todo-item", "todo-item-status", `todo-item-status:${odd}`, `todo-item:${odd}`]);
    expect(reads.get("todo-item:m")).toBe(1);
    expect(reads.get("todo-item-status:m")).toBe(1);
  });
});
