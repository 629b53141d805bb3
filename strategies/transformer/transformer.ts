/**
 * The transformer core: keeps several sides of one data set (versions, databases) in step, both ways.
 *
 * The transformer core (issue 9, reused by issue 10): keeps several *sides* of one data set in step,
 * where a side is a set of (type, major version) documents in a store — one database per version
 * (per-version-database: every side its own store, ids `<type>:<entityId>`) or every version side by
 * side in one database (per-version-documents: one store, ids `<type>:<entityId>:v:<n>`, pass
 * `ids: multiVersionIds`). Browser-safe (no Node built-ins); the long-running service, HTTP status and
 * CLI live in `server/transformer/`.
 *
 * How it works:
 * - one `_changes` follower per distinct store: on start (and after a feed error) it catches up page by page
 *   from its checkpoint, then follows one live feed (`include_docs`) from there; whatever the feed delivered
 *   while the previous batch was being translated is the next batch (one *tick*). No polling: an idle
 *   transformer sleeps until its feed wakes it (or a waiting entity / checkpoint is due);
 * - the position is checkpointed in `_local/<checkpointId>` (`{ v: 1, since, quarantine }`) every
 *   `checkpointEvery` changes or `checkpointMs` ms, and on `drain()`/`stop()`; a killed transformer resumes
 *   from its last checkpoint and translates the changes after it again, which writes nothing new
 *   (a translation equal to the stored target is a no-op);
 * - per tick, each changed document is mapped to the side(s) holding its type@version and to its entity
 *   (family of types linked by steps + entity id); the changed documents the feed carried are used as they
 *   are, and only the entity's other documents are read (one `_all_docs?keys` per side); every target side's
 *   current documents of the whole batch are read with one `_all_docs?keys` and written with one
 *   `_bulk_docs` per target, all targets in parallel (target-oriented: every document that contributes to a
 *   target wakes its writer, and the target's documents are the translation's base);
 * - a missing contributing document (task@3 before its task-state@1) makes the entity *wait*:
 *   it is retried when the document arrives or after `retryMs`, never failed or quarantined;
 * - output carries provenance (`divan: { from, id, rev, revs, step, hash }`); a change whose document is
 *   still pristine transformer output (its content hashes to its provenance `hash`, `from` one of our sides)
 *   is skipped without reading anything: its source was translated into every side when it was written.
 *   A translation equal to the stored target writes nothing, so nothing loops;
 * - concurrent edits on two sides follow the rule documented in `plan.ts` (loser kept as a conflict
 *   revision, reported in {@link TransformerStatus.conflicts});
 * - documents that cannot be translated are quarantined (recorded in the checkpoint, left in place);
 * - a write the target refuses is retried only when it can succeed (409, `STORE_UNAVAILABLE`), at most
 *   `writeAttempts` times with growing delays (a `retry` event each time); any other refusal (`FORBIDDEN`,
 *   `BAD_REQUEST` from a `validate_doc_update`, …) and a write that kept failing quarantine the source
 *   documents (a `quarantine` event, a status entry, and a record stored by `quarantine.ts`), left in place;
 * - with `deterministicRevs` (client-side transformers, one per device) every revision written is derived
 *   from the content and its parent, so devices translating the same documents write the same revisions.
 *
 * @example
 * ```ts
 * const t = createTransformer({
 *   steps: todoSteps,
 *   sides: [
 *     { name: "v1", store: v1, shape: { "task": 1, preferences: 1 } },
 *     { name: "v3", store: v3, shape: { "task": 3, "task-state": 1, preferences: 1 } },
 *   ],
 * });
 * await t.start();          // live; or `await t.drain()` to process what is pending and return
 * await t.idle();           // caught up
 * console.log(await t.status());
 * await t.stop();
 * ```
 */
import { DivanError, isDivanError, messageOf } from "../../core/errors.js";
import type { Fault } from "../../core/faults.js";
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { sameShape, type Shape } from "../../adapters/types.js";
import type { Change, Doc, DocumentStore, LiveFeed, Seq, WriteResult } from "../../store/port.js";
import { withDeterministicRev } from "../runner/canonical.js";
import { putLocalAt } from "../runner/local.js";
import {
  checkShape,
  entityKey,
  familiesOf,
  familyOf,
  familyShape,
  planEntity,
  winningBranch,
  type ConflictRecord,
  type EntityPlan,
  type EntityRef,
  type PlannedWrite,
  type PlanInput,
  type ReadDoc,
} from "./plan.js";
import { isDeletion, isPristine, provenanceOf, revGeneration } from "./provenance.js";
import { appendTransformerQuarantine, readTransformerQuarantine, type TransformerQuarantineRecord } from "./quarantine.js";

/** One side: the documents of one version, in a store. */
export interface TransformerSide {
  /** Unique name (provenance `from`, status), e.g. `"v3"`. */
  readonly name: string;
  /** Where the side's documents live (several sides may share one store). */
  readonly store: DocumentStore;
  /** Type → major version this side holds, e.g. `{ "task": 3, "task-state": 1, preferences: 1 }`. */
  readonly shape: Shape;
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

interface Feed {
  readonly store: DocumentStore;
  since: Seq | undefined;
  loaded: boolean;
  live: LiveFeed | undefined;
  /** Identity of the current live subscription; changes from an older one are ignored. */
  sub: object | undefined;
  /** Changes the live feed delivered and no tick processed yet (feed order), with when they arrived. */
  queue: { change: Change; at: number }[];
  /** Callers of `onChange` held back while the queue is full (back-pressure on the live feed). */
  held: (() => void)[];
  dirtySince: number | undefined;
  lastError: string | undefined;
  /** When the last attempt failed (a failed feed is retried after `retryMs`). */
  failedAt: number | undefined;
  processed: number;
  /** Changes processed since the last checkpoint save, and when it was saved. */
  unsaved: number;
  savedAt: number;
  /** The checkpoint's current revision (saves without reading it first). */
  checkpointRev: string | undefined;
  /** A checkpoint save a tick started without waiting for it (at most one per feed). */
  saving: Promise<void> | undefined;
  quarantine: QuarantineEntry[];
  quarantineDirty: boolean;
  /** Documents of its sides whose translation a target refused (stored with `quarantine.ts`)… */
  refused: QuarantineEntry[];
  /** …and those of them not stored yet. */
  refusedPending: QuarantineEntry[];
  /** `id@rev` this transformer wrote and has not seen in the feed yet. */
  readonly written: Set<string>;
}

interface CheckpointDoc {
  v: 1;
  since: Seq | undefined;
  quarantine: QuarantineEntry[];
}

const MAX_RECORDS = 200;
/** Live changes queued before the feed is held back. */
const HIGH_WATER = 5000;
/** Own-write marks kept at most (marks of writes the feed coalesced with later ones are never seen). */
const MAX_MARKS = 50_000;

/** Creates a transformer (nothing runs until {@link Transformer.start} or {@link Transformer.drain}). */
export function createTransformer(options: TransformerOptions): Transformer {
  return new TransformerImpl(options);
}

class TransformerImpl implements Transformer {
  sides: TransformerSide[];
  readonly #o: TransformerOptions;
  readonly #ids: IdScheme;
  readonly #graph: StepGraph;
  readonly #families: Map<string, string>;
  readonly #versionField: string;
  readonly #typeField: string;
  readonly #checkpoint: string;
  readonly #now: () => number;
  readonly #feeds = new Map<DocumentStore, Feed>();
  readonly #waiting = new Map<string, { side: string; entity: EntityRef }>();
  /** Entities (waiting keys) whose last writes failed in a way that may pass later: tries so far, and when the next is due. */
  readonly #failures = new Map<string, { attempts: number; dueAt: number }>();
  /** Sides that are sources only ({@link Transformer.retireSide}). */
  readonly #retired = new Set<string>();
  readonly #conflicts: ConflictRecord[] = [];
  readonly #writesBySide: Record<string, number> = {};
  readonly #writeSetsBySide: Record<string, number> = {};
  #writes = 0;
  #writeSets = 0;
  #skippedOwn = 0;
  #checkpoints = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #lastRetry = 0;
  /** Ids written while a batch of changes is translated (see {@link #process}). */
  #writtenIds: Set<string> | undefined;

  constructor(o: TransformerOptions) {
    this.#o = o;
    this.#ids = o.ids ?? singleVersionIds;
    this.#versionField = o.versionField ?? "version";
    this.#typeField = o.typeField ?? "schema";
    this.#checkpoint = `_local/${o.checkpointId ?? "divan-transformer"}`;
    this.#now = o.now ?? Date.now;
    this.#graph = createStepGraph(o.steps, { ids: this.#ids, ...(o.typeField ? { typeField: o.typeField } : {}), versionField: this.#versionField });
    this.#families = familiesOf(this.#graph.steps);
    this.sides = [];
    for (const s of o.sides) this.#addSideDef(s);
  }

  #addSideDef(side: TransformerSide): void {
    if (this.sides.some((s) => s.name === side.name)) {
      throw new DivanError("CONFIG_INVALID", `two transformer sides are called ${side.name}; give every side its own name`, { details: { side: side.name } });
    }
    checkShape(side.name, side.shape);
    this.sides.push(side);
    if (!this.#feeds.has(side.store)) {
      this.#feeds.set(side.store, {
        store: side.store,
        since: undefined,
        loaded: false,
        live: undefined,
        sub: undefined,
        queue: [],
        held: [],
        dirtySince: undefined,
        lastError: undefined,
        failedAt: undefined,
        processed: 0,
        unsaved: 0,
        savedAt: this.#now(),
        checkpointRev: undefined,
        saving: undefined,
        quarantine: [],
        quarantineDirty: false,
        refused: [],
        refusedPending: [],
        written: new Set(),
      });
    }
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Follows `feed` live (with the changed documents) from its current position; changes are queued for the next tick. */
  #follow(feed: Feed): void {
    if (feed.live !== undefined || !this.#running) return;
    const sub = {};
    feed.sub = sub;
    feed.live = feed.store.liveChanges(
      { ...(feed.since === undefined ? {} : { since: feed.since }), includeDocs: true },
      {
        onChange: (change) => {
          if (feed.sub !== sub) return undefined;
          const at = this.#now();
          feed.queue.push({ change, at });
          feed.dirtySince ??= at;
          this.#wake?.();
          if (feed.queue.length < HIGH_WATER) return undefined;
          return new Promise<void>((resolve) => feed.held.push(resolve));
        },
        onError: (e) => {
          if (feed.sub !== sub) return;
          this.#failed(feed, e);
          void this.#unfollow(feed);
          this.#wake?.();
        },
      },
    );
  }

  /** Stops following `feed` live and forgets what its live feed queued (it is read again from `since`). */
  #unfollow(feed: Feed): Promise<void> {
    const live = feed.live;
    feed.live = undefined;
    feed.sub = undefined;
    feed.queue = [];
    for (const release of feed.held.splice(0)) release();
    return live?.stop().catch(() => undefined) ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    const retryMs = this.#o.retryMs ?? 500;
    const checkpointMs = this.#o.checkpointMs ?? 1000;
    while (this.#running) {
      const moved = await this.#locked(() => this.#tick());
      if (moved > 0 || !this.#running) continue;
      // Sleep until a feed wakes us, or until a retry or a checkpoint is due.
      const feeds = [...this.#feeds.values()];
      if (feeds.some((f) => f.queue.length > 0)) continue;
      let due = Number.POSITIVE_INFINITY;
      if (this.#waiting.size > 0) due = Math.min(due, this.#lastRetry + retryMs - this.#now());
      if (feeds.some((f) => f.live === undefined)) due = Math.min(due, retryMs);
      if (feeds.some((f) => f.unsaved > 0 || f.quarantineDirty)) due = Math.min(due, checkpointMs);
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(due) ? setTimeout(done, Math.max(1, due)) : undefined;
        function done(): void {
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
  }

  /** One tick of the live loop: every feed's queued changes as one batch each; returns the changes read. */
  async #tick(): Promise<number> {
    const retryMs = this.#o.retryMs ?? 500;
    let n = 0;
    for (const feed of [...this.#feeds.values()]) {
      if (!this.#running) break;
      try {
        if (feed.live === undefined) {
          // (Re)start: catch up page by page from the checkpoint, then follow live from there.
          if (feed.lastError !== undefined && this.#now() - (feed.failedAt ?? 0) < retryMs) continue;
          // A short page means caught up: what comes after it arrives through the live feed.
          const page = this.#o.batchSize ?? 100;
          for (let read = page; read >= page && this.#running; ) {
            read = await this.#pump(feed);
            n += read;
          }
          this.#follow(feed);
        }
        n += await this.#consume(feed);
        feed.lastError = undefined;
        this.#saveLater(feed);
      } catch (e) {
        this.#failed(feed, e);
      }
    }
    if (this.#running && this.#waiting.size > 0 && this.#now() - this.#lastRetry >= retryMs) await this.#retryWaiting();
    return n;
  }

  #failed(feed: Feed, e: unknown): void {
    feed.lastError = messageOf(e);
    feed.failedAt = this.#now();
    this.#o.onEvent?.({ type: "error", database: feed.store.name, message: feed.lastError });
  }

  /** Processes what the live feed queued (at most one batch); returns the changes read. */
  async #consume(feed: Feed): Promise<number> {
    const max = Math.max(this.#o.batchSize ?? 100, 1000);
    const batch = feed.queue.splice(0, max);
    for (const release of feed.held.splice(0)) release();
    if (batch.length === 0) return 0;
    const sub = feed.sub;
    await this.#process(feed, batch.map((b) => b.change), true);
    if (feed.sub === sub) feed.since = batch[batch.length - 1]!.change.seq;
    feed.dirtySince = feed.queue[0]?.at;
    return batch.length;
  }

  #locked<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(f, f);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async translateIds(ids: readonly string[]): Promise<number> {
    return this.#locked(async () => {
      const before = this.#writes;
      const all = this.#entitiesOf(ids);
      for (const side of this.sides) {
        const { active, known } = await this.#touched(side, all);
        await this.#translate(side, active, this.#targets(side), known);
      }
      return this.#writes - before;
    });
  }

  async readAt(name: string, ids: readonly string[]): Promise<Map<string, Doc>> {
    return this.#locked(async () => {
      const target = this.#side(name);
      const all = this.#entitiesOf(ids);
      const targetDocs = await this.#read(target, all);
      const out = new Map<string, Doc>();
      for (const source of this.sides) {
        if (source === target) continue;
        const { active, docs } = await this.#touched(source, all);
        for (const e of active) {
          const plan = await this.#plan(source, target, e, docs, targetDocs);
          if (plan.kind === "write") for (const w of plan.writes) out.set(w.doc._id, w.doc);
        }
      }
      return out;
    });
  }

  async retireSide(name: string): Promise<void> {
    await this.#locked(async () => {
      this.#retired.add(this.#side(name).name);
    });
  }

  async translated(name: string): Promise<Map<string, string>> {
    return this.#locked(async () => {
      const side = this.#side(name);
      const out = new Map<string, string>();
      let startkey: string | undefined;
      for (;;) {
        const page = await side.store.allDocs({ limit: 500, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
        if (page.rows.length === 0) break;
        startkey = page.rows[page.rows.length - 1]!.id;
        const revs = new Map<string, string>();
        for (const row of page.rows) if (row.value !== undefined && this.#entityOf(side, row.id) !== undefined) revs.set(row.id, row.value.rev);
        const entities = this.#entitiesOf([...revs.keys()]);
        const { active, docs } = await this.#touched(side, entities);
        const pending = new Set<string>();
        for (const target of this.#targets(side).filter((t) => !this.#retired.has(t.name))) {
          const targetDocs = await this.#read(target, active);
          for (const e of active) if ((await this.#plan(side, target, e, docs, targetDocs)).kind !== "noop") pending.add(entityKey(e));
        }
        for (const [id, rev] of revs) {
          const e = this.#entityOf(side, id);
          if (e !== undefined && !pending.has(entityKey(e))) out.set(id, rev);
        }
      }
      return out;
    });
  }

  /** The sides `source` translates into: every other side (a retired one receives deletions only, see {@link #plan}). */
  #targets(source: TransformerSide): TransformerSide[] {
    return this.sides.filter((s) => s !== source);
  }

  /** The entities (of any side) that document ids belong to, once each. */
  #entitiesOf(ids: readonly string[]): EntityRef[] {
    const entities = new Map<string, EntityRef>();
    for (const id of ids) {
      for (const side of this.sides) {
        const e = this.#entityOf(side, id);
        if (e !== undefined) entities.set(entityKey(e), e);
      }
    }
    return [...entities.values()];
  }

  /**
   * The documents of `entities` in `side`, and those of the entities it holds something of to translate:
   * a document that is not pristine transformer output, or a tombstone.
   */
  async #touched(side: TransformerSide, entities: readonly EntityRef[]): Promise<{ active: EntityRef[]; docs: Map<string, Record<string, ReadDoc>>; known: Map<string, ReadDoc> }> {
    const docs = await this.#read(side, entities);
    const known = new Map<string, ReadDoc>();
    const active = entities.filter((e) => {
      const found = Object.values(docs.get(entityKey(e)) ?? {});
      for (const r of found) if (r.state !== "missing") known.set(r.state === "live" ? r.doc._id : r.id, r);
      return found.some((r) => r.state === "deleted" || (r.state === "live" && !this.#isOwnOutput(r.doc)));
    });
    return { active, docs, known };
  }

  async drain(): Promise<number> {
    return this.#locked(async () => {
      const before = this.#writes;
      for (let round = 0; round < 1000; round++) {
        let moved = 0;
        for (const feed of [...this.#feeds.values()]) {
          try {
            moved += await this.#consume(feed);
            const read = await this.#pump(feed);
            // The live feed will deliver what the page just read: follow again from the new position.
            if (read > 0 && feed.live !== undefined) {
              await this.#unfollow(feed);
              this.#follow(feed);
            }
            moved += read;
            feed.lastError = undefined;
          } catch (e) {
            this.#failed(feed, e);
          }
        }
        if (moved > 0) continue;
        const wrote = this.#waiting.size > 0 ? await this.#retryWaiting() : 0;
        if (wrote === 0) break;
      }
      for (const feed of this.#feeds.values()) {
        try {
          await this.#save(feed, true);
        } catch (e) {
          this.#failed(feed, e);
        }
      }
      return this.#writes - before;
    });
  }

  async idle(): Promise<void> {
    await this.drain();
  }

  async addSide(side: TransformerSide, from: string): Promise<number> {
    return this.#locked(async () => {
      const source = this.#side(from);
      this.#addSideDef(side);
      // Back-fill: every entity of the source side, translated into the new side only. (A live
      // transformer starts following the new side's database on its next tick.)
      const before = this.#writes;
      let startkey: string | undefined;
      for (;;) {
        const page = await source.store.allDocs({ limit: 500, includeDocs: true, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
        if (page.rows.length === 0) break;
        const entities = new Map<string, EntityRef>();
        const known = new Map<string, ReadDoc>();
        for (const row of page.rows) {
          const ref = this.#entityOf(source, row.id);
          if (ref === undefined) continue;
          entities.set(entityKey(ref), ref);
          if (row.doc) known.set(row.id, { state: "live", doc: row.doc });
        }
        await this.#translate(source, [...entities.values()], [side], known);
        startkey = page.rows[page.rows.length - 1]!.id;
      }
      return this.#writes - before;
    });
  }

  async removeSide(name: string): Promise<void> {
    await this.#locked(async () => {
      const side = this.#side(name);
      this.sides = this.sides.filter((s) => s !== side);
      for (const [k, w] of this.#waiting) {
        if (w.side !== name) continue;
        this.#waiting.delete(k);
        this.#failures.delete(k);
      }
      if (!this.sides.some((s) => s.store === side.store)) {
        const feed = this.#feeds.get(side.store);
        this.#feeds.delete(side.store);
        if (feed !== undefined) {
          await this.#unfollow(feed);
          await feed.saving;
        }
      }
    });
  }

  #side(name: string): TransformerSide {
    const s = this.sides.find((x) => x.name === name);
    if (s === undefined) throw new DivanError("CONFIG_INVALID", `no transformer side is called ${name} (sides: ${this.sides.map((x) => x.name).join(", ")})`, { details: { side: name } });
    return s;
  }

  async status(): Promise<TransformerStatus> {
    const feeds: FeedStatus[] = [];
    for (const feed of this.#feeds.values()) {
      let pending = 0;
      try {
        await this.#load(feed);
        const page = await feed.store.changes(feed.since === undefined ? {} : { since: feed.since });
        pending = page.results.filter((c) => !c.id.startsWith("_") && !feed.written.has(`${c.id}@${c.changes[0]?.rev ?? ""}`)).length;
      } catch (e) {
        feed.lastError = messageOf(e);
      }
      feeds.push({
        database: feed.store.name,
        sides: this.sides.filter((s) => s.store === feed.store).map((s) => s.name),
        since: feed.since,
        pending,
        lagMs: feed.dirtySince === undefined ? 0 : Math.max(0, this.#now() - feed.dirtySince),
        lastError: feed.lastError,
        quarantined: feed.quarantine.length + feed.refused.length,
        processed: feed.processed,
        live: feed.live !== undefined,
      });
    }
    return {
      running: this.#running,
      feeds,
      writes: this.#writes,
      writesBySide: { ...this.#writesBySide },
      writeSets: this.#writeSets,
      writeSetsBySide: { ...this.#writeSetsBySide },
      skippedOwn: this.#skippedOwn,
      checkpoints: this.#checkpoints,
      waiting: this.#waiting.size,
      conflicts: [...this.#conflicts],
      quarantine: [...this.#feeds.values()].flatMap((f) => [...f.quarantine, ...f.refused]),
    };
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await this.#locked(async () => {
      await Promise.all([...this.#feeds.values()].map((f) => this.#unfollow(f)));
      for (const feed of this.#feeds.values()) {
        try {
          await this.#save(feed, true);
        } catch (e) {
          this.#failed(feed, e);
        }
      }
    });
  }

  // ---- feeds and checkpoints -------------------------------------------------------------------

  async #load(feed: Feed): Promise<void> {
    if (feed.loaded) return;
    const doc = await feed.store.getLocal(this.#checkpoint);
    feed.checkpointRev = doc?._rev;
    if (doc !== undefined && doc["v"] === 1) {
      const c = doc as unknown as CheckpointDoc;
      feed.since = c.since;
      feed.quarantine = Array.isArray(c.quarantine) ? c.quarantine : [];
    }
    feed.refused = await readTransformerQuarantine(feed.store, this.#checkpoint);
    feed.loaded = true;
  }

  /**
   * Starts a due checkpoint save without holding the live loop up: the next batch is translated while
   * the `_local` write is in flight (three followed databases used to add three round trips in a row to
   * a tick every `checkpointMs`). One save per feed at a time; a failure is reported like a feed error.
   */
  #saveLater(feed: Feed): void {
    if (feed.saving !== undefined) return;
    const saving: Promise<void> = this.#save(feed, false)
      .catch((e: unknown) => this.#failed(feed, e))
      .finally(() => {
        if (feed.saving === saving) feed.saving = undefined;
      });
    feed.saving = saving;
  }

  /**
   * Saves the checkpoint when `force`d (and anything is unsaved), or when `checkpointEvery` changes or
   * `checkpointMs` ms have passed with changes unsaved. Writes with the revision it knows; re-reads on 409.
   * A forced save first waits for a save in flight. It records the position the feed had when it began:
   * changes processed while it is in flight stay counted as unsaved.
   */
  async #save(feed: Feed, force: boolean): Promise<void> {
    if (force && feed.saving !== undefined) await feed.saving;
    if (!feed.loaded || (feed.unsaved === 0 && !feed.quarantineDirty)) return;
    const due = feed.quarantineDirty || feed.unsaved >= (this.#o.checkpointEvery ?? 1000) || this.#now() - feed.savedAt >= (this.#o.checkpointMs ?? 1000);
    if (!force && !due) return;
    const body: CheckpointDoc = { v: 1, since: feed.since, quarantine: feed.quarantine.slice(-MAX_RECORDS) };
    const count = feed.unsaved;
    const dirty = feed.quarantineDirty;
    feed.quarantineDirty = false; // a quarantine recorded while saving marks it again
    try {
      if (feed.refusedPending.length > 0) {
        const stored = feed.refusedPending.slice();
        await appendTransformerQuarantine(feed.store, this.#checkpoint, stored);
        feed.refusedPending.splice(0, stored.length);
      }
      feed.checkpointRev = await putLocalAt(feed.store, this.#checkpoint, { ...body }, feed.checkpointRev);
    } catch (e) {
      if (dirty) feed.quarantineDirty = true;
      throw e;
    }
    this.#checkpoints += 1;
    feed.unsaved -= count;
    feed.savedAt = this.#now();
  }

  /** One page of one feed (with the changed documents); returns the number of changes read. */
  async #pump(feed: Feed): Promise<number> {
    await this.#load(feed);
    const page = await feed.store.changes({ ...(feed.since === undefined ? {} : { since: feed.since }), limit: this.#o.batchSize ?? 100, includeDocs: true });
    if (page.results.length === 0) {
      feed.since ??= page.lastSeq;
      if (feed.queue.length === 0) feed.dirtySince = undefined;
      return 0;
    }
    await this.#process(feed, page.results);
    feed.since = page.lastSeq;
    return page.results.length;
  }

  /**
   * Translates one batch of changes of `feed` (feed order): every changed entity once, per side, into every
   * other side. Skips `_local`/`_design` ids, this transformer's own writes and pristine transformer output.
   * `live`: the changes come from the live feed, as they happen (not read again from a checkpoint).
   */
  async #process(feed: Feed, changes: readonly Change[], live = false): Promise<void> {
    const latest = new Map<string, Change>();
    const own = new Set<Change>();
    for (const c of changes) {
      if (c.id.startsWith("_")) continue;
      if (feed.written.delete(`${c.id}@${c.changes[0]?.rev ?? ""}`)) own.add(c);
      latest.delete(c.id); // keep feed order: the newest change of an id last
      latest.set(c.id, c);
    }
    if (feed.written.size > MAX_MARKS) feed.written.clear();
    const known = new Map<string, ReadDoc>();
    const bySide = new Map<TransformerSide, Map<string, EntityRef>>();
    for (const c of latest.values()) {
      if (own.has(c) || (c.doc !== undefined && this.#isOwnOutput(c.doc))) {
        this.#skippedOwn += 1;
        continue;
      }
      const rev = c.changes[0]?.rev ?? c.doc?._rev ?? "";
      if (c.deleted === true) known.set(c.id, { state: "deleted", id: c.id, rev });
      else if (c.doc !== undefined && c.doc._rev === rev) known.set(c.id, { state: "live", doc: c.doc });
      for (const side of this.sides) {
        if (side.store !== feed.store) continue;
        const ref = this.#entityOf(side, c.id);
        if (ref === undefined) continue;
        const m = bySide.get(side) ?? new Map<string, EntityRef>();
        m.set(entityKey(ref), ref);
        bySide.set(side, m);
      }
    }
    // What one side's translation writes into another side's store outdates the feed's copy of it: read
    // those documents again when that side is translated in turn.
    const before = this.#writtenIds;
    this.#writtenIds = new Set();
    try {
      for (const [side, ents] of bySide) {
        for (const id of this.#writtenIds) known.delete(id);
        await this.#translate(side, [...ents.values()], this.#targets(side), known, live);
      }
    } finally {
      this.#writtenIds = before;
    }
    feed.processed += changes.length;
    feed.unsaved += changes.length;
  }

  /** Pristine output of a transformer between our sides: its source was translated everywhere when it was written. */
  #isOwnOutput(doc: Doc): boolean {
    const p = provenanceOf(doc);
    return p !== undefined && this.sides.some((s) => s.name === p.from) && isPristine(doc);
  }

  /** The entity a document id of `side` belongs to, or `undefined` for ids the side does not hold. */
  #entityOf(side: TransformerSide, id: string): EntityRef | undefined {
    const p = this.#ids.parse(id);
    if (p === undefined) return undefined;
    const v = side.shape[p.type];
    if (v === undefined || (p.version !== undefined && p.version !== v)) return undefined;
    return { family: familyOf(this.#families, p.type), entityId: p.entityId };
  }

  async #retryWaiting(): Promise<number> {
    this.#lastRetry = this.#now();
    const before = this.#writes;
    const bySide = new Map<string, EntityRef[]>();
    for (const [k, w] of this.#waiting) {
      if ((this.#failures.get(k)?.dueAt ?? 0) > this.#lastRetry) continue; // a failed write backs off
      bySide.set(w.side, [...(bySide.get(w.side) ?? []), w.entity]);
    }
    for (const [name, ents] of bySide) {
      const side = this.sides.find((s) => s.name === name);
      if (side !== undefined) await this.#translate(side, ents, this.#targets(side));
    }
    return this.#writes - before;
  }

  // ---- translation ---------------------------------------------------------------------------

  /** Earlier revisions (newest first, at most 20, those whose bodies the store still has) of the listed source documents, by type. */
  async #ancestors(side: TransformerSide, docs: Readonly<Record<string, ReadDoc>>, ids: readonly string[]): Promise<Record<string, Doc[]>> {
    const out: Record<string, Doc[]> = {};
    for (const [t, r] of Object.entries(docs)) {
      if (r.state !== "live" || !ids.includes(r.doc._id)) continue;
      const revs = (await side.store.get(r.doc._id, { revs: true }))._revisions;
      if (revs === undefined) continue;
      const wanted = revs.ids.slice(1, 21).map((h, i) => ({ id: r.doc._id, rev: `${revs.start - 1 - i}-${h}` }));
      const found = wanted.length === 0 ? [] : await side.store.bulkGet(wanted);
      out[t] = found.flatMap((f) => ("ok" in f && f.ok._deleted !== true ? [f.ok] : [])); // compacted bodies are skipped
    }
    return out;
  }

  /**
   * The documents of `entities` in `side` by entity key and type: those in `known` (documents of this
   * side's store the changes feed carried) as they are, the others with one `_all_docs?keys` request.
   */
  async #read(side: TransformerSide, entities: readonly EntityRef[], known?: ReadonlyMap<string, ReadDoc>): Promise<Map<string, Record<string, ReadDoc>>> {
    const keys: string[] = [];
    const wanted: [string, string, string][] = [];
    for (const e of entities) {
      for (const [t, v] of Object.entries(familyShape(this.#families, side.shape, e.family))) {
        const id = this.#ids.format(t, e.entityId, v);
        if (known?.has(id) !== true) keys.push(id);
        wanted.push([entityKey(e), t, id]);
      }
    }
    const out = new Map<string, Record<string, ReadDoc>>();
    if (wanted.length === 0) return out;
    const page = keys.length === 0 ? { rows: [] } : await side.store.allDocs({ keys, includeDocs: true });
    const rows = new Map(page.rows.map((r) => [r.key, r]));
    for (const [k, t, id] of wanted) {
      const r = rows.get(id);
      const given = known?.get(id);
      let doc: ReadDoc;
      if (given !== undefined) doc = given;
      else if (r?.doc) doc = { state: "live", doc: r.doc };
      else if (r?.value?.deleted === true) doc = { state: "deleted", id, rev: r.value.rev };
      else doc = { state: "missing", id };
      // A retired side's document removed by its retirement is gone, not deleted: the entity lives on.
      if (doc.state === "deleted" && this.#retired.has(side.name) && !(await this.#deletedByUser(side.store, id))) doc = { state: "missing", id };
      const m = out.get(k) ?? {};
      m[t] = doc;
      out.set(k, m);
    }
    return out;
  }

  /** Whether one of the deleted leaves of document `id` is a deletion (see `isDeletion`), not only tombstones that end it. */
  async #deletedByUser(store: DocumentStore, id: string): Promise<boolean> {
    const leaves = (await store.changes({ docIds: [id], style: "all_docs" })).results.flatMap((c) => c.changes.map((x) => ({ id, rev: x.rev })));
    const found = leaves.length === 0 ? [] : await store.bulkGet(leaves);
    return found.some((f) => "ok" in f && isDeletion(f.ok));
  }

  /**
   * Translates `entities` of `source` into every target side: the source documents are read once
   * (`known` ones not at all), then each target, in parallel, reads its current documents of the whole
   * batch with one request and writes the batch's updates with one `_bulk_docs`. `live`: see {@link #translateInto}.
   */
  async #translate(source: TransformerSide, entities: readonly EntityRef[], targets: readonly TransformerSide[], known?: ReadonlyMap<string, ReadDoc>, live = false): Promise<void> {
    if (entities.length === 0) return;
    const sourceDocs = await this.#read(source, entities, known);
    const waitingNow = new Set<string>();
    await Promise.all(targets.map((target) => this.#translateInto(source, target, entities, sourceDocs, waitingNow, live)));
    for (const e of entities) {
      if (waitingNow.has(entityKey(e))) continue;
      this.#waiting.delete(`${source.name}\u0000${entityKey(e)}`);
      this.#failures.delete(`${source.name}\u0000${entityKey(e)}`);
    }
  }

  /**
   * Translates the batch into one target. With `live` changes (the live feed delivering them as they are
   * made), entities whose source documents are all first revisions are new: the target is assumed to hold
   * none of their documents, so they are written without reading it; a 409 sends the entity through the
   * full read-plan-write path. The others, and every entity of a batch read again from a checkpoint or
   * touched by an app, are read from the target with one request: an entity translated and deleted there
   * since may still be at its first revision here, and a write without `_rev` over a tombstone would bring
   * it back.
   */
  async #translateInto(
    source: TransformerSide,
    target: TransformerSide,
    entities: readonly EntityRef[],
    sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>,
    waitingNow: Set<string>,
    live: boolean,
  ): Promise<void> {
    const relevant = entities.filter((e) => {
      const to = familyShape(this.#families, target.shape, e.family);
      const from = familyShape(this.#families, source.shape, e.family);
      if (Object.keys(to).length === 0 || Object.keys(from).length === 0) return false;
      return !(target.store === source.store && sameShape(from, to)); // the very same documents
    });
    if (relevant.length === 0) return;
    const fresh: EntityRef[] = [];
    const rest: EntityRef[] = [];
    for (const e of relevant) {
      const docs = Object.values(sourceDocs.get(entityKey(e)) ?? {});
      const isNew = live && docs.length > 0 && docs.every((d) => d.state === "live" && revGeneration(d.doc._rev) === 1);
      (isNew ? fresh : rest).push(e);
    }
    const [taken] = await Promise.all([
      fresh.length === 0 ? [] : this.#writeInto(source, target, fresh, sourceDocs, undefined, waitingNow),
      rest.length === 0 ? [] : this.#read(target, rest).then((docs) => this.#writeInto(source, target, rest, sourceDocs, docs, waitingNow)),
    ]);
    if (taken.length > 0) await this.#writeInto(source, target, taken, sourceDocs, await this.#read(target, taken), waitingNow);
  }

  /** The plan of one entity from `source` into `target`, given both sides' documents (asking for the source's ancestors when the plan needs them). */
  async #plan(
    source: TransformerSide,
    target: TransformerSide,
    e: EntityRef,
    sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>,
    targetDocs: ReadonlyMap<string, Record<string, ReadDoc>> | undefined,
  ): Promise<EntityPlan> {
    const from = familyShape(this.#families, source.shape, e.family);
    const to = familyShape(this.#families, target.shape, e.family);
    const input: PlanInput = {
      entity: e,
      source: source.name,
      target: target.name,
      sourceDocs: sourceDocs.get(entityKey(e)) ?? {},
      targetDocs: targetDocs?.get(entityKey(e)) ?? {},
      from,
      to,
      path: this.#graph.path(from, to),
      reversePath: this.#graph.path(to, from),
      ids: this.#ids,
      typeField: this.#typeField,
      versionField: this.#versionField,
      sourceRank: this.sides.indexOf(source),
      targetRank: this.sides.indexOf(target),
      ...(this.#o.faults === undefined ? {} : { faults: this.#o.faults }),
    };
    const first = planEntity(input);
    const plan = first.kind === "need-parents" ? planEntity({ ...input, sourceAncestors: await this.#ancestors(source, input.sourceDocs, first.ids) }) : first;
    // A retired side receives no translations, only deletions: an entity deleted elsewhere is deleted there too.
    if (this.#retired.has(target.name) && !(plan.kind === "write" && plan.writes.every((w) => w.doc._deleted === true))) {
      return { kind: "noop", reason: `${target.name} is retired: it receives deletions only` };
    }
    return plan;
  }

  /**
   * Plans and writes `relevant` into `target`, given the target's documents (`undefined`: assumed absent).
   * Returns the entities whose assumed-absent documents turned out to exist (409), to be written again
   * after reading them; with documents given, a 409 makes the entity wait for a retry instead.
   */
  async #writeInto(
    source: TransformerSide,
    target: TransformerSide,
    relevant: readonly EntityRef[],
    sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>,
    targetDocs: ReadonlyMap<string, Record<string, ReadDoc>> | undefined,
    waitingNow: Set<string>,
  ): Promise<EntityRef[]> {
    const sourceFeed = this.#feeds.get(source.store)!;
    const taken = new Map<string, EntityRef>();
    const updates: { entity: EntityRef; write: PlannedWrite }[] = [];
    const branches: { entity: EntityRef; write: PlannedWrite }[] = [];
    const back = new Map<string, EntityRef>();
    for (const e of relevant) {
      const plan = await this.#plan(source, target, e, sourceDocs, targetDocs);
      switch (plan.kind) {
        case "need-parents":
        case "noop":
          break;
        case "wait":
          waitingNow.add(entityKey(e));
          this.#waiting.set(`${source.name}\u0000${entityKey(e)}`, { side: source.name, entity: e });
          this.#o.onEvent?.({ type: "wait", side: source.name, missing: plan.missing });
          break;
        case "quarantine": {
          const doc = this.#sourceDoc(sourceDocs, e, plan.id);
          const record: QuarantineEntry = { side: source.name, id: plan.id, rev: plan.rev, type: doc?.[this.#typeField] as string | undefined, version: doc?.[this.#versionField], code: "STEP_FAILED", reason: plan.reason };
          if (!sourceFeed.quarantine.some((q) => q.id === record.id && q.rev === record.rev && q.side === record.side)) {
            sourceFeed.quarantine.push(record);
            sourceFeed.quarantineDirty = true;
            this.#o.onEvent?.({ type: "quarantine", record });
          }
          break;
        }
        case "write":
          for (const w of plan.writes) (w.mode === "branch" ? branches : updates).push({ entity: e, write: w });
          if (plan.translateBack === true) back.set(entityKey(e), e);
          if (plan.conflict !== undefined) {
            this.#conflicts.push(plan.conflict);
            if (this.#conflicts.length > MAX_RECORDS) this.#conflicts.shift();
            this.#o.onEvent?.({ type: "conflict", conflict: plan.conflict });
          }
          break;
      }
    }
    const targetFeed = this.#feeds.get(target.store)!;
    const wroteTo = new Set<string>();
    const record = (entity: EntityRef, id: string, rev: string): void => {
      const k = entityKey(entity);
      if (!wroteTo.has(k)) {
        wroteTo.add(k);
        this.#writeSets += 1;
        this.#writeSetsBySide[target.name] = (this.#writeSetsBySide[target.name] ?? 0) + 1;
      }
      targetFeed.written.add(`${id}@${rev}`);
      this.#writtenIds?.add(id);
      this.#writes += 1;
      this.#writesBySide[target.name] = (this.#writesBySide[target.name] ?? 0) + 1;
      this.#o.onEvent?.({ type: "write", side: target.name, id, rev, from: source.name });
    };
    // Failed writes, one per entity (a refusal that cannot pass later wins over one that may).
    const failed = new Map<string, WriteFailure>();
    const fail = (entity: EntityRef, id: string, code: string, reason: string): void => {
      const prev = failed.get(entityKey(entity));
      if (prev === undefined || (RETRYABLE.has(prev.code) && !RETRYABLE.has(code))) failed.set(entityKey(entity), { entity, id, code, reason });
    };
    if (updates.length > 0) {
      const docs = updates.map((u) => u.write.doc);
      let results: WriteResult[] = [];
      try {
        results = this.#o.deterministicRevs === true ? await writeDeterministic(target.store, docs) : await target.store.bulkDocs(docs);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
        for (const u of updates) fail(u.entity, u.write.doc._id, "STORE_UNAVAILABLE", messageOf(e));
      }
      results.forEach((r, i) => {
        const u = updates[i]!;
        if (r.ok) record(u.entity, r.id, r.rev);
        else if (targetDocs === undefined && r.error.code === "CONFLICT") taken.set(entityKey(u.entity), u.entity);
        else fail(u.entity, u.write.doc._id, r.error.code, r.error.reason);
      });
    }
    for (const b of branches) {
      try {
        const current: Doc = await target.store.get(b.write.doc._id, { revs: true });
        if (current._rev !== b.write.doc._rev || current._revisions === undefined) {
          fail(b.entity, b.write.doc._id, "CONFLICT", `${b.write.doc._id} is at ${current._rev ?? "no revision"}, not ${b.write.doc._rev ?? "none"} as planned`);
          continue;
        }
        const doc = winningBranch(b.write.doc, current._revisions);
        const [r] = await target.store.bulkDocs([doc], { newEdits: false });
        if (r === undefined || r.ok) record(b.entity, doc._id, doc._rev!);
        else fail(b.entity, doc._id, r.error.code, r.error.reason);
      } catch (e) {
        if (!isDivanError(e, "STORE_UNAVAILABLE")) throw e;
        fail(b.entity, b.write.doc._id, "STORE_UNAVAILABLE", messageOf(e));
      }
    }
    for (const f of failed.values()) this.#writeFailed(source, target, f, sourceDocs, waitingNow);
    const translatedBack = [...back.values()].filter((e) => !failed.has(entityKey(e)) && !taken.has(entityKey(e)));
    if (translatedBack.length > 0) await this.#translate(target, translatedBack, [source]);
    return [...taken.values()];
  }

  /** The live source document `id` of entity `e`, if it was read. */
  #sourceDoc(sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>, e: EntityRef, id?: string): Doc | undefined {
    for (const r of Object.values(sourceDocs.get(entityKey(e)) ?? {})) if (r.state === "live" && (id === undefined || r.doc._id === id)) return r.doc;
    return undefined;
  }

  /**
   * A write of entity `f.entity` into `target` failed: retried (the entity waits, with a growing delay) while
   * it may pass later and tries are left, else the entity's source documents are quarantined.
   */
  #writeFailed(source: TransformerSide, target: TransformerSide, f: WriteFailure, sourceDocs: ReadonlyMap<string, Record<string, ReadDoc>>, waitingNow: Set<string>): void {
    const key = `${source.name}\u0000${entityKey(f.entity)}`;
    const attempts = (this.#failures.get(key)?.attempts ?? 0) + 1;
    const retryable = RETRYABLE.has(f.code);
    if (retryable && attempts < (this.#o.writeAttempts ?? 8)) {
      const retryMs = this.#o.retryMs ?? 500;
      const delay = attempts === 1 ? 0 : Math.min(retryMs * 2 ** (attempts - 2), MAX_BACKOFF_MS);
      this.#failures.set(key, { attempts, dueAt: this.#now() + delay });
      waitingNow.add(entityKey(f.entity));
      this.#waiting.set(key, { side: source.name, entity: f.entity });
      this.#o.onEvent?.({ type: "retry", side: target.name, id: f.id, code: f.code, reason: f.reason, attempt: attempts, retryInMs: delay });
      return;
    }
    this.#failures.delete(key);
    const doc = this.#sourceDoc(sourceDocs, f.entity);
    const feed = this.#feeds.get(source.store)!;
    const record: QuarantineEntry = {
      side: source.name,
      id: doc?._id ?? f.id,
      rev: doc?._rev,
      type: doc?.[this.#typeField] as string | undefined,
      version: doc?.[this.#versionField],
      code: f.code,
      reason: `writing ${f.id} into ${target.name} ${retryable ? `failed ${attempts} attempts` : "was refused"}: ${f.code}: ${f.reason}`,
    };
    if (feed.refused.some((q) => q.side === record.side && q.id === record.id && q.rev === record.rev)) return;
    feed.refused.push(record);
    feed.refusedPending.push(record);
    feed.quarantineDirty = true;
    this.#o.onEvent?.({ type: "quarantine", record });
  }
}

/** A failed write of one entity. */
interface WriteFailure {
  readonly entity: EntityRef;
  readonly id: string;
  readonly code: string;
  readonly reason: string;
}

/** Write failures that may pass when tried again: the target changed under us, or could not be reached. */
const RETRYABLE: ReadonlySet<string> = new Set(["CONFLICT", "STORE_UNAVAILABLE"]);
/** The longest delay between two tries of a failed write. */
const MAX_BACKOFF_MS = 60_000;

/**
 * Writes `docs` with deterministic revisions (`new_edits: false`), one result per document like
 * `bulkDocs`. A document whose planned parent (its `_rev`, or none for a creation) is no longer the
 * target's current revision is not written and answers `CONFLICT`, as a normal write would (a
 * `new_edits: false` write never refuses: it would add a conflicting branch instead). A creation over a
 * tombstone answers `CONFLICT` too: it was planned without reading the target (a new entity), and a deleted
 * entity is never created again (the plan, given the tombstone, writes nothing).
 */
async function writeDeterministic(store: DocumentStore, docs: readonly Doc[]): Promise<WriteResult[]> {
  const current = await store.allDocs({ keys: docs.map((d) => d._id) });
  const results: (WriteResult | undefined)[] = [];
  const toWrite: Doc[] = [];
  docs.forEach((doc, i) => {
    const row = current.rows[i];
    const at = row?.value?.rev;
    const planned = typeof doc._rev === "string" ? doc._rev : undefined;
    if (planned !== at) {
      results.push({ id: doc._id, ok: false, error: { code: "CONFLICT", reason: `${doc._id} is at ${at ?? "no revision"}, not the planned parent ${planned ?? "none"}` } });
      return;
    }
    const out = withDeterministicRev(doc);
    toWrite.push(out);
    results.push(undefined);
  });
  const written = toWrite.length === 0 ? [] : await store.bulkDocs(toWrite, { newEdits: false });
  let next = 0;
  return results.map((r) => r ?? written[next++] ?? { id: "", ok: false, error: { code: "CONFLICT", reason: "no answer for this write" } });
}
