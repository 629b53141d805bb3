/**
 * `non-breaking`: an additive change (optional attributes, new types); no document is migrated.
 *
 * `divan check` classifies a change as additive. Apps tolerate missing attributes, keep attributes they do not know
 * when they edit a document, and ignore types they do not know. Every device replicates the one database.
 */
import { identityOf } from "../catalog.js";
import { WITHOUT_MIGRATION, type RetireResult, type Strategy, type StrategyOptions } from "../types.js";

/** Creates the `non-breaking` strategy for the additive app change `options.change`. */
export function createNonBreakingStrategy(options: StrategyOptions): Strategy {
  const { from, to } = options.change;
  return {
    ...identityOf("non-breaking", options.change),
    caveats: [],
    migrationCode: [],
    ...WITHOUT_MIGRATION,
    retire: async (): Promise<RetireResult> => ({
      purgedDocs: 0,
      detail: `nothing to purge: ${from} and ${to} read the same documents`,
    }),
  };
}
