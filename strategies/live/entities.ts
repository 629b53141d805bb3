/**
 * How a live adapter sees stored documents: entity families with their known shapes, and the shape an entity is stored at.
 */
import { stepTypes, typeFamilies } from "../../adapters/families.js";
import { singleVersionIds } from "../../adapters/ids.js";
import type { CompiledPath, StepGraph } from "../../adapters/path.js";
import type { DeclarativeStep, StepDefinition } from "../../adapters/steps.js";
import { shapeKey, type Entity, type Shape } from "../../adapters/types.js";
import type { Registry } from "../../schemas/registry.js";
import { withDeterministicRev } from "../runner/canonical.js";
import type { Doc, DocumentStore } from "../../store/port.js";

export interface Family {
  readonly types: readonly string[];
  readonly shapes: readonly Shape[];
  /** The app's shape projected on this family (empty when the app uses none of its types). */
  readonly app: Shape;
  /** {@link storedShape}'s answers by the types and versions present (`null`: none), filled as entities are read. */
  readonly stored: Map<string, StoredShape | null>;
}

/** The shape an entity is stored at, and the types of it that are missing (not replicated yet, or deleted). Shared: never mutate. */
export interface StoredShape {
  readonly shape: Shape;
  readonly missing: readonly string[];
}

export interface Ref {
  readonly family: Family;
  readonly entityId: string | undefined;
  readonly type: string;
  readonly key: string;
  /** The id of the document the entity was reached by, when it is the `<type>:<entityId>` of `type` (the row's own string). */
  readonly id?: string;
}

export interface Stored {
  readonly ref: Ref;
  /** Live documents by type. */
  readonly docs: Map<string, Doc>;
  /** Types whose document is deleted (a tombstone, not just absent), among those the stored shape misses (created by {@link markDeleted}). */
  deleted?: Set<string>;
  /** {@link storedShape}'s answer once asked (`null`: none); `docs` do not change after they were read. */
  shape?: StoredShape | null;
  /** Conflicting live revisions of the documents by type, when they were read (for a deletion). */
  readonly conflicts?: Map<string, string[]>;
}

export interface View {
  /** The entity at the app's shape. */
  readonly docs: Entity;
  /** The stored shape (undefined: nothing stored). */
  readonly from: Shape | undefined;
  /** True when the read translated an older stored shape up. */
  readonly up: boolean;
}

export interface Graph {
  readonly graph: StepGraph;
  readonly families: Map<string, Family>;
  /** Compiled paths from stored shapes to the app's, kept per shape object (a family's shapes are built once per graph). */
  readonly paths: WeakMap<Shape, { to: Shape; path: CompiledPath }>;
}

/** The compiled path from stored shape `from` to the app's shape `app`, kept in `g`. */
export function pathTo(g: Graph, from: Shape, app: Shape): CompiledPath {
  const p = g.paths.get(from);
  return p !== undefined && p.to === app ? p.path : g.paths.set(from, { to: app, path: g.graph.path(from, app) }).get(from)!.path;
}

/** Steps from the database that connect shapes no bundled step connects (bundled steps win). */
export function newSteps(bundled: readonly StepDefinition[], extra: readonly DeclarativeStep[]): DeclarativeStep[] {
  const pair = (s: StepDefinition): string => [shapeKey(s.from), shapeKey(s.to)].sort().join(" | ");
  const known = new Set(bundled.map(pair));
  return extra.filter((s) => !known.has(pair(s)) && (known.add(pair(s)), true));
}

/** The type of a `<type>:<entityId>` id (the id itself when it follows no scheme). */
export function typeOfId(id: string): string {
  return singleVersionIds.parse(id)?.type ?? id;
}

/** Builds the families (types connected by steps) of a step graph, and the app's shape on each. */
export function familiesOf(graph: StepGraph, app: Shape): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const g of new Set(typeFamilies(graph.steps.map(stepTypes)).values())) {
    const shapes = new Map<string, Shape>();
    for (const s of graph.steps) {
      if (!g.includes(Object.keys(s.from)[0]!)) continue;
      shapes.set(shapeKey(s.from), s.from);
      shapes.set(shapeKey(s.to), s.to);
    }
    const projected: Shape = {};
    for (const t of g) if (app[t] !== undefined) projected[t] = app[t]!;
    const fam: Family = { types: g, shapes: [...shapes.values()], app: projected, stored: new Map() };
    for (const t of g) out.set(t, fam);
  }
  return out;
}

/**
 * The stored shape of an entity: the largest known shape all of whose documents are present. The answer depends only
 * on the types and versions present, so each family keeps it per combination (the objects are shared).
 */
export function storedShape(registry: Registry, s: Stored): StoredShape | undefined {
  if (s.shape !== undefined) return s.shape ?? undefined;
  let key = "";
  for (const [t, d] of s.docs) {
    const v = registry.identify(d)?.version;
    if (v !== undefined) key += `${t}\u0000${v}\u0001`;
  }
  const cache = s.ref.family.stored;
  const hit = cache.get(key);
  if (hit !== undefined) return (s.shape = hit) ?? undefined;
  const present = new Map<string, number>();
  for (const [t, d] of s.docs) {
    const v = registry.identify(d)?.version;
    if (v !== undefined) present.set(t, v);
  }
  const found = shapeOf(s.ref.family, present);
  cache.set(key, (s.shape = found ?? null));
  return found;
}

function shapeOf(family: Family, present: ReadonlyMap<string, number>): StoredShape | undefined {
  if (present.size === 0) return undefined;
  const inside = (sh: Shape): boolean => Object.keys(sh).every((t) => present.get(t) === sh[t]);
  let best: Shape | undefined;
  for (const sh of family.shapes) if (inside(sh) && (best === undefined || Object.keys(sh).length > Object.keys(best).length)) best = sh;
  if (best !== undefined) return { shape: best, missing: [] };
  // A shape that holds every present document, with parts missing (not replicated yet).
  for (const sh of family.shapes) {
    if ([...present].every(([t, v]) => sh[t] === v)) return { shape: sh, missing: Object.keys(sh).filter((t) => !present.has(t)) };
  }
  const app = family.app;
  if ([...present].every(([t, v]) => app[t] === v)) return { shape: app, missing: Object.keys(app).filter((t) => !present.has(t)) };
  return undefined;
}

/**
 * A revision of `doc` in conflict with the stored revision `rev` of the same document: a root one generation past
 * `rev` (it wins, while `rev` stays a leaf), its id derived from content and `rev` so replicas agree. Written with
 * `new_edits: false`.
 */
export function branchNextTo(doc: Doc, rev: string): Doc {
  const out = withDeterministicRev({ ...doc, _rev: rev });
  const [gen, hash] = [Number.parseInt(out._rev!, 10), out._rev!.slice(out._rev!.indexOf("-") + 1)];
  return { ...out, _revisions: { start: gen, ids: [hash] } };
}

/**
 * True when an entity stored at `st` reads as deleted: documents its stored shape needs are missing and every one
 * of them is a tombstone (deleted on one device while another device edited, or had not yet pushed, the others).
 */
export function readsDeleted(st: { readonly missing: readonly string[] }, s: Stored): boolean {
  return st.missing.length > 0 && st.missing.every((t) => s.deleted?.has(t) === true);
}

/**
 * The tombstones that end the entities among `entities` (read with their conflicts) that read as deleted: one for
 * every live revision of their documents, with revisions derived from content and parent (replicas agree).
 */
export function endingWrites(registry: Registry, entities: Iterable<Stored>): { ended: string[]; writes: Doc[] } {
  const ended: string[] = [];
  const writes: Doc[] = [];
  for (const s of entities) {
    const st = s.docs.size === 0 ? undefined : storedShape(registry, s);
    if (st === undefined || !readsDeleted(st, s)) continue;
    ended.push(s.ref.entityId ?? s.ref.key);
    for (const [t, d] of s.docs) for (const rev of [d._rev!, ...(s.conflicts?.get(t) ?? [])]) writes.push(withDeterministicRev({ _id: d._id, _rev: rev, _deleted: true }));
  }
  return { ended, writes };
}

/**
 * Notes, in each entity's `deleted`, the documents its stored shape misses that are deleted (tombstones, not
 * just absent): the entity was deleted while a concurrent edit kept its other documents alive.
 */
export async function markDeleted(store: DocumentStore, registry: Registry, entities: Iterable<Stored>, idOf: (ref: Ref, type: string) => string): Promise<void> {
  const missing = new Map<string, { s: Stored; type: string }>();
  for (const s of entities) for (const type of storedShape(registry, s)?.missing ?? []) missing.set(idOf(s.ref, type), { s, type });
  if (missing.size === 0) return;
  for (const row of (await store.allDocs({ keys: [...missing.keys()] })).rows) {
    const m = missing.get(row.id);
    if (m !== undefined && row.value?.deleted === true) (m.s.deleted ??= new Set()).add(m.type);
  }
}
