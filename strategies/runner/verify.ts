/**
 * Verify and rollback around a run. Browser-safe.
 */
import type { StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import type { Registry } from "../../schemas/registry.js";
import { DivanError } from "../../core/errors.js";
import type { DocumentStore } from "../../store/port.js";
import { acquireLease, forgetJob, readCopyMarker, releaseLease, removeCheckpoint, removeQuarantine } from "./local.js";
import { runMigration } from "./runner.js";
import type { LeaseOptions, MigrationOptions, MigrationReport } from "./types.js";

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
      /**
       * Copy mode: the run wrote into `target`; rolling back destroys it (the source was never changed). Only a
       * database whose copy marker (`_local/divan-copy`) names `source` is destroyed.
       */
      readonly mode: "drop-target";
      readonly target: DocumentStore;
      /** The database the copy was made from. */
      readonly source: DocumentStore;
      /** The lease on the target, taken before it is destroyed (so no runner is writing into it). */
      readonly lease?: LeaseOptions;
    }
  | ({
      /** In place: migrate back down along the step graph to `from` (N→1 merges delete the merged-away documents). */
      readonly mode: "down";
      readonly graph: StepGraph;
      readonly from: Shape;
    } & Omit<MigrationOptions, "plan" | "target">);

/**
 * Undoes a migration: drops the target of a copy, or runs the down path in place (a new run with its own
 * checkpoint id `down-…`, listed as direction `down`). Resolves with the down run's report, or `undefined` after a drop.
 *
 * @throws DivanError `NOT_A_COPY` (nothing dropped) when the target is the source, or has no copy marker naming the source.
 */
export async function rollbackMigration(options: RollbackOptions): Promise<MigrationReport | undefined> {
  if (options.mode === "drop-target") {
    const { target, source, lease } = options;
    const [targetInfo, sourceInfo] = [await target.info(), await source.info()];
    const marker = await readCopyMarker(target);
    if (target === source || marker === undefined || marker.source !== sourceInfo.name) {
      throw new DivanError(
        "NOT_A_COPY",
        marker === undefined
          ? `${target.name} is no copy divan made (it has no _local/divan-copy marker): nothing dropped. A rollback drops only the --target a migrate --target created`
          : `${target.name} is divan's copy of database "${marker.source}", not of ${source.name}: nothing dropped`,
        { details: { target: target.name, source: source.name, ...(marker === undefined ? {} : { copyOf: marker.source }) } },
      );
    }
    const owner = lease?.owner ?? `rollback-${Math.random().toString(36).slice(2)}`;
    if (lease !== undefined) await acquireLease(lease.store, targetInfo.name, owner, lease.ttlMs ?? 30_000, Date.now(), marker.job);
    try {
      await target.destroy();
    } finally {
      if (lease !== undefined) await releaseLease(lease.store, targetInfo.name, owner);
    }
    return undefined;
  }
  const { graph, from, mode, ...rest } = options;
  void mode;
  return runMigration({ ...rest, plan: { graph, to: from }, direction: "down", id: rest.id ?? rollbackId(from) });
}

/** The default id of a rollback in place to `from`: `down-<type>-<major>-…`. */
export function rollbackId(from: Shape): string {
  return `down-${Object.entries(from).map(([t, v]) => `${t}-${v}`).join("-")}`;
}

/** Removes a run's checkpoint, quarantine and entry in the list of jobs (to start clean). */
export async function forgetMigration(store: DocumentStore, id: string): Promise<void> {
  await removeCheckpoint(store, id);
  await removeQuarantine(store, id);
  await forgetJob(store, id);
}
