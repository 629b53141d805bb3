/**
 * The strategies each fault of `core/faults.ts` is switched on in, for the simulation's mutation tests:
 * the faulty strategy must fail a script its correct twin passes, within a fixed budget of seeds.
 */
import type { Fault } from "../../../core/faults.js";
import { createAmendedStrategy } from "../../../strategies/amended/index.js";

import { createClientTransformerStrategy } from "../../../strategies/client-transformer/index.js";
import { createLiveAdapterStrategy } from "../../../strategies/live-adapter/index.js";
import { createPerVersionDocumentsStrategy } from "../../../strategies/per-version-documents/index.js";
import type { Strategy } from "../../../strategies/types.js";
import { TODO_CHANGE as change } from "../../strategies.js";

/** A strategy with and without `fault`. */
export interface FaultyStrategy {
  readonly fault: Fault;
  /** With the fault. */
  readonly faulty: () => Strategy;
  /** The same strategy without it. */
  readonly correct: () => Strategy;
}

const on = (fault: Fault, create: (faults?: readonly Fault[]) => Strategy): FaultyStrategy => ({
  fault,
  faulty: () => create([fault]),
  correct: () => create(),
});

/** Every fault, each in a strategy whose code path it breaks. */
export const FAULTY_STRATEGIES: readonly FaultyStrategy[] = [
  on("lazy-edit-not-translated", (faults) => createClientTransformerStrategy({ change, storage: "multi-version", timing: "lazy", ...(faults ? { faults } : {}) })),
  on("translate-without-base", (faults) => createClientTransformerStrategy({ change, storage: "multi-db", ...(faults ? { faults } : {}) })),
  on("ignore-steps-document", (faults) => createLiveAdapterStrategy(faults ? { change, faults } : { change })),
  on("compact-without-push", (faults) => createPerVersionDocumentsStrategy(faults ? { change, faults } : { change })),
  on("migration-wins-over-delete", (faults) => createAmendedStrategy(faults ? { change, faults } : { change })),
  on("skip-migration-merge", (faults) => createAmendedStrategy(faults ? { change, faults } : { change })),
  on("upgrade-without-sync", (faults) => createAmendedStrategy(faults ? { change, faults } : { change })),
  on("live-write-without-base", (faults) => createLiveAdapterStrategy(faults ? { change, faults } : { change })),
];
