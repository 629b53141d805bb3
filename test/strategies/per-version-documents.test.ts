import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multiVersionIds } from "../../adapters/ids.js";
import { isDivanError } from "../../core/errors.js";
import { loadTodoExample, runComparison, type ComparisonReport, type RunReport } from "../../examples/todo-app/compare.js";
import { startCountingProxy, type CountingProxy } from "../../examples/todo-app/proxy.js";
import { allDocsOf, World, type ScenarioEvent } from "../../examples/todo-app/world.js";
import { startEmbeddedServer } from "../../server/embedded.js";
import { httpStore } from "../../store/http.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { readEntityAt, readVersions, scanVersions, versionView } from "../../store/versions.js";
import { createStrategy, TODO_CHANGE } from "../../examples/strategies.js";
import { RETIRED_DOC_ID, retirementOf } from "../../strategies/channels.js";
import { createPerVersionDocumentsStrategy, type PerVersionDocumentsOptions } from "../../strategies/per-version-documents/index.js";
import { RETIRED_GUARD_ID, RETIRED_GUARD_TYPE } from "../../strategies/per-version-documents/retire.js";
import { removeVersions, retiredVersions } from "../../strategies/retire.js";
import type { AppVersion } from "../../strategies/types.js";
import { MemoryPouchDB, uniqueDbName } from "../support/backends.js";
import { openPouchStore } from "../../store/pouch.js";
import { replicate } from "../../store/replicate.js";
import { comparisonBudget } from "../support/comparison.js";
import { startTestServer, type TestServer } from "../support/server.js";

const SCENARIOS = ["haneen", "basti", "marten", "legacy-forever", "drop-legacy"];

let report: ComparisonReport;
let unfiltered: ComparisonReport;
let server: TestServer;
let proxy: CountingProxy;
let example: Awaited<ReturnType<typeof loadTodoExample>>;

const run = (scenario: string): RunReport => {
  const r = report.runs.find((x) => x.scenario === scenario);
  if (!r) throw new Error(`no run for ${scenario}`);
  return r;
};

/**
 * `type@version` of every typed document, checking that the id names the same type and version. Design
 * documents are not versioned documents (the retirement guard is typed only to keep it out of channels).
 */
function typedOf(docs: readonly Doc[]): string[] {
  const out: string[] = [];
  for (const d of docs) {
    if (typeof d["schema"] !== "string" || d._id.startsWith("_design/")) continue;
    const parsed = multiVersionIds.parse(d._id);
    expect(parsed, d._id).toBeDefined();
    expect(parsed?.type, d._id).toBe(d["schema"]);
    expect(parsed?.version, d._id).toBe(d["version"]);
    out.push(`${d["schema"]}@${String(d["version"])}`);
  }
  return out;
}

async function world(options: Omit<PerVersionDocumentsOptions, "change"> = {}): Promise<World> {
  return World.create({
    strategy: createPerVersionDocumentsStrategy({ change: TODO_CHANGE, ...options }),
    scenario: "test",
    seed: 3,
    serverUrl: server.url,
    proxy,
    registry: example.registry,
    apps: example.apps,
  });
}

/** Two 1.0 devices with one todo each, then 3.0 ships and the server settles. */
const START: ScenarioEvent[] = [
  ...["web", "phone"].map((device): ScenarioEvent => ({ kind: "device", device, app: "old" })),
  ...[
    ["web", "rust", "reimplement my pet project in Rust"],
    ["phone", "milk", "buy oat milk"],
  ].map(([device, todo, title]): ScenarioEvent => ({ kind: "create", device: device!, todo: todo!, title: title! })),
  ...(["settle", "release", "settle"] as const).map((kind): ScenarioEvent => ({ kind })),
];

const channelled = { strategies: ["per-version-documents"], scenarios: SCENARIOS, seed: 7 };
const whole = { factories: [() => createPerVersionDocumentsStrategy({ change: TODO_CHANGE, channel: "none" })], scenarios: ["basti"], seed: 7 };
beforeAll(async () => {
  report = await runComparison(channelled);
  unfiltered = await runComparison(whole);
  server = await startTestServer();
  proxy = await startCountingProxy(server.url);
  example = await loadTodoExample();
}, comparisonBudget(channelled) + comparisonBudget(whole));

afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

describe("strategy per-version-documents (chesterfield, 1.0 → 3.0)", () => {
  it("is registered with its taxonomy cell, its change, no caveat and the todo steps as its migration code", () => {
    const { taxonomy, change, caveats, migrationCode } = createStrategy("per-version-documents");
    expect({ taxonomy, change, caveats, code: migrationCode }).toEqual({
      taxonomy: { storage: "multi-version", timing: "eager", place: "server" },
      change: { from: "1.0.0", to: "3.0.0" },
      caveats: [],
      code: "steps",
    });
  });

  it("Haneen, Basti, Marten, Legacy forever and Drop legacy pass every invariant; the old app reads everything", () => {
    for (const name of SCENARIOS) {
      const r = run(name);
      const failed = r.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`);
      expect(failed, name).toEqual([]);
      expect(r.status, `${name}: ${r.error ?? ""}`).toBe("pass");
      expect(r.refused, name).toEqual([]);
      expect(r.metrics.lostDocs + r.metrics.lostFields + r.metrics.conflicts, name).toBe(0);
      expect(["yes", "n/a"], name).toContain(r.metrics.legacySupport);
    }
    expect(run("basti").metrics.legacySupport).toBe("yes");
    expect(run("drop-legacy").retired).toMatch(/^stopped translating into the 1\.0\.0 side, deleted \d+ todo-item@1 document\(s\) the supported versions hold translated/);
  });

  it("channels move and store less than replicating the whole multi-version database (Basti, same seed)", () => {
    const whole = unfiltered.runs[0]!;
    expect(whole.status).toBe("pass");
    const channelled = run("basti").metrics;
    expect(channelled.replicatedBytes).toBeLessThan(whole.metrics.replicatedBytes);
    expect(channelled.deviceBytes).toBeLessThan(whole.metrics.deviceBytes);
    expect(channelled.serverBytes).toBe(whole.metrics.serverBytes);
  });
});

describe("multi-version storage in one database", () => {
  it("release back-fills todo-item@3 and todo-item-status@1 next to todo-item@1; every document carries schema and version", async () => {
    const w = await world();
    try {
      await w.play(START);
      const docs = await allDocsOf(w.server.main);
      const typed = typedOf(docs);
      expect(typed.filter((t) => t === "todo-item@1")).toHaveLength(2);
      expect(typed.filter((t) => t === "todo-item@3")).toHaveLength(2);
      expect(typed.filter((t) => t === "todo-item-status@1")).toHaveLength(2);
      const rust = w.model.idOf("rust");
      if (rust === undefined) throw new Error("no rust");
      const versions = await readVersions(w.server.main, "todo-item", rust);
      expect(versions.map((d) => d["version"])).toEqual([1, 3]);
      expect(versions.every((d) => d["title"] === "reimplement my pet project in Rust")).toBe(true);
      const v3 = await readEntityAt(w.server.main, rust, { "todo-item": 3, "todo-item-status": 1 });
      expect(v3["todo-item"]?.["group"]).toBe("default");
      expect(v3["todo-item-status"]?.["status"]).toBe("active");
      expect((await scanVersions(w.server.main, { "todo-item": [3] })).map((r) => r.entityId).sort()).toEqual([w.model.idOf("milk"), rust].sort());

      // The old devices' channel carries todo-item@1 only (plus untyped notices).
      const phone = w.device("phone");
      expect(new Set(typedOf(await allDocsOf(phone.binding.sync[0]!.local)))).toEqual(new Set(["todo-item@1"]));
    } finally {
      await w.close();
    }
  });

  it("an upgraded device keeps only its new versions (client compaction) with every entity, and edits them", async () => {
    const w = await world();
    try {
      await w.play([...START, { kind: "upgrade", device: "web" }]);
      const web = w.device("web");
      const local = web.binding.sync[0]!.local;
      expect(local).not.toBe(web.locals.get(""));
      expect((await web.locals.get("")!.info()).docCount).toBe(0);
      expect(typedOf(await allDocsOf(local)).sort()).toEqual(["todo-item-status@1", "todo-item-status@1", "todo-item@3", "todo-item@3"]);
      const list = await web.todoApp.list();
      expect(list.todos.map((t) => t.title).sort()).toEqual(["buy oat milk", "reimplement my pet project in Rust"]);
      await w.apply({ kind: "set-new-field", device: "web", todo: "milk", value: "errands" });
      await w.apply({ kind: "settle" });
      const milk = w.model.idOf("milk")!;
      expect((await w.server.main.get(`todo-item:${milk}:v:3`))["group"]).toBe("errands");
      expect(w.refused).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it("a deletion reaches every version as typed tombstones: each channel carries only its own", async () => {
    const w = await world();
    try {
      await w.play([...START, { kind: "upgrade", device: "web" }, { kind: "delete", device: "web", todo: "rust" }, { kind: "settle" }]);
      const rust = w.model.idOf("rust")!;
      const tombstones = (await w.server.main.changes({ includeDocs: true })).results.filter((c) => c.deleted === true && c.id.includes(rust));
      expect(tombstones.map((c) => c.id).sort()).toEqual([`todo-item-status:${rust}:v:1`, `todo-item:${rust}:v:1`, `todo-item:${rust}:v:3`]);
      for (const c of tombstones) expect(typedOf([c.doc!]), c.id).toHaveLength(1);
      // The 1.0 phone lost the todo through its channel; the 3.0 web device got no v1 tombstone.
      const phone = w.device("phone");
      expect((await phone.todoApp.list()).todos.map((t) => t.title)).toEqual(["buy oat milk"]);
      const webIds = (await w.device("web").binding.sync[0]!.local.changes()).results.map((c) => c.id);
      expect(webIds.filter((id) => id.endsWith(":v:1") && id.startsWith("todo-item:"))).toEqual([]);
    } finally {
      await w.close();
    }
  });

  it("a device that upgrades offline keeps its database and pushes its old-version writes once online", async () => {
    const w = await world();
    try {
      await w.play([
        ...START,
        { kind: "offline", device: "phone" },
        { kind: "create", device: "phone", todo: "call", title: "call the bank" },
        { kind: "upgrade", device: "phone" },
      ]);
      const phone = w.device("phone");
      expect(phone.binding.sync[0]!.local).toBe(phone.locals.get(""));
      await w.play([{ kind: "online", device: "phone" }, { kind: "settle" }]);
      const call = w.model.idOf("call")!;
      expect((await w.server.main.get(`todo-item:${call}:v:1`))["title"]).toBe("call the bank");
      expect((await w.server.main.get(`todo-item:${call}:v:3`))["title"]).toBe("call the bank");
      expect((await phone.todoApp.list()).todos.map((t) => t.title).sort()).toEqual(["buy oat milk", "call the bank", "reimplement my pet project in Rust"]);
    } finally {
      await w.close();
    }
  });
});

describe("drop legacy", () => {
  it("stops the 1.0 side, deletes todo-item@1 by typed tombstones, and the 1.0 channel brings the divan-retired signal", async () => {
    const w = await world({ guard: true });
    try {
      await w.play([...START, { kind: "retire" }, { kind: "settle" }]);
      expect(w.retireResult?.purgedDocs).toBe(2);
      const docs = await allDocsOf(w.server.main);
      expect(typedOf(docs).filter((t) => t === "todo-item@1")).toEqual([]);
      expect(typedOf(docs).filter((t) => t === "todo-item@3")).toHaveLength(2);
      const tombstones = (await w.server.main.changes({ includeDocs: true })).results.filter((c) => c.deleted);
      expect(tombstones.map((c) => [c.doc?.["schema"], c.doc?.["version"]])).toEqual([
        ["todo-item", 1],
        ["todo-item", 1],
      ]);
      const phone = w.device("phone").binding.sync[0]!.local;
      expect(retirementOf(await phone.get(RETIRED_DOC_ID), "1.0.0")).toMatchObject({ app: "1.0.0", minimumVersion: "3.0.0", removal: "delete" });
      // Its copies left with the tombstones, not silently: the signal came with them, and with it the phone pulled the
      // supported version's documents, which a new app installed offline reads.
      expect(typedOf(await allDocsOf(phone)).sort()).toEqual(["todo-item-status@1", "todo-item-status@1", "todo-item@3", "todo-item@3"]);
      // The write guard is typed, so it stays on the server: no channel carries it to a device.
      expect((await w.server.main.get(RETIRED_GUARD_ID))["schema"]).toBe(RETIRED_GUARD_TYPE);
      for (const name of ["phone", "web"]) {
        const local = w.device(name).binding.sync[0]!.local;
        await expect(local.get(RETIRED_GUARD_ID), name).rejects.toMatchObject({ code: "NOT_FOUND" });
      }
      // The retired side is no longer written: a new 3.0 todo gets no todo-item@1.
      await w.play([{ kind: "upgrade", device: "web" }, { kind: "create", device: "web", todo: "new", title: "after retirement" }, { kind: "settle" }]);
      expect(await readVersions(w.server.main, "todo-item", w.model.idOf("new")!)).toHaveLength(1);
    } finally {
      await w.close();
    }
  });

  it("what an old client wrote before the retirement and pushes after it reaches the 3.0 app; the tombstones that ended retired documents delete no todo", async () => {
    const w = await world();
    try {
      await w.play([
        ...START,
        { kind: "offline", device: "phone" },
        { kind: "edit-title", device: "phone", todo: "milk", title: "buy oat milk and bread" },
        { kind: "retire" },
        { kind: "settle" },
      ]);
      expect(w.retireResult?.purgedDocs).toBe(2);
      expect(await w.server.main.get(RETIRED_GUARD_ID).catch((e: unknown) => e)).toMatchObject({ code: "NOT_FOUND" });
      await w.play([{ kind: "online", device: "phone" }, { kind: "settle" }, { kind: "upgrade", device: "web" }, { kind: "settle" }]);
      const milk = w.model.idOf("milk")!;
      expect((await w.server.main.get(`todo-item:${milk}:v:3`))["title"]).toBe("buy oat milk and bread");
      expect((await w.device("web").todoApp.list()).todos.map((t) => t.title).sort()).toEqual(["buy oat milk and bread", "reimplement my pet project in Rust"]);
    } finally {
      await w.close();
    }
  });

  it("with the guard, an old client that pushes after retirement gets 403 divan-retired, and its edit stays on the device through the upgrade", async () => {
    const w = await world({ guard: true });
    try {
      await w.play([
        ...START,
        { kind: "offline", device: "phone" },
        { kind: "edit-title", device: "phone", todo: "milk", title: "buy oat milk and bread" },
        { kind: "retire" },
      ]);
      const milk = w.model.idOf("milk")!;
      let refused: unknown;
      try {
        await w.server.main.put({ _id: "todo-item:late:v:1", schema: "todo-item", version: 1, title: "late", isDone: false, createdAt: "2024-01-01T00:00:00.000Z" });
      } catch (e) {
        refused = e;
      }
      expect(isDivanError(refused, "FORBIDDEN")).toBe(true);
      expect(String((refused as Error).message)).toMatch(/divan-retired: todo-item@1 belongs to a retired app version\. App 1\.0\.0 is no longer supported/);
      const phone = w.device("phone");
      const channel = phone.binding.sync[0]!;
      const pushed = await replicate(channel.local, w.server.main, channel.pushSelector ? { selector: channel.pushSelector } : {});
      expect(pushed.docWriteFailures).toBe(1);
      expect((await w.server.main.get(`todo-item:${milk}:v:3`))["title"]).toBe("buy oat milk");
      await w.play([{ kind: "online", device: "phone" }, { kind: "upgrade", device: "phone" }]);
      expect((await phone.locals.get("")!.get(`todo-item:${milk}:v:1`))["title"]).toBe("buy oat milk and bread");
    } finally {
      await w.close();
    }
  });

  it("names only the versions no supported app still uses, and purge refuses a server without _purge before removing anything", async () => {
    expect(retiredVersions({ "todo-item": 1, settings: 1 }, [{ "todo-item": 3, "todo-item-status": 1, settings: 1 }])).toEqual({ "todo-item": [1] });
    // Deliberately the embedded server, also when COUCHDB_URL is set: this needs a server without `_purge`
    // (CouchDB 3 has it), to prove the refusal comes before anything is removed.
    const withoutPurge = await startEmbeddedServer();
    const store: DocumentStore = httpStore(`${withoutPurge.url}/${uniqueDbName("purge")}`);
    await store.create();
    try {
      await store.put({ _id: "todo-item:a:v:1", schema: "todo-item", version: 1, title: "x" });
      let error: unknown;
      try {
        await removeVersions(store, { "todo-item": [1] }, { removal: "purge" });
      } catch (e) {
        error = e;
      }
      expect(isDivanError(error, "BAD_REQUEST")).toBe(true);
      expect(String((error as Error).message)).toMatch(/refused _purge \(HTTP 404\).*removal "delete"/);
      expect((await store.get("todo-item:a:v:1"))["title"]).toBe("x");
    } finally {
      await store.destroy();
      await store.close();
      await withoutPurge.close();
    }
  });
});

describe("versionView", () => {
  it("shows the app's versions under plain ids, hides other versions, passes other ids through and types tombstones", async () => {
    const local = openPouchStore(MemoryPouchDB, uniqueDbName("view"));
    await local.create();
    try {
      await local.bulkDocs([
        { _id: "todo-item:a:v:1", schema: "todo-item", version: 1, title: "old" },
        { _id: "todo-item:a:v:3", schema: "todo-item", version: 3, title: "new" },
        { _id: "app-support", minimumVersion: "1.0.0" },
      ]);
      const shape: AppVersion["shape"] = { "todo-item": 3, "todo-item-status": 1 };
      const view = versionView(local, shape);
      expect((await view.allDocs()).rows.map((r) => r.id)).toEqual(["app-support", "todo-item:a"]);
      const a = await view.get("todo-item:a");
      expect(a).toMatchObject({ _id: "todo-item:a", title: "new" });
      const [w] = await view.bulkDocs([{ _id: "todo-item-status:a", schema: "todo-item-status", version: 1, status: "done" }]);
      expect(w).toMatchObject({ id: "todo-item-status:a", ok: true });
      expect((await local.get("todo-item-status:a:v:1"))["status"]).toBe("done");
      await view.bulkDocs([{ _id: "todo-item:a", _rev: a._rev!, _deleted: true }]);
      const tomb = (await local.changes({ includeDocs: true, docIds: ["todo-item:a:v:3"] })).results[0];
      expect(tomb?.doc).toMatchObject({ _deleted: true, schema: "todo-item", version: 3 });
      expect((await local.get("todo-item:a:v:1"))["title"]).toBe("old");
      expect(() => view.replicationEndpoint()).toThrow(/underlying store/);
    } finally {
      await local.destroy();
      await local.close();
    }
  });
});
