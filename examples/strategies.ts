/**
 * The strategies the comparison runs (`divan compare`, the simulation), for the app change it compares.
 *
 * Not part of the library's API: an app deploys one strategy, created with its own change
 * (`createAmendedStrategy({ change })`, …); this list only exists to compare them all.
 *
 * A breaking change is compared with every strategy that migrates; an additive one only with
 * `non-breaking`, the one strategy built for it.
 */
import { mergeAfterSync, migrateAfterSync } from "../client/index.js";
import { DivanError } from "../core/errors.js";
import type { AppChange, Strategy } from "../strategies/types.js";
import { createNoneStrategy } from "../strategies/none/index.js";
import { createNonBreakingStrategy } from "../strategies/non-breaking/index.js";
import { createLiveAdapterStrategy } from "../strategies/live-adapter/index.js";
import { createPerVersionDatabaseStrategy } from "../strategies/per-version-database/index.js";
import { createPerVersionDocumentsStrategy } from "../strategies/per-version-documents/index.js";
import { createAmendedStrategy } from "../strategies/amended/index.js";
import { createClientSideStrategy } from "../strategies/client-side/index.js";
import { createClientTransformerStrategy } from "../strategies/client-transformer/index.js";
import { createServerLazyStrategy } from "../strategies/server-lazy/index.js";
import { createTransactionalOnlineStrategy, createTransactionalStrategy } from "../strategies/transactional/index.js";

/** The changes a comparison covers: a breaking one (every migrating strategy), an additive one (`non-breaking`), or both. */
export interface ComparedChanges {
  /** The breaking change the migrating strategies handle. */
  readonly breaking?: AppChange;
  /** An additive change, for `non-breaking`. */
  readonly nonBreaking?: AppChange;
}

/** A strategy of the comparison: its name and a factory of fresh instances for a change. */
interface Entry {
  readonly name: string;
  readonly kind: keyof ComparedChanges;
  readonly create: (change: AppChange) => Strategy;
}

/** Every strategy, in report order. */
const ENTRIES: readonly Entry[] = [
  { name: "none", kind: "breaking", create: (change) => createNoneStrategy({ change }) },
  { name: "non-breaking", kind: "nonBreaking", create: (change) => createNonBreakingStrategy({ change }) },
  { name: "per-version-database", kind: "breaking", create: (change) => createPerVersionDatabaseStrategy({ change }) },
  { name: "per-version-documents", kind: "breaking", create: (change) => createPerVersionDocumentsStrategy({ change }) },
  { name: "live-adapter", kind: "breaking", create: (change) => createLiveAdapterStrategy({ change }) },
  { name: "live-adapter-new-app-only", kind: "breaking", create: (change) => createLiveAdapterStrategy({ change, legacy: "none" }) },
  { name: "transactional", kind: "breaking", create: (change) => createTransactionalStrategy({ change }) },
  { name: "transactional-online", kind: "breaking", create: (change) => createTransactionalOnlineStrategy({ change }) },
  { name: "amended", kind: "breaking", create: (change) => createAmendedStrategy({ change }) },
  { name: "client-side", kind: "breaking", create: (change) => createClientSideStrategy({ change, migrateDevice: migrateAfterSync, mergeDevice: mergeAfterSync }) },
  { name: "client-transformer-documents", kind: "breaking", create: (change) => createClientTransformerStrategy({ change, storage: "multi-version" }) },
  { name: "client-transformer-database", kind: "breaking", create: (change) => createClientTransformerStrategy({ change, storage: "multi-db" }) },
  { name: "client-lazy-documents", kind: "breaking", create: (change) => createClientTransformerStrategy({ change, storage: "multi-version", timing: "lazy" }) },
  { name: "client-lazy-database", kind: "breaking", create: (change) => createClientTransformerStrategy({ change, storage: "multi-db", timing: "lazy" }) },
  { name: "server-lazy", kind: "breaking", create: (change) => createServerLazyStrategy({ change }) },
];

/** The todo example's breaking change, the one its comparison and simulation run. */
export const TODO_CHANGE: AppChange = { from: "1.0.0", to: "3.0.0" };

/** The todo example's changes: 1.0.0 → 3.0.0 (breaking) and 1.0.0 → 1.1.0 (additive). */
export const TODO_CHANGES: ComparedChanges = { breaking: TODO_CHANGE, nonBreaking: { from: "1.0.0", to: "1.1.0" } };

/** A named factory of fresh strategy instances. */
export interface StrategyFactory {
  readonly name: string;
  readonly create: () => Strategy;
}

/** The factories of every strategy that applies to `changes`, in report order. */
export function strategyFactories(changes: ComparedChanges = TODO_CHANGES): StrategyFactory[] {
  return ENTRIES.flatMap((e) => {
    const change = changes[e.kind];
    return change === undefined ? [] : [{ name: e.name, create: () => e.create(change) }];
  });
}

/** Fresh instances of every strategy that applies to `changes`, in report order. */
export function allStrategies(changes: ComparedChanges = TODO_CHANGES): Strategy[] {
  return strategyFactories(changes).map((f) => f.create());
}

/** The names of every strategy that applies to `changes`, in report order. */
export function strategyNames(changes: ComparedChanges = TODO_CHANGES): string[] {
  return strategyFactories(changes).map((f) => f.name);
}

/** A fresh instance of the strategy called `name` for `changes`; `CONFIG_INVALID` if no such strategy applies. */
export function createStrategy(name: string, changes: ComparedChanges = TODO_CHANGES): Strategy {
  const found = strategyFactories(changes).find((f) => f.name === name);
  if (!found) {
    throw new DivanError("CONFIG_INVALID", `Unknown strategy "${name}". Known strategies: ${strategyNames(changes).join(", ")}.`, {
      details: { strategy: name },
    });
  }
  return found.create();
}
