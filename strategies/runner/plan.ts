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

/** Why `job`'s translation must not be written (invalid at its version, or losing information), or `undefined`. */
export function translationProblem(ctx: RunContext, job: Job): { code: string; reason: string } | undefined {
  const invalid = verifyEntity(ctx, job.out!);
  if (invalid !== undefined) return { code: "SCHEMA_INVALID", reason: invalid };
  const lost = lostInTranslation(ctx, job);
  return lost === undefined ? undefined : { code: "STEP_FAILED", reason: lost };
}

/** `undefined` when every output document is valid at its version (or no registry was given), else why not. */
function verifyEntity(ctx: RunContext, out: Entity): string | undefined {
  const registry = ctx.o.verify;
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
 * Why translating `job` and back does not give its input back, or `undefined` when it does. Up a path the lens
 * law `down(up(x)) = x` must hold for every attribute; down a path (where a newer version's attributes are
 * dropped by design), attributes the input's schema does not name must survive `up(down(y))`.
 */
function lostInTranslation(ctx: RunContext, job: Job): string | undefined {
  const plan = ctx.o.plan;
  if (!("graph" in plan) || job.out === undefined || job.path === undefined) return undefined;
  const direction = job.path.direction;
  if (direction === "identity") return undefined;
  const registry = ctx.o.verify;
  if (direction !== "up" && registry === undefined) return undefined;
  const outShape: Shape = {};
  const live: Entity = {};
  for (const t in job.out) {
    const d = job.out[t]!;
    if (d._deleted === true) continue;
    outShape[t] = d[ctx.versionField] as number;
    live[t] = d;
  }
  let back: Entity;
  try {
    back = backPath(plan.graph, job.path, outShape)(live);
  } catch (e) {
    if (!isDivanError(e)) throw e;
    return `it cannot be translated back from ${shapeKey(outShape)} (${e.message}), so the translation may lose information`;
  }
  for (const t in job.input) {
    const d = job.input[t]!;
    const b = back[t];
    // Most attributes come back as the very same value: compare their canonical JSON only when they differ.
    const lost = (f: string): boolean => d[f] !== b?.[f] && canonicalJson(d[f]) !== canonicalJson(b?.[f]);
    let field: string | undefined;
    if (direction === "up") {
      for (const f of Object.keys(d)) if (!REVISION_FIELDS.has(f) && lost(f)) field ??= f;
      if (field === undefined && b !== undefined) for (const f of Object.keys(b)) if (!REVISION_FIELDS.has(f) && !Object.hasOwn(d, f) && lost(f)) field ??= f;
    } else {
      for (const f of Object.keys(d)) if (!f.startsWith("_") && !namedBy(registry!, t, d[ctx.versionField], f) && lost(f)) field ??= f;
    }
    if (field !== undefined) {
      return `${d._id}: its attribute "${field}" (${preview(d[field])}) does not come back when the translation to ${shapeKey(outShape)} is translated back (${preview(b?.[field])}); the steps drop or overwrite it`;
    }
  }
  return undefined;
}

/** Per forward path: the path back from its target shape (the shape of nearly every translation it makes). */
const backPaths = new WeakMap<CompiledPath, CompiledPath>();

/** The path from `outShape` back to `path`'s source shape (looked up once per forward path in the usual case). */
function backPath(graph: StepGraph, path: CompiledPath, outShape: Shape): CompiledPath {
  if (!sameShape(outShape, path.to)) return graph.path(outShape, path.from);
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
