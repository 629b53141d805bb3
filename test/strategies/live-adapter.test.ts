import { beforeAll, describe, expect, it } from "vitest";
import { runComparison, type ComparisonReport, type RunReport } from "../../examples/todo-app/compare.js";
import { createStrategy } from "../../strategies/all.js";

let report: ComparisonReport;
const run = (strategy: string, scenario: string): RunReport => {
  const r = report.runs.find((x) => x.strategy === strategy && x.scenario === scenario);
  if (!r) throw new Error(`no run for ${strategy} ${scenario}`);
  return r;
};
const invariant = (r: RunReport, name: string) => {
  const i = r.invariants.find((x) => x.name === name);
  if (!i) throw new Error(`no invariant ${name}`);
  return i;
};

beforeAll(async () => {
  report = await runComparison({
    strategies: ["live-adapter", "live-adapter-new-app-only"],
    scenarios: ["basti", "legacy-forever", "haneen", "marten"],
    seed: 11,
  });
}, 60_000);

describe("strategy live-adapter (single-version, lazy, client)", () => {
  it("is registered with its taxonomy cell and the todo steps as its migration code", () => {
    const s = createStrategy("live-adapter");
    expect(s.taxonomy).toEqual({ storage: "single-version", timing: "lazy", place: "client" });
    expect(s.change).toEqual({ from: "1.0.0", to: "3.0.0" });
    expect(s.caveats).toEqual([]);
    expect(s.migrationCode.map((m) => m.path)).toEqual(["examples/todo-app/steps/1-to-2.ts", "examples/todo-app/steps/2-to-3.ts"]);
  });

  it("Basti: the 3.0 web app and the never-updated 1.0 phone both read and edit everything; every invariant holds", () => {
    const r = run("live-adapter", "basti");
    for (const i of r.invariants) expect(i.ok, `${i.name}: ${i.detail}`).toBe(true);
    expect(r.refused).toEqual([]);
    expect(r.status).toBe("pass");
  });

  it("Legacy forever: the 1.0 edit keeps the group and the status set by 3.0", () => {
    const r = run("live-adapter", "legacy-forever");
    for (const i of r.invariants) expect(i.ok, `${i.name}: ${i.detail}`).toBe(true);
    expect(r.metrics.lostFields).toBe(0);
    expect(r.status).toBe("pass");
  });

  it("Haneen and Marten pass: a late old todo is read by 3.0, a todo-item@3 without its status is reported, then read once it arrives", () => {
    for (const s of ["haneen", "marten"]) {
      const r = run("live-adapter", s);
      for (const i of r.invariants) expect(i.ok, `${s} ${i.name}: ${i.detail}`).toBe(true);
    }
  });

  it("with adapters in the new app only, the plain 1.0 phone cannot read what 3.0 wrote: an expected, declared violation, nothing lost", () => {
    const r = run("live-adapter-new-app-only", "basti");
    const reads = invariant(r, "apps-read-their-data");
    expect(reads.ok).toBe(false);
    expect(reads.expected).toBe(true);
    expect(reads.violations).toContainEqual(expect.stringMatching(/^phone \(app 1\.0\.0\) at .*"groceries" .* is todo-item@3; app 1\.0\.0 reads todo-item@1$/));
    for (const name of ["no-lost-documents", "no-lost-fields", "converged", "expected-conflicts-only"]) expect(invariant(r, name).ok).toBe(true);
    expect(r.status).toBe("expected");
    const legacy = run("live-adapter-new-app-only", "legacy-forever");
    expect(invariant(legacy, "no-lost-fields").ok).toBe(true);
    expect(legacy.refused.some((a) => a.device === "phone" && /todo-item@3/.test(a.error))).toBe(true);
  });
});
