import { describe, expect, it } from "vitest";
import { runComparison, type ComparisonReport } from "../../examples/todo-app/compare.js";
import { renderJson } from "../../examples/todo-app/report.js";
import { TIMING_FIELDS } from "../../examples/todo-app/metrics.js";

/** report.json without its timing fields. */
function withoutTimings(report: ComparisonReport): string {
  const copy = JSON.parse(renderJson(report)) as ComparisonReport;
  for (const run of copy.runs) for (const f of TIMING_FIELDS) delete (run.metrics as unknown as Record<string, unknown>)[f];
  return JSON.stringify(copy);
}

describe("determinism", () => {
  it("the same seed gives byte-identical report.json apart from timings; another seed gives other ids", async () => {
    const options = { strategies: ["none", "non-breaking"], scenarios: ["haneen", "conflict-storm"] };
    const a = await runComparison({ ...options, seed: 42 });
    const b = await runComparison({ ...options, seed: 42 });
    const c = await runComparison({ ...options, seed: 43 });
    expect(withoutTimings(b)).toBe(withoutTimings(a));
    expect(withoutTimings(c)).not.toBe(withoutTimings(a));
    const ids = (r: ComparisonReport): string[] => [...JSON.stringify(r).matchAll(/todo-item:([0-9a-f]{32})/g)].map((m) => m[1] ?? "");
    expect(ids(a).length).toBeGreaterThan(0);
    expect(ids(c).some((id) => ids(a).includes(id))).toBe(false);
    expect(a.runs.every((r) => r.metrics.replicatedBytes > 0)).toBe(true);
  });
});
