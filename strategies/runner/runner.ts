/**
 * The eager migration runner (DESIGN §5, issue 7), shared by every eager strategy and by
 * `divan/client`'s `migrateLocal`. Browser-safe: no Node built-ins.
 *
 * ## What a run does
 * 1. Takes the lease (`_local/divan-lease-<id>` on the target; `LEASE_HELD` if another owner holds it).
 * 2. **Scan**: pages through the source's `_all_docs` (with documents) in id order, groups each page's
 *    documents by entity id, translates whole entities through the plan, and writes them to the target
 *    with `_bulk_docs`. Sibling documents of an entity that are not on the page (e.g. `todo-item-status:<id>`,
 *    which sorts before `todo-item:<id>`) and the target's current documents are fetched with one
 *    `_all_docs?keys=…` request per page and used as the translation's base (no information loss) and
 *    for revisions. Pages are read ahead while earlier pages are written (`concurrency` pages in flight).
 * 3. **Checkpoint**: after every contiguous run of written pages, `_local/divan-migration-<id>` on the
 *    target (versioned `{ v: 1, … }`, 409-retry) records the last `_all_docs` key done, so a killed run
 *    resumes there. Rewriting a page again is harmless: an output equal to the stored document is not written.
 * 4. **Dirty re-migration**: remembers the source `update_seq` at the very first start; after the scan,
 *    follows `_changes` since then and migrates every changed document again until a page comes back
 *    empty (caught up). In place, the runner's own writes (id@rev) are ignored.
 *
 * ## Per-document outcomes (never a throw for one bad document)
 * - `migrated`: translated and written (or, in a dry run, would be).
 * - `copied`: copy mode (target ≠ source): a document already at the target version, or one the plan does
 *   not know (unknown type, unselected), copied unchanged so the new database loses nothing.
 * - `skipped`: in place: already at the target version, unknown type, unselected, a tombstone, or a
 *   document not at a fixed path's source shape; also any output identical to the stored document.
 * - `quarantined`: malformed (version not a number, id not `<type>:<entityId>`), translation failed, invalid
 *   at the target version (`verify`), or refused by the target (`FORBIDDEN`, `BAD_REQUEST`). Recorded (id, rev,
 *   type, version, code, reason) in `_local/divan-quarantine-<id>` on the source; the original is left where it
 *   was (in copy mode it is also copied unchanged, so switching to the target loses nothing).
 * - `conflict`: the stored document changed between read and write; carries the current document. The
 *   dirty pass migrates it again (the concurrent write is in `_changes`).
 *
 * Design and `_local` documents are never touched. Tombstones: in place they are left as they are; in copy
 * mode the target documents of the deleted document's entity family are deleted too.
 */
import { singleVersionIds } from "../../adapters/ids.js";
import type { CompiledPath } from "../../adapters/path.js";
import { shapeKey, type Entity, type Shape } from "../../adapters/types.js";
import { DivanError, isDivanError, messageOf } from "../../core/errors.js";
import type { AllDocsRow, Doc, DocumentStore, WriteResult } from "../../store/port.js";
import { matchesSelector } from "pouchdb-selector-core";
import { sameContent, withDeterministicRev } from "./canonical.js";
import { TypedEmitter } from "./events.js";
import { acquireLease, appendQuarantine, readCheckpoint, releaseLease, writeCheckpoint } from "./local.js";
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
/** Ids of one prefix from which the target is read by key range instead of by keys. */
const RANGE_MIN_IDS = 16;
/** Documents per `_bulk_docs` request: this many times the page size. */
const WRITE_FANOUT = 4;

function emptyTotals(): MigrationTotals {
  return { read: 0, written: 0, failed: 0, migrated: 0, copied: 0, skipped: 0, quarantined: 0, conflicts: 0 };
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
 * `to-todo-item-3-todo-item-status-1`. `divan status` finds a job by it.
 */
export function defaultMigrationId(target: Shape, source: DocumentStore, copy: boolean): string {
  return `to-${slug(shapeKey(target))}${copy ? `-from-${slug(source.name).slice(-40)}` : ""}`;
}

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
  /** The run id (checkpoint, quarantine and lease documents are named after it). */
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
  private readonly now: () => number;
  private readonly known: Set<string>;
  private readonly families: Map<string, Set<string>>;
  private readonly paths = new Map<string, CompiledPath | DivanError>();
  private readonly own = new Set<string>();
  private totals = emptyTotals();
  private readonly quarantine: QuarantineRecord[] = [];
  private readonly pendingQuarantine: QuarantineRecord[] = [];
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
    this.now = options.now ?? Date.now;
    // Types the plan knows, and entity families (types connected by a step).
    const groups: string[][] = [];
    if ("path" in options.plan) {
      groups.push([...options.plan.path.sourceTypes, ...Object.keys(options.plan.path.to)]);
    } else {
      for (const s of options.plan.graph.steps) groups.push([...Object.keys(s.from), ...Object.keys(s.to)]);
      for (const t of Object.keys(options.plan.to)) groups.push([t]);
    }
    this.families = new Map();
    for (const g of groups) {
      const merged = new Set<string>(g);
      for (const t of g) for (const u of this.families.get(t) ?? []) merged.add(u);
      for (const t of merged) this.families.set(t, merged);
    }
    this.known = new Set(this.families.keys());
  }

  /** Runs the migration to the end (or until `signal` aborts). Rejects only when the store fails for good or the lease is held. */
  async run(): Promise<MigrationReport> {
    if (this.running) throw new DivanError("CONFIG_INVALID", `migration ${this.id} is already running`);
    this.running = true;
    this.started = this.now();
    const dry = this.o.dryRun === true;
    const leaseOpts = this.o.lease === false || dry ? undefined : (this.o.lease ?? {});
    const owner = leaseOpts?.owner ?? `runner-${Math.random().toString(36).slice(2)}-${this.now().toString(36)}`;
    const ttl = leaseOpts?.ttlMs ?? DEFAULT_TTL;
    let renew: ReturnType<typeof setInterval> | undefined;
    let leaseError: unknown;
    if (leaseOpts !== undefined) {
      await acquireLease(this.dst, this.id, owner, ttl, this.now());
      renew = setInterval(() => {
        acquireLease(this.dst, this.id, owner, ttl, this.now()).catch((e: unknown) => (leaseError = e));
      }, Math.max(10, Math.floor(ttl / 3)));
    }
    try {
      const cp = this.o.restart === true || dry ? undefined : await readCheckpoint(this.dst, this.id);
      const resumed = cp !== undefined && cp.phase !== "done";
      const info = await this.retry(() => this.src.info());
      const startSeq = cp?.startSeq ?? info.updateSeq;
      this.total = info.docCount;
      const base: MigrationTotals = cp?.totals ?? emptyTotals();
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
          const page = await this.retry(() => this.src.changes({ since, limit: this.batchSize, includeDocs: true }));
          if (page.results.length === 0) break;
          const docs = new Map<string, Doc>();
          for (const c of page.results) {
            const rev = c.changes[0]?.rev ?? c.doc?._rev;
            if (this.inPlace && rev !== undefined && this.own.has(`${c.id}@${rev}`)) continue;
            docs.set(c.id, c.doc ?? { _id: c.id, ...(rev === undefined ? {} : { _rev: rev }), ...(c.deleted === true ? { _deleted: true } : {}) });
          }
          this.total += docs.size;
          await this.process([...docs.values()]);
          since = page.lastSeq;
          dirtyRounds++;
          await save({ phase: "dirty", since });
        }
      }
      if (!aborted) {
        const info2 = dry ? info : await this.retry(() => this.src.info());
        if (this.o.followChanges === false && !dry) since = info2.updateSeq;
        await save({ phase: "done", since });
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
        dirtyRounds,
        elapsedMs: this.now() - this.started,
      };
    } finally {
      if (renew !== undefined) clearInterval(renew);
      if (leaseOpts !== undefined) await releaseLease(this.dst, this.id, owner).catch(() => undefined);
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
        this.src.allDocs({ includeDocs: true, limit: this.batchSize, ...(k === undefined ? {} : { startkey: k, skip: 1 }) }),
      );
      const rows = page.rows;
      const last = rows[rows.length - 1];
      if (last === undefined) break;
      const docs: Doc[] = [];
      for (const r of rows) if (r.doc !== undefined && r.doc !== null) docs.push(r.doc);
      const task: Task = {
        done: false,
        lastKey: last.id,
        promise: this.process(docs).then(
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

  /** Calls a store operation with retry and backoff on `STORE_UNAVAILABLE` (and non-divan errors). */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    const attempts = Math.max(1, this.o.retry?.attempts ?? 5);
    let wait = this.o.retry?.backoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const retriable = !isDivanError(e) || e.code === "STORE_UNAVAILABLE";
        const error = isDivanError(e) ? e : new DivanError("STORE_UNAVAILABLE", messageOf(e), { cause: e });
        const willRetry = retriable && attempt < attempts;
        this.emit("error", { error, willRetry, attempt });
        if (!willRetry) throw error;
        await new Promise((r) => setTimeout(r, wait));
        wait *= 2;
      }
    }
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
        this.totals.conflicts++;
        break;
    }
    if (this.has("document")) this.emit("document", r);
  }

  private skip(item: Item, reason: string): void {
    this.result({ status: "skipped", id: item.doc._id, ...revOf(item.doc), reason });
  }

  private quarantineItem(item: Item, code: string, reason: string): void {
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

  private async flushQuarantine(): Promise<void> {
    if (this.pendingQuarantine.length === 0 || this.o.dryRun === true) return;
    const batch = this.pendingQuarantine.splice(0);
    await appendQuarantine(this.src, this.id, batch);
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
        p = isDivanError(e) ? e : new DivanError("NO_PATH", messageOf(e), { cause: e });
      }
    }
    this.paths.set(key, p);
    return p;
  }

  /** Translates and writes one batch of source documents (a page or a `_changes` batch). */
  private async process(docs: readonly Doc[]): Promise<void> {
    const ids = this.o.ids ?? singleVersionIds;
    const copy = !this.inPlace;
    const entities = new Map<string, { entityId: string | undefined; items: Item[] }>();
    const copies: Item[] = [];
    const deletions: { item: Item; entityId: string | undefined; type: string }[] = [];
    for (const doc of docs) {
      if (doc._id.startsWith("_design/") || doc._id.startsWith("_local/")) continue;
      this.totals.read++;
      const rawType = doc[this.typeField];
      const item: Item = { doc, type: typeof rawType === "string" ? rawType : undefined, version: doc[this.versionField] };
      if (doc._deleted === true) {
        const parsed = ids.parse(doc._id);
        if (copy && parsed !== undefined && this.known.has(parsed.type)) deletions.push({ item, entityId: parsed.entityId, type: parsed.type });
        else if (copy) copies.push(item);
        else this.skip(item, "tombstone");
        continue;
      }
      if (item.type === undefined || !this.known.has(item.type) || !this.selected(item)) {
        if (copy) copies.push(item);
        else this.skip(item, item.type === undefined ? "no type" : this.known.has(item.type) ? "not selected" : `unknown type ${item.type}`);
        continue;
      }
      if (typeof item.version !== "number" || !Number.isInteger(item.version)) {
        this.quarantineItem(item, "SCHEMA_INVALID", `${this.versionField} must be an integer, got ${JSON.stringify(item.version) ?? "nothing"}`);
        if (copy) copies.push(item);
        continue;
      }
      const parsed = ids.parse(doc._id);
      if (parsed === undefined || parsed.type !== item.type) {
        this.quarantineItem(item, "BAD_REQUEST", `id ${doc._id} does not follow the ${ids.name} id scheme for type ${item.type}`);
        if (copy) copies.push(item);
        continue;
      }
      const key = parsed.entityId === undefined ? `s:${doc._id}` : `e:${parsed.entityId}`;
      let e = entities.get(key);
      if (e === undefined) entities.set(key, (e = { entityId: parsed.entityId, items: [] }));
      e.items.push(item);
    }

    // Entities: split into input (not at target) and base (at target); translate without the stored siblings first.
    interface Job {
      readonly entityId: string | undefined;
      readonly items: Item[];
      input: Entity;
      base: Entity;
      path: CompiledPath | undefined;
      out: Entity | undefined;
    }
    const jobs: Job[] = [];
    for (const { entityId, items } of entities.values()) {
      const input: Entity = {};
      const base: Entity = {};
      const inputItems: Item[] = [];
      let bad = false;
      for (const it of items) {
        const t = it.type!;
        const slot = this.to[t] === it.version ? base : input;
        if (slot[t] !== undefined || (slot === input ? base[t] : input[t]) !== undefined) {
          this.quarantineItem(it, "BAD_REQUEST", `entity ${entityId ?? it.doc._id} has two ${t} documents`);
          if (copy) copies.push(it);
          bad = true;
          continue;
        }
        slot[t] = it.doc;
        if (slot === input) inputItems.push(it);
      }
      void bad;
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
      const path = this.pathFor(shape);
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

    const translate = (job: Job): void => {
      try {
        job.out = job.path!(job.input, Object.keys(job.base).length > 0 ? { base: job.base } : undefined);
      } catch (e) {
        job.out = undefined;
        const err = isDivanError(e) ? e : new DivanError("STEP_FAILED", messageOf(e), { cause: e });
        for (const it of job.items) {
          this.quarantineItem(it, err.code, err.message);
          if (copy) copies.push(it);
        }
      }
    };
    if (!copy) await this.ancestorBases(jobs);
    for (const job of jobs) translate(job);

    // The stored documents every output (and every copy / deletion) will replace.
    const inBatch = new Map<string, Doc>();
    if (!copy) for (const d of docs) inBatch.set(d._id, d);
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
      for (const row of await this.storedRows(wanted)) {
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

    // Plan the writes.
    const writes: Write[] = [];
    const entityResults: { job: Job; writes: Write[] }[] = [];
    for (const job of jobs) {
      if (job.out === undefined) continue;
      const mine: Write[] = [];
      const verified = this.verifyEntity(job.out);
      if (verified !== undefined) {
        for (const it of job.items) {
          this.quarantineItem(it, "SCHEMA_INVALID", verified);
          if (copy) copies.push(it);
        }
        continue;
      }
      const outIds = new Set<string>();
      for (const d of Object.values(job.out)) {
        if (typeof d._id !== "string") continue;
        outIds.add(d._id);
        const doc = { ...d } as Doc;
        const cur = current(doc._id);
        const rev = copy ? storedRev.get(doc._id) : (cur?._rev ?? doc._rev);
        if (rev === undefined) delete doc._rev;
        else doc._rev = rev;
        if (doc._deleted === true && cur === undefined) continue; // nothing to delete
        if (cur !== undefined && cur._deleted !== true && sameContent(cur, doc)) continue;
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
    const copyWrites: { item: Item; write: Write | undefined }[] = [];
    if (copy) {
      for (const it of copies) {
        const doc: Doc = { ...it.doc };
        const rev = storedRev.get(doc._id);
        if (rev === undefined) delete doc._rev;
        else doc._rev = rev;
        delete doc._revisions;
        delete doc._conflicts;
        const cur = stored.get(doc._id);
        if (doc._deleted === true && cur === undefined) {
          copyWrites.push({ item: it, write: undefined });
          continue;
        }
        if (cur !== undefined && sameContent(cur, doc)) {
          copyWrites.push({ item: it, write: undefined });
          continue;
        }
        const w: Write = { doc, sources: [it] };
        writes.push(w);
        copyWrites.push({ item: it, write: w });
      }
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
        if (r.error.code === "CONFLICT") {
          const cur = await this.dst.get(w.doc._id).catch(() => null);
          return { conflict: cur };
        }
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
        } else {
          this.result({ status: "conflict", id: it.doc._id, ...revOf(it.doc), current: f.conflict ?? undefined });
        }
      }
    }
    for (const { item, write } of copyWrites) {
      if (item.doc._deleted === true && write === undefined) continue;
      const f = write === undefined ? undefined : await failed([write]);
      if (f === undefined) this.result({ status: "copied", id: item.doc._id, ...revOf(item.doc) });
      else if (f.error !== undefined) this.quarantineItem(item, f.error.code, `the target refused the copy: ${f.error.reason}`);
      else this.result({ status: "conflict", id: item.doc._id, ...revOf(item.doc), current: f.conflict ?? undefined });
    }

    this.done += docs.length;
    if (this.done > this.total) this.total = this.done;
    if (this.has("progress")) {
      const secs = Math.max(0.001, (this.now() - this.started) / 1000);
      const rate = this.done / secs;
      this.emit("progress", { done: this.done, total: this.total, rate, eta: rate > 0 ? (this.total - this.done) / rate : Infinity, phase: this.phase });
    }
  }

  /**
   * The target's current rows (with documents) for `ids`. Ids sharing a prefix (`<type>:`) are asked for as
   * one `_all_docs` key range rather than as `keys`: a range answers for every id in it, present or not, in
   * one index seek, where `keys` costs a lookup per id (and, on PouchDB, a query per id) although on a fresh
   * copy target or for siblings that do not exist every one of them misses. A range holding many documents
   * that were not asked for is cut off by a limit and the rest asked for by `keys`; small groups go by `keys`.
   * Either way it is one read at one moment, like a single `keys` request.
   */
  private async storedRows(ids: ReadonlySet<string>): Promise<AllDocsRow[]> {
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
    const keysQuery = async (keys: string[]): Promise<void> => {
      if (keys.length === 0) return;
      const page = await this.retry(() => this.dst.allDocs({ keys, includeDocs: true }));
      for (const row of page.rows) if (row.error === undefined && row.value !== undefined) rows.push(row);
    };
    const rangeQuery = async (group: string[]): Promise<void> => {
      group.sort();
      const first = group[0]!;
      const last = group[group.length - 1]!;
      const limit = group.length * 2 + RANGE_MIN_IDS;
      const page = await this.retry(() => this.dst.allDocs({ startkey: first, endkey: last, limit, includeDocs: true }));
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
