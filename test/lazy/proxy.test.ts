import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTodoExample } from "../../examples/todo-app/compare.js";
import { todoSteps } from "../../examples/todo-app/steps/index.js";
import { startLazyProxy, type LazyProxy } from "../../server/lazy/proxy.js";
import { pouchStore } from "../../store/pouch.js";
import { httpStore } from "../../store/http.js";
import { openStore } from "../../store/open.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { pouchDefaults } from "../../store/pouchdb-node.js";
import { replicate } from "../../store/replicate.js";
import { uniqueDbName } from "../support/backends.js";
import { startTestServer, type TestServer } from "../support/server.js";

const MemoryPouch = pouchDefaults({ adapter: "memory" });
let server: TestServer;
let proxy: LazyProxy;
let main: DocumentStore;
const opened: DocumentStore[] = [];
let n = 0;

async function device(): Promise<DocumentStore> {
  n += 1;
  const s = await openStore(`lazy-proxy-test-${process.pid}-${n}`, { PouchDB: MemoryPouch });
  opened.push(s);
  return s;
}
function view(name: string): DocumentStore {
  const s = httpStore(proxy.urlOf(name));
  opened.push(s);
  return s;
}

beforeAll(async () => {
  server = await startTestServer();
  main = await openStore(`${server.url}/${uniqueDbName("lazy-proxy")}`);
  const { registry, apps } = await loadTodoExample();
  const shape = (v: string) => apps.find((a) => a.version === v)!.shape;
  proxy = await startLazyProxy({
    store: main,
    registry,
    steps: todoSteps,
    views: [
      { name: "app-1-0-0", shape: shape("1.0.0") },
      { name: "app-3-0-0", shape: shape("3.0.0") },
    ],
  });
});

afterAll(async () => {
  for (const s of opened) {
    await s.destroy().catch(() => undefined);
    await s.close().catch(() => undefined);
  }
  await proxy?.close();
  await main?.destroy();
  await main?.close();
  await server?.close();
});

const ID = "8f5e6edb6f5208abc14d9f49f4003818";
const item3 = { _id: `todo-item:${ID}`, schema: "todo-item", version: 3, title: "plant tulips", isImportant: false, createdAt: "2024-01-01T00:00:00.000Z", group: "garden" };
const status1 = { _id: `todo-item-status:${ID}`, schema: "todo-item-status", version: 1, status: "active" };

describe("translating proxy (server-lazy)", () => {
  it("an app 1.0 device's edit is stored at 3.0 without losing the group, and comes back with the device's own revision and no conflict", async () => {
    const web = await device();
    const phone = await device();
    await web.bulkDocs([item3 as Doc, status1 as Doc]);
    await replicate(web, view("app-3-0-0"));

    // the phone (plain app 1.0) pulls the todo at its version
    await replicate(view("app-1-0-0"), phone);
    const seen = await phone.get(`todo-item:${ID}`);
    expect(seen).toMatchObject({ schema: "todo-item", version: 1, title: "plant tulips", isDone: false });
    expect(seen["group"]).toBeUndefined();
    expect((await phone.allDocs()).rows.map((r) => r.id)).toEqual([`todo-item:${ID}`]);

    // the phone edits and pushes; the server stores 3.0 documents with the group kept
    const edited = await phone.put({ ...seen, isDone: true, title: "plant tulips in the garden" });
    await replicate(phone, view("app-1-0-0"));
    expect(await main.get(`todo-item:${ID}`)).toMatchObject({ version: 3, group: "garden", title: "plant tulips in the garden" });
    expect(await main.get(`todo-item-status:${ID}`)).toMatchObject({ version: 1, status: "done" });

    // no echo: pulling again brings nothing, the phone's revision is the view's, no conflict
    const back = await replicate(view("app-1-0-0"), phone);
    expect(back.docsWritten).toBe(0);
    const after = await phone.get(`todo-item:${ID}`, { conflicts: true });
    expect(after._rev).toBe(edited.rev);
    expect(after._conflicts ?? []).toEqual([]);
    expect((await view("app-1-0-0").get(`todo-item:${ID}`))._rev).toBe(edited.rev);

    // the 3.0 device receives the phone's edit as a child of what it has
    await replicate(view("app-3-0-0"), web);
    const webItem = await web.get(`todo-item:${ID}`, { conflicts: true });
    expect(webItem).toMatchObject({ title: "plant tulips in the garden", group: "garden" });
    expect(webItem._conflicts ?? []).toEqual([]);
    expect(await web.get(`todo-item-status:${ID}`)).toMatchObject({ status: "done" });

    // a 3.0 edit of the status alone reaches the phone as a new child revision of the phone's own
    const st = await web.get(`todo-item-status:${ID}`);
    await web.put({ ...st, status: "active" });
    await replicate(web, view("app-3-0-0"));
    expect((await replicate(view("app-3-0-0"), web)).docsWritten).toBe(0);
    await replicate(view("app-1-0-0"), phone);
    const phoneItem = await phone.get(`todo-item:${ID}`, { revs: true, conflicts: true });
    expect(phoneItem).toMatchObject({ isDone: false, title: "plant tulips in the garden" });
    expect(phoneItem._conflicts ?? []).toEqual([]);
    expect(phoneItem._revisions?.start).toBe(3);
    expect(phoneItem._revisions?.ids[1]).toBe(edited.rev.slice(2));
  });

  it("_revs_diff, _bulk_get and open_revs answer from the revision map", async () => {
    const v1 = proxy.urlOf("app-1-0-0");
    const current = (await (await fetch(`${v1}/todo-item:${ID}`)).json()) as Doc;
    const diff = (await (await fetch(`${v1}/_revs_diff`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ [`todo-item:${ID}`]: [current._rev, "9-abc"] }) })).json()) as Record<string, { missing: string[] }>;
    expect(diff[`todo-item:${ID}`]?.missing).toEqual(["9-abc"]);
    const bulk = (await (await fetch(`${v1}/_bulk_get?revs=true`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ docs: [{ id: `todo-item:${ID}`, rev: current._rev }, { id: "todo-item:nope" }] }) })).json()) as {
      results: { id: string; docs: { ok?: Doc; error?: unknown }[] }[];
    };
    expect(bulk.results[0]?.docs[0]?.ok).toMatchObject({ _rev: current._rev, version: 1, _revisions: { start: Number(current._rev!.split("-")[0]) } });
    expect(bulk.results[1]?.docs[0]?.error).toMatchObject({ error: "not_found" });
    const open = (await (await fetch(`${v1}/todo-item:${ID}?revs=true&open_revs=${encodeURIComponent(JSON.stringify([current._rev]))}`)).json()) as { ok?: Doc }[];
    expect(open[0]?.ok?._rev).toBe(current._rev);
    // a 1.0 app has no todo-item-status documents
    expect((await fetch(`${v1}/todo-item-status:${ID}`)).status).toBe(404);
  });

  it("a longpoll _changes waits for a server change and answers it translated", async () => {
    const v1 = proxy.urlOf("app-1-0-0");
    const now = (await (await fetch(`${v1}/_changes?since=now`)).json()) as { last_seq: string };
    const polling = fetch(`${v1}/_changes?feed=longpoll&heartbeat=1000&since=${encodeURIComponent(now.last_seq)}`).then((r) => r.json() as Promise<{ results: { id: string; changes: { rev: string }[] }[] }>);
    const st = await main.get(`todo-item-status:${ID}`);
    await main.put({ ...st, status: "done" });
    const answer = await polling;
    expect(answer.results.map((r) => r.id)).toEqual([`todo-item:${ID}`]);
    const doc = (await (await fetch(`${v1}/todo-item:${ID}`)).json()) as Doc;
    expect(doc.isDone).toBe(true);
    expect(answer.results[0]?.changes[0]?.rev).toBe(doc._rev);
  });

  it("_local checkpoint documents are kept per view in the server database", async () => {
    const put = await fetch(`${proxy.urlOf("app-1-0-0")}/_local/ckpt`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ last_seq: "42" }) });
    expect(put.status).toBe(201);
    expect(((await (await fetch(`${proxy.urlOf("app-1-0-0")}/_local/ckpt`)).json()) as Doc)["last_seq"]).toBe("42");
    expect((await fetch(`${proxy.urlOf("app-3-0-0")}/_local/ckpt`)).status).toBe(404);
    expect(await main.getLocal("divan-lazy-local:app-1-0-0:ckpt")).toMatchObject({ last_seq: "42" });
  });

  it("an entity whose stored documents are in conflict reports _conflicts in every app version's view", async () => {
    const id = "c0ffee00c0ffee00c0ffee00c0ffee00";
    const item = { ...item3, _id: `todo-item:${id}`, title: "water the plants" };
    const status = { ...status1, _id: `todo-item-status:${id}` };
    await main.bulkDocs([item as Doc, status as Doc]);
    const v1 = proxy.urlOf("app-1-0-0");
    const v3 = proxy.urlOf("app-3-0-0");
    const get = async (url: string): Promise<Doc> => (await (await fetch(url)).json()) as Doc;
    // not in conflict yet: no _conflicts anywhere
    expect((await get(`${v1}/todo-item:${id}?conflicts=true`))._conflicts).toBeUndefined();
    expect((await get(`${v3}/todo-item-status:${id}?conflicts=true`))._conflicts).toBeUndefined();

    // two devices set the status concurrently: CouchDB keeps both leaves of todo-item-status
    const stored = await main.get(`todo-item-status:${id}`);
    const rival = { ...status, status: "blocked", _rev: `2-${"b".repeat(32)}`, _revisions: { start: 2, ids: ["b".repeat(32), stored._rev!.split("-")[1]!] } };
    await main.bulkDocs([{ ...status, status: "done", _rev: `2-${"a".repeat(32)}`, _revisions: { start: 2, ids: ["a".repeat(32), stored._rev!.split("-")[1]!] } } as Doc, rival as Doc], { newEdits: false });
    expect((await main.get(`todo-item-status:${id}`, { conflicts: true }))._conflicts).toHaveLength(1);

    // the old app has no todo-item-status document: its todo-item reports the conflict
    const old = await get(`${v1}/todo-item:${id}?conflicts=true`);
    expect(old._conflicts).toHaveLength(1);
    expect(Number.parseInt(old._conflicts![0]!, 10)).toBe(Number.parseInt(old._rev!, 10));
    expect((await get(`${v1}/todo-item:${id}`))._conflicts).toBeUndefined();
    const rows = (await (await fetch(`${v1}/_all_docs?include_docs=true&conflicts=true&keys=${encodeURIComponent(JSON.stringify([`todo-item:${id}`]))}`)).json()) as { rows: { doc: Doc }[] };
    expect(rows.rows[0]?.doc._conflicts).toEqual(old._conflicts);
    // the new app: on the document that holds the conflict, not on its sibling
    expect((await get(`${v3}/todo-item-status:${id}?conflicts=true`))._conflicts).toHaveLength(1);
    expect((await get(`${v3}/todo-item:${id}?conflicts=true`))._conflicts).toBeUndefined();
    // a store reading the old view with conflicts (as a team's code would) sees it too
    expect((await view("app-1-0-0").get(`todo-item:${id}`, { conflicts: true }))._conflicts).toEqual(old._conflicts);
  });

  it("the in-process fetch answers what the proxy answers over HTTP, and PouchDB replicates through it", async () => {
    const id = "0123456789abcdef0123456789abcdef";
    await main.bulkDocs([{ ...item3, _id: `todo-item:${id}` } as Doc, { ...status1, _id: `todo-item-status:${id}`, status: "done" } as Doc]);
    const v1 = proxy.urlOf("app-1-0-0");
    const json = { "content-type": "application/json" };
    const requests: [string, RequestInit][] = [
      [proxy.url, {}],
      [v1, {}],
      [v1, { method: "HEAD" }],
      [`${v1}/todo-item:${id}?revs=true`, {}],
      [`${v1}/todo-item-status:${id}`, {}],
      [`${v1}/_all_docs?include_docs=true`, {}],
      [`${v1}/_changes?since=0`, {}],
      [`${v1}/_revs_diff`, { method: "POST", headers: json, body: JSON.stringify({ [`todo-item:${id}`]: ["9-abc"] }) }],
      [`${v1}/_bulk_docs`, { method: "POST", headers: json, body: "not json" }],
      [`${proxy.url}/nope`, {}],
    ];
    for (const [url, init] of requests) {
      const [real, inProcess] = [await fetch(url, init), await proxy.fetch(url, init)];
      // (a sharded CouchDB orders a _changes feed differently from call to call: compared as a set)
      const body = async (r: Response): Promise<unknown> => {
        const text = await r.text();
        const json: unknown = text === "" ? "" : JSON.parse(text);
        const changes = (json as { results?: { id: string; changes: unknown; deleted?: boolean }[] }).results;
        return changes === undefined ? json : changes.map((c) => ({ id: c.id, changes: c.changes, deleted: c.deleted })).sort((a, b) => (a.id < b.id ? -1 : 1));
      };
      expect({ status: inProcess.status, type: inProcess.headers.get("content-type"), body: await body(inProcess) }, `${init.method ?? "GET"} ${url}`).toEqual({
        status: real.status,
        type: real.headers.get("content-type"),
        body: await body(real),
      });
    }
    const phone = await device();
    const remote = pouchStore(new MemoryPouch(v1, { adapter: "http", skip_setup: true, fetch: proxy.fetch } as PouchDB.Configuration.RemoteDatabaseConfiguration));
    opened.push(remote);
    await replicate(remote, phone);
    expect(await phone.get(`todo-item:${id}`)).toMatchObject({ version: 1, isDone: true });
  });
});
