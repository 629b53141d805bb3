/**
 * `non-breaking`: the additive change of todo app 1.0 → 1.1; no document is migrated.
 *
 * `non-breaking`: the additive change of todo app 1.0 → 1.1 (an optional `isImportant` flag and a
 * new `settings` type). No document is migrated: apps tolerate missing attributes (a todo without
 * `isImportant` is not important), keep attributes they do not know when they edit a document, and
 * ignore types they do not know. Every device replicates the one database.
 */
import { WITHOUT_MIGRATION, type RetireResult, type Strategy } from "../types.js";

/** Creates the `non-breaking` strategy. */
export function createNonBreakingStrategy(): Strategy {
  return {
    name: "non-breaking",
    description:
      "An additive change (1.0 → 1.1): apps default missing attributes, keep unknown ones and ignore unknown types; nothing is migrated.",
    taxonomy: { storage: "single-version", timing: "none", place: "none" },
    change: { from: "1.0.0", to: "1.1.0" },
    caveats: [],
    migrationCode: [],
    ...WITHOUT_MIGRATION,
    retire: async (): Promise<RetireResult> => ({
      purgedDocs: 0,
      detail: "nothing to purge: 1.0 and 1.1 read the same documents",
    }),
  };
}
