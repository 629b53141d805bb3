/**
 * `none`: a breaking change shipped with no migration at all.
 *
 * The baseline that shows what goes wrong: documents are never changed, so the new app cannot read
 * the documents old apps wrote (and keep writing, e.g. offline devices that sync after the release), and
 * old apps cannot read the documents the new app writes. Every device replicates the one database.
 */
import { identityOf } from "../catalog.js";
import { WITHOUT_MIGRATION, type RetireResult, type Strategy, type StrategyOptions } from "../types.js";

/** Creates the `none` strategy for the app change `options.change`. */
export function createNoneStrategy(options: StrategyOptions): Strategy {
  const { from, to } = options.change;
  return {
    ...identityOf("none", options.change),
    caveats: [
      {
        invariant: "apps-read-their-data",
        reason: `documents are never migrated: app ${to} cannot read the documents app ${from} writes, and app ${from} cannot read those app ${to} writes`,
      },
    ],
    migrationCode: [],
    ...WITHOUT_MIGRATION,
    retire: async (): Promise<RetireResult> => ({
      purgedDocs: 0,
      detail: "nothing to purge: documents of every version stay where apps wrote them",
    }),
  };
}
