/**
 * `none`: a breaking change (todo app 1.0 → 3.0) shipped with no migration at all.
 *
 * The baseline that shows what goes wrong: documents are never changed, so the new app cannot read
 * the documents old apps wrote (and keep writing, e.g. Haneen's offline todo), and old apps cannot
 * read the documents the new app writes (Basti's phone). Every device replicates the one database.
 */
import { WITHOUT_MIGRATION, type RetireResult, type Strategy } from "../types.js";

/** Creates the `none` strategy. */
export function createNoneStrategy(): Strategy {
  return {
    name: "none",
    description: "A breaking change (1.0 → 3.0) shipped without any migration: the baseline that shows what breaks.",
    taxonomy: { storage: "single-version", timing: "none", place: "none" },
    change: { from: "1.0.0", to: "3.0.0" },
    caveats: [
      {
        invariant: "apps-read-their-data",
        reason:
          "documents are never migrated: the new app cannot read todo-item@1 and the old app cannot read todo-item@3 or todo-item-status@1",
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
