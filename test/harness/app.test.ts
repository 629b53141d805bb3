import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { TodoApp } from "../../examples/todo-app/app.js";
import { loadTodoExample } from "../../examples/todo-app/compare.js";
import { seededClock, seededRandom } from "../../examples/todo-app/seed.js";
import { openPouchStore } from "../../store/pouch.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import type { DocumentStore } from "../../store/port.js";
import type { Registry } from "../../schemas/registry.js";
import type { AppVersion } from "../../strategies/types.js";

const Memory = pouchDefaults({ adapter: "memory" });
let registry: Registry;
let apps: AppVersion[];
const stores: DocumentStore[] = [];
let n = 0;

beforeAll(async () => {
  ({ registry, apps } = await loadTodoExample());
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.destroy();
});

function appOn(store: DocumentStore, version: string, seed = 1): TodoApp {
  const app = apps.find((a) => a.version === version);
  if (!app) throw new Error(version);
  const random = seededRandom(seed);
  return new TodoApp({ store, app, registry, clock: seededClock(), newId: () => random.hexId() });
}

function freshStore(): DocumentStore {
  n += 1;
  const s = openPouchStore(Memory, `app-test-${process.pid}-${n}-${path.basename(import.meta.url)}`);
  stores.push(s);
  return s;
}

describe("the todo app domain API", () => {
  it("resolves every manifest of the example to its shape", () => {
    expect(apps.map((a) => [a.version, a.shape])).toEqual([
      ["1.0.0", { "todo-item": 1 }],
      ["1.1.0", { "todo-item": 1, settings: 1 }],
      ["2.0.0", { "todo-item": 2, settings: 1 }],
      ["3.0.0", { "todo-item": 3, "todo-item-status": 1, settings: 1 }],
    ]);
  });

  it("an old-app edit keeps attributes it does not know", async () => {
    const store = freshStore();
    const v11 = appOn(store, "1.1.0");
    const { id } = await v11.create("plant tulips");
    await v11.update(id, { isImportant: true });
    const v10 = appOn(store, "1.0.0");
    await v10.update(id, { title: "plant tulips in the garden", done: true });
    const doc = await store.get(`todo-item:${id}`);
    expect(doc).toMatchObject({ title: "plant tulips in the garden", isDone: true, isImportant: true, version: 1 });
    expect((await v11.list()).todos).toEqual([
      { id, title: "plant tulips in the garden", createdAt: "2024-01-01T00:00:00.000Z", done: true, isImportant: true },
    ]);
  });

  it("3.0 writes todo-item@3 with its todo-item-status@1, reports an entity whose status has not arrived and deletes it on request", async () => {
    const store = freshStore();
    const v3 = appOn(store, "3.0.0");
    const { id, docIds } = await v3.create("apply for a visa");
    expect(docIds).toEqual([`todo-item:${id}`, `todo-item-status:${id}`]);
    await v3.update(id, { status: "blocked", group: "travel" });
    expect((await v3.list()).todos[0]).toMatchObject({ status: "blocked", group: "travel", done: false, isImportant: false });
    const status = await store.get(`todo-item-status:${id}`);
    await store.remove(status._id, status._rev ?? "");
    expect((await v3.list()).unreadable).toEqual([
      { id, reason: `todo-item-status:${id} is missing (app 3.0.0 needs it next to todo-item:${id})` },
    ]);
    // an edit needs the status; a delete removes what the device holds
    await expect(v3.update(id, { title: "apply for two visas" })).rejects.toMatchObject({ code: "SCHEMA_INVALID" });
    await v3.remove(id);
    expect(await v3.list()).toEqual({ todos: [], unreadable: [] });
    await expect(store.get(`todo-item:${id}`)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("refuses features newer than the app and documents of another major", async () => {
    const store = freshStore();
    const v3 = appOn(store, "3.0.0");
    const { id } = await v3.create("call the bank");
    const v10 = appOn(store, "1.0.0", 2);
    await expect(v10.update(id, { group: "x" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(v10.update(id, { title: "y" })).rejects.toMatchObject({ code: "SCHEMA_INVALID" });
    expect((await v10.list()).unreadable[0]?.reason).toBe(`todo-item:${id} is todo-item@3; app 1.0.0 reads todo-item@1`);
  });
});
