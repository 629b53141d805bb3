/**
 * Strategy tests run one comparison (real replication, every invariant checked) before their
 * assertions; this registers it in `beforeAll` and gives typed access to its runs.
 */
import { beforeAll } from "vitest";
import { runComparison, type CompareOptions, type ComparisonReport, type RunReport } from "../../examples/todo-app/compare.js";
import { SCENARIOS } from "../../examples/todo-app/scenarios.js";
import { strategyNames } from "../../examples/strategies.js";

/**
 * What one strategy × scenario run may take: about ten times what one takes on CouchDB (1–2 s; about half
 * that on the embedded server), for a shared 2-core machine running other test files at the same time.
 */
export const RUN_BUDGET_MS = 15_000;

/** What a comparison may take around its runs: loading the example, starting a server and the proxy. */
const SETUP_BUDGET_MS = 10_000;

/** The number of runs `runComparison(options)` makes (strategies × scenarios, as it defaults them). */
export function comparisonRuns(options: CompareOptions): number {
  const strategies = options.factories?.length || options.strategies?.length || strategyNames().length;
  const scenarios = options.scenarios?.length || SCENARIOS.length;
  return strategies * scenarios;
}

/** The time budget of `times` comparisons with `options`, from the number of runs they make. */
export function comparisonBudget(options: CompareOptions, times = 1): number {
  return times * (SETUP_BUDGET_MS + comparisonRuns(options) * RUN_BUDGET_MS);
}

/** The runs of one comparison, available once `beforeAll` has run it. */
export interface ComparisonFixture {
  /** The whole report. */
  report(): ComparisonReport;
  /** The run of `scenario` (of `strategy`, needed when the comparison ran several). */
  run(scenario: string, strategy?: string): RunReport;
  /** One invariant's result in a run. */
  invariant(run: RunReport, name: string): RunReport["invariants"][number];
}

/** Runs `runComparison(options)` in `beforeAll` (budget: {@link comparisonBudget}) and returns accessors to its runs. */
export function comparisonFixture(options: CompareOptions, timeoutMs = comparisonBudget(options)): ComparisonFixture {
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
