/**
 * `non-breaking`: an additive change (optional attributes, new types); no document is migrated.
 *
 * `divan check` classifies a change as additive. Apps tolerate missing attributes, keep attributes they do not know
 * when they edit a document, and ignore types they do not know. Every device replicates the one database.
 */
import { WITHOUT_MIGRATION, type RetireResult, type Strategy, type StrategyOptions } from "../types.js";

/** Creates the `non-breaking` strategy for the additive app change `options.change`. */
export function createNonBreakingStrategy(options: StrategyOptions): Strategy {
  const { from, to } = options.change;
  return {
    name: "non-breaking",
    description: `An additive change (${from} → ${to}): apps default missing attributes, keep unknown ones and ignore unknown types; nothing is migrated.`,
    taxonomy: { storage: "single-version", timing: "none", place: "none" },
    change: options.change,
    caveats: [],
    migrationCode: [],
    ...WITHOUT_MIGRATION,
    retire: async (): Promise<RetireResult> => ({
      purgedDocs: 0,
      detail: `nothing to purge: ${from} and ${to} read the same documents`,
    }),
  };
}
