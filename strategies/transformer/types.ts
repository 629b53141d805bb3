/**
 * The transformer's public types: its options and sides, the events it reports, its status and the
 * {@link Transformer} interface that `createTransformer` returns.
 */
import type { Fault } from "../../core/faults.js";
import type { IdScheme, singleVersionIds, multiVersionIds } from "../../adapters/ids.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import type { Registry } from "../../schemas/registry.js";
import type { Doc, DocumentStore, Seq } from "../../store/port.js";
import type { ConflictRecord } from "./plan.js";
import type { TransformerQuarantineRecord } from "./quarantine.js";

/** One side: the documents of one version, in a store. */
export interface TransformerSide {
  /** Unique name (provenance `from`, status), e.g. `"v3"`. */
  readonly name: string;
  /** Where the side's documents live (several sides may share one store). */
  readonly store: DocumentStore;
  /** Type → major version this side holds, e.g. `{ "task": 3, "task-state": 1, preferences: 1 }`. */
  readonly shape: Shape;
  /**
   * Every revision of this side's documents was translated to the other sides by the replica that made it, as it made
   * it (the new version on new-app devices: client-side transformers). A replica that lacks the body of an earlier
   * revision (replication carries only the latest) then judges an edit as one that holds it would (`seen.ts`).
   * Default `false`.
   */
  readonly translatedOnWrite?: boolean;
}

/** Options of {@link createTransformer}. */
export interface TransformerOptions {
  /** The sides, oldest version first (a later side wins ties of the conflict rule). */
  readonly sides: readonly TransformerSide[];
  /** Every step between the sides' shapes. */
  readonly steps: readonly StepDefinition[];
  /** How documents are named (default {@link singleVersionIds}; {@link multiVersionIds} for one shared database). */
  readonly ids?: IdScheme;
  /** Attribute holding the type (default `schema`). */
  readonly typeField?: string;
  /** Attribute holding the major version (default `version`). */
  readonly versionField?: string;
  /** `_local` id (without prefix) of the checkpoint in every store (default `divan-transformer`). */
  readonly checkpointId?: string;
  /** Changes read per page while catching up, and at most per live tick (default 100 pages, 1000 per tick). */
  readonly batchSize?: number;
  /** How often waiting entities (and a failed feed) are retried, in ms (default 500). */
  readonly retryMs?: number;
  /** Save the checkpoint after this many changes (default 1000)… */
  readonly checkpointEvery?: number;
  /** …or when this many ms have passed since the last save with changes unsaved (default 1000). */
  readonly checkpointMs?: number;
  /** The clock (lag and timestamps); default `Date.now`. */
  readonly now?: () => number;
  /** Called for every write, conflict, quarantine and error (logs, tests). */
  readonly onEvent?: (event: TransformerEvent) => void;
  /**
   * Derive every revision the transformer writes (updates, creations, tombstones) from the written content
   * and its parent revision (`withDeterministicRev`) and write it with `new_edits: false`, after checking that
   * the target still holds the planned parent (otherwise the entity is retried, as on a 409). Several replicas
   * running the same transformer on the same documents (client-side transformers on every device) then write
   * the same revisions, and replication merges them without conflicts. Default `false` (the server writes
   * ordinary revisions).
   */
  readonly deterministicRevs?: boolean;
  /**
   * Validate every translation at its version before it is written: an entity with a document that is not valid is
   * written nowhere, and its source document is quarantined (`SCHEMA_INVALID`), left where it was. Without it,
   * translations are written as the steps make them.
   */
  readonly verify?: Registry;
  /**
   * With {@link deterministicRevs}: each entity's first document a translation writes records the documents it
   * creates beside it (`divan.split`), so a replica that receives the first one alone can write the others itself
   * (`completeSplit` of `strategies/runner/split.ts`). Default `false`.
   */
  readonly recordSplit?: boolean;
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
  /**
   * How many times a write that may succeed later (a 409, the target unavailable) is tried before the
   * entity's source documents are quarantined (default 8). The first retry comes at once (the entity is
   * read again), each later one after twice the previous delay, starting at `retryMs`.
   */
  readonly writeAttempts?: number;
}

/** What the transformer reports as it works. */
export type TransformerEvent =
  | { readonly type: "write"; readonly side: string; readonly id: string; readonly rev: string; readonly from: string }
  | { readonly type: "conflict"; readonly conflict: ConflictRecord }
  | { readonly type: "quarantine"; readonly record: QuarantineEntry }
  /** A write into `side` failed in a way that may pass later; the entity is translated again in `retryInMs`. */
  | {
      readonly type: "retry";
      readonly side: string;
      readonly id: string;
      readonly code: string;
      readonly reason: string;
      readonly attempt: number;
      readonly retryInMs: number;
    }
  | { readonly type: "wait"; readonly side: string; readonly missing: readonly string[] }
  | { readonly type: "error"; readonly database: string; readonly message: string };

/**
 * A source document that could not be translated, or whose translation a target refused (left where it
 * is): the eager runner's record (id, rev, type, version, code, reason) and the side it is in.
 */
export type QuarantineEntry = TransformerQuarantineRecord;

/** Status of one followed database. */
export interface FeedStatus {
  /** The store's name. */
  readonly database: string;
  /** The sides it holds. */
  readonly sides: readonly string[];
  /** The checkpointed sequence (opaque). */
  readonly since: Seq | undefined;
  /** Changes not processed yet. */
  readonly pending: number;
  /** Ms since the oldest unprocessed change was noticed (0 when caught up). */
  readonly lagMs: number;
  /** The last error following this database, if the last attempt failed. */
  readonly lastError: string | undefined;
  /** Documents of its sides in quarantine. */
  readonly quarantined: number;
  /** Changes read so far. */
  readonly processed: number;
  /** Caught up once since `start()` and following the database's live feed. */
  readonly live: boolean;
}

/** What {@link Transformer.status} reports. */
export interface TransformerStatus {
  /** `start()` was called and `stop()` was not. */
  readonly running: boolean;
  /** One entry per followed database. */
  readonly feeds: readonly FeedStatus[];
  /** Documents written, total and per target side. */
  readonly writes: number;
  readonly writesBySide: Readonly<Record<string, number>>;
  /**
   * Write sets: one per (entity, target side) translation that wrote at least one document (a v1 task
   * translated into v3 is one write set of two documents, task@3 and task-state@1).
   */
  readonly writeSets: number;
  readonly writeSetsBySide: Readonly<Record<string, number>>;
  /** Changes read that were this transformer's own output (skipped without translating). */
  readonly skippedOwn: number;
  /** Checkpoint documents written. */
  readonly checkpoints: number;
  /** Entities waiting for a contributing document. */
  readonly waiting: number;
  /** Conflicts resolved by the rule (newest last). */
  readonly conflicts: readonly ConflictRecord[];
  /** Quarantined documents: translations that failed, and translations a target refused. */
  readonly quarantine: readonly QuarantineEntry[];
}

/** A running (or runnable) transformer. */
export interface Transformer {
  /** The sides, oldest first. */
  readonly sides: readonly TransformerSide[];
  /** The steps between the sides' shapes. */
  readonly steps: readonly StepDefinition[];
  /** Loads checkpoints and follows every database live until {@link Transformer.stop}. */
  start(): Promise<void>;
  /** Processes everything pending (and retries waiting entities once); resolves with the documents written. */
  drain(): Promise<number>;
  /** Resolves when nothing is pending (waiting entities excepted). Same as {@link Transformer.drain}. */
  idle(): Promise<void>;
  /**
   * Adds a side (a newly released version) and back-fills it from side `from` (every entity translated,
   * idempotent); resolves with the documents written.
   */
  addSide(side: TransformerSide, from: string): Promise<number>;
  /** Stops translating into and out of side `name` (a retired version); its database is left alone. */
  removeSide(name: string): Promise<void>;
  /**
   * Retires side `name` (its app version is no longer supported): nothing is translated into it any more
   * but deletions (an entity deleted elsewhere goes there too), and it stays a source: what it holds or still
   * receives (old devices pushing what they wrote before the retirement) is translated into the other sides
   * as before. Its documents can then be removed with tombstones that end them, not their entity
   * (`ending(doc, "retired")`): such a tombstone is no deletion.
   */
  retireSide(name: string): Promise<void>;
  /**
   * The documents of side `name` (id → revision) that every other side that is not retired holds translated:
   * translating them would write nothing, so removing them loses nothing.
   */
  translated(name: string): Promise<Map<string, string>>;
  /**
   * Lazy use: translates now the entities that the given document ids (of any side) belong to, from every
   * side that holds a document of theirs that is not pristine transformer output (or a tombstone), into
   * every other side; resolves with the documents written. Reads no feed and moves no checkpoint, so a
   * transformer used only this way translates what an app touches and nothing else.
   */
  translateIds(ids: readonly string[]): Promise<number>;
  /**
   * Lazy reads: the documents side `name` would hold for the entities of `ids` (document ids of any side)
   * once {@link Transformer.translateIds} ran, without writing anything. Only documents that would change
   * are returned, by id: a translation (without `_rev` when the side holds no such document yet) or a
   * tombstone (`_deleted: true`).
   */
  readAt(name: string, ids: readonly string[]): Promise<Map<string, Doc>>;
  /** Per-database lag, errors, quarantine; writes and conflicts. */
  status(): Promise<TransformerStatus>;
  /** Finishes the current page, saves the checkpoint and stops following. Idempotent. */
  stop(): Promise<void>;
}
