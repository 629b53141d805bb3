/**
 * The eager migration runner (issue 7), shared by every eager strategy and by
 * `divan/client`'s `migrateLocal`. Browser-safe: no Node built-ins.
 *
 * ## What a run does
 * 1. Takes the lease, when given one (`lease:<database>` in a state database of divan's own; `LEASE_HELD` if
 *    another owner holds it). A copy claims its target: an empty database gets the marker `_local/divan-copy`
 *    naming the source, a database holding documents without that marker is refused (`NOT_A_COPY`).
 * 2. **Scan**: pages through the source's `_all_docs` (with documents and their conflicts) in id order, groups
 *    each page's documents by entity id, translates whole entities through the plan, and writes them to the
 *    target with `_bulk_docs`. An entity's documents on later pages (e.g. `task:<id>` while the page holds
 *    `task-state:<id>`, which sorts before it) are fetched with it and skipped when their page comes; the
 *    target's current documents are fetched too and are the translation's base (no information loss). A copy into a
 *    database the run found empty does not read them in its scan: it writes, and reads only for an entity whose
 *    write conflicted (someone else wrote there), which it then plans again on what it read.
 *    Pages are read ahead while earlier pages are written (`concurrency` pages in flight).
 * 3. **Checkpoint**: after every contiguous run of written pages, `_local/divan-migration-<id>` on the target
 *    records the last `_all_docs` key done, so a killed run resumes there. Rewriting a page again is harmless:
 *    an output equal to the stored document is not written.
 * 4. **Dirty re-migration**: remembers the source `update_seq` at the very first start and follows `_changes`
 *    since then; after the scan, migrates every changed document again until a page comes back empty (caught
 *    up). In place, the feed is followed during the scan already (a resumed scan first migrates again what changed
 *    since the first start, the killed runs' own writes included, which are skipped), and each change of
 *    the run's own writes (`id@rev`) drops out with its write as it arrives, so only the edits of others are
 *    migrated again and the run holds only the writes in flight, never every id it wrote. The feed is read with
 *    `style: "all_docs"`: a change is the run's own only when every leaf it lists is a revision the run wrote, so an
 *    edit made between the run's read and its write, which may lose to the run's revision, is migrated again
 *    (as a losing revision of a conflicted document: see below). The dirty pass
 *    checkpoints after every batch.
 * 5. **Retry and prune the quarantine**: documents quarantined by earlier runs of the job are tried again (unless
 *    `retryQuarantined: false`);
 *    a record whose revision is no longer a leaf of its document (it changed since) is dropped.
 *
 * ## Per-document outcomes (never a throw for one bad document)
 * - `migrated`: translated and written (or, in a dry run, would be).
 * - `copied`: copy mode (target ≠ source): a document already at the target version, or one the plan does
 *   not know (unknown type, unselected), or a quarantined one, carried unchanged: every leaf revision with its
 *   history and attachments, as replication would.
 * - `skipped`: in place: already at the target version, unknown type, unselected, a tombstone, or a
 *   document not at a fixed path's source shape; also any output identical to the stored document.
 * - `quarantined`: malformed (version not an integer, id not `<type>:<entityId>`), no path from its shape,
 *   translation failed, an attribute no schema names that does not survive the translation back, invalid at the
 *   target version (`verify`), refused by the target (`FORBIDDEN`, `BAD_REQUEST`), or part of a conflicted entity
 *   that cannot be translated whole (see below). Recorded (id, rev, type, version, code,
 *   reason) in the job's quarantine on the target; the original is left where it was (in copy mode it is also
 *   carried unchanged, so switching to the target loses nothing).
 * - `conflict`: the stored document changed between read and write; carries the current document. The
 *   dirty pass migrates it again (the concurrent write is in `_changes`).
 *
 * ## Conflicted documents
 * Losing (non-deleted) revisions are read before anything is translated; each is a result of its own. In place,
 * an entity with a conflicted document is translated only when every losing revision can follow on its own
 * branch (it translates into exactly one document with its own id, valid, nothing lost: written as the child of
 * that revision); otherwise the whole entity, winner and losing revisions, is left as it is and quarantined
 * (`CONFLICT`), so translating the winner never rewrites a document a losing revision's entity shares, and a
 * rollback gives every leaf back. (`resolveMigrationConflicts`, which `divan migrate --follow` runs before each
 * pass, does translate a split leaf by leaf, its other documents as conflicting root revisions: `amended` never
 * rolls back, and the down path could not fold those root revisions back into one document.) A copy never
 * translates a conflicted document (one translation per document would drop a leaf): it carries it with every
 * leaf and quarantines it.
 *
 * Design and `_local` documents are never touched. Tombstones: in place they are left as they are; in copy
 * mode the target documents of the deleted document's entity family are deleted too.
 */
import { DivanError, isDivanError, messageOf } from "../../core/errors.js";
import type { Doc, WriteResult } from "../../store/port.js";
import { classifyBatch } from "./classify.js";
import { defaultMigrationId, emptyTotals, recordKey, RunContext, type Batch, type Job, type Write } from "./context.js";
import { TypedEmitter } from "./events.js";
import { conflictedEntity, losersOf, losingRevisions } from "./leaves.js";
import { ChangeFollower } from "./follow.js";
import { acquireLease, claimCopyTarget, QuarantineLog, readCheckpoint, recordJob, releaseLease, writeCheckpoint } from "./local.js";
import { ancestorBases, planJobs, rebase, translate } from "./plan.js";
import { flushQuarantine, pruneQuarantine, reportEntities } from "./report.js";
import { currentDocs, inlineAttachments, readStored } from "./stored.js";
import type { CheckpointState, MigrationEvents, MigrationOptions, MigrationReport, MigrationTotals } from "./types.js";
import { carry, planWrites, writeAll, type PlannedWrites } from "./write.js";

export { defaultMigrationId } from "./context.js";

const DEFAULT_TTL = 30_000;
/** While the scan writes, `_changes` is read in pages of this many times the page size (a page writes up to twice its size). */
const FOLLOW_PAGES = 4;

/** Saves the checkpoint (and the pending quarantine records) in a phase. */
type Save = (state: Omit<CheckpointState, "v" | "totals" | "updatedAt" | "startSeq">) => Promise<void>;

/**
 * A migration run with typed events. Create it with {@link createMigration}, subscribe with `on`, then
 * `run()`; or call {@link runMigration}.
 *
 * @example
 * ```ts
 * const m = createMigration({ source, plan: { graph, to: v3 }, batchSize: 500 });
 * m.on("progress", (p) => bar.update(p.done, { eta: p.eta }));
 * const report = await m.run();
 * ```
 */
export class Migration extends TypedEmitter<MigrationEvents> {
  /** The run id (checkpoint, quarantine and job entry are named after it). */
  readonly id: string;
  private readonly ctx: RunContext;
  private running = false;

  constructor(options: MigrationOptions) {
    super();
    this.ctx = new RunContext(options, this);
    this.id = options.id ?? defaultMigrationId(this.ctx.to, this.ctx.src, !this.ctx.inPlace);
  }

  /**
   * A `progress` or `document` listener that throws does not stop the run: its error goes to the `error` listeners
   * (`LISTENER_FAILED`, `attempt` 0, the thrown value as `cause`). Without one, or when an `error` listener itself
   * throws, it is thrown again on a microtask (the host's uncaught-error handling), never dropped.
   */
  protected override listenerFailed(error: unknown, event: keyof MigrationEvents): void {
    if (event === "error" || !this.has("error")) return super.listenerFailed(error, event);
    const failure = new DivanError("LISTENER_FAILED", `a "${event}" listener of migration ${this.id} threw: ${messageOf(error)}; the run goes on, fix the listener`, {
      cause: error,
    });
    this.emit("error", { error: failure, willRetry: false, attempt: 0 });
  }

  /** Runs the migration to the end (or until `signal` aborts). Rejects only when the store fails for good, the lease is held or the target is not a copy. */
  async run(): Promise<MigrationReport> {
    if (this.running) throw new DivanError("CONFIG_INVALID", `migration ${this.id} is already running`);
    this.running = true;
    const ctx = this.ctx;
    ctx.started = ctx.now();
    let lease: Awaited<ReturnType<Migration["holdLease"]>> | undefined;
    try {
      lease = await this.holdLease();
      return await this.phases(lease.check);
    } finally {
      await lease?.release();
      this.running = false;
    }
  }

  /**
   * Takes the lease, when the run has one, and renews it every third of its ttl. `check` throws when a renewal
   * failed; `release` stops renewing and releases it.
   */
  private async holdLease(): Promise<{ check: () => void; release: () => Promise<void> }> {
    const ctx = this.ctx;
    const option = ctx.o.lease;
    const lease = option === false || option === undefined || ctx.dry ? undefined : option;
    if (lease === undefined) return { check: () => undefined, release: async () => undefined };
    const owner = lease.owner ?? `runner-${Math.random().toString(36).slice(2)}-${ctx.now().toString(36)}`;
    const ttl = lease.ttlMs ?? DEFAULT_TTL;
    const database = (await ctx.retry(() => ctx.dst.info())).name;
    await acquireLease(lease.store, database, owner, ttl, ctx.now(), this.id);
    let renewing: Promise<unknown> = Promise.resolve();
    let leaseError: unknown;
    const renew = setInterval(() => {
      renewing = acquireLease(lease.store, database, owner, ttl, ctx.now(), this.id).catch((e: unknown) => (leaseError = e));
    }, Math.max(10, Math.floor(ttl / 3)));
    return {
      check: () => {
        if (leaseError !== undefined) throw leaseError;
      },
      release: async () => {
        clearInterval(renew);
        await renewing; // a renewal still writing would otherwise outlive the release
        await releaseLease(lease.store, database, owner).catch((e: unknown) => {
          if (!isDivanError(e)) throw e; // a store failure: the lease expires after its ttl
        });
      },
    };
  }

  /** Claims the target, then scan, dirty re-migration, the quarantine tried again, and the report. */
  private async phases(check: () => void): Promise<MigrationReport> {
    const ctx = this.ctx;
    const dry = ctx.dry;
    const info = await ctx.retry(() => ctx.src.info());
    if (!dry) {
      if (!ctx.inPlace) ctx.freshCopy = await claimCopyTarget(ctx.dst, { name: ctx.src.name, database: info.name }, this.id, ctx.now());
      await recordJob(ctx.dst, {
        id: this.id,
        direction: ctx.o.direction ?? "up",
        to: { ...ctx.to },
        ...(ctx.inPlace ? {} : { source: info.name }),
        startedAt: ctx.now(),
      });
      ctx.log = await QuarantineLog.load(ctx.dst, this.id);
    }
    const cp = ctx.o.restart === true || dry ? undefined : await readCheckpoint(ctx.dst, this.id);
    const resumed = cp !== undefined && cp.phase !== "done";
    if (cp !== undefined) ctx.freshCopy = false;
    const startSeq = cp?.startSeq ?? info.updateSeq;
    ctx.total = info.docCount;
    const base: MigrationTotals = { ...emptyTotals(), ...cp?.totals };
    let checkpointRev: string | undefined;
    const save: Save = async (state) => {
      if (dry) return;
      await flushQuarantine(ctx);
      const totals = { ...base };
      for (const k of Object.keys(totals) as (keyof MigrationTotals)[]) totals[k] += ctx.totals[k];
      checkpointRev = await writeCheckpoint(ctx.dst, this.id, { v: 1, startSeq, ...state, totals, updatedAt: ctx.now() }, checkpointRev);
    };

    let since = cp?.phase === "done" || cp?.phase === "dirty" ? cp.since : startSeq;
    const follower = ctx.o.followChanges !== false && !dry ? new ChangeFollower((s, limit) => ctx.retry(() => ctx.src.changes({ since: s, limit, style: "all_docs" })), since) : undefined;
    ctx.follower = follower;
    let aborted = false;
    let dirtyRounds = 0;
    if (cp === undefined || cp.phase === "scan") {
      // A scan resumed in place first migrates again what changed since the first start (the killed runs' writes, which
      // are skipped, and others' edits), without a checkpoint of its own, so that the feed it follows while it scans
      // holds its own writes only as long as they are in flight, as a first run's does.
      if (cp !== undefined && ctx.inPlace && follower !== undefined) {
        const caught = await this.dirty(follower, startSeq, async () => undefined, check);
        aborted = caught.aborted;
        dirtyRounds += caught.rounds;
      }
      ctx.phase = "scan";
      aborted ||= !(await this.scan(cp?.lastKey, async (lastKey) => {
        check();
        await save({ phase: "scan", lastKey, since: startSeq });
      }));
      if (!aborted) await save({ phase: "dirty", since: startSeq });
    }
    if (!aborted && follower !== undefined) {
      const dirty = await this.dirty(follower, since, save, check);
      ({ since, aborted } = dirty);
      dirtyRounds += dirty.rounds;
    }
    if (!aborted && !dry && ctx.o.retryQuarantined !== false) {
      check();
      await this.retryQuarantined();
    }
    if (!aborted) {
      const info2 = dry ? info : await ctx.retry(() => ctx.src.info());
      if (ctx.o.followChanges === false && !dry) since = info2.updateSeq;
      await save({ phase: "done", since });
      await pruneQuarantine(ctx);
    } else {
      await flushQuarantine(ctx);
    }
    return {
      id: this.id,
      completed: !aborted,
      resumed,
      dryRun: dry,
      totals: { ...ctx.totals },
      startSeq,
      lastSeq: since,
      quarantined: [...ctx.quarantine],
      outstanding: ctx.log === undefined ? [...ctx.quarantine] : [...ctx.log.all()],
      dirtyRounds,
      elapsedMs: ctx.now() - ctx.started,
    };
  }

  /** Pages `_all_docs` from after `startAfter`; returns false when aborted. */
  private async scan(startAfter: string | undefined, checkpoint: (lastKey: string) => Promise<void>): Promise<boolean> {
    const ctx = this.ctx;
    interface Task {
      done: boolean;
      readonly lastKey: string;
      readonly promise: Promise<void>;
    }
    const tasks: Task[] = [];
    let chain = Promise.resolve();
    let failure: unknown;
    const advance = (): void => {
      let lastKey: string | undefined;
      while (tasks.length > 0 && tasks[0]!.done) lastKey = tasks.shift()!.lastKey;
      if (lastKey !== undefined) {
        const k = lastKey;
        chain = chain.then(() => checkpoint(k)).catch((e: unknown) => void (failure ??= e));
      }
    };
    // In place, the feed is read as the scan writes: each own write's change drops out as it arrives (a resumed scan
    // has read the earlier runs' writes before it starts).
    const follower = ctx.inPlace ? ctx.follower : undefined;
    let key = startAfter;
    let aborted = false;
    for (;;) {
      failure ??= follower?.failure;
      if (failure !== undefined) break;
      if (ctx.aborted) {
        aborted = true;
        break;
      }
      const k = key;
      const page = await ctx.retry(() =>
        ctx.src.allDocs({ includeDocs: true, conflicts: true, limit: ctx.batchSize, ...(k === undefined ? {} : { startkey: k, skip: 1 }) }),
      );
      const rows = page.rows;
      const last = rows[rows.length - 1];
      if (last === undefined) break;
      const docs: Doc[] = [];
      for (const r of rows) if (r.doc !== undefined && r.doc !== null) docs.push(r.doc);
      const task: Task = {
        done: false,
        lastKey: last.id,
        promise: this.process(docs, "scan").then(
          () => {
            task.done = true;
            advance();
          },
          (e: unknown) => void (failure ??= e),
        ),
      };
      tasks.push(task);
      if (follower !== undefined) {
        follower.follow(ctx.batchSize * FOLLOW_PAGES);
        // Backpressure: when the reading lags more than twice a follow page behind the writing, the scan waits for it
        // to catch up once (own writes whose change never comes, e.g. superseded, do not stop it for longer).
        if (follower.lag > 2 * ctx.batchSize * FOLLOW_PAGES) {
          await follower.settled().catch(() => undefined);
          follower.follow(ctx.batchSize * FOLLOW_PAGES);
          await follower.settled().catch(() => undefined);
          failure ??= follower.failure;
        }
      }
      const open = (): Promise<void>[] => tasks.filter((t) => !t.done).map((t) => t.promise);
      while (open().length >= ctx.concurrency && failure === undefined) await Promise.race(open());
      if (rows.length < ctx.batchSize) break;
      key = last.id;
    }
    await Promise.all(tasks.map((t) => t.promise));
    await chain;
    await follower?.settled().catch((e: unknown) => void (failure ??= e));
    if (failure !== undefined) throw failure;
    return !aborted;
  }

  /**
   * Dirty re-migration: follows `_changes` on from `follower.since` and migrates every document others changed
   * again, until a page comes back empty and nothing is left. The checkpoint's `since` (`from` at first) moves after
   * every batch, to where every change before it is migrated or the run's own.
   */
  private async dirty(follower: ChangeFollower, from: string, save: Save, check: () => void): Promise<{ since: string; aborted: boolean; rounds: number }> {
    const ctx = this.ctx;
    ctx.phase = "dirty";
    let since = from;
    let rounds = 0;
    const checkpoint = async (): Promise<void> => {
      if (follower.done === since) return;
      since = follower.done;
      await save({ phase: "dirty", since });
    };
    for (;;) {
      if (ctx.aborted) return { since, aborted: true, rounds };
      check();
      const read = await follower.read(ctx.batchSize);
      while (follower.pending >= ctx.batchSize || (read < ctx.batchSize && follower.pending > 0)) {
        if (ctx.aborted) return { since, aborted: true, rounds };
        check();
        const changed = follower.take(ctx.batchSize);
        ctx.total += changed.length;
        await this.process(await currentDocs(ctx, changed, true), "dirty");
        rounds++;
        await checkpoint();
      }
      await checkpoint();
      if (read === 0 && follower.pending === 0) return { since, aborted: false, rounds };
    }
  }

  /** Tries the documents quarantined by earlier runs again (a fixed step or schema, or an edited document, may let them through now). */
  private async retryQuarantined(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.log === undefined) return;
    const ids = [...new Set(ctx.log.all().filter((r) => !ctx.quarantinedKeys.has(recordKey(r))).map((r) => r.id))];
    for (let i = 0; i < ids.length; i += ctx.batchSize) {
      if (ctx.aborted) return;
      await this.process(await currentDocs(ctx, ids.slice(i, i + ctx.batchSize), false), "dirty");
    }
    await flushQuarantine(ctx);
  }

  /**
   * Migrates one batch of source documents (a scan page, a `_changes` batch or quarantined documents tried again),
   * phase by phase: classify → plan (conflicted entities decided, translations made) → read stored (and translate
   * again on it) → write → report.
   */
  private async process(docs: readonly Doc[], mode: "scan" | "dirty"): Promise<void> {
    const ctx = this.ctx;
    const copy = !ctx.inPlace;
    const { batch, seen } = await classifyBatch(ctx, docs, mode);
    const planned = planJobs(ctx, batch);
    // Losing revisions, read before anything is translated: an entity one of them cannot follow is left as it is.
    const losers = await losersOf(ctx, batch.conflicted);
    for (const leaves of losers.values()) ctx.totals.conflicts += leaves.length;
    const jobs = planned.filter((job) => conflictedEntity(ctx, job, losers, batch.copies));
    if (!copy) await ancestorBases(ctx, jobs);
    for (const job of jobs) translate(ctx, job, batch.copies);

    // A copy's scan into a database it found empty writes each document once, and no one else writes there: what it
    // writes is new, not read first. An entity whose write conflicts all the same is planned again on a read.
    const fresh = mode === "scan" && ctx.freshCopy;
    const stored = await readStored(ctx, jobs, batch, fresh);
    rebase(ctx, jobs, stored, batch.copies);
    // Attachments of translated documents go into a copy inline (the target has no revision holding them).
    const inline = copy ? await inlineAttachments(ctx, jobs) : new Map<string, Record<string, unknown>>();

    const writes = planWrites(ctx, jobs, stored, inline, batch);
    const outcome = await writeAll(ctx, writes.writes);
    const entities = fresh ? await this.replanConflicts(writes.entities, outcome, inline, batch) : writes.entities;

    await reportEntities(ctx, entities, outcome, batch.copies);
    if (copy) await carry(ctx, batch.copies, stored.storedRev);
    await losingRevisions(ctx, losers, new Set(batch.copies));
    ctx.progress(seen);
  }

  /**
   * A fresh copy's scan: the entities a write of which conflicted (their document was there after all) are planned
   * again on the target's documents as read now, and written. Returns the batch's entities with theirs replaced, and
   * adds the new writes' results to `outcome`.
   */
  private async replanConflicts(
    entities: PlannedWrites["entities"],
    outcome: Map<Write, WriteResult>,
    inline: ReadonlyMap<string, Record<string, unknown>>,
    batch: Batch,
  ): Promise<PlannedWrites["entities"]> {
    const ctx = this.ctx;
    const again = new Set<Job>();
    const conflict = (r: WriteResult | undefined): boolean => r !== undefined && !r.ok && r.error.code === "CONFLICT";
    for (const e of entities) if (e.writes.some((w) => conflict(outcome.get(w)))) again.add(e.job);
    if (again.size === 0) return entities;
    const jobs = [...again];
    const rest: Batch = { ...batch, deletions: [] }; // the deletions were planned on a read already
    const stored = await readStored(ctx, jobs, rest);
    rebase(ctx, jobs, stored, batch.copies);
    const replanned = planWrites(ctx, jobs, stored, inline, rest);
    for (const [w, r] of await writeAll(ctx, replanned.writes)) outcome.set(w, r);
    return [...entities.filter((e) => !again.has(e.job)), ...replanned.entities];
  }
}

/** Creates a migration run; subscribe to its events, then call `run()`. */
export function createMigration(options: MigrationOptions): Migration {
  return new Migration(options);
}

/** Runs a migration to the end and resolves with its report. See {@link Migration}. */
export function runMigration(options: MigrationOptions): Promise<MigrationReport> {
  return new Migration(options).run();
}
