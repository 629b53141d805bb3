/**
 * The revision map of a translating proxy (pure): the revisions of translated documents ("views").
 *
 * A view (e.g. the `task:<id>` an old-app device sees, made from task@3 + task-state@1)
 * has no revision of its own on the server. The proxy gives it one, kept in a small record per view
 * ({@link ViewRev}, stored as a `_local` document of the server database):
 *
 * - the current synthetic revision and the hash of the content it stands for;
 * - its ancestors (revision hashes, newest first), so `_revisions` shows a linear history and every
 *   revision a device receives is a child of the one it has.
 *
 * A read whose translated content hashes differently from the record mints `gen+1` as a child of the
 * recorded revision ({@link observe}); the minted id is derived from the parent and the content, so two
 * readers (or two proxies) minting from the same state mint the same revision. A write a device pushes
 * with revision R records R, with the hash of the content the device holds under R ({@link adoptPushed}):
 * when the server reads it back the same (down(up(x, base)) = x), R is served again: no echo, no conflict;
 * when it reads back differently, the next read mints a child of R, which the device receives as an update.
 *
 * A record also keeps the content of its recent revisions (the base a concurrent edit is merged from) and the
 * branches such merges ended (tombstones served next to the current revision, {@link endBranch}).
 *
 * A view older than the stored shape cannot show every stored member (an old app sees "not done" for every
 * status but done). Its revisions stand for the stored entity too ({@link stateHash}, {@link ViewRev.stored}):
 * when another version changes what the view cannot show, the view gets a new revision with the same content,
 * so an edit a device pushes tells which stored state it was made on, and one that would overwrite a
 * member changed since keeps the stored entity on a conflict branch instead of dropping it.
 */
import { stringMd5 } from "pouchdb-md5";
import { canonicalJson, contentOf } from "../../strategies/runner/canonical.js";
import type { Doc } from "../../store/port.js";

/** Revisions kept per view (CouchDB's default `_revs_limit`). */
export const REVS_LIMIT = 1000;

/** The hash a deleted view has. */
export const DELETED_HASH = "deleted";

/** The revision record of one view (version 1 of the `_local` document's body). */
export interface ViewRev {
  readonly v: 1;
  /** The current synthetic revision, `<gen>-<hash>`. */
  readonly rev: string;
  /** Hash of the content {@link rev} stands for ({@link DELETED_HASH} when deleted). */
  readonly hash: string;
  /** True when the view is deleted at {@link rev}. */
  readonly deleted: boolean;
  /** Revision hashes, newest first; `ancestors[0]` is {@link rev}'s own hash. At most {@link REVS_LIMIT}. */
  readonly ancestors: readonly string[];
  /** The content of recent revisions (the current one too), by revision: the base of a merge. At most {@link CONTENTS_KEPT}. */
  readonly contents?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * For a view older than the stored shape: the stored entity at the newest shape (type → content) each recent
   * revision stood for, by revision (the same revisions as {@link contents}). A revision stands for the stored
   * entity too, not only for what the view shows of it: an edit made on it is merged against what was stored
   * then, so it never overwrites unseen what another version changed meanwhile where this one cannot see it.
   */
  readonly stored?: Readonly<Record<string, StoredEntity>>;
  /**
   * Branches a merge ended: a tombstone revision and its ancestors (hashes, newest first, its own first),
   * served next to the current revision, so a device that pushed the merged edit ends its branch. At most
   * {@link ENDED_KEPT}.
   */
  readonly ended?: readonly EndedBranch[];
}

/** A stored entity at the newest shape: type → content. */
export type StoredEntity = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** A branch ended by a merge ({@link ViewRev.ended}). */
export interface EndedBranch {
  readonly rev: string;
  readonly ancestors: readonly string[];
}

/** Revisions whose content a record keeps. */
export const CONTENTS_KEPT = 10;
/** Ended branches a record keeps. */
export const ENDED_KEPT = 20;

/** CouchDB's `_revisions` of a document. */
export interface Revisions {
  start: number;
  ids: string[];
}

/** The generation of a revision (`3-abc` → 3; 0 when malformed). */
export function generationOf(rev: string): number {
  const n = Number.parseInt(rev.slice(0, rev.indexOf("-")), 10);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** The hash part of a revision (`3-abc` → `abc`). */
export function hashOf(rev: string): string {
  return rev.slice(rev.indexOf("-") + 1);
}

/**
 * The hash of a view's content: every member but `_rev`, `_revisions`, `_conflicts` and `_deleted`,
 * independent of key order. `undefined` (or a deleted document) hashes to {@link DELETED_HASH}.
 */
export function viewHash(doc: Doc | undefined): string {
  if (doc === undefined || doc._deleted === true) return DELETED_HASH;
  const { _deleted, ...content } = contentOf(doc);
  void _deleted;
  return stringMd5(canonicalJson(content));
}

/** What a new record keeps of the one it replaces: recent contents, stored entities and ended branches. */
function kept(previous: ViewRev | undefined): Pick<ViewRev, "contents" | "stored" | "ended"> {
  return {
    ...(previous?.contents === undefined ? {} : { contents: previous.contents }),
    ...(previous?.stored === undefined ? {} : { stored: previous.stored }),
    ...(previous?.ended === undefined ? {} : { ended: previous.ended }),
  };
}

/**
 * The hash a record keeps for view content `doc` over stored entity `stored` (none: a view at the stored shape,
 * whose content is what is stored): {@link viewHash} of the content, combined with the stored entity's.
 */
export function stateHash(doc: Doc | undefined, stored: StoredEntity | undefined): string {
  const view = viewHash(doc);
  return view === DELETED_HASH || stored === undefined ? view : stringMd5(canonicalJson({ view, stored }));
}

/** The child of `parent` (none: a first revision) for content `hash`. Deterministic. */
export function mintChild(parent: ViewRev | undefined, hash: string, deleted: boolean): ViewRev {
  const gen = parent === undefined ? 0 : generationOf(parent.rev);
  const id = stringMd5(canonicalJson({ parent: parent?.rev ?? null, hash, deleted }));
  const ancestors = [id, ...(parent?.ancestors ?? [])].slice(0, REVS_LIMIT);
  return { v: 1, rev: `${gen + 1}-${id}`, hash, deleted, ancestors, ...kept(parent) };
}

/**
 * `entry` also keeping `doc` (`undefined`: a deletion, nothing to keep) as the content of its current revision,
 * and `stored` as the stored entity it stands for.
 */
export function withContent(entry: ViewRev, doc: Doc | undefined, stored?: StoredEntity): ViewRev {
  if (doc === undefined) return entry;
  const contents = Object.entries({ ...entry.contents, [entry.rev]: contentOf(doc) }).slice(-CONTENTS_KEPT);
  const entities = stored === undefined ? entry.stored : Object.fromEntries(Object.entries({ ...entry.stored, [entry.rev]: stored }).slice(-CONTENTS_KEPT));
  return { ...entry, contents: Object.fromEntries(contents), ...(entities === undefined ? {} : { stored: entities }) };
}

/**
 * `entry` with the branch of `rev` (a device's edit, with its `_revisions`) ended: a tombstone child of it,
 * with a revision derived from it (every proxy ends it the same way).
 */
export function endBranch(entry: ViewRev, rev: string, revisions: Revisions | undefined): ViewRev {
  const id = stringMd5(canonicalJson({ ended: rev }));
  const branch = adoptPushed(rev, revisions, DELETED_HASH).ancestors;
  const ended: EndedBranch = { rev: `${generationOf(rev) + 1}-${id}`, ancestors: [id, ...branch].slice(0, REVS_LIMIT) };
  return { ...entry, ended: [...(entry.ended ?? []).filter((e) => e.rev !== ended.rev), ended].slice(-ENDED_KEPT) };
}

/**
 * What a read serves for a view whose translated content hashes to `hash` (`DELETED_HASH`: no such
 * document now). Returns the record unchanged when the content is the recorded one, a minted child when
 * it changed, and `undefined` for a view that is deleted and was never served (nothing to tell anyone).
 */
export function observe(entry: ViewRev | undefined, hash: string): { entry: ViewRev | undefined; changed: boolean } {
  const deleted = hash === DELETED_HASH;
  if (entry === undefined) return deleted ? { entry: undefined, changed: false } : { entry: mintChild(undefined, hash, false), changed: true };
  if (entry.hash === hash) return { entry, changed: false };
  return { entry: mintChild(entry, hash, deleted), changed: true };
}

/**
 * Records a revision a device pushed (`new_edits: false`): `rev` with its history `revisions` (as the
 * device sent it; only `rev` itself when absent) now stands for content `hash`.
 */
export function adoptPushed(rev: string, revisions: Revisions | undefined, hash: string, previous?: ViewRev): ViewRev {
  const own = hashOf(rev);
  const ids = revisions !== undefined && revisions.start === generationOf(rev) && revisions.ids[0] === own ? revisions.ids : [own];
  return { v: 1, rev, hash, deleted: hash === DELETED_HASH, ancestors: ids.slice(0, REVS_LIMIT), ...kept(previous) };
}

/** True when `rev` is `head` or one of the `ancestors` of it. */
function onBranch(head: string, ancestors: readonly string[], rev: string): boolean {
  const i = generationOf(head) - generationOf(rev);
  return i >= 0 && i < ancestors.length && ancestors[i] === hashOf(rev);
}

/** True when `rev` is the view's current revision or one of its recorded ancestors. */
export function onCurrent(entry: ViewRev | undefined, rev: string): boolean {
  return entry !== undefined && onBranch(entry.rev, entry.ancestors, rev);
}

/** True when `rev` is the view's current revision, an ancestor of it, or on a branch a merge ended. */
export function knows(entry: ViewRev | undefined, rev: string): boolean {
  return entry !== undefined && (onCurrent(entry, rev) || (entry.ended ?? []).some((e) => onBranch(e.rev, e.ancestors, rev)));
}

/** The `_revisions` of the view's current revision. */
export function revisionsOf(entry: ViewRev): Revisions {
  return { start: generationOf(entry.rev), ids: [...entry.ancestors] };
}

/** A stored record read back from a `_local` document body; `undefined` when it is not one. */
export function parseViewRev(body: Record<string, unknown> | undefined): ViewRev | undefined {
  if (body === undefined || body["v"] !== 1) return undefined;
  const { rev, hash, deleted, ancestors } = body;
  if (typeof rev !== "string" || typeof hash !== "string" || typeof deleted !== "boolean") return undefined;
  if (!Array.isArray(ancestors) || !ancestors.every((a): a is string => typeof a === "string")) return undefined;
  const out: ViewRev = { v: 1, rev, hash, deleted, ancestors };
  const contents = body["contents"];
  const stored = body["stored"];
  const ended = body["ended"];
  const branches = Array.isArray(ended) ? ended.filter((e): e is EndedBranch => typeof e === "object" && e !== null && typeof (e as EndedBranch).rev === "string" && Array.isArray((e as EndedBranch).ancestors)) : [];
  return {
    ...out,
    ...(typeof contents === "object" && contents !== null && !Array.isArray(contents) ? { contents: contents as Record<string, Record<string, unknown>> } : {}),
    ...(typeof stored === "object" && stored !== null && !Array.isArray(stored) ? { stored: stored as Record<string, StoredEntity> } : {}),
    ...(branches.length > 0 ? { ended: branches } : {}),
  };
}
