/**
 * The one list of registered strategies. `divan compare` runs every strategy listed here; a new
 * strategy appears in the comparison by adding its factory to {@link STRATEGY_FACTORIES}.
 */
import { DivanError } from "../core/errors.js";
import type { Strategy } from "./types.js";
import { createNoneStrategy } from "./none/index.js";
import { createNonBreakingStrategy } from "./non-breaking/index.js";
import { createLiveAdapterStrategy } from "./live-adapter/index.js";
import { createPerVersionDatabaseStrategy } from "./per-version-database/index.js";
import { createPerVersionDocumentsStrategy } from "./per-version-documents/index.js";
import { createAmendedStrategy } from "./amended/index.js";
import { createClientSideStrategy } from "./client-side/index.js";
import { createClientTransformerStrategy } from "./client-transformer/index.js";
import { createServerLazyStrategy } from "./server-lazy/index.js";
import { createTransactionalOnlineStrategy, createTransactionalStrategy } from "./transactional/index.js";

/** Factories of every registered strategy, in report order. Each call returns a fresh instance. */
export const STRATEGY_FACTORIES: readonly (() => Strategy)[] = [createNoneStrategy, createNonBreakingStrategy, () => createPerVersionDatabaseStrategy(), () => createPerVersionDocumentsStrategy(), () => createLiveAdapterStrategy(), () => createLiveAdapterStrategy({ legacy: "none" }), () => createTransactionalStrategy(), () => createTransactionalOnlineStrategy(), () => createAmendedStrategy(), () => createClientSideStrategy(), () => createClientTransformerStrategy({ storage: "multi-version" }), () => createClientTransformerStrategy({ storage: "multi-db" }), () => createClientTransformerStrategy({ storage: "multi-version", timing: "lazy" }), () => createClientTransformerStrategy({ storage: "multi-db", timing: "lazy" }), () => createServerLazyStrategy()];

/** Fresh instances of every registered strategy, in report order. */
export function allStrategies(): Strategy[] {
  return STRATEGY_FACTORIES.map((create) => create());
}

/** The names of every registered strategy, in report order. */
export function strategyNames(): string[] {
  return allStrategies().map((s) => s.name);
}

/** A fresh instance of the strategy called `name`; `CONFIG_INVALID` if none is registered under it. */
export function createStrategy(name: string): Strategy {
  const found = STRATEGY_FACTORIES.map((create) => create()).find((s) => s.name === name);
  if (!found) {
    throw new DivanError("CONFIG_INVALID", `Unknown strategy "${name}". Known strategies: ${strategyNames().join(", ")}.`, {
      details: { strategy: name },
    });
  }
  return found;
}
