import { beforeAll, describe, expect, it } from "vitest";
import { TODO_CHANGES } from "../../examples/strategies.js";
import { runComparison, type ComparisonReport, type RunReport } from "../../examples/todo-app/compare.js";
import { comparisonBudget } from "../support/comparison.js";
import { caveatFor } from "../../examples/todo-app/invariants.js";
import { createNonBreakingStrategy } from "../../strategies/non-breaking/index.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import type { DeviceContext, Strategy } from "../../strategies/types.js";

/** A store whose writes drop `field` (a buggy adapter that loses what its app version does not know). */
function dropping(store: DocumentStore, field: string): DocumentStore {
  const strip = (d: Doc): Doc => {
    const { [field]: _gone, ...rest } = d;
    return rest as Doc;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "bulkDocs") return (docs: Doc[], o?: { newEdits?: boolean }) => target.bulkDocs(docs.map(strip), o);
      if (prop === "put") return (doc: Doc) => target.put(strip(doc));
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** 1.0 → 1.1 where 1.0 devices lose `isImportant` when they edit: no caveat covers it. */
function lossy(): Strategy {
  const base = createNonBreakingStrategy({ change: TODO_CHANGES.nonBreaking! });
  const bind = (device: DeviceContext) => ({
    store: device.app.version === "1.0.0" ? dropping(device.local, "isImportant") : device.local,
    sync: [{ local: device.local, database: "" }],
  });
  return { ...base, name: "lossy", openDevice: async (d) => bind(d), upgradeDevice: async (d) => bind(d) };
}

/** Keeps writing on the server whenever asked to settle (a transformer that translates its own output). */
function looping(): Strategy {
  let n = 0;
  const base = createNonBreakingStrategy({ change: TODO_CHANGES.nonBreaking! });
  return {
    ...base,
    name: "looping",
    settle: async (server) => {
      n += 1;
      await server.main.put({ _id: `echo:${n}`, schema: "echo", version: 1 });
    },
  };
}

/** Every device rewrites every todo differently when it upgrades (client-side migration with device-specific output). */
function conflicting(caveat: boolean): () => Strategy {
  return () => {
    const base = createNonBreakingStrategy({ change: TODO_CHANGES.nonBreaking! });
    return {
      ...base,
      name: caveat ? "conflicting-declared" : "conflicting",
      caveats: caveat ? [{ invariant: "expected-conflicts-only", reason: "devices migrate the same documents" }] : [],
      upgradeDevice: async (device, _from, previous) => {
        const page = await device.local.allDocs({ includeDocs: true });
        const docs = page.rows.flatMap((r) => (r.doc && r.id.startsWith("todo-item:") ? [{ ...r.doc, migratedOn: device.device }] : []));
        await device.local.bulkDocs(docs);
        return previous;
      },
    };
  };
}

let report: ComparisonReport;
const run = (strategy: string, scenario: string): RunReport => {
  const r = report.runs.find((x) => x.strategy === strategy && x.scenario === scenario);
  if (!r) throw new Error(`no run ${strategy} × ${scenario}`);
  return r;
};
const inv = (r: RunReport, name: string) => r.invariants.find((i) => i.name === name);

const legacyOptions = { factories: [lossy, looping], scenarios: ["legacy-forever"], seed: 11 };
const stormOptions = { factories: [conflicting(false), conflicting(true)], scenarios: ["conflict-storm"], seed: 11 };
beforeAll(async () => {
  const legacy = await runComparison(legacyOptions);
  const storm = await runComparison(stormOptions);
  report = { ...legacy, runs: [...legacy.runs, ...storm.runs] };
}, comparisonBudget(legacyOptions) + comparisonBudget(stormOptions));

describe("the invariant checker", () => {
  it("reports a field an old app dropped as lost, and the run as failed (no caveat predicts it)", () => {
    const r = run("lossy", "legacy-forever");
    const fields = inv(r, "no-lost-fields");
    expect(fields?.ok).toBe(false);
    expect(fields?.expected).toBe(false);
    expect(fields?.violations).toEqual([expect.stringMatching(/^"garden" \([0-9a-f]{32}\): isImportant true is on no server document$/)]);
    expect(r.metrics.lostFields).toBe(1);
    expect(r.status).toBe("fail");
  });

  it("reports server writes that go on after quiescence", () => {
    const r = run("looping", "legacy-forever");
    expect(inv(r, "bounded-writes")?.ok).toBe(false);
    expect(inv(r, "bounded-writes")?.detail).toMatch(/write\(s\) on the server after quiescence \(echo:\d+[^)]*\): something keeps writing/);
  });

  it("counts conflicts and fails when no caveat predicts them", () => {
    const r = run("conflicting", "conflict-storm");
    expect(r.metrics.conflicts).toBeGreaterThan(0);
    expect(inv(r, "expected-conflicts-only")?.ok).toBe(false);
    expect(inv(r, "expected-conflicts-only")?.expected).toBe(false);
    expect(r.status).toBe("fail");
  });

  it("marks conflicts a declared caveat predicts as expected", () => {
    const storm = run("conflicting-declared", "conflict-storm");
    expect(inv(storm, "expected-conflicts-only")?.ok).toBe(false);
    expect(inv(storm, "expected-conflicts-only")?.expected).toBe(true);
    expect(inv(storm, "expected-conflicts-only")?.detail).toMatch(/\(expected: devices migrate the same documents\)$/);
  });

  it("judges a caveat's condition on what the run did: old-app reads only on old-app devices, old-app writes only on the todos they wrote", () => {
    const facts = { oldAppAfterRelease: false, oldWrites: new Set<string>(), retired: false, untranslatedDeletes: new Set<string>() };
    const todo = "0123456789abcdef0123456789abcdef";
    const strategy: Strategy = {
      ...createNonBreakingStrategy({ change: TODO_CHANGES.nonBreaking! }),
      caveats: [
        { invariant: "apps-read-their-data", when: "old-app-after-release", reason: "old apps cannot read new documents" },
        { invariant: "no-lost-fields", when: "old-app-wrote-after-release", reason: "old writes are refused" },
      ],
    };
    expect(caveatFor(strategy, facts, "apps-read-their-data", { legacy: true })).toBeUndefined();
    const old = { ...facts, oldAppAfterRelease: true };
    expect(caveatFor(strategy, old, "apps-read-their-data", { legacy: true })?.reason).toBe("old apps cannot read new documents");
    expect(caveatFor(strategy, old, "apps-read-their-data", { legacy: false })).toBeUndefined();
    expect(caveatFor(strategy, old, "no-lost-fields")).toBeUndefined();
    const wrote = { ...facts, oldWrites: new Set([todo]) };
    expect(caveatFor(strategy, wrote, "no-lost-fields", { line: `"t1" (${todo}): title is on no server document` })?.reason).toBe("old writes are refused");
    expect(caveatFor(strategy, wrote, "no-lost-fields", { line: `"t2" (${"f".repeat(32)}): title is on no server document` })).toBeUndefined();
  });

  it("a refused write is an expected violation only when the strategy reports it and keeps that revision", () => {
    const todo = "0123456789abcdef0123456789abcdef";
    const id = `todo-item:${todo}`;
    const strategy: Strategy = {
      ...createNonBreakingStrategy({ change: TODO_CHANGES.nonBreaking! }),
      caveats: [
        { invariant: "converged", when: "refused-write-kept", reason: "refused and kept" },
        { invariant: "no-lost-documents", when: "refused-write-kept", reason: "refused and kept" },
      ],
    };
    const none = { oldAppAfterRelease: true, oldWrites: new Set([todo]), retired: false, untranslatedDeletes: new Set<string>() };
    const kept = { ...none, refusedKept: new Set([`${id}@2-abc`, todo]) };
    const onDevice = { line: `d1: ${id} is 2-abc on the device but 1-xyz on the server` };
    const pulled = { line: `d1: ${id} is 1-xyz on the server but 2-abc on the device` };
    const other = { line: `d1: ${id} is 3-def on the device but 1-xyz on the server` };
    expect(caveatFor(strategy, none, "converged", onDevice)).toBeUndefined();
    expect(caveatFor(strategy, kept, "converged", onDevice)?.reason).toBe("refused and kept");
    expect(caveatFor(strategy, kept, "converged", pulled)?.reason).toBe("refused and kept");
    expect(caveatFor(strategy, kept, "converged", other)).toBeUndefined();
    expect(caveatFor(strategy, kept, "no-lost-documents", { line: `"t1" (${todo}) was deleted but ${id} came back` })?.reason).toBe("refused and kept");
    expect(caveatFor(strategy, kept, "no-lost-documents", { line: `"t2" (${"f".repeat(32)}) has no document on the server` })).toBeUndefined();
  });
});
