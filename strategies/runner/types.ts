/**
 * Public types of the eager migration runner (issue 7): options, per-document results,
 * the report, the checkpoint/lease/quarantine documents and the typed event map.
 *
 * Browser-safe: this module and every module of `strategies/runner/` import no Node built-ins, so
 * `divan/client`'s `migrateLocal` runs the same engine on a device's PouchDB.
 */
import type { IdScheme } from "../../adapters/ids.js";
import type { CompiledPath, StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import type { DivanError } from "../../core/errors.js";
import type { Registry } from "../../schemas/registry.js";
import type { Doc, DocumentStore, Selector, Seq } from "../../store/port.js";

/**
 * What to translate with: one compiled path (documents not at `path.from` are skipped), or a step graph
 * and a target shape (every entity is routed from the shape it has to `to`; an entity already at `to`
 * is skipped). A whole manifest shape may be the target: types no step knows pass as themselves.
 */
export type MigrationPlan = { readonly path: CompiledPath } | { readonly graph: StepGraph; readonly to: Shape };

/** Which documents a run looks at (design and `_local` documents never). */
export type Selection =
  | {
      /** Only these types (default: every type the plan knows). */
      readonly types?: readonly string[];
      /** Only these majors per type (default: every major). */
      readonly versions?: Readonly<Record<string, readonly number[]>>;
    }
  | {
      /** Only documents matching this Mango selector (matched in memory on every page, and on `_changes`). */
      readonly selector: Selector;
    };

/**
 * The lease that keeps two runners off the database they write: an ordinary document `lease:<database name>` in
 * `store`, a database of divan's own that no device replicates (the CLI uses `<db>$divan`). It is not a `_local`
 * document because CouchDB 3 does not check the revision of `_local` writes.
 */
export interface LeaseOptions {
  /** The state database holding the lease document (created by the caller). */
  readonly store: DocumentStore;
  /** Who holds the lease. A runner restarting with the same owner reclaims its own lease (after a crash). Default: a random id. */
  readonly owner?: string;
  /** How long a lease lives without renewal (default 30 000 ms); renewed every third of it. */
  readonly ttlMs?: number;
}

/** The retry policy for failed store calls (a whole page or `_bulk_docs` request). */
export interface RetryOptions {
  /** Attempts per call before the run fails (default 5). */
  readonly attempts?: number;
  /** First backoff in ms, doubled each time (default 100). */
  readonly backoffMs?: number;
}

/** Options of {@link runMigration}. */
export interface MigrationOptions {
  /** Where documents are read. */
  readonly source: DocumentStore;
  /** Where translated documents are written; omitted or the same store = in place. */
  readonly target?: DocumentStore;
  /** How documents are translated. */
  readonly plan: MigrationPlan;
  /** Which documents are migrated (default: all the plan can translate). */
  readonly selection?: Selection;
  /**
   * Identifies the run: its checkpoint is `_local/divan-migration-<id>` and its quarantine
   * `_local/divan-quarantine-<id>` (and pages) in the database written (the target, else the source), where
   * `_local/divan-jobs` lists it. Default: derived from the plan's target shape and, for a copy, the source's name.
   */
  readonly id?: string;
  /** How the job is listed by `divan status`: `up` (a migration, the default) or `down` (a rollback). */
  readonly direction?: "up" | "down";
  /** Documents per `_all_docs` page / `_changes` page / `_bulk_docs` request (default 500). */
  readonly batchSize?: number;
  /** Pages translated and written at once while the next page is read (default 2). */
  readonly concurrency?: number;
  /** Report what would change, write nothing (no documents, checkpoint, lease or quarantine). */
  readonly dryRun?: boolean;
  /**
   * Validate every output document against this registry before writing (an invalid one is quarantined and its
   * source left where it was), and check that attributes no schema names survive a translation back. The CLI
   * always passes its registry; without one, outputs are written unchecked.
   */
  readonly verify?: Registry;
  /**
   * The lease (see {@link LeaseOptions}). Omitted or `false`: no lease, for a database only this process writes
   * (a device's own PouchDB, a test); give one wherever two runners could start on the same database.
   */
  readonly lease?: LeaseOptions | false;
  /** Retry policy of store calls. */
  readonly retry?: RetryOptions;
  /**
   * Write with `new_edits: false` and revisions derived from content and parent revision
   * (`<gen+1>-<md5 of canonical JSON>`), so devices that migrate the same document produce the same
   * revision and no conflict (client-side migration).
   */
  readonly deterministicRevs?: boolean;
  /**
   * In place: every written translation records, for each old revision it translated, a hash of each of its
   * attributes (`divan.bases`, see `strategies/runner/bases.ts`), so a replica without the old revision's body can
   * still merge a concurrent old edit three ways (client-side migration).
   */
  readonly recordBases?: boolean;
  /** After the pass, follow `_changes` since the start and migrate documents changed meanwhile (default true). */
  readonly followChanges?: boolean;
  /** Ignore a stored checkpoint and scan everything again (quarantine records stay, and are checked again). */
  readonly restart?: boolean;
  /**
   * Try the documents quarantined by earlier runs of the job again (default true: a fixed step or schema may let them
   * through). `false` for a run whose steps and schemas are those of the run before (the passes of
   * `divan migrate --follow`): a quarantined document that changes comes back through `_changes` anyway.
   */
  readonly retryQuarantined?: boolean;
  /** Document ids layout (default `<type>:<entityId>`). */
  readonly ids?: IdScheme;
  /** Field holding the document type (default `"schema"`). */
  readonly typeField?: string;
  /** Field holding the major version (default `"version"`). */
  readonly versionField?: string;
  /** The clock for leases and rates (default `Date.now`). */
  readonly now?: () => number;
  /** Stops the run between pages (the checkpoint stays; a later run resumes). */
  readonly signal?: AbortSignal;
}

/**
 * What happened to one source document, or to one losing revision of a conflicted document (`rev` names
 * the revision): `migrated` (translated and written; a losing revision on its own branch), `copied` (into a
 * copy target unchanged: every revision of it with its history and attachments), `skipped`, `quarantined`
 * (left where it was, see {@link QuarantineRecord}), `conflict` (the stored document changed between read and
 * write; migrated again from `_changes`).
 */
export type DocumentResult =
  | { readonly status: "migrated"; readonly id: string; readonly rev?: string; readonly written: readonly string[] }
  | { readonly status: "copied"; readonly id: string; readonly rev?: string }
  | { readonly status: "skipped"; readonly id: string; readonly rev?: string; readonly reason: string }
  | { readonly status: "quarantined"; readonly id: string; readonly rev?: string; readonly record: QuarantineRecord }
  | { readonly status: "conflict"; readonly id: string; readonly rev?: string; readonly current: Doc | undefined };

/**
 * A document (or a losing revision of a conflicted one) the runner could not migrate, left where it was
 * ("never lose a document"). A record is kept while `(id, rev)` is still a leaf of the document:
 * a later run retries it, and drops the record once the document has changed.
 */
export interface QuarantineRecord {
  readonly id: string;
  readonly rev?: string;
  readonly type?: string;
  readonly version?: unknown;
  /** `STEP_FAILED`, `SCHEMA_INVALID`, `NO_PATH`, `CONFLICT` (a losing revision that cannot be migrated), `FORBIDDEN`, `BAD_REQUEST`, … */
  readonly code: string;
  /** Why, for a human. */
  readonly reason: string;
}

/** Cumulative counts of a run. */
export interface MigrationTotals {
  /** Source documents read (pages and `_changes`; a document read twice counts twice). */
  read: number;
  /** Documents written (or, in a dry run, that would be written). */
  written: number;
  /** Documents quarantined or failed. */
  failed: number;
  /** Per status of {@link DocumentResult}. */
  migrated: number;
  copied: number;
  skipped: number;
  quarantined: number;
  /** Losing revisions of conflicted documents found (each one also counts as migrated, copied, skipped or quarantined). */
  conflicts: number;
  /** Documents that changed between read and write (status `conflict`; migrated again from `_changes`). */
  changed: number;
}

/** What {@link runMigration} resolves with. */
export interface MigrationReport {
  readonly id: string;
  /** True when the run ended caught up (false when aborted). */
  readonly completed: boolean;
  /** True when this run continued a checkpoint left by an earlier (killed) run. */
  readonly resumed: boolean;
  readonly dryRun: boolean;
  readonly totals: MigrationTotals;
  /** The source sequence the run started at, and the one it caught up to (opaque). */
  readonly startSeq: Seq;
  readonly lastSeq: Seq;
  /** Quarantine records added by this run. */
  readonly quarantined: readonly QuarantineRecord[];
  /**
   * Every quarantine record of the job still outstanding when the run ended (this run's and earlier runs'
   * whose document has not changed since): what is stored, and what makes the CLI exit 1.
   */
  readonly outstanding: readonly QuarantineRecord[];
  /** Dirty-pass rounds: batches of documents others changed, migrated again after the scan. */
  readonly dirtyRounds: number;
  /** Wall time in ms. */
  readonly elapsedMs: number;
}

/** Progress of a run. */
export interface ProgressEvent {
  /** Source documents processed so far. */
  readonly done: number;
  /** Documents expected (the source's document count at start, grown when the dirty pass finds more). */
  readonly total: number;
  /** Documents per second. */
  readonly rate: number;
  /** Seconds left at the current rate (`Infinity` when unknown). */
  readonly eta: number;
  /** `scan` while paging `_all_docs`, `dirty` while following `_changes`. */
  readonly phase: "scan" | "dirty";
}

/** The typed events of a {@link Migration}. */
export interface MigrationEvents {
  progress: ProgressEvent;
  document: DocumentResult;
  /**
   * A store call failed and is retried (`willRetry`), or failed for good; or a `progress` or `document` listener threw
   * (`LISTENER_FAILED`, `attempt` 0, what it threw as `cause`), and the run went on.
   */
  error: { readonly error: DivanError; readonly willRetry: boolean; readonly attempt: number };
}

/** The checkpoint document (`_local/divan-migration-<id>`), versioned. */
export interface CheckpointState {
  readonly v: 1;
  readonly phase: "scan" | "dirty" | "done";
  /** The last `_all_docs` key fully written (scan phase). */
  readonly lastKey?: string;
  /** The source sequence at the very first start. */
  readonly startSeq: Seq;
  /** The `_changes` sequence processed up to (dirty phase and done). */
  readonly since: Seq;
  readonly totals: MigrationTotals;
  readonly updatedAt: number;
}
