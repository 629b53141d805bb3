/**
 * What a migrated document records of the old revisions it grew from, so that any replica can merge a
 * concurrent old edit three ways without the ancestor's body. Browser-safe.
 *
 * A replica that received a migrated document by replication holds the bodies of its leaves only: the old
 * revision it was migrated from (the common ancestor of an old app's concurrent edit) is a revision id in its
 * history, nothing more. So every document an in-place migration writes with `recordBases` carries
 * `divan: { bases: { <old rev>: { <attribute>: <hash> } } }`: for the old revision it translated (and, after a
 * merge, each old edit merged into it), a hash of each attribute of its translation. Two replicas then merge the
 * same conflict the same way whether or not they hold the ancestor's body, and their deterministic revisions
 * agree. An app keeps the attribute as it keeps every attribute it does not know.
 */
import { stringMd5 } from "pouchdb-md5";
import { canonicalJson } from "../../core/json.js";

/** Attribute → hash of its value, for one document as one old revision translates. */
export type AttributeHashes = Readonly<Record<string, string>>;

/** Old revision → the hashes of its translation, as a document records them. */
export type Bases = Readonly<Record<string, AttributeHashes>>;

/** Attributes that are no content of their own: ids, revision fields, divan's provenance. */
const NOT_CONTENT: ReadonlySet<string> = new Set(["_id", "_rev", "_revisions", "_conflicts", "_deleted", "divan"]);

/** Hashes of short primitive values (most attribute values repeat: types, versions, statuses, defaults). */
const primitiveHashes = new Map<string | number | boolean, string>();
/** At most this many hashes kept (emptied when full: unique values such as titles do not pile up). */
const PRIMITIVE_HASHES = 4_096;
/** Strings longer than this are hashed every time (a cache entry stays small). */
const CACHED_STRING = 256;

/** The hash of one attribute value (a missing attribute hashes like `null`). */
export function valueHash(value: unknown): string {
  const t = typeof value;
  if (t !== "number" && t !== "boolean" && (t !== "string" || (value as string).length > CACHED_STRING)) return md5Of(value ?? null);
  const v = value as string | number | boolean;
  let h = primitiveHashes.get(v);
  if (h === undefined) {
    h = md5Of(v);
    if (primitiveHashes.size >= PRIMITIVE_HASHES) primitiveHashes.clear();
    primitiveHashes.set(v, h);
  }
  return h;
}

function md5Of(value: unknown): string {
  return stringMd5(canonicalJson(value)).slice(0, 16);
}

/** The hash of each content attribute of `doc`. */
export function attributeHashes(doc: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in doc) {
    if (!Object.hasOwn(doc, k) || NOT_CONTENT.has(k)) continue;
    const v = doc[k];
    if (v !== undefined) out[k] = valueHash(v);
  }
  return out;
}

/** The bases `doc` records (none when it records none, or something else). */
export function basesOf(doc: Readonly<Record<string, unknown>> | undefined): Bases {
  const divan = doc?.["divan"];
  if (typeof divan !== "object" || divan === null) return {};
  const bases = (divan as { bases?: unknown }).bases;
  return typeof bases === "object" && bases !== null && !Array.isArray(bases) ? (bases as Bases) : {};
}

/** `doc` recording `bases` besides what it records already (a later record of one revision replaces the earlier). */
export function withBases<D extends Readonly<Record<string, unknown>>>(doc: D, bases: Bases): D {
  return { ...doc, divan: divanWithBases(doc, bases) };
}

/** The `divan` attribute of {@link withBases}`(doc, bases)` (for a caller that sets it on a copy of its own). */
export function divanWithBases(doc: Readonly<Record<string, unknown>>, bases: Bases): Record<string, unknown> {
  const divan = doc["divan"];
  const rest = typeof divan === "object" && divan !== null && !Array.isArray(divan) ? (divan as Record<string, unknown>) : {};
  return { ...rest, bases: { ...basesOf(doc), ...bases } };
}

/**
 * Attributes of one document a side of a three-way merge may have changed and then changed back since the common
 * ancestor (`any`: every attribute). Such a side holds the ancestor's value, but not because it left it alone: its
 * user's last value is that one, and a merge that lets the other side's change win loses it.
 */
export type ChangedBack = ReadonlySet<string> | "any";

/**
 * The rule both merges of concurrent edits apply (the runner's, `conflicts.ts`, and the translating proxy's): what a
 * side may have changed back, from its revisions strictly between the ancestor (attribute hashes `ancestor`) and its
 * last one, `between` (their attribute hashes, undefined where the body is not at hand), and `users`, how many of the
 * side's revisions past the ancestor a user wrote (one whose author is not known counts). Replication carries only a
 * branch's last revision, so a side with a body missing and two or more user revisions past the ancestor may have
 * changed any attribute back; otherwise exactly the attributes one of its revisions held differently.
 */
export function changedBackAcross(ancestor: AttributeHashes, between: readonly (AttributeHashes | undefined)[], users: number): ChangedBack {
  if (users >= 2 && between.some((h) => h === undefined)) return "any";
  const nothing = valueHash(undefined);
  const out = new Set<string>();
  for (const h of between) {
    if (h === undefined) continue;
    for (const k of new Set([...Object.keys(h), ...Object.keys(ancestor)])) if ((h[k] ?? nothing) !== (ancestor[k] ?? nothing)) out.add(k);
  }
  return out;
}
