import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multiVersionIds, singleVersionIds } from "../../adapters/ids.js";
import { loadTodoExample, runComparison, type ComparisonReport, type RunReport } from "../../examples/todo-app/compare.js";
import { checkInvariants } from "../../examples/todo-app/invariants.js";
import { startCountingProxy, type CountingProxy } from "../../examples/todo-app/proxy.js";
import { allDocsOf, World, type Device, type ScenarioEvent } from "../../examples/todo-app/world.js";
import type { Doc } from "../../store/port.js";
import { createStrategy, TODO_CHANGE } from "../../examples/strategies.js";
import { createClientTransformerStrategy, type ClientTransformerOptions, type ClientTransformerStorage } from "../../strategies/client-transformer/index.js";
import { contentOf, withDeterministicRev } from "../../strategies/runner/canonical.js";
import { comparisonBudget } from "../support/comparison.js";
import { startTestServer, type TestServer } from "../support/server.js";

const SCENARIOS = ["haneen", "basti", "marten", "conflict-storm", "legacy-forever", "drop-legacy"];
const NAMES: Record<ClientTransformerStorage, string> = {
  "multi-version": "client-transformer-documents",
  "multi-db": "client-transformer-database",
};

let report: ComparisonReport;
let server: TestServer;
let proxy: CountingProxy;
let example: Awaited<ReturnType<typeof loadTodoExample>>;

const run = (strategy: string, scenario: string): RunReport => {
  const r = report.runs.find((x) => x.strategy === strategy && x.scenario === scenario);
  if (!r) throw new Error(`no run of ${strategy} on ${scenario}`);
  return r;
};

const eager = { strategies: Object.values(NAMES), scenarios: SCENARIOS, seed: 7 };
beforeAll(async () => {
  report = await runComparison(eager);
  server = await startTestServer();
  proxy = await startCountingProxy(server.url);
  example = await loadTodoExample();
}, comparisonBudget(eager));

afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

/** A test world of one client-transformer strategy on the shared test server. */
const worldOf = (options: Omit<ClientTransformerOptions, "change">, seed: number): Promise<World> =>
  World.create({ strategy: createClientTransformerStrategy({ change: TODO_CHANGE, ...options }), scenario: "test", seed, serverUrl: server.url, proxy, registry: example.registry, apps: example.apps });

/** The stored document of `type` (at the new app's version) for entity `id` on a new-app device. */
async function storedNew(storage: ClientTransformerStorage, d: Device, type: string, id: string): Promise<Doc> {
  const version = d.app.shape[type]!;
  if (storage === "multi-version") return d.locals.get("")!.get(multiVersionIds.format(type, id, version));
  return d.locals.get(`-v${d.app.version.split(".")[0]}`)!.get(singleVersionIds.format(type, id, version));
}

describe.each(Object.entries(NAMES) as [ClientTransformerStorage, string][])("strategy %s (client transformers)", (storage, name) => {
  it("is registered with its taxonomy cell, the 1.0 → 3.0 change and one caveat: an old app's deletion no new-app device is left to translate", () => {
    const { taxonomy, change, caveats, migrationCode } = createStrategy(name);
    expect({ taxonomy, change, caveats: caveats.map((c) => `${c.invariant} when ${c.when ?? "always"}`), migrationCode }).toEqual({
      taxonomy: { storage, timing: "eager", place: "client" },
      change: { from: "1.0.0", to: "3.0.0" },
      caveats: ["no-lost-documents when untranslated-old-delete"],
      migrationCode: "steps",
    });
  });

  it("passes every invariant on every scenario; the Conflict storm ends without a conflict", () => {
    for (const scenario of SCENARIOS) {
      const r = run(name, scenario);
      const failed = r.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`);
      expect(failed, scenario).toEqual([]);
      expect(r.status, `${scenario}: ${r.error ?? ""}`).toBe("pass");
      expect(r.refused, scenario).toEqual([]);
      expect(r.metrics.lostDocs + r.metrics.lostFields + r.metrics.conflicts, scenario).toBe(0);
      expect(r.metrics.downtimeMs, scenario).toBe(0);
    }
    expect(run(name, "basti").metrics.legacySupport).toBe("yes");
    expect(run(name, "drop-legacy").retired).toMatch(/^every new-app device stopped translating into 1\.0\.0; /);
    if (storage === "multi-version") expect(run(name, "drop-legacy").retired).toMatch(/deleted the [1-9]\d* todo-item@1 document\(s\) the new version holds translated on the server/);
  });

  it("the server translates nothing; two new-app devices translating the same old documents write the same revisions", async () => {
    const w = await worldOf({ storage }, 3);
    try {
      const script: ScenarioEvent[] = [
        { kind: "device", device: "phone", app: "old" },
        { kind: "device", device: "a", app: "old" },
        { kind: "device", device: "b", app: "old" },
        { kind: "create", device: "phone", todo: "rust", title: "reimplement my pet project in Rust" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "settle" },
      ];
      await w.play(script);
      const rust = w.model.idOf("rust")!;
      // Released, but no device runs the new app yet: no document of the new version exists anywhere on the server.
      const serverIds = [...(await w.serverDocs()).values()].flat().map((d) => d._id);
      expect(serverIds.filter((id) => id.includes(rust))).toEqual([storage === "multi-version" ? `todo-item:${rust}:v:1` : `todo-item:${rust}`]);

      // Both devices install the new app offline: each back-fills from its own copy, without the other.
      await w.play([
        { kind: "offline", device: "a" },
        { kind: "offline", device: "b" },
        { kind: "upgrade", device: "a" },
        { kind: "upgrade", device: "b" },
      ]);
      const [a, b] = [w.device("a"), w.device("b")];
      for (const type of ["todo-item", "todo-item-status"]) {
        const [docA, docB] = [await storedNew(storage, a, type, rust), await storedNew(storage, b, type, rust)];
        expect(docA, type).toEqual(docB);
        expect(docA._rev, type).toBe(withDeterministicRev(contentOf(docA) as Doc)._rev);
      }
      expect(await storedNew(storage, a, "todo-item", rust)).toMatchObject({ version: 3, group: "default", title: "reimplement my pet project in Rust" });

      // An old-app edit reaches both (online again); each translates it on its own before either pushes.
      await w.play([
        { kind: "edit-title", device: "phone", todo: "rust", title: "reimplement my pet project in Zig" },
        { kind: "sync", device: "phone" },
        { kind: "online", device: "a" },
        { kind: "online", device: "b" },
      ]);
      await w.sync(a);
      await w.sync(b);
      await w.strategy.settle(w.server);
      const [editA, editB] = [await storedNew(storage, a, "todo-item", rust), await storedNew(storage, b, "todo-item", rust)];
      expect(editA).toMatchObject({ title: "reimplement my pet project in Zig", _rev: expect.stringMatching(/^2-/) });
      expect(editA).toEqual(editB);

      // They sync: one revision everywhere, no conflict on any replica, and every invariant holds.
      await w.play([{ kind: "settle" }, { kind: "check", label: "end" }]);
      const { results, counts } = await checkInvariants(w, "test");
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
      expect(counts.conflicts).toBe(0);
      const newOnServer = (await w.serverDocs()).get(storage === "multi-version" ? "" : "-v3") ?? [];
      expect(newOnServer.find((d) => d._id === editA._id)?._rev).toBe(editA._rev);
      expect(w.checks.every((c) => c.problems.length === 0 && c.correct === 1)).toBe(true);
      expect((await allDocsOf(w.device("phone").binding.sync[0]!.local)).length).toBeGreaterThan(0);
    } finally {
      await w.close();
    }
  });

  it("an old edit made offline and back-filled by an offline upgrade replaces the other devices' translation without a conflict", async () => {
    const w = await worldOf({ storage }, 5);
    try {
      await w.play([
        { kind: "device", device: "a", app: "old" },
        { kind: "device", device: "b", app: "old" },
        { kind: "create", device: "b", todo: "rust", title: "reimplement my pet project in Rust" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "a" },
        { kind: "settle" },
        // b edits the old document offline, then installs the new app offline: its back-fill starts from its edit,
        // while a's translation of the previous revision is already on the server.
        { kind: "offline", device: "b" },
        { kind: "edit-title", device: "b", todo: "rust", title: "reimplement my pet project in Zig" },
        { kind: "upgrade", device: "b" },
        { kind: "online", device: "b" },
        { kind: "settle" },
        { kind: "check", label: "end" },
      ]);
      const { results, counts } = await checkInvariants(w, "test");
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
      expect(counts.conflicts).toBe(0);
      const rust = w.model.idOf("rust")!;
      for (const d of [w.device("a"), w.device("b")]) expect(await storedNew(storage, d, "todo-item", rust)).toMatchObject({ title: "reimplement my pet project in Zig" });
    } finally {
      await w.close();
    }
  });
});

const LAZY: Record<ClientTransformerStorage, string> = {
  "multi-version": "client-lazy-documents",
  "multi-db": "client-lazy-database",
};

describe.each(Object.entries(LAZY) as [ClientTransformerStorage, string][])("strategy %s (lazy client transformers)", (storage, name) => {
  let lazyReport: ComparisonReport;
  const lazy = { strategies: [name], scenarios: SCENARIOS, seed: 7 };
  beforeAll(async () => {
    lazyReport = await runComparison(lazy);
  }, comparisonBudget(lazy));

  it("is registered as the lazy client cell and passes every invariant on every scenario", () => {
    expect(createStrategy(name).taxonomy).toEqual({ storage, timing: "lazy", place: "client" });
    for (const r of lazyReport.runs) {
      expect(r.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`), r.scenario).toEqual([]);
      expect(r.status, r.scenario).toBe("pass");
    }
    expect(lazyReport.runs.map((r) => r.scenario)).toEqual(SCENARIOS);
  });

  it("stores the new version of what the new app writes only; it reads the rest translated, and old apps see its edits", async () => {
    const w = await worldOf({ storage, timing: "lazy" }, 3);
    try {
      await w.play([
        { kind: "device", device: "phone", app: "old" },
        { kind: "device", device: "web", app: "old" },
        { kind: "create", device: "phone", todo: "rust", title: "reimplement my pet project in Rust" },
        { kind: "create", device: "phone", todo: "milk", title: "buy oat milk" },
        { kind: "settle" },
        { kind: "release" },
        { kind: "upgrade", device: "web" },
        { kind: "settle" },
        { kind: "check", label: "upgraded" },
      ]);
      const [rust, milk] = [w.model.idOf("rust")!, w.model.idOf("milk")!];
      const web = w.device("web");
      // Upgraded and read every todo, but stored no new-version document.
      expect(w.checks.filter((c) => c.device === "web").every((c) => c.problems.length === 0 && c.correct === 2)).toBe(true);
      await expect(storedNew(storage, web, "todo-item", rust)).rejects.toMatchObject({ code: "NOT_FOUND" });

      // An old-app edit shows on the new app, still without storing anything.
      await w.play([{ kind: "edit-title", device: "phone", todo: "milk", title: "buy oat milk and bread" }, { kind: "settle" }, { kind: "check", label: "old edit" }]);
      expect((await web.todoApp.list()).todos.map((t) => t.title).sort()).toEqual(["buy oat milk and bread", "reimplement my pet project in Rust"]);
      await expect(storedNew(storage, web, "todo-item", milk)).rejects.toMatchObject({ code: "NOT_FOUND" });

      // The new app edits one todo: that entity alone gets its new version, and the old app reads the edit.
      await w.play([{ kind: "edit-title", device: "web", todo: "rust", title: "reimplement my pet project in Zig" }, { kind: "settle" }, { kind: "check", label: "new edit" }]);
      expect(await storedNew(storage, web, "todo-item", rust)).toMatchObject({ title: "reimplement my pet project in Zig", group: "default" });
      expect(await storedNew(storage, web, "todo-item-status", rust)).toMatchObject({ status: "active" });
      await expect(storedNew(storage, web, "todo-item", milk)).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect((await w.device("phone").todoApp.list()).todos.map((t) => t.title).sort()).toEqual(["buy oat milk and bread", "reimplement my pet project in Zig"]);
      expect(w.checks.every((c) => c.problems.length === 0)).toBe(true);
      const { results } = await checkInvariants(w, "test");
      expect(results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
