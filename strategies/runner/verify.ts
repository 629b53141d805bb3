/**
 * Verify and rollback around a run (DESIGN §5). Browser-safe.
 */
import type { StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import type { Registry } from "../../schemas/registry.js";
import type { DocumentStore } from "../../store/port.js";
import { checkpointId, quarantineId } from "./local.js";
import { runMigration } from "./runner.js";
import type { MigrationOptions, MigrationReport } from "./types.js";

/** One document that is not valid at the target version. */
export interface VerifyIssue {
  readonly id: string;
  readonly rev?: string;
  readonly type: string;
  readonly version: unknown;
  readonly reason: string;
}

/** What {@link verifyStore} found. */
export interface VerifyReport {
  /** Documents of a type in the target shape that were checked. */
  readonly checked: number;
  /** Documents of other types (not checked; divan ignores what it does not know). */
  readonly ignored: number;
  /** Documents not at the target version, or invalid against its schema. */
  readonly invalid: readonly VerifyIssue[];
}

/**
 * Checks that every document of a type in `to` is at the target version and valid against its schema.
 * Documents in `exclude` (e.g. quarantined ids) are not reported.
 */
export async function verifyStore(
  store: DocumentStore,
  registry: Registry,
  to: Shape,
  options: { batchSize?: number; exclude?: ReadonlySet<string> } = {},
): Promise<VerifyReport> {
  const size = options.batchSize ?? 500;
  let checked = 0;
  let ignored = 0;
  const invalid: VerifyIssue[] = [];
  let startkey: string | undefined;
  for (;;) {
    const page = await store.allDocs({ includeDocs: true, limit: size, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    for (const row of page.rows) {
      const doc = row.doc;
      if (doc === undefined || doc === null || doc._id.startsWith("_design/")) continue;
      const type = doc[registry.typeField];
      if (typeof type !== "string" || to[type] === undefined) {
        ignored++;
        continue;
      }
      checked++;
      if (options.exclude?.has(doc._id) === true) continue;
      const version = doc[registry.versionField];
      const rev = typeof doc._rev === "string" ? { rev: doc._rev } : {};
      if (version !== to[type]) {
        invalid.push({ id: doc._id, ...rev, type, version, reason: `at version ${JSON.stringify(version)}, expected ${to[type]}` });
        continue;
      }
      const r = registry.validate(doc);
      if (!r.ok) invalid.push({ id: doc._id, ...rev, type, version, reason: r.errors.map((e) => `${e.pointer || "/"} ${e.message}`).join("; ") || r.code });
    }
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < size || last === undefined) break;
    startkey = last.id;
  }
  return { checked, ignored, invalid };
}

/** Options of {@link rollbackMigration}. */
export type RollbackOptions =
  | {
      /** Copy mode: the run wrote into `target`; rolling back destroys it (the source was never changed). */
      readonly mode: "drop-target";
      readonly target: DocumentStore;
    }
  | ({
      /** In place: migrate back down along the step graph to `from` (N→1 merges delete the merged-away documents). */
      readonly mode: "down";
      readonly graph: StepGraph;
      readonly from: Shape;
    } & Omit<MigrationOptions, "plan" | "target">);

/**
 * Undoes a migration: drops the target of a copy, or runs the down path in place (a new run with its own
 * checkpoint id `down-…`). Resolves with the down run's report, or `undefined` after a drop.
 */
export async function rollbackMigration(options: RollbackOptions): Promise<MigrationReport | undefined> {
  if (options.mode === "drop-target") {
    await options.target.destroy();
    return undefined;
  }
  const { graph, from, mode, ...rest } = options;
  void mode;
  const report = await runMigration({ ...rest, plan: { graph, to: from }, id: rest.id ?? `down-${Object.entries(from).map(([t, v]) => `${t}-${v}`).join("-")}` });
  return report;
}

/** Removes a run's checkpoint and quarantine documents (after a rollback, to start clean). */
export async function forgetMigration(store: DocumentStore, id: string): Promise<void> {
  await store.removeLocal(checkpointId(id));
  await store.removeLocal(quarantineId(id));
}
