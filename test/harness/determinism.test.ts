import { describe, expect, it } from "vitest";
import { runComparison, type ComparisonReport } from "../../examples/todo-app/compare.js";
import { renderJson } from "../../examples/todo-app/report.js";
import { SERVER_DEPENDENT_FIELDS, TIMING_FIELDS } from "../../examples/todo-app/metrics.js";
import { comparisonBudget } from "../support/comparison.js";

/** report.json without its timing fields, and on a CouchDB without the fields that depend on it. */
function reproducible(report: ComparisonReport): string {
  const copy = JSON.parse(renderJson(report)) as ComparisonReport;
  const dropped = report.server.kind === "couchdb" ? [...TIMING_FIELDS, ...SERVER_DEPENDENT_FIELDS] : TIMING_FIELDS;
  for (const run of copy.runs) for (const f of dropped) delete (run.metrics as unknown as Record<string, unknown>)[f];
  return JSON.stringify(copy);
}

const options = { strategies: ["none", "non-breaking"], scenarios: ["haneen", "conflict-storm"] };

describe("determinism", () => {
  it(
    "the same seed gives byte-identical report.json apart from timings (and wire bytes on CouchDB); another seed gives other ids",
    async () => {
      const a = await runComparison({ ...options, seed: 42 });
      const b = await runComparison({ ...options, seed: 42 });
      const c = await runComparison({ ...options, seed: 43 });
      expect(reproducible(b)).toBe(reproducible(a));
      expect(reproducible(c)).not.toBe(reproducible(a));
      const ids = (r: ComparisonReport): string[] => [...JSON.stringify(r).matchAll(/todo-item:([0-9a-f]{32})/g)].map((m) => m[1] ?? "");
      expect(ids(a).length).toBeGreaterThan(0);
      expect(ids(c).some((id) => ids(a).includes(id))).toBe(false);
      // Replication moved bytes; the wire carried them and the server's bookkeeping on top.
      for (const r of a.runs) expect(0 < r.metrics.replicatedBytes && r.metrics.replicatedBytes < r.metrics.wireBytes, `${r.strategy} × ${r.scenario}`).toBe(true);
    },
    comparisonBudget(options, 3),
  );
});
