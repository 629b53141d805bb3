/**
 * The app team's steps as strategies use them: one compiled step graph per list of steps, shared by
 * every strategy instance and run (a graph caches its compiled paths).
 */
import { createStepGraph, type StepGraph } from "../adapters/path.js";
import type { StepDefinition } from "../adapters/steps.js";
import { isDivanError } from "../core/errors.js";
import type { Doc, DocumentStore } from "../store/port.js";

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

/**
 * Publishes the declarative steps of `steps` (and `extra` fields) in document `id` of `store`, where every device
 * replicates them: an old app built with divan/client learns the steps from it. Overwrites an earlier version.
 */
export async function publishSteps(store: DocumentStore, id: string, steps: readonly StepDefinition[], extra: Readonly<Record<string, unknown>> = {}): Promise<void> {
  const doc: Doc = { _id: id, steps: JSON.parse(JSON.stringify(steps.filter((s) => "ops" in s))) as unknown[], ...extra };
  try {
    const current = await store.get(id);
    if (current._rev !== undefined) doc._rev = current._rev;
  } catch (e) {
    if (!isDivanError(e, "NOT_FOUND")) throw e;
  }
  await store.put(doc);
}
