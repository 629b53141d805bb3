/**
 * The state one migration run shares between its phases (classify → plan → read stored → write → report): the
 * resolved options, the totals and the quarantine, and the per-document result every phase reports through.
 */
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import type { CompiledPath } from "../../adapters/path.js";
import { typeFamilies } from "../../adapters/families.js";
import { shapeKey, type Entity, type Shape } from "../../adapters/types.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import { stripCredentials } from "../../core/redact.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { matchesSelector } from "pouchdb-selector-core";
import type { TypedEmitter } from "./events.js";
import type { ChangeFollower } from "./follow.js";
import type { QuarantineLog } from "./local.js";
import type { DocumentResult, MigrationEvents, MigrationOptions, MigrationTotals, QuarantineRecord } from "./types.js";

const DEFAULT_BATCH = 500;
const DEFAULT_CONCURRENCY = 2;

/** One source document with what the runner found out about it. */
export interface Item {
  readonly doc: Doc;
  readonly type: string | undefined;
  readonly version: unknown;
}

/** A planned write and the source documents it answers for. */
export interface Write {
  doc: Doc;
  readonly sources: readonly Item[];
}

/** One entity's translation. */
export interface Job {
  readonly entityId: string | undefined;
  readonly items: Item[];
  input: Entity;
  base: Entity;
  path: CompiledPath | undefined;
  out: Entity | undefined;
}

/** What one batch sorts its documents into. */
export interface Batch {
  readonly entities: Map<string, { entityId: string | undefined; items: Item[] }>;
  /** Copy mode: documents carried into the target unchanged. */
  readonly copies: Item[];
  /** Copy mode: tombstones of known types. */
  readonly deletions: { item: Item; entityId: string | undefined; type: string }[];
  /** Documents with losing revisions. */
  readonly conflicted: Item[];
}

/** All totals at zero. */
export function emptyTotals(): MigrationTotals {
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
 * `to-task-3-task-state-1`. `divan status` finds a job by it. The source's URL goes in without its user: whoever
 * runs the copy, it is the same job (and resumes from its checkpoint).
 */
export function defaultMigrationId(target: Shape, source: DocumentStore, copy: boolean): string {
  return `to-${slug(shapeKey(target))}${copy ? `-from-${slug(stripCredentials(source.name)).slice(-40)}` : ""}`;
}

/** `id@rev`, the key of a quarantine record. */
export const recordKey = (r: { id: string; rev?: string }): string => `${r.id}@${r.rev ?? ""}`;

/** `{ rev }` of a document that has one. */
export function revOf(doc: Doc): { rev?: string } {
  return typeof doc._rev === "string" ? { rev: doc._rev } : {};
}

/** The state of one run, shared by its phases. */
export class RunContext {
  readonly src: DocumentStore;
  readonly dst: DocumentStore;
  readonly inPlace: boolean;
  readonly to: Shape;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly typeField: string;
  readonly versionField: string;
  readonly ids: IdScheme;
  readonly now: () => number;
  /** Types the plan knows. */
  readonly known: Set<string>;
  /** Entity families: types connected by a step. */
  readonly families: Map<string, readonly string[]>;
  private readonly paths = new Map<string, CompiledPath | DivanError>();
  /** In place (unless `followChanges: false`): the source's `_changes`, matched against the run's own writes. */
  follower: ChangeFollower | undefined;
  /** A copy into a database the run found empty (it wrote the copy marker) and has not checkpointed in yet. */
  freshCopy = false;
  /** Ids a scan page fetched with their entity: skipped when their own page comes. */
  readonly claimed = new Set<string>();
  totals = emptyTotals();
  readonly quarantine: QuarantineRecord[] = [];
  readonly quarantinedKeys = new Set<string>();
  pendingQuarantine: QuarantineRecord[] = [];
  log: QuarantineLog | undefined;
  done = 0;
  total = 0;
  started = 0;
  phase: "scan" | "dirty" = "scan";

  constructor(
    readonly o: MigrationOptions,
    private readonly events: TypedEmitter<MigrationEvents>,
  ) {
    this.src = o.source;
    this.dst = o.target ?? o.source;
    this.inPlace = this.dst === this.src;
    this.to = planTarget(o.plan);
    this.batchSize = Math.max(1, o.batchSize ?? DEFAULT_BATCH);
    this.concurrency = Math.max(1, o.concurrency ?? DEFAULT_CONCURRENCY);
    this.typeField = o.typeField ?? "schema";
    this.versionField = o.versionField ?? "version";
    this.ids = o.ids ?? singleVersionIds;
    this.now = o.now ?? Date.now;
    const groups: string[][] = [];
    if ("path" in o.plan) {
      groups.push([...o.plan.path.sourceTypes, ...Object.keys(o.plan.path.to)]);
    } else {
      for (const s of o.plan.graph.steps) groups.push([...Object.keys(s.from), ...Object.keys(s.to)]);
      for (const t of Object.keys(o.plan.to)) groups.push([t]);
    }
    this.families = typeFamilies(groups);
    this.known = new Set(this.families.keys());
  }

  /** True in a dry run. */
  get dry(): boolean {
    return this.o.dryRun === true;
  }

  /** True when the run was asked to stop. */
  get aborted(): boolean {
    return this.o.signal?.aborted === true;
  }

  /**
   * Calls a store operation with retry and backoff on `STORE_UNAVAILABLE`. Any other failure (a refusal, or a
   * bug: an error that is no `DivanError`) is not retried.
   */
  async retry<T>(fn: () => Promise<T>): Promise<T> {
    const attempts = Math.max(1, this.o.retry?.attempts ?? 5);
    let wait = this.o.retry?.backoffMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!isDivanError(e)) throw e;
        const willRetry = e.code === "STORE_UNAVAILABLE" && attempt < attempts;
        this.events.emit("error", { error: e, willRetry, attempt });
        if (!willRetry) throw e;
        await new Promise((r) => setTimeout(r, wait));
        wait *= 2;
      }
    }
  }

  /** Records a write of the run to the source (in place), which the dirty pass is not to migrate again. */
  wrote(id: string, rev: string): void {
    if (this.inPlace) this.follower?.wrote(id, rev);
  }

  /** A source document with its type and version. */
  item(doc: Doc): Item {
    const rawType = doc[this.typeField];
    return { doc, type: typeof rawType === "string" ? rawType : undefined, version: doc[this.versionField] };
  }

  /** Counts one document's result and emits it. */
  result(r: DocumentResult): void {
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
    if (this.events.has("document")) this.events.emit("document", r);
  }

  skip(item: Item, reason: string): void {
    this.result({ status: "skipped", id: item.doc._id, ...revOf(item.doc), reason });
  }

  quarantineItem(item: Item, code: string, reason: string): void {
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

  /** Emits `progress` after `seen` more documents. */
  progress(seen: number): void {
    this.done += seen;
    if (this.done > this.total) this.total = this.done;
    if (this.events.has("progress")) {
      const secs = Math.max(0.001, (this.now() - this.started) / 1000);
      const rate = this.done / secs;
      this.events.emit("progress", { done: this.done, total: this.total, rate, eta: rate > 0 ? (this.total - this.done) / rate : Infinity, phase: this.phase });
    }
  }

  /** Whether the run's selection takes `item`. */
  selected(item: Item): boolean {
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

  /** The plan's path from `shape` to the target, or why there is none (cached per shape). */
  pathFor(shape: Shape): CompiledPath | DivanError {
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
}
