/**
 * The transformer core (issue 9, reused by issue 10): keeps several *sides* of one data set in step,
 * where a side is a set of (type, major version) documents in a store — one database per version
 * (per-version-database: every side its own store, ids `<type>:<entityId>`) or every version side by
 * side in one database (per-version-documents: one store, ids `<type>:<entityId>:v:<n>`, pass
 * `ids: multiVersionIds`). Browser-safe (no Node built-ins); the long-running service, HTTP status and
 * CLI live in `server/transformer/`.
 *
 * How it works:
 * - one `_changes` follower per distinct store, checkpointed in `_local/<checkpointId>` (`{ v: 1, since }`)
 *   after every page, so a restarted transformer resumes where it stopped;
 * - each changed document is mapped to the side(s) holding its type@version and to its entity (family of
 *   types linked by steps + entity id); the entity is read whole from the source side and translated along
 *   the compiled path into every other side, with that side's current documents as base (target-oriented:
 *   every document that contributes to a target wakes its writer);
 * - a missing contributing document (todo-item@3 before its todo-item-status@1) makes the entity *wait*:
 *   it is retried when the document arrives or after `retryMs`, never failed or quarantined;
 * - output carries provenance (`divan: { from, id, rev, revs, step, hash }`); the transformer skips
 *   changes it wrote itself, and a translation equal to the stored target writes nothing, so nothing loops;
 * - concurrent edits on two sides follow the rule documented in `plan.ts` (loser kept as a conflict
 *   revision, reported in {@link TransformerStatus.conflicts});
 * - documents that cannot be translated are quarantined (recorded in the checkpoint, left in place).
 *
 * @example
 * ```ts
 * const t = createTransformer({
 *   steps: todoSteps,
 *   sides: [
 *     { name: "v1", store: v1, shape: { "todo-item": 1, settings: 1 } },
 *     { name: "v3", store: v3, shape: { "todo-item": 3, "todo-item-status": 1, settings: 1 } },
 *   ],
 * });
 * await t.start();          // live; or `await t.drain()` to process what is pending and return
 * await t.idle();           // caught up
 * console.log(await t.status());
 * await t.stop();
 * ```
 */
import { DivanError, isDivanError, messageOf } from "../../core/errors.js";
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { sameShape, type Shape } from "../../adapters/types.js";
import type { Doc, DocumentStore, LiveFeed, Seq } from "../../store/port.js";
import {
  checkShape,
  entityKey,
  familiesOf,
  familyOf,
  familyShape,
  planEntity,
  winningBranch,
  type ConflictRecord,
  type EntityRef,
  type PlannedWrite,
  type ReadDoc,
} from "./plan.js";

/** One side: the documents of one version, in a store. */
export interface TransformerSide {
  /** Unique name (provenance `from`, status), e.g. `"v3"`. */
  readonly name: string;
  /** Where the side's documents live (several sides may share one store). */
  readonly store: DocumentStore;
  /** Type → major version this side holds, e.g. `{ "todo-item": 3, "todo-item-status": 1, settings: 1 }`. */
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
  /** Changes read per page (default 100). */
  readonly batchSize?: number;
  /** How often waiting entities are retried and an idle live loop re-polls, in ms (default 500). */
  readonly retryMs?: number;
  /** The clock (lag and timestamps); default `Date.now`. */
  readonly now?: () => number;
  /** Called for every write, conflict, quarantine and error (logs, tests). */
  readonly onEvent?: (event: TransformerEvent) => void;
}

/** What the transformer reports as it works. */
export type TransformerEvent =
  | { readonly type: "write"; readonly side: string; readonly id: string; readonly rev: string; readonly from: string }
  | { readonly type: "conflict"; readonly conflict: ConflictRecord }
  | { readonly type: "quarantine"; readonly record: QuarantineEntry }
  | { readonly type: "wait"; readonly side: string; readonly missing: readonly string[] }
  | { readonly type: "error"; readonly database: string; readonly message: string };

/** A document that could not be translated (left where it is). */
export interface QuarantineEntry {
  readonly side: string;
  readonly id: string;
  readonly rev: string | undefined;
  readonly reason: string;
}

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
  /** Entities waiting for a contributing document. */
  readonly waiting: number;
  /** Conflicts resolved by the rule (newest last). */
  readonly conflicts: readonly ConflictRecord[];
  /** Quarantined documents. */
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
  dirtySince: number | undefined;
  lastError: string | undefined;
  processed: number;
  quarantine: QuarantineEntry[];
  /** `id@rev` this transformer wrote and has not seen in the feed yet. */
  readonly written: Set<string>;
}

interface CheckpointDoc {
  v: 1;
  since: Seq | undefined;
  quarantine: QuarantineEntry[];
}

const MAX_RECORDS = 200;

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
  readonly #checkpoint: string;
  readonly #now: () => number;
  readonly #feeds = new Map<DocumentStore, Feed>();
  readonly #waiting = new Map<string, { side: string; entity: EntityRef }>();
  readonly #conflicts: ConflictRecord[] = [];
  readonly #writesBySide: Record<string, number> = {};
  #writes = 0;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #lock: Promise<unknown> = Promise.resolve();
  #lastRetry = 0;

  constructor(o: TransformerOptions) {
    this.#o = o;
    this.#ids = o.ids ?? singleVersionIds;
    this.#versionField = o.versionField ?? "version";
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
        dirtySince: undefined,
        lastError: undefined,
        processed: 0,
        quarantine: [],
        written: new Set(),
      });
    }
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    for (const feed of this.#feeds.values()) this.#follow(feed);
    this.#loop = this.#run();
  }

  #follow(feed: Feed): void {
    if (feed.live !== undefined || !this.#running) return;
    feed.live = feed.store.liveChanges(
      { since: "now" },
      {
        onChange: () => {
          if (feed.dirtySince === undefined) feed.dirtySince = this.#now();
          this.#wake?.();
        },
        onError: (e) => {
          feed.lastError = messageOf(e);
          feed.live = undefined;
        },
      },
    );
  }

  async #run(): Promise<void> {
    const retryMs = this.#o.retryMs ?? 500;
    while (this.#running) {
      let moved = 0;
      moved = await this.#locked(async () => {
        let n = 0;
        for (const feed of this.#feeds.values()) {
          if (!this.#running) break;
          n += await this.#pumpSafe(feed);
          if (feed.live === undefined) this.#follow(feed); // re-follow after a feed error
        }
        if (this.#running && this.#waiting.size > 0 && this.#now() - this.#lastRetry >= retryMs) await this.#retryWaiting();
        return n;
      });
      if (moved === 0 && this.#running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, retryMs);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = undefined;
      }
    }
  }

  #locked<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(f, f);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async drain(): Promise<number> {
    return this.#locked(async () => {
      const before = this.#writes;
      for (let round = 0; round < 1000; round++) {
        let moved = 0;
        for (const feed of this.#feeds.values()) moved += await this.#pumpSafe(feed);
        if (moved > 0) continue;
        const wrote = this.#waiting.size > 0 ? await this.#retryWaiting() : 0;
        if (wrote === 0) break;
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
      const feed = this.#feeds.get(side.store)!;
      if (this.#running) this.#follow(feed);
      // Back-fill: every entity of the source side, translated into the new side only.
      const before = this.#writes;
      let startkey: string | undefined;
      for (;;) {
        const page = await source.store.allDocs({ limit: 500, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
        if (page.rows.length === 0) break;
        const entities = new Map<string, EntityRef>();
        for (const row of page.rows) {
          const ref = this.#entityOf(source, row.id);
          if (ref !== undefined) entities.set(entityKey(ref), ref);
        }
        await this.#translate(source, [...entities.values()], [side]);
        startkey = page.rows[page.rows.length - 1]!.id;
      }
      return this.#writes - before;
    });
  }

  async removeSide(name: string): Promise<void> {
    await this.#locked(async () => {
      const side = this.#side(name);
      this.sides = this.sides.filter((s) => s !== side);
      for (const [k, w] of this.#waiting) if (w.side === name) this.#waiting.delete(k);
      if (!this.sides.some((s) => s.store === side.store)) {
        const feed = this.#feeds.get(side.store);
        this.#feeds.delete(side.store);
        await feed?.live?.stop();
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
        quarantined: feed.quarantine.length,
        processed: feed.processed,
      });
    }
    return {
      running: this.#running,
      feeds,
      writes: this.#writes,
      writesBySide: { ...this.#writesBySide },
      waiting: this.#waiting.size,
      conflicts: [...this.#conflicts],
      quarantine: [...this.#feeds.values()].flatMap((f) => f.quarantine),
    };
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await this.#lock;
    await Promise.all([...this.#feeds.values()].map(async (f) => {
      const live = f.live;
      f.live = undefined;
      await live?.stop();
    }));
  }

  // ---- feeds and checkpoints -------------------------------------------------------------------

  async #load(feed: Feed): Promise<void> {
    if (feed.loaded) return;
    const doc = await feed.store.getLocal(this.#checkpoint);
    if (doc !== undefined && doc["v"] === 1) {
      const c = doc as unknown as CheckpointDoc;
      feed.since = c.since;
      feed.quarantine = Array.isArray(c.quarantine) ? c.quarantine : [];
    }
    feed.loaded = true;
  }

  async #save(feed: Feed): Promise<void> {
    const body: CheckpointDoc = { v: 1, since: feed.since, quarantine: feed.quarantine.slice(-MAX_RECORDS) };
    for (let attempt = 0; ; attempt++) {
      const current = await feed.store.getLocal(this.#checkpoint);
      try {
        await feed.store.putLocal({ ...body, _id: this.#checkpoint, ...(current?._rev === undefined ? {} : { _rev: current._rev }) });
        return;
      } catch (e) {
        if (!isDivanError(e, "CONFLICT") || attempt >= 5) throw e;
      }
    }
  }

  async #pumpSafe(feed: Feed): Promise<number> {
    try {
      const n = await this.#pump(feed);
      feed.lastError = undefined;
      return n;
    } catch (e) {
      feed.lastError = messageOf(e);
      this.#o.onEvent?.({ type: "error", database: feed.store.name, message: feed.lastError });
      return 0;
    }
  }

  /** One page of one feed; returns the number of changes read. */
  async #pump(feed: Feed): Promise<number> {
    await this.#load(feed);
    const page = await feed.store.changes({ ...(feed.since === undefined ? {} : { since: feed.since }), limit: this.#o.batchSize ?? 100 });
    if (page.results.length === 0) {
      feed.dirtySince = undefined;
      return 0;
    }
    const bySide = new Map<TransformerSide, Map<string, EntityRef>>();
    for (const c of page.results) {
      if (c.id.startsWith("_")) continue;
      const mark = `${c.id}@${c.changes[0]?.rev ?? ""}`;
      if (feed.written.delete(mark)) continue; // our own write
      for (const side of this.sides) {
        if (side.store !== feed.store) continue;
        const ref = this.#entityOf(side, c.id);
        if (ref === undefined) continue;
        const m = bySide.get(side) ?? new Map<string, EntityRef>();
        m.set(entityKey(ref), ref);
        bySide.set(side, m);
      }
    }
    for (const [side, ents] of bySide) await this.#translate(side, [...ents.values()], this.sides.filter((s) => s !== side));
    feed.since = page.lastSeq;
    feed.processed += page.results.length;
    await this.#save(feed);
    return page.results.length;
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
    for (const w of this.#waiting.values()) bySide.set(w.side, [...(bySide.get(w.side) ?? []), w.entity]);
    for (const [name, ents] of bySide) {
      const side = this.sides.find((s) => s.name === name);
      if (side !== undefined) await this.#translate(side, ents, this.sides.filter((s) => s !== side));
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

  async #read(side: TransformerSide, entities: readonly EntityRef[]): Promise<Map<string, Record<string, ReadDoc>>> {
    const keys: string[] = [];
    const wanted: [string, string, string][] = [];
    for (const e of entities) {
      for (const [t, v] of Object.entries(familyShape(this.#families, side.shape, e.family))) {
        const id = this.#ids.format(t, e.entityId, v);
        keys.push(id);
        wanted.push([entityKey(e), t, id]);
      }
    }
    const out = new Map<string, Record<string, ReadDoc>>();
    if (keys.length === 0) return out;
    const page = await side.store.allDocs({ keys, includeDocs: true });
    const rows = new Map(page.rows.map((r) => [r.key, r]));
    for (const [k, t, id] of wanted) {
      const r = rows.get(id);
      let doc: ReadDoc;
      if (r?.doc) doc = { state: "live", doc: r.doc };
      else if (r?.value?.deleted === true) doc = { state: "deleted", id, rev: r.value.rev };
      else doc = { state: "missing", id };
      const m = out.get(k) ?? {};
      m[t] = doc;
      out.set(k, m);
    }
    return out;
  }

  async #translate(source: TransformerSide, entities: readonly EntityRef[], targets: readonly TransformerSide[]): Promise<void> {
    if (entities.length === 0) return;
    const sourceFeed = this.#feeds.get(source.store)!;
    const rank = (s: TransformerSide): number => this.sides.indexOf(s);
    const sourceDocs = await this.#read(source, entities);
    const waitingNow = new Set<string>();
    for (const target of targets) {
      const relevant = entities.filter((e) => {
        const to = familyShape(this.#families, target.shape, e.family);
        const from = familyShape(this.#families, source.shape, e.family);
        if (Object.keys(to).length === 0 || Object.keys(from).length === 0) return false;
        return !(target.store === source.store && sameShape(from, to)); // the very same documents
      });
      if (relevant.length === 0) continue;
      const targetDocs = await this.#read(target, relevant);
      const updates: { entity: EntityRef; write: PlannedWrite }[] = [];
      const branches: { entity: EntityRef; write: PlannedWrite }[] = [];
      for (const e of relevant) {
        const from = familyShape(this.#families, source.shape, e.family);
        const to = familyShape(this.#families, target.shape, e.family);
        const input = {
          entity: e,
          source: source.name,
          target: target.name,
          sourceDocs: sourceDocs.get(entityKey(e)) ?? {},
          targetDocs: targetDocs.get(entityKey(e)) ?? {},
          from,
          to,
          path: this.#graph.path(from, to),
          reversePath: this.#graph.path(to, from),
          ids: this.#ids,
          versionField: this.#versionField,
          sourceRank: rank(source),
          targetRank: rank(target),
        };
        let plan = planEntity(input);
        if (plan.kind === "need-parents") plan = planEntity({ ...input, sourceAncestors: await this.#ancestors(source, input.sourceDocs, plan.ids) });
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
            const record: QuarantineEntry = { side: source.name, id: plan.id, rev: plan.rev, reason: plan.reason };
            if (!sourceFeed.quarantine.some((q) => q.id === record.id && q.rev === record.rev && q.side === record.side)) {
              sourceFeed.quarantine.push(record);
              this.#o.onEvent?.({ type: "quarantine", record });
            }
            break;
          }
          case "write":
            for (const w of plan.writes) (w.mode === "branch" ? branches : updates).push({ entity: e, write: w });
            if (plan.conflict !== undefined) {
              this.#conflicts.push(plan.conflict);
              if (this.#conflicts.length > MAX_RECORDS) this.#conflicts.shift();
              this.#o.onEvent?.({ type: "conflict", conflict: plan.conflict });
            }
            break;
        }
      }
      const targetFeed = this.#feeds.get(target.store)!;
      const record = (id: string, rev: string): void => {
        targetFeed.written.add(`${id}@${rev}`);
        this.#writes += 1;
        this.#writesBySide[target.name] = (this.#writesBySide[target.name] ?? 0) + 1;
        this.#o.onEvent?.({ type: "write", side: target.name, id, rev, from: source.name });
      };
      if (updates.length > 0) {
        const results = await target.store.bulkDocs(updates.map((u) => u.write.doc));
        results.forEach((r, i) => {
          if (r.ok) record(r.id, r.rev);
          else {
            // The target changed under us (409): translate this entity again soon.
            const e = updates[i]!.entity;
            waitingNow.add(entityKey(e));
            this.#waiting.set(`${source.name}\u0000${entityKey(e)}`, { side: source.name, entity: e });
          }
        });
      }
      for (const b of branches) {
        const current: Doc = await target.store.get(b.write.doc._id, { revs: true });
        if (current._rev !== b.write.doc._rev || current._revisions === undefined) {
          waitingNow.add(entityKey(b.entity));
          this.#waiting.set(`${source.name}\u0000${entityKey(b.entity)}`, { side: source.name, entity: b.entity });
          continue;
        }
        const doc = winningBranch(b.write.doc, current._revisions);
        const [r] = await target.store.bulkDocs([doc], { newEdits: false });
        if (r === undefined || r.ok) record(doc._id, doc._rev!);
      }
    }
    for (const e of entities) if (!waitingNow.has(entityKey(e))) this.#waiting.delete(`${source.name}\u0000${entityKey(e)}`);
  }
}
