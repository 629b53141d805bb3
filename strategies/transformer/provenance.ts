/**
 * Provenance of transformer output ("no loops") and the content comparisons the
 * transformer decides with. Pure and browser-safe.
 *
 * Every document a transformer writes carries `divan: {@link Provenance}`. Apps keep unknown
 * attributes when they edit, so an edited document still carries the provenance of the write it was
 * based on; the `hash` tells the two apart: a document whose content still hashes to its provenance
 * `hash` is *pristine* (nobody edited it since the transformer wrote it).
 */
import type { Doc } from "../../store/port.js";

/** The attribute holding provenance on transformer output. */
export const PROVENANCE_FIELD = "divan";

/** Where a transformer-written document came from. */
export interface Provenance {
  /** The side (version database, or version in a shared database) the source documents were read from. */
  readonly from: string;
  /** The id of the entity's first source document. */
  readonly id: string;
  /** Its revision. */
  readonly rev: string;
  /** Every source document id → the revision that was translated (a merge has several). */
  readonly revs: Readonly<Record<string, string>>;
  /** The steps applied, joined with ` / ` (`identity` when none). */
  readonly step: string;
  /** Hash of the written content (see {@link contentHash}); equal to the current content ⇔ pristine. */
  readonly hash: string;
  /**
   * Hash of the source documents' content that was translated ({@link sourceHash}): a replica that holds no body of
   * that source revision (it received only a later one) still tells whether an edit of the translation changed
   * anything the source can show. Absent on output written before it was recorded.
   */
  readonly src?: string;
  /**
   * The generation of the revision the transformer wrote (its parent's plus one). An app that edits a
   * translation back to the very content it had (done, then not done again) writes a later generation:
   * its edit is not mistaken for transformer output. Absent on output written before it was recorded.
   */
  readonly gen?: number;
}

/** Stable JSON: keys sorted at every level, `undefined` members dropped. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (obj[k] !== undefined) parts.push(`${JSON.stringify(k)}:${stableJson(obj[k])}`);
  }
  return `{${parts.join(",")}}`;
}

/** A document's user content: everything but `_rev`, `_revisions`, `_conflicts` and provenance. */
export function userContent(doc: Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(doc)) {
    if (k === "_rev" || k === "_revisions" || k === "_conflicts" || k === PROVENANCE_FIELD) continue;
    out[k] = doc[k];
  }
  return out;
}

/** 128-bit hex hash of a string (four seeded 32-bit mixes; not cryptographic, stable everywhere). */
export function hash128(text: string): string {
  let out = "";
  for (let seed = 1; seed <= 4; seed++) {
    let h = (0x811c9dc5 ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    out += ((h ^ (h >>> 16)) >>> 0).toString(16).padStart(8, "0");
  }
  return out;
}

/** The hash of a document's {@link userContent} (independent of key order). */
export function contentHash(doc: Doc): string {
  return hash128(stableJson(userContent(doc)));
}

/** True when both documents have the same user content (ignoring revisions, provenance and key order). */
export function sameUserContent(a: Doc, b: Doc): boolean {
  return stableJson(userContent(a)) === stableJson(userContent(b));
}

/** The provenance a document carries, if it looks like one. */
export function provenanceOf(doc: Doc | undefined): Provenance | undefined {
  const p = doc?.[PROVENANCE_FIELD];
  if (p === null || typeof p !== "object") return undefined;
  const r = p as Record<string, unknown>;
  if (typeof r["from"] !== "string" || typeof r["hash"] !== "string" || r["revs"] === null || typeof r["revs"] !== "object") return undefined;
  return p as Provenance;
}

/**
 * Why divan wrote a tombstone that ends one document, not the entity: `retired` (the document of a retired
 * version, translated into the versions still supported), `stale` (a translation of an older source
 * revision, `stale.ts`). It is kept in the tombstone's {@link PROVENANCE_FIELD} (`divan: { ended: "retired" }`).
 */
export type Ending = "retired" | "stale";

/** The body of a tombstone that ends `doc` for `why` (see {@link Ending}); type and version fields are kept by the caller. */
export function ending(doc: { _id: string; _rev: string }, why: Ending): Doc {
  return { _id: doc._id, _rev: doc._rev, _deleted: true, [PROVENANCE_FIELD]: { ended: why } };
}

/** Why divan ended `doc` (its {@link ending} mark), or `undefined` for any other document. */
export function endingOf(doc: Doc): Ending | undefined {
  const mark = doc[PROVENANCE_FIELD];
  if (doc._deleted !== true || mark === null || typeof mark !== "object") return undefined;
  const why = (mark as Record<string, unknown>)["ended"];
  return why === "retired" || why === "stale" ? why : undefined;
}

/**
 * True when `doc` is a tombstone someone deleted the entity with (an app, or a transformer carrying such a
 * deletion), false for one divan wrote to end only this document ({@link ending}, or a merged conflict
 * branch `divan: { merged: true }`) and for a live document.
 */
export function isDeletion(doc: Doc): boolean {
  if (doc._deleted !== true) return false;
  const mark = doc[PROVENANCE_FIELD];
  if (mark === null || typeof mark !== "object") return true;
  const m = mark as Record<string, unknown>;
  return m["ended"] === undefined && m["merged"] !== true;
}

/**
 * True when `doc` was written by a transformer and nobody changed it since: its content hashes to its
 * provenance `hash`, and it is still at the generation the transformer wrote (a document without `_rev`, a
 * translation not stored yet, is judged by its content).
 */
export function isPristine(doc: Doc): boolean {
  const p = provenanceOf(doc);
  return p !== undefined && p.hash === contentHash(doc) && (p.gen === undefined || doc._rev === undefined || revGeneration(doc._rev) === p.gen);
}

/** The generation of a revision (`3-abc` → 3); 0 when it has none. */
export function revGeneration(rev: string | undefined): number {
  if (rev === undefined) return 0;
  const n = Number.parseInt(rev, 10);
  return Number.isFinite(n) ? n : 0;
}

/**
 * CouchDB's order of revisions: higher generation first, then the higher revision string. Positive
 * when `a` wins over `b`.
 */
export function compareRevs(a: string, b: string): number {
  const g = revGeneration(a) - revGeneration(b);
  if (g !== 0) return g;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The hash of several documents' {@link userContent}, by id (independent of their order). */
export function sourceHash(docs: readonly Doc[]): string {
  return hash128(stableJson([...docs].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0)).map(userContent)));
}
