/**
 * The eager migration runner (DESIGN §5, issue 7), shared by every eager strategy and by
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
 *    target's current documents are fetched too and are the translation's base (no information loss).
 *    Pages are read ahead while earlier pages are written (`concurrency` pages in flight).
 * 3. **Checkpoint**: after every contiguous run of written pages, `_local/divan-migration-<id>` on the target
 *    records the last `_all_docs` key done, so a killed run resumes there. Rewriting a page again is harmless:
 *    an output equal to the stored document is not written.
 * 4. **Dirty re-migration**: remembers the source `update_seq` at the very first start; after the scan,
 *    follows `_changes` since then and migrates every changed document again until a page comes back
 *    empty (caught up). In place, the runner's own writes (id@rev) are ignored.
 * 5. **Retry and prune the quarantine**: documents quarantined by earlier runs of the job are tried again;
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
 * (`CONFLICT`), so translating the winner never rewrites a document a losing revision's entity shares. A copy
 * never translates a conflicted document (one translation per document would drop a leaf): it carries it with
 * every leaf and quarantines it.
 *
 * Design and `_local` documents are never touched. Tombstones: in place they are left as they are; in copy
 * mode the target documents of the deleted document's entity family are deleted too.
 */
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import type { CompiledPath } from "../../adapters/path.js";
import { typeFamilies } from "../../adapters/families.js";
import { shapeKey, type Entity, type Shape } from "../../adapters/types.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { AllDocsRow, Doc, DocumentStore, WriteResult } from "../../store/port.js";
import { matchesSelector } from "pouchdb-selector-core";
import { canonicalJson, sameContent, withDeterministicRev } from "./canonical.js";
import { TypedEmitter } from "./events.js";
import { acquireLease, claimCopyTarget, QuarantineLog, readCheckpoint, recordJob, releaseLease, writeCheckpoint } from "./local.js";
import type {
  CheckpointState,
  DocumentResult,
  MigrationEvents,
  MigrationOptions,
  MigrationReport,
  MigrationTotals,
  QuarantineRecord,
} from "./types.js";

const DEFAULT_BATCH = 500;
const DEFAULT_CONCURRENCY = 2;
const DEFAULT_TTL = 30_000;
/** Ids of one prefix from which a store is read by key range instead of by keys. */
const RANGE_MIN_IDS = 16;
/** Documents per `_bulk_docs` request: this many times the page size. */
const WRITE_FANOUT = 4;

function emptyTotals(): MigrationTotals {
  return { read: 0, written: 0, failed: 0, migrated: 0, copied: 0, skipped: 0, quarantined: 0, conflicts: 0, changed: 0 };
}

/** The target shape of a plan. */
export function planTarget(plan: MigrationOptions["plan"]): Shape {
  return "path" in plan ? plan.path.to : plan.to;
}

/** `a-z0-9-` only, for `_local` ids. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase();
}

/**
 * The default run id: `to-<target shape>` in place, plus `-from-<source name>` when copying, e.g.
 * `to-task-3-task-state-1`. `divan status` finds a job by it.
 */
export function defaultMigrationId(target: Shape, source: DocumentStore, copy: boolean): string {
  return `to-${slug(shapeKey(target))}${copy ? `-from-${slug(source.name).slice(-40)}` : ""}`;
}

const recordKey = (r: { id: string; rev?: string }): string => `${r.id}@${r.rev ?? ""}`;

/** One source document with what the runner found out about it. */
interface Item {
  readonly doc: Doc;
  readonly type: string | undefined;
  readonly version: unknown;
}

/** A planned write and the source documents it answers for. */
interface Write {
  doc: Doc;
  readonly sources: readonly Item[];
}

/** One entity's translation. */
interface Job {
  readonly entityId: string | undefined;
  readonly items: Item[];
  input: Entity;
  base: Entity;
  path: CompiledPath | undefined;
  out: Entity | undefined;
}

/** What one batch sorts its documents into. */
interface Batch {
  readonly entities: Map<string, { entityId: string | undefined; items: Item[] }>;
  /** Copy mode: documents carried into the target unchanged. */
  readonly copies: Item[];
  /** Copy mode: tombstones of known types. */
  readonly deletions: { item: Item; entityId: string | undefined; type: string }[];
  /** Documents with losing revisions. */
  readonly conflicted: Item[];
}

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
  private readonly o: MigrationOptions;
  private readonly src: DocumentStore;
  private readonly dst: DocumentStore;
  private readonly inPlace: boolean;
  private readonly to: Shape;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly typeField: string;
  private readonly versionField: string;
  private readonly ids: IdScheme;
  private readonly now: () => number;
  private readonly known: Set<string>;
  private readonly families: Map<string, readonly string[]>;
  private readonly paths = new Map<string, CompiledPath | DivanError>();
  private readonly own = new Set<string>();
  /** Ids a scan page fetched with their entity: skipped when their own page comes. */
  private readonly claimed = new Set<string>();
  private totals = emptyTotals();
  private readonly quarantine: QuarantineRecord[] = [];
  private readonly quarantinedKeys = new Set<string>();
  private pendingQuarantine: QuarantineRecord[] = [];
  private log: QuarantineLog | undefined;
  private done = 0;
  private total = 0;
  private started = 0;
  private phase: "scan" | "dirty" = "scan";
  private running = false;

  constructor(options: MigrationOptions) {
    super();
    this.o = options;
    this.src = options.source;
    this.dst = options.target ?? options.source;
    this.inPlace = this.dst === this.src;
    this.to = planTarget(options.plan);
    this.id = options.id ?? defaultMigrationId(this.to, this.src, !this.inPlace);
    this.batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.typeField = options.typeField ?? "schema";
    this.versionField = options.versionField ?? "version";
    this.ids = options.ids ?? singleVersionIds;
    this.now = options.now ?? Date.now;
    // Types the plan knows, and entity families (types connected by a step).
    const groups: string[][] = [];
    if ("path" in options.plan) {
      groups.push([...options.plan.path.sourceTypes, ...Object.keys(options.plan.path.to)]);
    } else {
      for (const s of options.plan.graph.steps) groups.push([...Object.keys(s.from), ...Object.keys(s.to)]);
      for (const t of Object.keys(options.plan.to)) groups.push([t]);
    }
    this.families = typeFamilies(groups);
    this.known = new Set(this.families.keys());
  }

  /** Runs the migration to the end (or until `signal` aborts). Rejects only when the store fails for good, the lease is held or the target is not a copy. */
  async run(): Promise<MigrationReport> {
    if (this.running) throw new DivanError("CONFIG_INVALID", `migration ${this.id} is already running`);
    this.running = true;
    this.started = this.now();
    const dry = this.o.dryRun === true;
    const lease = this.o.lease === false || this.o.lease === undefined || dry ? undefined : this.o.lease;
    const owner = lease?.owner ?? `runner-${Math.random().toString(36).slice(2)}-${this.now().toString(36)}`;
    const ttl = lease?.ttlMs ?? DEFAULT_TTL;
    let renew: ReturnType<typeof setInterval> | undefined;
    let renewing: Promise<unknown> = Promise.resolve();
    let leaseError: unknown;
    let database: string | undefined;
    if (lease !== undefined) {
      const leased = (database = (await this.retry(() => this.dst.info())).name);
      await acquireLease(lease.store, leased, owner, ttl, this.now(), this.id);
      renew = setInterval(() => {
        renewing = acquireLease(lease.store, leased, owner, ttl, this.now(), this.id).catch((e: unknown) => (leaseError = e));
      }, Math.max(10, Math.floor(ttl / 3)));
    }
    try {
      const info = await this.retry(() => this.src.info());
      if (!dry) {
        if (!this.inPlace) await claimCopyTarget(this.dst, { name: this.src.name, database: info.name }, this.id, this.now());
        await recordJob(this.dst, {
          id: this.id,
          direction: this.o.direction ?? "up",
          to: { ...this.to },
          ...(this.inPlace ? {} : { source: info.name }),
          startedAt: this.now(),
        });
        this.log = await QuarantineLog.load(this.dst, this.id);
      }
      const cp = this.o.restart === true || dry ? undefined : await readCheckpoint(this.dst, this.id);
      const resumed = cp !== undefined && cp.phase !== "done";
      const startSeq = cp?.startSeq ?? info.updateSeq;
      this.total = info.docCount;
      const base: MigrationTotals = { ...emptyTotals(), ...cp?.totals };
      let checkpointRev: string | undefined;
      const save = async (state: Omit<CheckpointState, "v" | "totals" | "updatedAt" | "startSeq">): Promise<void> => {
        if (dry) return;
        await this.flushQuarantine();
        const totals = { ...base };
        for (const k of Object.keys(totals) as (keyof MigrationTotals)[]) totals[k] += this.totals[k];
        checkpointRev = await writeCheckpoint(this.dst, this.id, { v: 1, startSeq, ...state, totals, updatedAt: this.now() }, checkpointRev);
      };
      const check = (): void => {
        if (leaseError !== undefined) throw leaseError;
      };

      let since = cp?.phase === "done" || cp?.phase === "dirty" ? cp.since : startSeq;
      let aborted = false;
      if (cp === undefined || cp.phase === "scan") {
        this.phase = "scan";
        aborted = !(await this.scan(cp?.lastKey, async (lastKey) => {
          check();
          await save({ phase: "scan", lastKey, since: startSeq });
        }));
        if (!aborted) await save({ phase: "dirty", since: startSeq });
      }
      let dirtyRounds = 0;
      if (!aborted && this.o.followChanges !== false && !dry) {
        this.phase = "dirty";
        for (;;) {
          if (this.o.signal?.aborted === true) {
            aborted = true;
            break;
          }
          check();
          const page = await this.retry(() => this.src.changes({ since, limit: this.batchSize }));
          if (page.results.length === 0) break;
          const changed = new Set<string>();
          for (const c of page.results) {
            const rev = c.changes[0]?.rev;
            if (this.inPlace && rev !== undefined && this.own.has(`${c.id}@${rev}`)) continue;
            changed.add(c.id);
          }
          this.total += changed.size;
          await this.process(await this.current([...changed], true), "dirty");
          since = page.lastSeq;
          dirtyRounds++;
          await save({ phase: "dirty", since });
        }
      }
      if (!aborted && !dry) {
        check();
        await this.retryQuarantined();
      }
      if (!aborted) {
        const info2 = dry ? info : await this.retry(() => this.src.info());
        if (this.o.followChanges === false && !dry) since = info2.updateSeq;
        await save({ phase: "done", since });
        await this.pruneQuarantine();
      } else {
        await this.flushQuarantine();
      }
      return {
        id: this.id,
        completed: !aborted,
        resumed,
        dryRun: dry,
        totals: { ...this.totals },
        startSeq,
        lastSeq: since,
        quarantined: [...this.quarantine],
        outstanding: this.log === undefined ? [...this.quarantine] : [...this.log.all()],
        dirtyRounds,
        elapsedMs: this.now() - this.started,
      };
    } finally {
      if (renew !== undefined) clearInterval(renew);
      await renewing; // a renewal still writing would otherwise outlive the release
      if (lease !== undefined && database !== undefined) {
        await releaseLease(lease.store, database, owner).catch((e: unknown) => {
          if (!isDivanError(e)) throw e; // a store failure: the lease expires after its ttl
        });
      }
      this.running = false;
    }
  }

  /** Pages `_all_docs` from after `startAfter`; returns false when aborted. */
  private async scan(startAfter: string | undefined, checkpoint: (lastKey: string) => Promise<void>): Promise<boolean> {
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
    let key = startAfter;
    let aborted = false;
    for (;;) {
      if (failure !== undefined) break;
      if (this.o.signal?.aborted === true) {
        aborted = true;
        break;
      }
      const k = key;
      const page = await this.retry(() =>
        this.src.allDocs({ includeDocs: true, conflicts: true, limit: this.batchSize, ...(k === undefined ? {} : { startkey: k, skip: 1 }) }),
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
      const open = (): Promise<void>[] => tasks.filter((t) => !t.done).map((t) => t.promise);
      while (open().length >= this.concurrency && failure === undefined) await Promise.race(open());
      if (rows.length < this.batchSize) break;
      key = last.id;
    }
    await Promise.all(tasks.map((t) => t.promise));
    await chain;
    if (failure !== undefined) throw failure;
    return !aborted;
  }

  /**
   * Calls a store operation with retry and backoff on `STORE_UNAVAILABLE`. Any other failure (a refusal, or a
   * bug: an error that is no `DivanError`) is not retried.
   */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    const attempts = Math.max(1, this.o.retry?.attempts ?? 5);
    let wait = this.o.retry?.backoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isDivanError(e)) throw e;
        const willRetry = e.code === "STORE_UNAVAILABLE" && attempt < attempts;
        this.emit("error", { error: e, willRetry, attempt });
        if (!willRetry) throw e;
        await new Promise((r) => setTimeout(r, wait));
        wait *= 2;
      }
    }
  }

  /** The current documents (with their conflicts) of `ids` in the source; with `deleted`, tombstones as `{ _id, _rev, _deleted }`. */
  private async current(ids: readonly string[], deleted: boolean): Promise<Doc[]> {
    if (ids.length === 0) return [];
    const page = await this.retry(() => this.src.allDocs({ keys: [...ids], includeDocs: true, conflicts: true }));
    const docs: Doc[] = [];
    for (const row of page.rows) {
      if (row.error !== undefined || row.value === undefined) continue;
      if (row.value.deleted === true) {
        if (deleted) docs.push({ _id: row.id, _rev: row.value.rev, _deleted: true });
      } else if (row.doc !== undefined && row.doc !== null) docs.push(row.doc);
    }
    return docs;
  }

  private result(r: DocumentResult): void {
    switch (r.status) {
      case "migrated":
        this.totals.migrated++;
        break;
      case "copied":
        this.totals.copied++;
        break;
      case "skipped":
        this.totals.skipped++;
        break;
      case "quarantined":
        this.totals.quarantined++;
        this.totals.failed++;
        this.quarantine.push(r.record);
        this.pendingQuarantine.push(r.record);
        break;
      case "conflict":
        this.totals.changed++;
        break;
    }
    if (this.has("document")) this.emit("document", r);
  }

  private skip(item: Item, reason: string): void {
    this.result({ status: "skipped", id: item.doc._id, ...revOf(item.doc), reason });
  }

  private quarantineItem(item: Item, code: string, reason: string): void {
    const key = recordKey({ id: item.doc._id, ...revOf(item.doc) });
    if (this.quarantinedKeys.has(key)) return; // already quarantined by this run (e.g. a copy refused after its translation)
    this.quarantinedKeys.add(key);
    const record: QuarantineRecord = {
      id: item.doc._id,
      ...revOf(item.doc),
      ...(item.type === undefined ? {} : { type: item.type }),
      ...(item.version === undefined ? {} : { version: item.version }),
      code,
      reason,
    };
    this.result({ status: "quarantined", id: item.doc._id, ...revOf(item.doc), record });
  }

  /** Writes the records quarantined since the last flush; on failure they stay pending for the next one. */
  private async flushQuarantine(): Promise<void> {
    if (this.pendingQuarantine.length === 0 || this.log === undefined) return;
    const batch = this.pendingQuarantine;
    this.pendingQuarantine = [];
    try {
      await this.retry(() => this.log!.append(batch));
    } catch (e) {
      this.pendingQuarantine = [...batch, ...this.pendingQuarantine];
      throw e;
    }
  }

  /** Tries the documents quarantined by earlier runs again (a fixed step or schema, or an edited document, may let them through now). */
  private async retryQuarantined(): Promise<void> {
    if (this.log === undefined) return;
    const ids = [...new Set(this.log.all().filter((r) => !this.quarantinedKeys.has(recordKey(r))).map((r) => r.id))];
    for (let i = 0; i < ids.length; i += this.batchSize) {
      if (this.o.signal?.aborted === true) return;
      await this.process(await this.current(ids.slice(i, i + this.batchSize), false), "dirty");
    }
    await this.flushQuarantine();
  }

  /** Drops the quarantine records whose revision is no longer a leaf of its document in the source (it changed since). */
  private async pruneQuarantine(): Promise<void> {
    if (this.log === undefined || this.log.all().length === 0) return;
    const ids = [...new Set(this.log.all().map((r) => r.id))];
    const leaves = new Map<string, Set<string>>();
    for (let i = 0; i < ids.length; i += this.batchSize) {
      for (const doc of await this.current(ids.slice(i, i + this.batchSize), false)) {
        leaves.set(doc._id, new Set([doc._rev ?? "", ...(doc._conflicts ?? [])]));
      }
    }
    await this.retry(() => this.log!.retain((r) => leaves.get(r.id)?.has(r.rev ?? "") === true));
  }

  private selected(item: Item): boolean {
    const sel = this.o.selection;
    if (sel === undefined) return true;
    if ("selector" in sel) return matchesSelector(item.doc, sel.selector);
    if (sel.types !== undefined && (item.type === undefined || !sel.types.includes(item.type))) return false;
    if (sel.versions !== undefined && item.type !== undefined) {
      const vs = sel.versions[item.type];
      if (vs !== undefined && !vs.includes(item.version as number)) return false;
    }
    return true;
  }

  private pathFor(shape: Shape): CompiledPath | DivanError {
    const key = shapeKey(shape);
    const hit = this.paths.get(key);
    if (hit !== undefined) return hit;
    let p: CompiledPath | DivanError;
    const plan = this.o.plan;
    if ("path" in plan) {
      p =
        shapeKey(plan.path.from) === key
          ? plan.path
          : new DivanError("NO_PATH", `not at the path's source shape ${shapeKey(plan.path.from)}`, { details: { shape } });
    } else {
      try {
        p = plan.graph.path(shape, this.to);
      } catch (e) {
        if (!isDivanError(e)) throw e;
        p = e;
      }
    }
    this.paths.set(key, p);
    return p;
  }

  /**
   * Ids of the documents that may belong to an entity's source shape besides those in hand: for every graph shape
   * holding one of the entity's documents (type and version), the ids of its other types.
   */
  private siblingIds(entityId: string, items: readonly Item[], present: ReadonlySet<string>): string[] {
    const plan = this.o.plan;
    if (!("graph" in plan)) return [];
    const out = new Set<string>();
    for (const it of items) {
      for (const shape of this.shapesWith(it.type!, it.version as number)) {
        for (const [t, v] of Object.entries(shape)) {
          if (t === it.type) continue;
          const id = this.ids.format(t, entityId, v);
          if (!present.has(id)) out.add(id);
        }
      }
    }
    return [...out];
  }

  private shapeIndex: Map<string, Shape[]> | undefined;
  private shapesWith(type: string, version: number): Shape[] {
    const plan = this.o.plan;
    if (!("graph" in plan)) return [];
    if (this.shapeIndex === undefined) {
      this.shapeIndex = new Map();
      for (const s of plan.graph.shapes()) {
        if (Object.keys(s).length < 2) continue;
        for (const [t, v] of Object.entries(s)) {
          const k = `${t}@${v}`;
          const list = this.shapeIndex.get(k) ?? [];
          list.push(s);
          this.shapeIndex.set(k, list);
        }
      }
    }
    return this.shapeIndex.get(`${type}@${version}`) ?? [];
  }

  /** Sorts one document into the batch: an entity's member, a copy, a deletion, or a result right away. */
  private classify(doc: Doc, batch: Batch): void {
    const copy = !this.inPlace;
    this.totals.read++;
    const rawType = doc[this.typeField];
    const item: Item = { doc, type: typeof rawType === "string" ? rawType : undefined, version: doc[this.versionField] };
    if (doc._deleted === true) {
      const parsed = this.ids.parse(doc._id);
      if (copy && parsed !== undefined && this.known.has(parsed.type)) batch.deletions.push({ item, entityId: parsed.entityId, type: parsed.type });
      else if (copy) batch.copies.push(item);
      else this.skip(item, "tombstone");
      return;
    }
    if ((doc._conflicts ?? []).length > 0) batch.conflicted.push(item);
    if (item.type === undefined || !this.known.has(item.type) || !this.selected(item)) {
      if (copy) batch.copies.push(item);
      else this.skip(item, item.type === undefined ? "no type" : this.known.has(item.type) ? "not selected" : `unknown type ${item.type}`);
      return;
    }
    if (typeof item.version !== "number" || !Number.isInteger(item.version)) {
      this.quarantineItem(item, "SCHEMA_INVALID", `${this.versionField} must be an integer, got ${JSON.stringify(item.version) ?? "nothing"}`);
      if (copy) batch.copies.push(item);
      return;
    }
    const parsed = this.ids.parse(doc._id);
    if (parsed === undefined || parsed.type !== item.type) {
      this.quarantineItem(item, "BAD_REQUEST", `id ${doc._id} does not follow the ${this.ids.name} id scheme for type ${item.type}`);
      if (copy) batch.copies.push(item);
      return;
    }
    const key = parsed.entityId === undefined ? `s:${doc._id}` : `e:${parsed.entityId}`;
    let e = batch.entities.get(key);
    if (e === undefined) batch.entities.set(key, (e = { entityId: parsed.entityId, items: [] }));
    e.items.push(item);
  }

  /**
   * Why translating `job` and back does not give its input back, or `undefined` when it does. Up a path the lens
   * law `down(up(x)) = x` must hold for every attribute; down a path (where a newer version's attributes are
   * dropped by design), attributes the input's schema does not name must survive `up(down(y))`.
   */
  private lostInTranslation(job: Job): string | undefined {
    const plan = this.o.plan;
    if (!("graph" in plan) || job.out === undefined || job.path === undefined) return undefined;
    const direction = job.path.direction;
    if (direction === "identity") return undefined;
    const registry = this.o.verify;
    if (direction !== "up" && registry === undefined) return undefined;
    const outShape: Shape = {};
    const live: Entity = {};
    for (const [t, d] of Object.entries(job.out)) {
      if (d._deleted === true) continue;
      outShape[t] = d[this.versionField] as number;
      live[t] = d;
    }
    let back: Entity;
    try {
      back = plan.graph.path(outShape, job.path.from)(live);
    } catch (e) {
      if (!isDivanError(e)) throw e;
      return `it cannot be translated back from ${shapeKey(outShape)} (${e.message}), so the translation may lose information`;
    }
    for (const [t, d] of Object.entries(job.input)) {
      const b = back[t];
      const fields =
        direction === "up"
          ? [...new Set([...Object.keys(d), ...Object.keys(b ?? {})])].filter((f) => !REVISION_FIELDS.has(f))
          : Object.keys(d).filter((f) => !f.startsWith("_") && !namedBy(registry!, t, d[this.versionField], f));
      for (const f of fields) {
        const was = d[f];
        const back = b?.[f];
        // Most attributes come back as the very same value: compare their canonical JSON only when they differ.
        if (was !== back && canonicalJson(was) !== canonicalJson(back)) {
          return `${d._id}: its attribute "${f}" (${preview(was)}) does not come back when the translation to ${shapeKey(outShape)} is translated back (${preview(back)}); the steps drop or overwrite it`;
        }
      }
    }
    return undefined;
  }

  /** Translates and writes one batch of source documents (a scan page, a `_changes` batch or quarantined documents tried again). */
  private async process(docs: readonly Doc[], mode: "scan" | "dirty"): Promise<void> {
    const ids = this.ids;
    const copy = !this.inPlace;
    const batch: Batch = { entities: new Map(), copies: [], deletions: [], conflicted: [] };
    const { entities, copies, deletions } = batch;
    let seen = 0;
    const present = new Set<string>();
    for (const doc of docs) {
      present.add(doc._id);
      if (mode === "scan" && this.claimed.delete(doc._id)) continue; // handled (and counted) with its entity on an earlier page
      seen++;
      if (doc._id.startsWith("_design/") || doc._id.startsWith("_local/")) continue;
      this.classify(doc, batch);
    }

    // An entity's documents not in this batch (before any await, so later pages see the claims).
    const siblings = new Set<string>();
    for (const e of entities.values()) if (e.entityId !== undefined) for (const id of this.siblingIds(e.entityId, e.items, present)) siblings.add(id);
    if (mode === "scan") for (const id of siblings) this.claimed.add(id);
    if (siblings.size > 0) {
      for (const row of await this.rowsOf(this.src, siblings, true)) {
        if (row.value?.deleted === true || row.doc === undefined || row.doc === null) continue;
        seen++;
        this.classify(row.doc, batch);
      }
    }

    // Entities: split into input (not at target) and base (at target); translate without the stored siblings first.
    const jobs: Job[] = [];
    for (const { entityId, items } of entities.values()) {
      const input: Entity = {};
      const base: Entity = {};
      const inputItems: Item[] = [];
      for (const it of items) {
        const t = it.type!;
        const slot = this.to[t] === it.version ? base : input;
        if (slot[t] !== undefined || (slot === input ? base[t] : input[t]) !== undefined) {
          this.quarantineItem(it, "BAD_REQUEST", `entity ${entityId ?? it.doc._id} has two ${t} documents`);
          if (copy) copies.push(it);
          continue;
        }
        slot[t] = it.doc;
        if (slot === input) inputItems.push(it);
      }
      const remaining = items.filter((it) => input[it.type!] === it.doc || base[it.type!] === it.doc);
      if (inputItems.length === 0) {
        for (const it of remaining) {
          if (copy) copies.push(it);
          else this.skip(it, "already at the target version");
        }
        continue;
      }
      const shape: Shape = {};
      for (const it of inputItems) shape[it.type!] = it.version as number;
      let path = this.pathFor(shape);
      if (path instanceof DivanError && path.code === "NO_PATH" && Object.keys(base).length > 0) {
        // A step may take along a document its target keeps at the same version (`{ a: 3, b: 1 }` → `{ a: 4, b: 1 }`):
        // then the source shape is the whole entity, the documents already at the target included.
        const whole: Shape = { ...shape };
        for (const t of Object.keys(base)) whole[t] = this.to[t]!;
        const wholePath = this.pathFor(whole);
        if (!(wholePath instanceof DivanError)) {
          path = wholePath;
          for (const t of Object.keys(base)) {
            input[t] = base[t]!;
            delete base[t];
          }
        }
      }
      if (path instanceof DivanError) {
        for (const it of remaining) {
          if ("path" in this.o.plan && path.code === "NO_PATH") {
            if (copy) copies.push(it);
            else this.skip(it, path.message);
          } else {
            this.quarantineItem(it, path.code, path.message);
            if (copy) copies.push(it);
          }
        }
        continue;
      }
      jobs.push({ entityId, items: remaining, input, base, path, out: undefined });
    }

    // Losing revisions, read before anything is translated: an entity one of them cannot follow is left as it is.
    const losers = await this.losersOf(batch.conflicted);
    for (const leaves of losers.values()) this.totals.conflicts += leaves.length;
    const kept = jobs.filter((job) => this.conflictedEntity(job, losers, copies));
    jobs.splice(0, jobs.length, ...kept);

    const translate = (job: Job): void => {
      try {
        job.out = job.path!(job.input, Object.keys(job.base).length > 0 ? { base: job.base } : undefined);
      } catch (e) {
        if (!isDivanError(e)) throw e;
        job.out = undefined;
        for (const it of job.items) {
          this.quarantineItem(it, e.code, e.message);
          if (copy) copies.push(it);
        }
      }
    };
    if (!copy) await this.ancestorBases(jobs);
    for (const job of jobs) translate(job);

    // The stored documents every output (and every copy / deletion) will replace.
    const inBatch = new Map<string, Doc>();
    if (!copy) for (const e of entities.values()) for (const it of e.items) inBatch.set(it.doc._id, it.doc);
    const wanted = new Set<string>();
    for (const job of jobs) for (const d of Object.values(job.out ?? {})) if (typeof d._id === "string" && !inBatch.has(d._id)) wanted.add(d._id);
    if (copy) {
      for (const it of copies) wanted.add(it.doc._id);
      for (const del of deletions) {
        wanted.add(del.item.doc._id);
        for (const t of this.families.get(del.type) ?? []) if (this.to[t] !== undefined) wanted.add(ids.format(t, del.entityId, this.to[t]!));
      }
    }
    const stored = new Map<string, Doc>();
    const storedRev = new Map<string, string>();
    if (wanted.size > 0) {
      for (const row of await this.rowsOf(this.dst, wanted, false)) {
        if (row.error !== undefined || row.value === undefined || row.value.deleted === true) continue;
        storedRev.set(row.id, row.value.rev);
        if (row.doc !== undefined && row.doc !== null) stored.set(row.id, row.doc);
      }
    }
    const current = (id: string): Doc | undefined => (copy ? stored.get(id) : (inBatch.get(id) ?? stored.get(id)));

    // Retranslate with the stored target documents as base (keeps what the source version cannot represent).
    for (const job of jobs) {
      if (job.out === undefined) continue;
      let extra = false;
      const base: Entity = copy ? {} : { ...job.base };
      for (const [t, d] of Object.entries(job.out)) {
        const s = typeof d._id === "string" ? stored.get(d._id) : undefined;
        if (s !== undefined && s[this.versionField] === this.to[t] && s[this.typeField] === t && base[t] === undefined) {
          base[t] = s;
          extra = true;
        }
      }
      if (copy) for (const [t, d] of Object.entries(job.base)) base[t] = d; // the source's own target-version docs win
      if (extra) {
        job.base = base;
        translate(job);
      }
    }

    // Attachments of translated documents go into a copy inline (the target has no revision holding them).
    const inline = copy ? await this.inlineAttachments(jobs) : new Map<string, Record<string, unknown>>();

    // Plan the writes.
    const writes: Write[] = [];
    const entityResults: { job: Job; writes: Write[] }[] = [];
    for (const job of jobs) {
      if (job.out === undefined) continue;
      const problem = this.verifyEntity(job.out);
      const lost = problem === undefined ? this.lostInTranslation(job) : undefined;
      if (problem !== undefined || lost !== undefined) {
        for (const it of job.items) {
          this.quarantineItem(it, problem !== undefined ? "SCHEMA_INVALID" : "STEP_FAILED", problem ?? lost!);
          if (copy) copies.push(it);
        }
        continue;
      }
      const mine: Write[] = [];
      const outIds = new Set<string>();
      for (const d of Object.values(job.out)) {
        if (typeof d._id !== "string") continue;
        outIds.add(d._id);
        const doc = { ...d } as Doc;
        const cur = current(doc._id);
        const rev = copy ? storedRev.get(doc._id) : (cur?._rev ?? doc._rev);
        if (rev === undefined) delete doc._rev;
        else doc._rev = rev;
        delete doc._conflicts;
        if (copy && doc._attachments !== undefined) doc._attachments = withInlineData(doc._attachments, inline);
        if (doc._deleted === true && cur === undefined) continue; // nothing to delete
        if (cur !== undefined && cur._deleted !== true && sameContent(cur, doc) && !(copy && cur._attachments !== undefined)) continue;
        if (!copy && doc._deleted === true && inBatch.get(doc._id)?._deleted === true) continue;
        mine.push({ doc, sources: job.items });
      }
      if (!copy) {
        // In place, input documents the output no longer has (an N→1 merge, a down path) are deleted.
        for (const d of Object.values(job.input)) {
          if (typeof d._id === "string" && typeof d._rev === "string" && !outIds.has(d._id)) {
            mine.push({ doc: { _id: d._id, _rev: d._rev, _deleted: true }, sources: job.items });
          }
        }
      }
      writes.push(...mine);
      entityResults.push({ job, writes: mine });
    }
    if (copy) {
      for (const del of deletions) {
        const targets = new Set<string>([del.item.doc._id]);
        for (const t of this.families.get(del.type) ?? []) if (this.to[t] !== undefined) targets.add(ids.format(t, del.entityId, this.to[t]!));
        let n = 0;
        for (const id of targets) {
          const rev = storedRev.get(id);
          if (rev === undefined) continue;
          writes.push({ doc: { _id: id, _rev: rev, _deleted: true }, sources: [del.item] });
          n++;
        }
        this.result({ status: n > 0 ? "migrated" : "skipped", id: del.item.doc._id, ...revOf(del.item.doc), ...(n > 0 ? { written: [...targets] } : { reason: "tombstone of a document the target does not have" }) } as DocumentResult);
      }
    }

    // Write.
    const outcome = new Map<Write, WriteResult>();
    if (this.o.dryRun !== true && writes.length > 0) {
      // A page's writes go in one request (a 1→2 split writes twice the page), bounded for huge fan-outs.
      const perRequest = this.batchSize * WRITE_FANOUT;
      for (let i = 0; i < writes.length; i += perRequest) {
        const chunk = writes.length <= perRequest ? writes : writes.slice(i, i + perRequest);
        const det = this.o.deterministicRevs === true;
        const payload = chunk.map((w) => {
          if (det && w.doc._attachments === undefined) w.doc = withDeterministicRev(w.doc);
          return w.doc;
        });
        let results: WriteResult[];
        if (det) {
          const plain = payload.filter((d) => d._revisions === undefined);
          const fixed = payload.filter((d) => d._revisions !== undefined);
          const r1 = fixed.length > 0 ? await this.retry(() => this.dst.bulkDocs(fixed, { newEdits: false })) : [];
          const r2 = plain.length > 0 ? await this.retry(() => this.dst.bulkDocs(plain)) : [];
          const byDoc = new Map<Doc, WriteResult>();
          fixed.forEach((d, j) => byDoc.set(d, r1[j]!));
          plain.forEach((d, j) => byDoc.set(d, r2[j]!));
          results = payload.map((d) => byDoc.get(d)!);
        } else {
          results = await this.retry(() => this.dst.bulkDocs(payload));
        }
        chunk.forEach((w, j) => {
          const r = results[j];
          if (r === undefined) return;
          outcome.set(w, r);
          if (r.ok) {
            this.totals.written++;
            // Remembered only for the dirty pass, which skips the run's own writes.
            if (this.inPlace && this.o.followChanges !== false) this.own.add(`${r.id}@${r.rev}`);
          }
        });
      }
    } else if (this.o.dryRun === true) {
      this.totals.written += writes.length;
    }

    // Per-document results.
    const failed = async (ws: readonly Write[]): Promise<{ conflict?: Doc | null; error?: { code: string; reason: string } } | undefined> => {
      for (const w of ws) {
        const r = outcome.get(w);
        if (r === undefined || r.ok) continue;
        if (r.error.code === "CONFLICT") return { conflict: await this.storedOrNull(w.doc._id) };
        return { error: r.error };
      }
      return undefined;
    };
    for (const { job, writes: ws } of entityResults) {
      const f = await failed(ws);
      const writtenIds = new Set(ws.map((w) => w.doc._id));
      for (const it of job.items) {
        const isInput = job.input[it.type!] === it.doc;
        if (f === undefined) {
          if (!isInput && !writtenIds.has(it.doc._id)) this.skip(it, "already at the target version (used as the translation's base)");
          else if (ws.length === 0) this.skip(it, "the target already has this content");
          else this.result({ status: "migrated", id: it.doc._id, ...revOf(it.doc), written: ws.map((w) => w.doc._id) });
        } else if (f.error !== undefined) {
          this.quarantineItem(it, f.error.code, `the target refused the write: ${f.error.reason}`);
          if (copy) copies.push(it);
        } else {
          this.result({ status: "conflict", id: it.doc._id, ...revOf(it.doc), current: f.conflict ?? undefined });
        }
      }
    }
    if (copy) await this.carry(copies, storedRev);
    await this.losingRevisions(losers, new Set(copies));

    this.done += seen;
    if (this.done > this.total) this.total = this.done;
    if (this.has("progress")) {
      const secs = Math.max(0.001, (this.now() - this.started) / 1000);
      const rate = this.done / secs;
      this.emit("progress", { done: this.done, total: this.total, rate, eta: rate > 0 ? (this.total - this.done) / rate : Infinity, phase: this.phase });
    }
  }

  /** The stored document `id` of the target, or `null` when there is none. */
  private async storedOrNull(id: string): Promise<Doc | null> {
    try {
      return await this.dst.get(id);
    } catch (e) {
      if (isDivanError(e, "NOT_FOUND")) return null;
      throw e;
    }
  }

  /**
   * Copy mode: carries documents into the target unchanged, as replication would: every leaf revision (the
   * winner and the losing ones) with its revision history and attachment bodies, written with `new_edits: false`.
   * A document the target has at the same revision, without conflicts, is not written again.
   */
  private async carry(items: readonly Item[], storedRev: ReadonlyMap<string, string>): Promise<void> {
    const pending: Item[] = [];
    for (const it of items) {
      const conflicts = it.doc._conflicts ?? [];
      if (it.doc._deleted === true && !storedRev.has(it.doc._id)) continue; // a tombstone of a document the target does not have
      if (storedRev.get(it.doc._id) === it.doc._rev && conflicts.length === 0) {
        this.result({ status: "copied", id: it.doc._id, ...revOf(it.doc) });
        continue;
      }
      pending.push(it);
    }
    if (pending.length === 0) return;
    const requests = pending.flatMap((it) => [it.doc._rev, ...(it.doc._conflicts ?? [])].filter((r): r is string => r !== undefined).map((rev) => ({ id: it.doc._id, rev })));
    const got = await this.retry(() => this.src.bulkGet(requests, { revs: true, attachments: true }));
    const byId = new Map<string, Doc[]>();
    for (const r of got) {
      if (!("ok" in r)) continue;
      const { _conflicts, ...doc } = r.ok;
      void _conflicts;
      const list = byId.get(doc._id) ?? [];
      list.push(doc as Doc);
      byId.set(doc._id, list);
    }
    const payload = pending.flatMap((it) => byId.get(it.doc._id) ?? []);
    const results = this.o.dryRun === true || payload.length === 0 ? [] : await this.retry(() => this.dst.bulkDocs(payload, { newEdits: false }));
    const refused = new Map<string, { code: string; reason: string }>();
    results.forEach((r) => {
      if (r.ok) this.totals.written++;
      else refused.set(r.id, r.error);
    });
    if (this.o.dryRun === true) this.totals.written += payload.length;
    for (const it of pending) {
      const err = refused.get(it.doc._id);
      if (err !== undefined) this.quarantineItem(it, err.code, `the target refused the copy: ${err.reason}`);
      else if (!byId.has(it.doc._id)) this.quarantineItem(it, "NOT_FOUND", `${it.doc._id}@${it.doc._rev ?? "?"} could not be read again to copy it (changed meanwhile; the dirty pass copies the new revision)`);
      else this.result({ status: "copied", id: it.doc._id, ...revOf(it.doc) });
    }
  }

  /** Copy mode: the attachment bodies (base64) of translated documents' inputs, by digest. */
  private async inlineAttachments(jobs: readonly Job[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const requests: { id: string; rev: string }[] = [];
    for (const job of jobs) {
      for (const d of Object.values(job.input)) {
        if (d._attachments !== undefined && typeof d._id === "string" && typeof d._rev === "string") requests.push({ id: d._id, rev: d._rev });
      }
    }
    if (requests.length === 0) return out;
    for (const r of await this.retry(() => this.src.bulkGet(requests, { attachments: true }))) {
      if (!("ok" in r)) continue;
      for (const att of Object.values(r.ok._attachments ?? {})) {
        const a = att as Record<string, unknown>;
        if (typeof a["digest"] === "string" && typeof a["data"] === "string") out.set(a["digest"], a);
      }
    }
    return out;
  }

  /** The losing (non-deleted) revisions of conflicted documents, read from the source; one gone meanwhile is left out. */
  private async losersOf(items: readonly Item[]): Promise<Map<Item, Item[]>> {
    const out = new Map<Item, Item[]>();
    const requests: { item: Item; id: string; rev: string }[] = [];
    for (const it of items) for (const rev of it.doc._conflicts ?? []) requests.push({ item: it, id: it.doc._id, rev });
    if (requests.length === 0) return out;
    const got = await this.retry(() => this.src.bulkGet(requests.map(({ id, rev }) => ({ id, rev }))));
    got.forEach((r, i) => {
      const { item } = requests[i]!;
      const list = out.get(item) ?? [];
      out.set(item, list);
      if (!("ok" in r)) return;
      const rawType = r.ok[this.typeField];
      list.push({ doc: r.ok, type: typeof rawType === "string" ? rawType : undefined, version: r.ok[this.versionField] });
    });
    return out;
  }

  /**
   * In place: how one losing revision is migrated on its own branch: the write (its translation, as the revision's
   * child), nothing to do (`skip`), or why it cannot be (`problem`): only a revision that translates into exactly one
   * document with its own id, valid and with nothing lost, can.
   */
  private planLeaf(leaf: Item): { doc: Doc } | { skip: string } | { problem: { code: string; reason: string } } {
    const { doc, type, version } = leaf;
    if (doc._deleted === true || type === undefined || !this.known.has(type) || !this.selected(leaf)) {
      return { skip: "a losing revision divan does not migrate (deleted, unknown type or not selected)" };
    }
    if (this.to[type] === version) return { skip: "a losing revision already at the target version" };
    if (typeof version !== "number" || !Number.isInteger(version)) {
      return { problem: { code: "SCHEMA_INVALID", reason: `${this.versionField} must be an integer, got ${JSON.stringify(version) ?? "nothing"}` } };
    }
    const path = this.pathFor({ [type]: version });
    if (path instanceof DivanError) {
      return "path" in this.o.plan && path.code === "NO_PATH" ? { skip: path.message } : { problem: { code: path.code, reason: path.message } };
    }
    const job: Job = { entityId: undefined, items: [leaf], input: { [type]: doc }, base: {}, path, out: undefined };
    try {
      job.out = path({ [type]: doc });
    } catch (e) {
      if (!isDivanError(e)) throw e;
      return { problem: { code: e.code, reason: e.message } };
    }
    const outs = Object.values(job.out).filter((d) => d._deleted !== true);
    if (outs.length !== 1 || outs[0]!._id !== doc._id) {
      return {
        problem: {
          code: "CONFLICT",
          reason: `its translation writes ${outs.map((d) => d._id).join(", ")}: only a losing revision that translates into itself can be migrated on its own branch`,
        },
      };
    }
    const invalid = this.verifyEntity(job.out);
    const lost = invalid === undefined ? this.lostInTranslation(job) : undefined;
    if (invalid !== undefined || lost !== undefined) return { problem: { code: invalid !== undefined ? "SCHEMA_INVALID" : "STEP_FAILED", reason: (invalid ?? lost)! } };
    const { _conflicts, _revisions, ...out } = outs[0]!;
    void _conflicts;
    void _revisions;
    return { doc: { ...out, _id: doc._id, _rev: doc._rev! } as Doc };
  }

  /**
   * Results (and, in place, writes) for the losing revisions of documents whose entity was not left as it is:
   * carried into a copy with their document, or migrated on their own branch in place (or skipped, or quarantined).
   */
  private async losingRevisions(losers: ReadonlyMap<Item, readonly Item[]>, carried: ReadonlySet<Item>): Promise<void> {
    const writes: { leaf: Item; doc: Doc }[] = [];
    for (const [item, leaves] of losers) {
      for (const leaf of leaves) {
        if (!this.inPlace) {
          if (carried.has(item)) this.result({ status: "copied", id: leaf.doc._id, ...revOf(leaf.doc) });
          continue;
        }
        const plan = this.planLeaf(leaf);
        if ("doc" in plan) writes.push({ leaf, doc: plan.doc });
        else if ("skip" in plan) this.skip(leaf, plan.skip);
        else this.quarantineItem(leaf, plan.problem.code, `a losing revision of a conflicted document: ${plan.problem.reason}; resolve the conflict, then run again`);
      }
    }
    if (writes.length === 0) return;
    const results = this.o.dryRun === true ? writes.map((w) => ({ id: w.doc._id, ok: true as const, rev: "" })) : await this.retry(() => this.dst.bulkDocs(writes.map((w) => w.doc)));
    writes.forEach(({ leaf, doc }, i) => {
      const r = results[i];
      if (r?.ok === true) {
        this.totals.written++;
        if (this.o.followChanges !== false && this.o.dryRun !== true) this.own.add(`${r.id}@${r.rev}`);
        this.result({ status: "migrated", id: leaf.doc._id, ...revOf(leaf.doc), written: [doc._id] });
      } else if (r !== undefined && r.error.code === "CONFLICT") {
        this.result({ status: "conflict", id: leaf.doc._id, ...revOf(leaf.doc), current: undefined });
      } else {
        this.quarantineItem(leaf, r?.error.code ?? "INTERNAL", `the target refused the write of the losing revision's translation: ${r?.error.reason ?? "no result"}`);
      }
    });
  }

  /**
   * Whether an entity with conflicted documents is translated: in a copy never (it is carried unchanged, every leaf,
   * and quarantined); in place only when every losing revision can be migrated on its own branch, else every
   * document and losing revision of it is left as it is and quarantined (`CONFLICT`), so a winner-only translation
   * never changes documents a losing revision's entity shares. Returns false when the entity is left.
   */
  private conflictedEntity(job: Job, losers: Map<Item, Item[]>, copies: Item[]): boolean {
    const conflicted = job.items.filter((it) => losers.has(it));
    if (conflicted.length === 0) return true;
    let problem: string | undefined;
    if (!this.inPlace) {
      problem = "a copy holds one translation per document, and a losing revision would be dropped: it is carried unchanged with every leaf";
    } else {
      for (const it of conflicted) {
        for (const leaf of losers.get(it)!) {
          const plan = this.planLeaf(leaf);
          if ("problem" in plan) problem ??= `its losing revision ${leaf.doc._id}@${leaf.doc._rev ?? "?"} cannot be migrated (${plan.problem.reason})`;
        }
      }
    }
    if (problem === undefined) return true;
    for (const it of job.items) {
      this.quarantineItem(it, "CONFLICT", `left as it is with its entity's conflicted documents: ${problem}; resolve the conflict, then run again`);
      if (!this.inPlace) copies.push(it);
    }
    if (this.inPlace) {
      for (const it of conflicted) {
        for (const leaf of losers.get(it)!) this.quarantineItem(leaf, "CONFLICT", `a losing revision left as it is with its entity: ${problem}; resolve the conflict, then run again`);
        losers.delete(it);
      }
    }
    return false;
  }

  /**
   * The current rows (with documents) of `ids` in `store`. Ids sharing a prefix (`<type>:`) are asked for as
   * one `_all_docs` key range rather than as `keys`: a range answers for every id in it, present or not, in
   * one index seek, where `keys` costs a lookup per id (and, on PouchDB, a query per id) although on a fresh
   * copy target or for siblings that do not exist every one of them misses. A range holding many documents
   * that were not asked for is cut off by a limit and the rest asked for by `keys`; small groups go by `keys`.
   * Either way it is one read at one moment, like a single `keys` request.
   */
  private async rowsOf(store: DocumentStore, ids: ReadonlySet<string>, conflicts: boolean): Promise<AllDocsRow[]> {
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const colon = id.indexOf(":");
      const prefix = colon < 0 ? id : id.slice(0, colon + 1);
      let g = groups.get(prefix);
      if (g === undefined) groups.set(prefix, (g = []));
      g.push(id);
    }
    const byKeys: string[] = [];
    const ranges: string[][] = [];
    for (const g of groups.values()) {
      if (g.length >= RANGE_MIN_IDS) ranges.push(g);
      else byKeys.push(...g);
    }
    const rows: AllDocsRow[] = [];
    const extra = conflicts ? { conflicts: true } : {};
    const keysQuery = async (keys: string[]): Promise<void> => {
      if (keys.length === 0) return;
      const page = await this.retry(() => store.allDocs({ keys, includeDocs: true, ...extra }));
      for (const row of page.rows) if (row.error === undefined && row.value !== undefined) rows.push(row);
    };
    const rangeQuery = async (group: string[]): Promise<void> => {
      group.sort();
      const first = group[0]!;
      const last = group[group.length - 1]!;
      const limit = group.length * 2 + RANGE_MIN_IDS;
      const page = await this.retry(() => store.allDocs({ startkey: first, endkey: last, limit, includeDocs: true, ...extra }));
      for (const row of page.rows) if (ids.has(row.id) && row.value !== undefined) rows.push(row);
      if (page.rows.length >= limit) {
        // Cut off: ask for the ids after the last row by key.
        const seen = page.rows[page.rows.length - 1]!.id;
        await keysQuery(group.filter((id) => id > seen));
      }
    };
    await Promise.all([keysQuery(byKeys), ...ranges.map(rangeQuery)]);
    return rows;
  }

  /**
   * In place, an old app that edits a migrated document overwrites it with its old version: the target-version
   * revision it replaced is still in the revision history. Use the nearest such ancestor (up to 5 back) as the
   * translation's base for its type, so fields the old version cannot represent (a group, a blocked status) survive.
   * Compacted revisions are simply not found.
   */
  private async ancestorBases(jobs: readonly { input: Entity; base: Entity }[]): Promise<void> {
    const wanted: { job: { input: Entity; base: Entity }; type: string; doc: Doc }[] = [];
    for (const job of jobs) {
      for (const [t, d] of Object.entries(job.input)) {
        if (job.base[t] !== undefined || this.to[t] === undefined || typeof d._rev !== "string" || typeof d._id !== "string") continue;
        if (Number.parseInt(d._rev, 10) >= 2) wanted.push({ job, type: t, doc: d as Doc });
      }
    }
    if (wanted.length === 0) return;
    const withRevs = await this.retry(() => this.src.bulkGet(wanted.map((w) => ({ id: w.doc._id, rev: w.doc._rev! })), { revs: true }));
    const requests: { id: string; rev: string }[] = [];
    const ancestors = new Map<string, string[]>();
    withRevs.forEach((r, i) => {
      if (!("ok" in r)) return;
      const revs = r.ok._revisions;
      if (revs === undefined) return;
      const list: string[] = [];
      for (let k = 1; k < Math.min(revs.ids.length, 6); k++) list.push(`${revs.start - k}-${revs.ids[k]!}`);
      ancestors.set(wanted[i]!.doc._id, list);
      for (const rev of list) requests.push({ id: wanted[i]!.doc._id, rev });
    });
    if (requests.length === 0) return;
    const old = await this.retry(() => this.src.bulkGet(requests));
    const byRev = new Map<string, Doc>();
    for (const r of old) if ("ok" in r && r.ok._deleted !== true) byRev.set(`${r.ok._id}@${r.ok._rev ?? ""}`, r.ok);
    for (const w of wanted) {
      for (const rev of ancestors.get(w.doc._id) ?? []) {
        const a = byRev.get(`${w.doc._id}@${rev}`);
        if (a !== undefined && a[this.typeField] === w.type && a[this.versionField] === this.to[w.type]) {
          const { _rev, _revisions, ...content } = a;
          void _rev;
          void _revisions;
          w.job.base[w.type] = content as Doc;
          break;
        }
      }
    }
  }

  /** `undefined` when every output document is valid at its version (or no registry was given), else why not. */
  private verifyEntity(out: Entity): string | undefined {
    const registry = this.o.verify;
    if (registry === undefined) return undefined;
    for (const d of Object.values(out)) {
      if (d._deleted === true) continue;
      const r = registry.validate(d);
      if (!r.ok) {
        const issues = r.errors.map((e) => `${e.pointer || "/"} ${e.message}`).join("; ");
        return `${String(d._id)} is not valid ${r.type ?? "?"}@${String(r.version ?? "?")} after translation: ${issues || r.code}`;
      }
    }
    return undefined;
  }
}

/** Top-level fields that are revision metadata, not content. */
const REVISION_FIELDS: ReadonlySet<string> = new Set(["_rev", "_revisions", "_conflicts"]);

/** True when the schema of `type@version` names attribute `field` (so a step may own it). */
function namedBy(registry: NonNullable<MigrationOptions["verify"]>, type: string, version: unknown, field: string): boolean {
  if (typeof version !== "number" || !registry.has(type, version)) return false;
  const props = (registry.schema(type, version).schema as { properties?: Record<string, unknown> }).properties;
  return props !== undefined && Object.prototype.hasOwnProperty.call(props, field);
}

/** A short JSON preview of a value for messages. */
function preview(v: unknown): string {
  if (v === undefined) return "absent";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Attachments with stubs replaced by the inline bodies of the same digest. */
function withInlineData(atts: Record<string, unknown>, inline: ReadonlyMap<string, Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, att] of Object.entries(atts)) {
    const a = att as Record<string, unknown>;
    const body = typeof a["digest"] === "string" ? inline.get(a["digest"]) : undefined;
    out[name] = body === undefined ? a : { content_type: body["content_type"], data: body["data"] };
  }
  return out;
}

function revOf(doc: Doc): { rev?: string } {
  return typeof doc._rev === "string" ? { rev: doc._rev } : {};
}

/** Creates a migration run; subscribe to its events, then call `run()`. */
export function createMigration(options: MigrationOptions): Migration {
  return new Migration(options);
}

/** Runs a migration to the end and resolves with its report. See {@link Migration}. */
export function runMigration(options: MigrationOptions): Promise<MigrationReport> {
  return new Migration(options).run();
}
