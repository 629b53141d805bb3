// startDeviceTransformer through the divan/client exports: the on-device transformer of the client-transformer and
// client-lazy strategies, with an old device on its channel (syncChannel) and a server (embedded, or COUCHDB_URL).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest, startDeviceTransformer, syncChannel } from "../../client/index.js";
import { httpStore } from "../../store/http.js";
import { pouchStore } from "../../store/pouch.js";
import type { DocumentStore } from "../../store/port.js";
import { replicate } from "../../store/replicate.js";
import { todoShapes, todoSteps } from "../../examples/todo-app/steps/index.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const T = "2024-03-01T09:30:00.000Z";
const APP_1 = parseManifest({ name: "todo-app", version: "1.0.0", dependencies: { "todo-item": "^1.0.0" } });
let server: TestServer;
const opened: PouchDB.Database[] = [];
const remotes: DocumentStore[] = [];

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  for (const d of opened) await d.destroy().catch(() => undefined);
  for (const s of remotes) {
    await s.destroy().catch(() => undefined);
    await s.close().catch(() => undefined);
  }
  await server?.close();
});

function local(): PouchDB.Database {
  const db = new MemoryPouchDB(uniqueDbName("device"));
  opened.push(db);
  return db;
}

async function remote(): Promise<{ url: string; store: DocumentStore }> {
  const url = `${server.url}/${uniqueDbName("ct")}`;
  const store = httpStore(url);
  await store.create();
  remotes.push(store);
  return { url, store };
}

/** Documents of `store` with a conflict. */
async function conflicted(store: DocumentStore): Promise<string[]> {
  return (await store.allDocs({ includeDocs: true, conflicts: true })).rows.flatMap((r) => ((r.doc?._conflicts ?? []).length > 0 ? [r.id] : []));
}

describe("startDeviceTransformer (divan/client)", () => {
  it("eager, one database for both versions: two devices translate the same documents to the same revisions, the app's edit reaches an old device through its channel", async () => {
    const { url, store: main } = await remote();
    // An old device writes through its channel (multi-version ids: `<type>:<id>:v:<n>`).
    const old = local();
    await old.bulkDocs([
      { _id: "todo-item:a:v:1", schema: "todo-item", version: 1, title: "one", isDone: true, createdAt: T },
      { _id: "todo-item:b:v:1", schema: "todo-item", version: 1, title: "two", isDone: false, createdAt: T },
    ]);
    await syncChannel(old, url, APP_1);
    // Two new-app devices pull everything (they need the old versions) and start their transformers.
    const devices = [];
    for (let i = 0; i < 2; i++) {
      const db = local();
      await replicate(main, pouchStore(db));
      const device = await startDeviceTransformer({
        old: { version: "1.0.0", db, shape: todoShapes.v1 },
        current: { version: "3.0.0", db, shape: todoShapes.v3 },
        steps: todoSteps,
      });
      devices.push({ db, device });
    }
    const [a, b] = devices as [(typeof devices)[number], (typeof devices)[number]];
    // The app reads plain ids at its version.
    expect(await a.device.store.get("todo-item:a")).toMatchObject({ _id: "todo-item:a", schema: "todo-item", version: 3, title: "one" });
    expect(await a.device.store.get("todo-item-status:a")).toMatchObject({ status: "done" });
    const revA = (await a.db.get("todo-item:a:v:3"))._rev;
    expect((await b.db.get("todo-item:a:v:3"))._rev).toBe(revA);
    for (const { db } of devices) await replicate(pouchStore(db), main);
    await replicate(main, pouchStore(a.db));
    expect(await conflicted(main)).toEqual([]);

    // The new app edits through the device's store: the edit is translated to version 1 as it is written.
    const item = await a.device.store.get("todo-item:b");
    await a.device.store.put({ ...item, title: "two, edited" });
    expect(await a.db.get("todo-item:b:v:1")).toMatchObject({ title: "two, edited", version: 1 });
    await replicate(pouchStore(a.db), main);
    const pulled = await syncChannel(old, url, APP_1);
    expect(pulled.pulled.docsWritten).toBeGreaterThan(0);
    expect(await old.get("todo-item:b:v:1")).toMatchObject({ title: "two, edited" });
    // The old device's channel carries its version only.
    expect((await old.allDocs()).rows.map((r) => r.id).filter((id) => id.endsWith(":v:3"))).toEqual([]);

    // After a sync the other device translates what it brought, and nothing stale is left.
    await replicate(main, pouchStore(b.db));
    expect(await b.device.synced()).toEqual([]);
    expect(await b.device.store.get("todo-item:b")).toMatchObject({ title: "two, edited", version: 3 });
    expect(await conflicted(pouchStore(b.db))).toEqual([]);
    for (const { device } of devices) await device.stop();
  });

  it("lazy, one database per version: reads show the translation without storing it, a write stores it and reaches the old version, an old deletion ends it after the sync", async () => {
    const oldDb = local();
    const newDb = local();
    await oldDb.bulkDocs([
      { _id: "todo-item:a", schema: "todo-item", version: 1, title: "one", isDone: true, createdAt: T },
      { _id: "todo-item:b", schema: "todo-item", version: 1, title: "two", isDone: false, createdAt: T },
    ]);
    const device = await startDeviceTransformer({
      old: { version: "1.0.0", db: oldDb, shape: todoShapes.v1 },
      current: { version: "3.0.0", db: newDb, shape: todoShapes.v3 },
      steps: todoSteps,
      timing: "lazy",
    });
    expect(await device.store.get("todo-item:a")).toMatchObject({ version: 3, title: "one" });
    expect((await device.store.allDocs()).rows.map((r) => r.id)).toEqual(["todo-item-status:a", "todo-item-status:b", "todo-item:a", "todo-item:b"]);
    expect((await newDb.allDocs()).rows).toEqual([]);

    const b = await device.store.get("todo-item:b");
    await device.store.put({ ...b, title: "two, edited" });
    expect((await newDb.allDocs()).rows.map((r) => r.id)).toEqual(["todo-item-status:b", "todo-item:b"]);
    expect(await newDb.get("todo-item:b")).toMatchObject({ version: 3, title: "two, edited" });
    expect(await oldDb.get("todo-item:b")).toMatchObject({ version: 1, title: "two, edited" });

    // An old app deletes `b` (say, synced in from another device): after the sync the new version's documents of it end too.
    const oldB = await oldDb.get("todo-item:b");
    await oldDb.remove(oldB);
    await device.synced();
    await expect(newDb.get("todo-item:b")).rejects.toMatchObject({ status: 404 });
    await expect(newDb.get("todo-item-status:b")).rejects.toMatchObject({ status: 404 });
    await expect(device.store.get("todo-item:b")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await device.stop();
  });

  it("eager and lazy: a device that received an entity's first document alone writes the document its translation created beside it, with the same revision, and the app edits it before the original arrives", async () => {
    for (const timing of ["eager", "lazy"] as const) {
      const { store: server } = await remote();
      // Device a translates an old todo (eager: its back-fill; lazy: when its app edits it): todo-item@3 and its status, created together.
      const [oldA, newA] = [local(), local()];
      await oldA.put({ _id: "todo-item:a", schema: "todo-item", version: 1, title: "one", isDone: true, createdAt: T });
      const a = await startDeviceTransformer({ old: { version: "1.0.0", db: oldA, shape: todoShapes.v1 }, current: { version: "3.0.0", db: newA, shape: todoShapes.v3 }, steps: todoSteps, timing });
      await a.store.put({ ...(await a.store.get("todo-item:a")), title: "one, edited" });
      const status = await newA.get("todo-item-status:a");
      expect(status).toMatchObject({ status: "done" });
      // It pushes the todo-item only (cut off before the status).
      await replicate(pouchStore(newA), server, { docIds: ["todo-item:a"] });

      const [oldB, newB] = [local(), local()];
      await replicate(server, pouchStore(newB));
      const b = await startDeviceTransformer({ old: { version: "1.0.0", db: oldB, shape: todoShapes.v1 }, current: { version: "3.0.0", db: newB, shape: todoShapes.v3 }, steps: todoSteps, timing });
      const shown = await b.store.get("todo-item-status:a");
      expect(shown).toMatchObject({ status: "done", _rev: status._rev });
      await b.store.put({ ...shown, status: "blocked" });

      // The original arrives: the same revision, the edit builds on it, no conflict on either side.
      await replicate(pouchStore(newA), server);
      await replicate(server, pouchStore(newB));
      await replicate(pouchStore(newB), server);
      await replicate(server, pouchStore(newA));
      expect(await conflicted(server)).toEqual([]);
      expect(await server.get("todo-item-status:a")).toMatchObject({ status: "blocked" });
      expect(await b.synced()).toEqual([]);
      expect(await b.store.get("todo-item:a")).toMatchObject({ title: "one, edited" });
      for (const d of [a, b]) await d.stop();
    }
  });
});
