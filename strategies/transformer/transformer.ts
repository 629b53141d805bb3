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
import type { StepDefinition } from "../../adapters/steps.js";
import { messageOf } from "../../core/errors.js";
import type { Doc } from "../../store/port.js";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { consume, follow, pump, tick, unfollow } from "./feeds.js";
import { entityKey, type EntityRef, type ReadDoc } from "./plan.js";
import { addSideDef, createState, entitiesOf, entityOf, feedFailed, sideNamed, targets, type TransformerState } from "./state.js";
import { planOne, readDocs, recordedSplit, retryWaiting, touched, translate } from "./translate.js";
import type { FeedStatus, Transformer, TransformerOptions, TransformerSide, TransformerStatus } from "./types.js";

export type {
  FeedStatus,
  QuarantineEntry,
  Transformer,
  TransformerEvent,
  TransformerOptions,
  TransformerSide,
  TransformerStatus,
} from "./types.js";

/** Creates a transformer (nothing runs until {@link Transformer.start} or {@link Transformer.drain}). */
export function createTransformer(options: TransformerOptions): Transformer {
  return new TransformerImpl(options);
}

/**
 * The transformer's lifecycle (start, the live loop, stop) and its operations, one at a time: the feeds
 * (`feeds.ts`, `checkpoint.ts`) and the translation (`translate.ts`, `write.ts`) work on its state (`state.ts`).
 */
class TransformerImpl implements Transformer {
  readonly #state: TransformerState;
  #loop: Promise<void> | undefined;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(o: TransformerOptions) {
    this.#state = createState(o);
  }

  get sides(): readonly TransformerSide[] {
    return this.#state.sides;
  }

  get steps(): readonly StepDefinition[] {
    return this.#state.o.steps;
  }

  async start(): Promise<void> {
    if (this.#state.running) return;
    this.#state.running = true;
    this.#loop = this.#run();
  }

  /** The live loop: ticks while anything moves, then sleeps until a feed wakes it or a retry or a checkpoint is due. */
  async #run(): Promise<void> {
    const retryMs = this.#state.o.retryMs ?? 500;
    const checkpointMs = this.#state.o.checkpointMs ?? 1000;
    while (this.#state.running) {
      const moved = await this.#locked(() => tick(this.#state));
      if (moved > 0 || !this.#state.running) continue;
      // Sleep until a feed wakes us, or until a retry or a checkpoint is due.
      const feeds = [...this.#state.feeds.values()];
      if (feeds.some((f) => f.queue.length > 0)) continue;
      let due = Number.POSITIVE_INFINITY;
      if (this.#state.waiting.size > 0) due = Math.min(due, this.#state.lastRetry + retryMs - this.#state.now());
      if (feeds.some((f) => f.live === undefined)) due = Math.min(due, retryMs);
      if (feeds.some((f) => f.unsaved > 0 || f.quarantineDirty)) due = Math.min(due, checkpointMs);
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(due) ? setTimeout(done, Math.max(1, due)) : undefined;
        function done(): void {
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        }
        this.#state.wake = done;
      });
      this.#state.wake = undefined;
    }
  }

  /** Runs `f` once every operation started before it has finished (one operation at a time). */
  #locked<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(f, f);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async translateIds(ids: readonly string[]): Promise<number> {
    return this.#locked(async () => {
      const before = this.#state.writes;
      const all = entitiesOf(this.#state, ids);
      for (const side of this.#state.sides) {
        const { active, known } = await touched(this.#state, side, all);
        await translate(this.#state, side, active, targets(this.#state, side), known);
      }
      return this.#state.writes - before;
    });
  }

  async readAt(name: string, ids: readonly string[]): Promise<Map<string, Doc>> {
    return this.#locked(async () => {
      const target = sideNamed(this.#state, name);
      const all = entitiesOf(this.#state, ids);
      const targetDocs = await readDocs(this.#state, target, all);
      const out = new Map<string, Doc>();
      for (const source of this.#state.sides) {
        if (source === target) continue;
        const { active, docs } = await touched(this.#state, source, all);
        for (const e of active) {
          const plan = await planOne(this.#state, source, target, e, docs, targetDocs);
          if (plan.kind === "write") for (const w of recordedSplit(this.#state, target, e, plan.writes)) out.set(w.doc._id, w.doc);
        }
      }
      return out;
    });
  }

  async retireSide(name: string): Promise<void> {
    await this.#locked(async () => {
      this.#state.retired.add(sideNamed(this.#state, name).name);
    });
  }

  async translated(name: string): Promise<Map<string, string>> {
    return this.#locked(async () => {
      const side = sideNamed(this.#state, name);
      const out = new Map<string, string>();
      let startkey: string | undefined;
      for (;;) {
        const page = await side.store.allDocs({ limit: 500, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
        if (page.rows.length === 0) break;
        startkey = page.rows[page.rows.length - 1]!.id;
        const revs = new Map<string, string>();
        for (const row of page.rows) if (row.value !== undefined && entityOf(this.#state, side, row.id) !== undefined) revs.set(row.id, row.value.rev);
        const entities = entitiesOf(this.#state, [...revs.keys()]);
        const { active, docs } = await touched(this.#state, side, entities);
        const pending = new Set<string>();
        for (const target of targets(this.#state, side).filter((t) => !this.#state.retired.has(t.name))) {
          const targetDocs = await readDocs(this.#state, target, active);
          for (const e of active) if ((await planOne(this.#state, side, target, e, docs, targetDocs)).kind !== "noop") pending.add(entityKey(e));
        }
        for (const [id, rev] of revs) {
          const e = entityOf(this.#state, side, id);
          if (e !== undefined && !pending.has(entityKey(e))) out.set(id, rev);
        }
      }
      return out;
    });
  }

  async drain(): Promise<number> {
    return this.#locked(async () => {
      const before = this.#state.writes;
      for (let round = 0; round < 1000; round++) {
        let moved = 0;
        for (const feed of [...this.#state.feeds.values()]) {
          try {
            moved += await consume(this.#state, feed);
            const read = await pump(this.#state, feed);
            // The live feed will deliver what the page just read: follow again from the new position.
            if (read > 0 && feed.live !== undefined) {
              await unfollow(feed);
              follow(this.#state, feed);
            }
            moved += read;
            feed.lastError = undefined;
          } catch (e) {
            feedFailed(this.#state, feed, e);
          }
        }
        if (moved > 0) continue;
        const wrote = this.#state.waiting.size > 0 ? await retryWaiting(this.#state) : 0;
        if (wrote === 0) break;
      }
      for (const feed of this.#state.feeds.values()) {
        try {
          await saveCheckpoint(this.#state, feed, true);
        } catch (e) {
          feedFailed(this.#state, feed, e);
        }
      }
      return this.#state.writes - before;
    });
  }

  async idle(): Promise<void> {
    await this.drain();
  }

  async addSide(side: TransformerSide, from: string): Promise<number> {
    return this.#locked(async () => {
      const source = sideNamed(this.#state, from);
      addSideDef(this.#state, side);
      // Back-fill: every entity of the source side, translated into the new side only. (A live
      // transformer starts following the new side's database on its next tick.)
      const before = this.#state.writes;
      let startkey: string | undefined;
      for (;;) {
        const page = await source.store.allDocs({ limit: 500, includeDocs: true, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
        if (page.rows.length === 0) break;
        const entities = new Map<string, EntityRef>();
        const known = new Map<string, ReadDoc>();
        for (const row of page.rows) {
          const ref = entityOf(this.#state, source, row.id);
          if (ref === undefined) continue;
          entities.set(entityKey(ref), ref);
          if (row.doc) known.set(row.id, { state: "live", doc: row.doc });
        }
        await translate(this.#state, source, [...entities.values()], [side], known);
        startkey = page.rows[page.rows.length - 1]!.id;
      }
      return this.#state.writes - before;
    });
  }

  async removeSide(name: string): Promise<void> {
    await this.#locked(async () => {
      const side = sideNamed(this.#state, name);
      this.#state.sides = this.#state.sides.filter((s) => s !== side);
      for (const [k, w] of this.#state.waiting) {
        if (w.side !== name) continue;
        this.#state.waiting.delete(k);
        this.#state.failures.delete(k);
      }
      if (!this.#state.sides.some((s) => s.store === side.store)) {
        const feed = this.#state.feeds.get(side.store);
        this.#state.feeds.delete(side.store);
        if (feed !== undefined) {
          await unfollow(feed);
          await feed.saving;
        }
      }
    });
  }

  async status(): Promise<TransformerStatus> {
    const feeds: FeedStatus[] = [];
    for (const feed of this.#state.feeds.values()) {
      let pending = 0;
      try {
        await loadCheckpoint(this.#state, feed);
        const page = await feed.store.changes(feed.since === undefined ? {} : { since: feed.since });
        pending = page.results.filter((c) => !c.id.startsWith("_") && !feed.written.has(`${c.id}@${c.changes[0]?.rev ?? ""}`)).length;
      } catch (e) {
        feed.lastError = messageOf(e);
      }
      feeds.push({
        database: feed.store.name,
        sides: this.#state.sides.filter((s) => s.store === feed.store).map((s) => s.name),
        since: feed.since,
        pending,
        lagMs: feed.dirtySince === undefined ? 0 : Math.max(0, this.#state.now() - feed.dirtySince),
        lastError: feed.lastError,
        quarantined: feed.quarantine.length + feed.refused.length,
        processed: feed.processed,
        live: feed.live !== undefined,
      });
    }
    return {
      running: this.#state.running,
      feeds,
      writes: this.#state.writes,
      writesBySide: { ...this.#state.writesBySide },
      writeSets: this.#state.writeSets,
      writeSetsBySide: { ...this.#state.writeSetsBySide },
      skippedOwn: this.#state.skippedOwn,
      checkpoints: this.#state.checkpoints,
      waiting: this.#state.waiting.size,
      conflicts: [...this.#state.conflicts],
      quarantine: [...this.#state.feeds.values()].flatMap((f) => [...f.quarantine, ...f.refused]),
    };
  }

  async stop(): Promise<void> {
    if (!this.#state.running) return;
    this.#state.running = false;
    this.#state.wake?.();
    await this.#loop;
    await this.#locked(async () => {
      await Promise.all([...this.#state.feeds.values()].map((f) => unfollow(f)));
      for (const feed of this.#state.feeds.values()) {
        try {
          await saveCheckpoint(this.#state, feed, true);
        } catch (e) {
          feedFailed(this.#state, feed, e);
        }
      }
    });
  }
}
