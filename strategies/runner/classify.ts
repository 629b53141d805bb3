/**
 * The runner's "classify" phase: sorts a batch's documents into entities (with their documents on later pages), copies,
 * deletions and conflicted documents, and gives the documents it does not migrate their result at once.
 */
import type { Shape } from "../../adapters/types.js";
import type { Doc } from "../../store/port.js";
import type { Batch, Item, RunContext } from "./context.js";
import { rowsOf } from "./stored.js";

/** A classified batch and how many of its documents count as seen (progress). */
export interface Classified {
  readonly batch: Batch;
  readonly seen: number;
}

/**
 * Classifies `docs` and the documents of their entities not among them (read from the source). In a scan, those are
 * claimed so that their own page skips them; a scan page's documents claimed by an earlier page are skipped here.
 */
export async function classifyBatch(ctx: RunContext, docs: readonly Doc[], mode: "scan" | "dirty"): Promise<Classified> {
  const batch: Batch = { entities: new Map(), copies: [], deletions: [], conflicted: [] };
  let seen = 0;
  const present = new Set<string>();
  for (const doc of docs) {
    present.add(doc._id);
    if (mode === "scan" && ctx.claimed.delete(doc._id)) continue; // handled (and counted) with its entity on an earlier page
    seen++;
    if (doc._id.startsWith("_design/") || doc._id.startsWith("_local/")) continue;
    classify(ctx, doc, batch);
  }

  // An entity's documents not in this batch (before any await, so later pages see the claims).
  const siblings = new Set<string>();
  for (const e of batch.entities.values()) if (e.entityId !== undefined) for (const id of siblingIds(ctx, e.entityId, e.items, present)) siblings.add(id);
  if (mode === "scan") for (const id of siblings) ctx.claimed.add(id);
  if (siblings.size > 0) {
    for (const row of await rowsOf(ctx, ctx.src, siblings, true)) {
      if (row.value?.deleted === true || row.doc === undefined || row.doc === null) continue;
      seen++;
      classify(ctx, row.doc, batch);
    }
  }
  return { batch, seen };
}

/** Sorts one document into the batch: an entity's member, a copy, a deletion, or a result right away. */
function classify(ctx: RunContext, doc: Doc, batch: Batch): void {
  const copy = !ctx.inPlace;
  ctx.totals.read++;
  const item = ctx.item(doc);
  if (doc._deleted === true) {
    const parsed = ctx.ids.parse(doc._id);
    if (copy && parsed !== undefined && ctx.known.has(parsed.type)) batch.deletions.push({ item, entityId: parsed.entityId, type: parsed.type });
    else if (copy) batch.copies.push(item);
    else ctx.skip(item, "tombstone");
    return;
  }
  if ((doc._conflicts ?? []).length > 0) batch.conflicted.push(item);
  if (item.type === undefined || !ctx.known.has(item.type) || !ctx.selected(item)) {
    if (copy) batch.copies.push(item);
    else ctx.skip(item, item.type === undefined ? "no type" : ctx.known.has(item.type) ? "not selected" : `unknown type ${item.type}`);
    return;
  }
  if (typeof item.version !== "number" || !Number.isInteger(item.version)) {
    ctx.quarantineItem(item, "SCHEMA_INVALID", `${ctx.versionField} must be an integer, got ${JSON.stringify(item.version) ?? "nothing"}`);
    if (copy) batch.copies.push(item);
    return;
  }
  const parsed = ctx.ids.parse(doc._id);
  if (parsed === undefined || parsed.type !== item.type) {
    ctx.quarantineItem(item, "BAD_REQUEST", `id ${doc._id} does not follow the ${ctx.ids.name} id scheme for type ${item.type}`);
    if (copy) batch.copies.push(item);
    return;
  }
  const key = parsed.entityId === undefined ? `s:${doc._id}` : `e:${parsed.entityId}`;
  let e = batch.entities.get(key);
  if (e === undefined) batch.entities.set(key, (e = { entityId: parsed.entityId, items: [] }));
  e.items.push(item);
}

/**
 * Ids of the documents that may belong to an entity's source shape besides those in hand: for every graph shape
 * holding one of the entity's documents (type and version), the ids of its other types.
 */
function siblingIds(ctx: RunContext, entityId: string, items: readonly Item[], present: ReadonlySet<string>): string[] {
  if (!("graph" in ctx.o.plan)) return [];
  const out = new Set<string>();
  for (const it of items) {
    for (const shape of shapesWith(ctx, it.type!, it.version as number)) {
      for (const [t, v] of Object.entries(shape)) {
        if (t === it.type) continue;
        const id = ctx.ids.format(t, entityId, v);
        if (!present.has(id)) out.add(id);
      }
    }
  }
  return [...out];
}

/** Per run: the graph's shapes of two types or more, by `type@version` of each of their documents. */
const shapeIndexes = new WeakMap<RunContext, Map<string, Shape[]>>();

function shapesWith(ctx: RunContext, type: string, version: number): Shape[] {
  const plan = ctx.o.plan;
  if (!("graph" in plan)) return [];
  let index = shapeIndexes.get(ctx);
  if (index === undefined) {
    index = new Map();
    for (const s of plan.graph.shapes()) {
      if (Object.keys(s).length < 2) continue;
      for (const [t, v] of Object.entries(s)) {
        const k = `${t}@${v}`;
        const list = index.get(k) ?? [];
        list.push(s);
        index.set(k, list);
      }
    }
    shapeIndexes.set(ctx, index);
  }
  return index.get(`${type}@${version}`) ?? [];
}
