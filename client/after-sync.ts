/**
 * What a new-app device runs after each sync (`client-side` strategy): merge what old devices wrote into the
 * migration, then migrate what the sync brought.
 *
 * An old app that edits a document offline while another device migrates it makes a conflict once both
 * replicate: the old edit is a second child of the revision the migration started from. {@link migrateAfterSync}
 * resolves it as the `client-side` strategy does after every sync:
 *
 * 1. a deletion made by a device that had not seen the migration wins over the migrated revision (else the
 *    deleted entity comes back);
 * 2. the old edit is merged three ways with the migrated leaf against their common ancestor: each attribute
 *    takes the side that changed it. An attribute both sides changed to different values is a real conflict:
 *    the merge keeps the migrated side's value, the old edit's value stays on a conflicting revision, and the
 *    document is named in `conflicts` for the app to resolve (nothing is dropped). Several old edits are merged
 *    one after the other; two devices that each merged a different one of an old device's successive edits
 *    agree on the later one once their merges meet, on every document of the entity. The ancestor is read from the
 *    bases the migrated documents record (`divan.bases`: attribute hashes of each old revision they translate), so a
 *    device that never held the ancestor's body merges exactly as the one that migrated it; where no migrating
 *    replica ever held it, what the two sides hold differently is kept as a reported conflict;
 * 3. {@link migrateLocal} migrates what old devices wrote since (its checkpoint makes this incremental).
 *
 * Steps 1 and 2 look only at what changed since the last pass began (a `_local` checkpoint), so a pass after a sync costs
 * what the sync brought, not the size of the database.
 *
 * Every write has a revision derived from content and parent revision, so devices that resolve the same
 * conflict write the same revision and replication converges. {@link mergeAfterSync} is steps 1 and 2 alone, for an
 * app that does not migrate (an old app that learned the new steps from the database): its edits are merged even when
 * no updated device syncs again, except where it cannot tell what a side of the merge changed (revisions whose bodies
 * replication did not carry may be a user's): such a merge is left to the updated device that holds them. Browser-safe.
 */
import { createStepGraph, type StepGraph } from "../adapters/path.js";
import type { StepDefinition } from "../adapters/steps.js";
import { shapeKey, type Shape } from "../adapters/types.js";
import { pouchStore } from "../store/pouch.js";
import type { DocumentStore } from "../store/port.js";
import { honourConcurrentDeletes } from "../strategies/deletes.js";
import { resolveMigrationConflicts } from "../strategies/runner/conflicts.js";
import { updateLocal } from "../strategies/runner/local.js";
import { completeSplit } from "../strategies/runner/split.js";
import { lockKind, withLock, type LockKind } from "./lock.js";
import { migrateLocal, type MigrateLocalOptions, type MigrateLocalResult } from "./migrate.js";

/** Options of {@link migrateAfterSync}: {@link migrateLocal}'s, and the shapes old apps store. */
export interface MigrateAfterSyncOptions extends MigrateLocalOptions {
  /**
   * Every shape an entity's documents may have in the database (the old apps' and `to`), e.g.
   * `[{ "task": 1 }, { "task": 3, "task-state": 1 }]`: a concurrent deletion ends the entity's documents of
   * each. Default: `[to]`.
   */
  readonly shapes?: readonly Shape[];
}

/** What {@link migrateAfterSync} resolves with. */
export interface MigrateAfterSyncResult extends MigrateLocalResult {
  /** Entities deleted because a deletion was concurrent with the migration. */
  readonly deleted: readonly string[];
  /** Documents whose migration conflict was merged. */
  readonly merged: readonly string[];
  /**
   * Documents where the old edit and the migrated side changed one attribute to different values: the old
   * value is on a conflicting revision of the document, for the app to resolve.
   */
  readonly conflicts: readonly string[];
}

function isStore(db: PouchDB.Database | DocumentStore): db is DocumentStore {
  return typeof (db as DocumentStore).replicationEndpoint === "function";
}

/** Options of {@link mergeAfterSync}. */
export interface MergeAfterSyncOptions {
  /** The steps (or a graph of them), e.g. the declarative ones an old app learned from a replicated document. */
  readonly steps: readonly StepDefinition[] | StepGraph;
  /** The shape updated devices migrate to. */
  readonly to: Shape;
  /** Every shape an entity's documents may have in the database (see {@link MigrateAfterSyncOptions.shapes}). */
  readonly shapes?: readonly Shape[];
  /** Content-derived revisions (default `true`). */
  readonly deterministicRevs?: boolean;
  /** Lock name (default `divan-migrate:<database name>`). */
  readonly lockName?: string;
  /** Force a lock mechanism (default: the best available). */
  readonly lock?: LockKind;
}

/** What {@link mergeAfterSync} resolves with. */
export type MergeAfterSyncResult = Pick<MigrateAfterSyncResult, "deleted" | "merged" | "conflicts">;

/**
 * What an app that does not migrate runs after every sync (`client-side`: an old app built with divan/client, with the
 * steps it learned from the database): steps 1 and 2 of {@link migrateAfterSync}, nothing migrated. Its edits that
 * conflict with a migration another device made are merged into the migrated documents (as an updated device would
 * merge them, to the same revisions), and its deletions win over them, so neither waits for an updated device to sync
 * again. Documents whose leaves are all old stay as they are, and so does a conflict where a side's revisions since the
 * ancestor are not all here and may be a user's (replication carries a branch's last revision only): that app cannot
 * tell what the side changed back and would merge it otherwise than the updated device that wrote them, which merges it.
 */
export async function mergeAfterSync(db: PouchDB.Database | DocumentStore, options: MergeAfterSyncOptions): Promise<MergeAfterSyncResult> {
  return resolveAfterSync(isStore(db) ? db : pouchStore(db), options, false);
}

/**
 * The `_local` document where a device notes the shape, the kind (merge only, or migrate) and the sequence its last
 * pass after a sync began at: the next pass looks only at what changed since (what a sync brought, and its own writes).
 */
const AFTER_SYNC_ID = "_local/divan-after-sync";

/**
 * Steps 1 and 2 of {@link migrateAfterSync} (old-only conflicts migrated when `migrate`), once across tabs, over the
 * changes since the last such pass began.
 */
async function resolveAfterSync(store: DocumentStore, options: MergeAfterSyncOptions, migrate: boolean): Promise<MergeAfterSyncResult> {
  const graph: StepGraph = Array.isArray(options.steps) ? createStepGraph(options.steps as readonly StepDefinition[]) : (options.steps as StepGraph);
  const deterministicRevs = options.deterministicRevs ?? true;
  return withLock(
    options.lockName ?? `divan-migrate:${store.name}`,
    async () => {
      // What did not change since the last pass of this kind towards this shape began was looked at then.
      const pass = { to: shapeKey(options.to), migrate };
      const last = await store.getLocal(AFTER_SYNC_ID);
      const since = last?.["to"] === pass.to && last["migrate"] === migrate && typeof last["since"] === "string" ? { since: last["since"] } : {};
      const start = (await store.info()).updateSeq;
      if (migrate && deterministicRevs) await completeSplit(store, since.since);
      const deleted = await honourConcurrentDeletes(store, { graph, shapes: options.shapes ?? [options.to], deterministicRevs, ...since });
      const report = await resolveMigrationConflicts(store, { graph, to: options.to, deterministicRevs, recordBases: true, migrateOldConflicts: migrate, leaveUndecided: !migrate, ...since });
      await updateLocal(store, AFTER_SYNC_ID, () => ({ ...pass, since: start }));
      return { deleted, merged: report.resolved, conflicts: report.conflicts };
    },
    { kind: options.lock ?? lockKind() },
  );
}

/**
 * Run after every sync of a device whose app migrated its database with {@link migrateLocal} (and in place of
 * `migrateLocal` when the app opens its database: with nothing synced it only migrates). Merges conflicts
 * between old apps' edits and the migration, then migrates what is left, once across tabs.
 */
export async function migrateAfterSync(db: PouchDB.Database | DocumentStore, options: MigrateAfterSyncOptions): Promise<MigrateAfterSyncResult> {
  const store = isStore(db) ? db : pouchStore(db);
  const graph: StepGraph = Array.isArray(options.steps) ? createStepGraph(options.steps as readonly StepDefinition[]) : (options.steps as StepGraph);
  const lockName = options.lockName ?? `divan-migrate:${store.name}`;
  const { deleted, merged, conflicts } = await resolveAfterSync(store, { ...options, steps: graph, lockName }, true);
  const result = await migrateLocal(store, { ...options, steps: graph, lockName });
  return { ...result, deleted, merged, conflicts };
}
