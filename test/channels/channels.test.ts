import { matchesSelector } from "pouchdb-selector-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactChannel, readRetirement, syncChannel } from "../../client/channel.js";
import { isDivanError } from "../../core/errors.js";
import type { Manifest } from "../../schemas/manifest.js";
import { httpStore } from "../../store/http.js";
import { openPouchStore } from "../../store/pouch.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { channelSelector, inChannel, manifestChannel, manifestShape, RETIRED_DOC_ID, retirementOf } from "../../strategies/channels.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const app = (version: string, dependencies: Record<string, string>): Manifest => ({ name: "todo-app", version, dependencies });
const APP_1_0 = app("1.0.0", { "todo-item": "^1.0.0" });
const APP_2_0 = app("2.0.0", { "todo-item": "^2.0.0", settings: "^1.0.0" });
const APP_3_0 = app("3.0.0", { "todo-item": "^3.0.0", "todo-item-status": "^1.0.0", settings: "^1.0.0" });

const ENTITIES = ["a1", "b2", "c3", "d4", "e5"];

/** Every version of every todo side by side, as the per-version-documents strategy stores them. */
function seedDocs(): Doc[] {
  const docs: Doc[] = [];
  for (const id of ENTITIES) {
    docs.push({ _id: `todo-item:${id}:v:1`, schema: "todo-item", version: 1, title: `t ${id}`, isDone: false, createdAt: "2024-01-01T00:00:00.000Z" });
    docs.push({ _id: `todo-item:${id}:v:2`, schema: "todo-item", version: 2, title: `t ${id}`, status: "active", isImportant: false, createdAt: "2024-01-01T00:00:00.000Z" });
    docs.push({ _id: `todo-item:${id}:v:3`, schema: "todo-item", version: 3, title: `t ${id}`, group: "default", isImportant: false, createdAt: "2024-01-01T00:00:00.000Z" });
    docs.push({ _id: `todo-item-status:${id}:v:1`, schema: "todo-item-status", version: 1, status: "active" });
  }
  docs.push({ _id: "settings:v:1", schema: "settings", version: 1, color: "teal" });
  docs.push({ _id: "note:n1:v:4", schema: "note", version: 4, text: "a type no app knows yet" });
  docs.push({ _id: "app-support", minimumVersion: "1.0.0", message: "all versions supported" });
  return docs;
}

let server: TestServer;
const opened: DocumentStore[] = [];

async function serverDb(docs: Doc[] = seedDocs()): Promise<{ url: string; store: DocumentStore }> {
  const url = `${server.url}/${uniqueDbName("chan")}`;
  const store = httpStore(url);
  await store.create();
  opened.push(store);
  const written = await store.bulkDocs(docs);
  expect(written.every((w) => w.ok)).toBe(true);
  return { url, store };
}

async function device(): Promise<DocumentStore> {
  const store = openPouchStore(MemoryPouchDB, uniqueDbName("dev"));
  await store.create();
  opened.push(store);
  return store;
}

async function ids(store: DocumentStore): Promise<string[]> {
  return (await store.allDocs()).rows.map((r) => r.id);
}

async function typed(store: DocumentStore): Promise<string[]> {
  const rows = (await store.allDocs({ includeDocs: true })).rows;
  return rows.flatMap((r) => (r.doc && typeof r.doc["schema"] === "string" ? [`${r.doc["schema"]}@${String(r.doc["version"])}`] : []));
}

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  for (const s of opened) {
    await s.destroy().catch(() => undefined);
    await s.close().catch(() => undefined);
  }
  await server?.close();
});

describe("channel selectors", () => {
  it("exact form: the app's versions and untyped notices, nothing else", () => {
    const sel = channelSelector({ "todo-item": 3, "todo-item-status": 1 });
    expect(sel).toEqual({
      $or: [{ schema: "todo-item", version: 3 }, { schema: "todo-item-status", version: 1 }, { schema: { $exists: false } }],
    });
    expect(channelSelector({ "todo-item": 1 }, { untyped: false, typeField: "type", versionField: "v" })).toEqual({ $or: [{ type: "todo-item", v: 1 }] });
  });

  it("newer form: chesterfield's $not … $lt for one type, $nor for several (PouchDB merges an $and of $nots into one)", () => {
    expect(channelSelector({ "todo-item": 2 }, { form: "newer" })).toEqual({ $not: { schema: "todo-item", version: { $lt: 2 } } });
    const sel = channelSelector({ "todo-item": 3, "todo-item-status": 2 }, { form: "newer" });
    const docs: Record<string, Doc> = {
      item1: { _id: "1", schema: "todo-item", version: 1 },
      item3: { _id: "2", schema: "todo-item", version: 3 },
      item4: { _id: "3", schema: "todo-item", version: 4 },
      status1: { _id: "4", schema: "todo-item-status", version: 1 },
      status2: { _id: "5", schema: "todo-item-status", version: 2 },
      note: { _id: "6", schema: "note", version: 1 },
      plain: { _id: "7" },
    };
    const passed = Object.entries(docs)
      .filter(([, d]) => matchesSelector(d, sel))
      .map(([k]) => k);
    expect(passed).toEqual(["item3", "item4", "status2", "note", "plain"]);
    for (const [k, d] of Object.entries(docs)) {
      const type = typeof d["schema"] === "string" ? d["schema"] : undefined;
      const version = typeof d["version"] === "number" ? d["version"] : undefined;
      expect(inChannel({ "todo-item": 3, "todo-item-status": 2 }, type, version, "newer"), k).toBe(passed.includes(k));
    }
  });

  it("derives the shape from a manifest; a range spanning majors needs the registry", () => {
    expect(manifestShape(APP_3_0)).toEqual({ "todo-item": 3, "todo-item-status": 1, settings: 1 });
    expect(manifestChannel(APP_1_0)).toEqual({ $or: [{ schema: "todo-item", version: 1 }, { schema: { $exists: false } }] });
    let error: unknown;
    try {
      manifestShape(app("9.0.0", { "todo-item": ">=1.0.0 <3.0.0" }));
    } catch (e) {
      error = e;
    }
    expect(isDivanError(error, "MANIFEST_INVALID")).toBe(true);
    expect(() => channelSelector({})).toThrow(/at least one type/);
  });

  it("reads the retirement signal by app name or minimum version", () => {
    const doc = { _id: RETIRED_DOC_ID, retired: [{ app: "1.0.0", shape: { "todo-item": 1 }, minimumVersion: "3.0.0", message: "update", removal: "delete" }] };
    expect(retirementOf(doc, "1.0.0")?.message).toBe("update");
    expect(retirementOf(doc, "2.0.0")?.minimumVersion).toBe("3.0.0");
    expect(retirementOf(doc, "3.0.0")).toBeUndefined();
    expect(retirementOf({ retired: "nonsense" }, "1.0.0")).toBeUndefined();
  });
});

describe("channels on a CouchDB server (COUCHDB_URL or embedded)", () => {
  it("a 1.0 device replicating through its channel receives only v1 documents (and untyped notices)", async () => {
    const { url } = await serverDb();
    const local = await device();
    const r = await syncChannel(local, url, APP_1_0);
    expect(r.pulled.docsWritten).toBe(ENTITIES.length + 1);
    expect(new Set(await typed(local))).toEqual(new Set(["todo-item@1"]));
    expect(await ids(local)).toEqual(["app-support", ...ENTITIES.map((id) => `todo-item:${id}:v:1`)]);
  });

  it("a 3.0 device receives only v3 items, status documents and its settings", async () => {
    const { url } = await serverDb();
    const local = await device();
    await syncChannel(local, url, APP_3_0);
    expect(new Set(await typed(local))).toEqual(new Set(["todo-item@3", "todo-item-status@1", "settings@1"]));
    expect((await ids(local)).filter((id) => id.endsWith(":v:3"))).toHaveLength(ENTITIES.length);
    expect((await ids(local)).filter((id) => id.startsWith("todo-item-status:"))).toHaveLength(ENTITIES.length);
  });

  it("the same selector filters CouchDB's _changes feed (filter=_selector)", async () => {
    const { store } = await serverDb();
    const page = await store.changes({ selector: manifestChannel(APP_3_0), includeDocs: true });
    const got = page.results.map((c) => `${String(c.doc?.["schema"] ?? "-")}@${String(c.doc?.["version"] ?? "-")}`);
    expect(new Set(got)).toEqual(new Set(["todo-item@3", "todo-item-status@1", "settings@1", "-@-"]));
    expect(got).toHaveLength(2 * ENTITIES.length + 2);
  });

  it("a device pushes only its channel's documents", async () => {
    const { url, store } = await serverDb([]);
    const local = await device();
    await local.bulkDocs([
      { _id: "todo-item:z:v:1", schema: "todo-item", version: 1, title: "mine", isDone: false, createdAt: "2024-01-01T00:00:00.000Z" },
      { _id: "todo-item:z:v:3", schema: "todo-item", version: 3, title: "stale copy", group: "x", createdAt: "2024-01-01T00:00:00.000Z" },
    ]);
    await syncChannel(local, url, APP_1_0);
    expect(await ids(store)).toEqual(["todo-item:z:v:1"]);
  });

  it("a retired app learns it from its own channel", async () => {
    const notice = { _id: RETIRED_DOC_ID, retired: [{ app: "1.0.0", shape: { "todo-item": 1 }, minimumVersion: "3.0.0", message: "Please update.", removal: "delete" }] };
    const { url } = await serverDb([notice]);
    const local = await device();
    const r = await syncChannel(local, url, APP_1_0);
    expect(r.retired?.message).toBe("Please update.");
    expect((await readRetirement(local, "1.0.0"))?.minimumVersion).toBe("3.0.0");
    let error: unknown;
    try {
      await syncChannel(local, url, APP_1_0, { failIfRetired: true });
    } catch (e) {
      error = e;
    }
    expect(isDivanError(error, "APP_RETIRED")).toBe(true);
    expect((await syncChannel(await device(), url, APP_3_0)).retired).toBeUndefined();
  });
});

describe("client compaction", () => {
  it("a device upgraded from 2.0 to 3.0 ends with only v3 documents, every entity present, without the server", async () => {
    const { url, store: remote } = await serverDb();
    const old = await device();
    // A 2.0 device on the `newer` channel already holds the newer versions (chesterfield's seamless upgrade).
    await syncChannel(old, url, APP_2_0, { form: "newer" });
    expect(new Set(await typed(old))).toEqual(new Set(["todo-item@2", "todo-item@3", "todo-item-status@1", "settings@1", "note@4"]));
    const revs = new Map((await old.allDocs()).rows.map((r) => [r.id, r.value?.rev]));
    // The server database is gone (destroyed, which works on a shared server too): compaction is local.
    await remote.destroy();
    await expect(remote.info()).rejects.toMatchObject({ code: "NOT_FOUND" });

    const fresh = await device();
    const r = await compactChannel(old, fresh, APP_3_0, { form: "exact" });
    expect(r.store).toBe(fresh);
    expect(new Set(await typed(fresh))).toEqual(new Set(["todo-item@3", "todo-item-status@1", "settings@1"]));
    const freshIds = await ids(fresh);
    for (const id of ENTITIES) {
      expect(freshIds).toContain(`todo-item:${id}:v:3`);
      expect(freshIds).toContain(`todo-item-status:${id}:v:1`);
    }
    for (const row of (await fresh.allDocs()).rows) expect(row.value?.rev, row.id).toBe(revs.get(row.id));
    expect(r.dropped).toBe(ENTITIES.length + 1); // the v2 items and the unknown note
    expect((await old.info()).docCount).toBe(0); // destroyed: reopens empty
  });

  it("pushes unpushed writes before dropping old versions, and refuses a non-empty target", async () => {
    const { url, store } = await serverDb();
    const old = await device();
    await syncChannel(old, url, APP_2_0);
    const item = await old.get("todo-item:a1:v:2");
    await old.put({ ...item, title: "edited offline on 2.0" });
    const busy = await device();
    await busy.put({ _id: "x" });
    await expect(compactChannel(old, busy, APP_3_0)).rejects.toThrow(/empty target/);
    const fresh = await device();
    const r = await compactChannel(old, fresh, APP_3_0, { remoteUrl: url });
    expect(r.pushed?.docsWritten).toBe(1);
    expect((await store.get("todo-item:a1:v:2"))["title"]).toBe("edited offline on 2.0");
    expect(await typed(fresh)).toEqual(["settings@1"]); // exact form: the v3 documents come with the next sync
    await syncChannel(fresh, url, APP_3_0);
    expect(new Set(await typed(fresh))).toEqual(new Set(["todo-item@3", "todo-item-status@1", "settings@1"]));
  });
});
