/**
 * The runner's "plan" phase: each classified entity's path to the target, its translation (with the stored target
 * documents and older target-version revisions as base), and the checks a translation must pass before it is written.
 */
import type { CompiledPath, StepGraph } from "../../adapters/path.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { sameShape, shapeKey } from "../../adapters/types.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { Doc } from "../../store/port.js";
import { canonicalJson } from "./canonical.js";
import type { Batch, Item, Job, RunContext } from "./context.js";
import type { Stored } from "./stored.js";
import type { MigrationOptions } from "./types.js";

/**
 * The batch's entities as jobs: split into input (not at target) and base (at target), with the path from the input's
 * shape. An entity with nothing to translate, or without a path, gets its results (or goes to the copies) here.
 */
export function planJobs(ctx: RunContext, batch: Batch): Job[] {
  const copy = !ctx.inPlace;
  const { copies } = batch;
  const jobs: Job[] = [];
  for (const { entityId, items } of batch.entities.values()) {
    const input: Entity = {};
    const base: Entity = {};
    const inputItems: Item[] = [];
    for (const it of items) {
      const t = it.type!;
      const slot = ctx.to[t] === it.version ? base : input;
      if (slot[t] !== undefined || (slot === input ? base[t] : input[t]) !== undefined) {
        ctx.quarantineItem(it, "BAD_REQUEST", `entity ${entityId ?? it.doc._id} has two ${t} documents`);
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
        else ctx.skip(it, "already at the target version");
      }
      continue;
    }
    const shape: Shape = {};
    for (const it of inputItems) shape[it.type!] = it.version as number;
    const path = entityPath(ctx, shape, input, base);
    if (path instanceof DivanError) {
      for (const it of remaining) {
        if ("path" in ctx.o.plan && path.code === "NO_PATH") {
          if (copy) copies.push(it);
          else ctx.skip(it, path.message);
        } else {
          ctx.quarantineItem(it, path.code, path.message);
          if (copy) copies.push(it);
        }
      }
      continue;
    }
    jobs.push({ entityId, items: remaining, input, base, path, out: undefined });
  }
  return jobs;
}

/**
 * The path from `shape`; failing that, a step may take along a document its target keeps at the same version
 * (`{ a: 3, b: 1 }` → `{ a: 4, b: 1 }`): then the source shape is the whole entity, the documents already at the
 * target included, and those move from `base` into `input`.
 */
function entityPath(ctx: RunContext, shape: Shape, input: Entity, base: Entity): ReturnType<RunContext["pathFor"]> {
  const path = ctx.pathFor(shape);
  if (!(path instanceof DivanError) || path.code !== "NO_PATH" || Object.keys(base).length === 0) return path;
  const whole: Shape = { ...shape };
  for (const t of Object.keys(base)) whole[t] = ctx.to[t]!;
  const wholePath = ctx.pathFor(whole);
  if (wholePath instanceof DivanError) return path;
  for (const t of Object.keys(base)) {
    input[t] = base[t]!;
    delete base[t];
  }
  return wholePath;
}

/** Translates `job` (its `out`); a failed translation quarantines its documents (and, in a copy, carries them). */
export function translate(ctx: RunContext, job: Job, copies: Item[]): void {
  try {
    job.out = job.path!(job.input, Object.keys(job.base).length > 0 ? { base: job.base } : undefined);
  } catch (e) {
    if (!isDivanError(e)) throw e;
    job.out = undefined;
    for (const it of job.items) {
      ctx.quarantineItem(it, e.code, e.message);
      if (!ctx.inPlace) copies.push(it);
    }
  }
}

/** Translates the jobs again with the stored target documents as base (keeps what the source version cannot represent). */
export function rebase(ctx: RunContext, jobs: readonly Job[], stored: Stored, copies: Item[]): void {
  const copy = !ctx.inPlace;
  for (const job of jobs) {
    if (job.out === undefined) continue;
    let extra = false;
    const base: Entity = copy ? {} : { ...job.base };
    for (const [t, d] of Object.entries(job.out)) {
      const s = typeof d._id === "string" ? stored.stored.get(d._id) : undefined;
      if (s !== undefined && s[ctx.versionField] === ctx.to[t] && s[ctx.typeField] === t && base[t] === undefined) {
        base[t] = s;
        extra = true;
      }
    }
    if (copy) for (const [t, d] of Object.entries(job.base)) base[t] = d; // the source's own target-version docs win
    if (extra) {
      job.base = base;
      translate(ctx, job, copies);
    }
  }
}

/**
 * In place, an old app that edits a migrated document overwrites it with its old version: the target-version
 * revision it replaced is still in the revision history. Use the nearest such ancestor (up to 5 back) as the
 * translation's base for its type, so fields the old version cannot represent (a group, a blocked status) survive.
 * Compacted revisions are simply not found.
 */
export async function ancestorBases(ctx: RunContext, jobs: readonly { input: Entity; base: Entity }[]): Promise<void> {
  const wanted: { job: { input: Entity; base: Entity }; type: string; doc: Doc }[] = [];
  for (const job of jobs) {
    for (const [t, d] of Object.entries(job.input)) {
      if (job.base[t] !== undefined || ctx.to[t] === undefined || typeof d._rev !== "string" || typeof d._id !== "string") continue;
      if (Number.parseInt(d._rev, 10) >= 2) wanted.push({ job, type: t, doc: d as Doc });
    }
  }
  if (wanted.length === 0) return;
  const withRevs = await ctx.retry(() => ctx.src.bulkGet(wanted.map((w) => ({ id: w.doc._id, rev: w.doc._rev! })), { revs: true }));
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
  const old = await ctx.retry(() => ctx.src.bulkGet(requests));
  const byRev = new Map<string, Doc>();
  for (const r of old) if ("ok" in r && r.ok._deleted !== true) byRev.set(`${r.ok._id}@${r.ok._rev ?? ""}`, r.ok);
  for (const w of wanted) {
    for (const rev of ancestors.get(w.doc._id) ?? []) {
      const a = byRev.get(`${w.doc._id}@${rev}`);
      if (a !== undefined && a[ctx.typeField] === w.type && a[ctx.versionField] === ctx.to[w.type]) {
        const { _rev, _revisions, ...content } = a;
        void _rev;
        void _revisions;
        w.job.base[w.type] = content as Doc;
        break;
      }
    }
  }
}

/** What {@link checkTranslation} checks a translation with. */
export interface TranslationCheck {
  /** The step graph the translation came from (to translate it back); none skips the lens-law check. */
  readonly graph?: StepGraph;
  /** Each output document must be valid at its version; none skips validation (and the check down a path). */
  readonly verify?: MigrationOptions["verify"];
  readonly versionField: string;
}

/** Why `job`'s translation must not be written (invalid at its version, or losing information), or `undefined`. */
export function translationProblem(ctx: RunContext, job: Job): { code: string; reason: string } | undefined {
  const plan = ctx.o.plan;
  return checkTranslation({ ...("graph" in plan ? { graph: plan.graph } : {}), ...(ctx.o.verify === undefined ? {} : { verify: ctx.o.verify }), versionField: ctx.versionField }, job.path, job.input, job.out!, job.base);
}

/**
 * Why the translation `out` of `input` by `path` (on the stored documents `base`) must not be written: `SCHEMA_INVALID`
 * (an output document is not valid at its version) or `STEP_FAILED` (translated back, an attribute does not come back,
 * or attachments would be lost); `undefined` when it may.
 */
export function checkTranslation(check: TranslationCheck, path: CompiledPath | undefined, input: Entity, out: Entity, base: Entity = {}): { code: string; reason: string } | undefined {
  const moved = attachmentsMoved(input, out, base);
  if (moved !== undefined) return { code: "STEP_FAILED", reason: moved };
  const invalid = verifyEntity(check.verify, out);
  if (invalid !== undefined) return { code: "SCHEMA_INVALID", reason: invalid };
  const lost = lostInTranslation(check, path, input, out);
  return lost === undefined ? undefined : { code: "STEP_FAILED", reason: lost };
}

/**
 * Why the translation `out` of `input` would lose or make up attachments, or `undefined`. Steps never move
 * attachments (the path keeps them on their document): a document with attachments that the translation deletes (an
 * N→1 merge folds it away) or writes without one of them would drop its bodies, and an output document with an
 * attachment neither its input nor its stored document (`base`) has (stubs a step put back from `divanDisplaced`)
 * names a body nobody holds.
 */
function attachmentsMoved(input: Entity, out: Entity, base: Entity): string | undefined {
  const outById = new Map<string, Doc>();
  for (const d of Object.values(out)) if (d._deleted !== true && typeof d._id === "string") outById.set(d._id, d as Doc);
  const inById = new Map<string, Doc>();
  for (const d of Object.values(input)) if (typeof d._id === "string") inById.set(d._id, d as Doc);
  for (const [id, d] of inById) {
    const names = Object.keys(d._attachments ?? {});
    if (names.length === 0) continue;
    const o = outById.get(id);
    const lost = names.filter((n) => o?._attachments?.[n] === undefined);
    if (lost.length > 0) {
      return `${id} has attachments (${lost.join(", ")}) its translation ${o === undefined ? "deletes with the document" : "drops"}: steps carry no attachment into another document; move them to a document the translation keeps, then run again`;
    }
  }
  const baseById = new Map<string, Doc>();
  for (const d of Object.values(base)) if (typeof d._id === "string") baseById.set(d._id, d as Doc);
  for (const [id, o] of outById) {
    const had = { ...baseById.get(id)?._attachments, ...inById.get(id)?._attachments };
    const made = Object.keys(o._attachments ?? {}).filter((n) => had[n] === undefined);
    if (made.length > 0) return `${id}: its translation has attachments (${made.join(", ")}) that no input document holds, so their bodies are missing`;
  }
  return undefined;
}

/** `undefined` when every output document is valid at its version (or no registry was given), else why not. */
function verifyEntity(registry: TranslationCheck["verify"], out: Entity): string | undefined {
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

/**
 * Why translating `input` to `out` and back does not give its input back, or `undefined` when it does. Up a path the lens
 * law `down(up(x)) = x` must hold for every attribute; down a path (where a newer version's attributes are
 * dropped by design), attributes the input's schema does not name must survive `up(down(y))`.
 */
function lostInTranslation(check: TranslationCheck, path: CompiledPath | undefined, input: Entity, out: Entity): string | undefined {
  const graph = check.graph;
  if (graph === undefined || path === undefined) return undefined;
  const direction = path.direction;
  if (direction === "identity") return undefined;
  const registry = check.verify;
  if (direction !== "up" && registry === undefined) return undefined;
  const versionField = check.versionField;
  // Nearly every translation is the path's target shape with nothing deleted: then it goes back as it is, by the
  // path back cached for the forward one. Otherwise its live documents go back from their own shape.
  let outShape: Shape = path.to;
  let live: Entity = out;
  let back: Entity;
  try {
    if (atShape(out, path.to, versionField)) back = backPath(graph, path)(out);
    else {
      outShape = {};
      live = {};
      for (const t in out) {
        const d = out[t]!;
        if (d._deleted === true) continue;
        outShape[t] = d[versionField] as number;
        live[t] = d;
      }
      back = (sameShape(outShape, path.to) ? backPath(graph, path) : graph.path(outShape, path.from))(live);
    }
  } catch (e) {
    if (!isDivanError(e)) throw e;
    return `it cannot be translated back from ${shapeKey(outShape)} (${e.message}), so the translation may lose information`;
  }
  for (const t in input) {
    const d = input[t]!;
    const b = back[t];
    const field = direction === "up" ? lostUp(d, b) : lostDown(d, b, registry!, t, d[versionField]);
    if (field !== undefined) {
      return `${d._id}: its attribute "${field}" (${preview(d[field])}) does not come back when the translation to ${shapeKey(outShape)} is translated back (${preview(b?.[field])}); the steps drop or overwrite it`;
    }
  }
  return undefined;
}

/** A document of an entity. */
type EntityDoc = Entity[string];

/** True when every document of `e` is live and at `shape`'s version of its type, and `e` has every type of `shape`. */
function atShape(e: Entity, shape: Shape, versionField: string): boolean {
  let n = 0;
  for (const t in e) {
    const d = e[t]!;
    if (d._deleted === true || d[versionField] !== shape[t]) return false;
    n++;
  }
  let m = 0;
  for (const t in shape) if (Object.hasOwn(shape, t)) m++;
  return n === m;
}

/** Whether attribute `f` of `d` does not come back as the same value in `b` (canonical JSON compared only when they differ). */
function lostField(d: EntityDoc, b: EntityDoc | undefined, f: string): boolean {
  const x = d[f];
  const y = b?.[f];
  return x !== y && canonicalJson(x) !== canonicalJson(y);
}

/** Up a path: the first attribute of `d` (or of its translation back `b`) that does not come back, revision fields aside. */
function lostUp(d: EntityDoc, b: EntityDoc | undefined): string | undefined {
  for (const f in d) if (Object.hasOwn(d, f) && !REVISION_FIELDS.has(f) && lostField(d, b, f)) return f;
  if (b !== undefined) for (const f in b) if (Object.hasOwn(b, f) && !REVISION_FIELDS.has(f) && !Object.hasOwn(d, f) && lostField(d, b, f)) return f;
  return undefined;
}

/** Down a path: the first attribute of `d` its schema does not name that does not come back in `b`. */
function lostDown(d: EntityDoc, b: EntityDoc | undefined, registry: NonNullable<MigrationOptions["verify"]>, type: string, version: unknown): string | undefined {
  for (const f in d) if (Object.hasOwn(d, f) && !f.startsWith("_") && !namedBy(registry, type, version, f) && lostField(d, b, f)) return f;
  return undefined;
}

/** Per forward path: the path back from its target shape (the shape of nearly every translation it makes). */
const backPaths = new WeakMap<CompiledPath, CompiledPath>();

/** The path from `path`'s target shape back to its source shape (looked up once per forward path). */
function backPath(graph: StepGraph, path: CompiledPath): CompiledPath {
  let back = backPaths.get(path);
  if (back === undefined) backPaths.set(path, (back = graph.path(path.to, path.from)));
  return back;
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
