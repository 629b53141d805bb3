/**
 * Strategy tests run one comparison (real replication, every invariant checked) before their
 * assertions; this registers it in `beforeAll` and gives typed access to its runs.
 */
import { beforeAll } from "vitest";
import { runComparison, type CompareOptions, type ComparisonReport, type RunReport } from "../../examples/todo-app/compare.js";

/** The runs of one comparison, available once `beforeAll` has run it. */
export interface ComparisonFixture {
  /** The whole report. */
  report(): ComparisonReport;
  /** The run of `scenario` (of `strategy`, needed when the comparison ran several). */
  run(scenario: string, strategy?: string): RunReport;
  /** One invariant's result in a run. */
  invariant(run: RunReport, name: string): RunReport["invariants"][number];
}

/** Runs `runComparison(options)` in `beforeAll` (with its own time budget) and returns accessors to its runs. */
export function comparisonFixture(options: CompareOptions, timeoutMs = 120_000): ComparisonFixture {
  let report: ComparisonReport | undefined;
  beforeAll(async () => {
    report = await runComparison(options);
  }, timeoutMs);
  const loaded = (): ComparisonReport => {
    if (report === undefined) throw new Error("the comparison has not run (beforeAll failed?)");
    return report;
  };
  return {
    report: loaded,
    run(scenario, strategy) {
      const r = loaded().runs.find((x) => x.scenario === scenario && (strategy === undefined || x.strategy === strategy));
      if (!r) throw new Error(`no run for ${strategy ?? "the strategy"} × ${scenario}`);
      return r;
    },
    invariant(run, name) {
      const i = run.invariants.find((x) => x.name === name);
      if (!i) throw new Error(`no invariant ${name} in ${run.strategy} × ${run.scenario}`);
      return i;
    },
  };
}
