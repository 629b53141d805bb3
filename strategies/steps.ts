/**
 * The app team's steps as strategies use them: one compiled step graph per list of steps, shared by
 * every strategy instance and run (a graph caches its compiled paths).
 */
import { createStepGraph, type StepGraph } from "../adapters/path.js";
import type { StepDefinition } from "../adapters/steps.js";

const graphs = new WeakMap<readonly StepDefinition[], StepGraph>();

/** The step graph of `steps`, built on first use and reused for the same list. */
export function stepGraphOf(steps: readonly StepDefinition[]): StepGraph {
  let graph = graphs.get(steps);
  if (graph === undefined) {
    graph = createStepGraph(steps);
    graphs.set(steps, graph);
  }
  return graph;
}
