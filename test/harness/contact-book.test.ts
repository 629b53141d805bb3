/**
 * The second example app, a contact book (examples/contact-book): its breaking change merges two documents
 * into one and turns a field from `"yes"`/`"no"` into a boolean. Compared with every strategy on every
 * scenario template, instantiated for its own entities: every run passes or shows only documented weaknesses.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfiguredApp, runComparison, type ComparisonReport, type ConfiguredApp } from "../../examples/todo-app/compare.js";
import { SCENARIOS } from "../../examples/todo-app/scenarios.js";
import { strategyNames } from "../../examples/strategies.js";
import { comparisonBudget } from "../support/comparison.js";

const CONFIG = path.resolve(import.meta.dirname, "../../examples/contact-book/divan.config.ts");
const names = strategyNames({ breaking: { from: "1.0.0", to: "2.0.0" } });

let configured: ConfiguredApp;
let report: ComparisonReport;
beforeAll(async () => {
  configured = await loadConfiguredApp(CONFIG);
  report = await runComparison({ app: configured.app, seed: 5 });
}, comparisonBudget({ strategies: names }));

describe("the contact book (two documents merge into one, a field changes type)", () => {
  it("compares its newest change, 1.0.0 → 2.0.0, a breaking one, with every strategy that migrates", () => {
    expect(configured.change).toEqual({ from: "1.0.0", to: "2.0.0" });
    expect(configured.breaking).toBe(true);
    expect(report.strategies.map((s) => s.name)).toEqual(names);
    expect(report.runs).toHaveLength(names.length * SCENARIOS.length);
  });

  it("finds what the scenarios edit from its schemas and steps: the name both versions know, the nickname only 2.0 knows", () => {
    const { domain } = configured.app;
    expect(domain.root).toBe("contact");
    expect(domain.hasNewField).toBe(true);
    expect(domain.newDefault).toBe("");
    expect(domain.hasDone).toBe(false);
  });

  it("every run passes or violates only what its strategy documents", () => {
    const bad = report.runs
      .filter((r) => r.status === "fail" || r.status === "error")
      .map((r) => `${r.strategy} × ${r.scenario}: ${r.error ?? r.invariants.filter((i) => !i.ok && !i.expected).map((i) => `${i.name}: ${i.violations[0]}`).join("; ")}`);
    expect(bad).toEqual([]);
    // Users' writes reached the contacts: scenarios created and edited them.
    expect(report.runs.every((r) => r.metrics.userWrites > 0)).toBe(true);
  });

  it("none breaks what a migrating strategy keeps: the new app cannot read contacts the old one wrote", () => {
    const none = report.runs.find((r) => r.strategy === "none" && r.scenario === "basti")!;
    expect(none.status).toBe("expected");
    const reads = none.invariants.find((i) => i.name === "apps-read-their-data")!;
    expect(reads.violations.some((v) => /contact:[0-9a-f]{32} is contact@1; app 2\.0\.0 reads contact@2/.test(v))).toBe(true);
    expect(report.runs.find((r) => r.strategy === "per-version-documents" && r.scenario === "basti")?.status).toBe("pass");
  });
});
