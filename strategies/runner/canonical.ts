/**
 * Deterministic revisions (client-side migration without conflicts) and document content comparison. Browser-safe.
 */
import { stringMd5 } from "pouchdb-md5";
import { jsonEqual, quote, serialize } from "../../core/json.js";
import type { Doc } from "../../store/port.js";

export { canonicalJson } from "../../core/json.js";

/** Top-level fields that are revision metadata, not content. */
const REVISION_FIELDS: ReadonlySet<string> = new Set(["_rev", "_revisions", "_conflicts"]);

/** The document's content as it is hashed and compared: everything but `_rev`, `_revisions` and `_conflicts`. */
export function contentOf(doc: Doc): Record<string, unknown> {
  const { _rev, _revisions, _conflicts, ...rest } = doc;
  void _rev;
  void _revisions;
  void _conflicts;
  return rest;
}

/** True when two documents have the same content (ignoring revision fields and key order): equal canonical JSON. */
export function sameContent(a: Doc, b: Doc): boolean {
  return jsonEqual(a, b, REVISION_FIELDS);
}

/**
 * The deterministic child revision of `doc` (whose `_rev`, if any, is the parent): `<gen+1>-<md5>` where the
 * md5 covers the canonical content and the parent revision. Returns the document to write with
 * `new_edits: false`: `_rev` set and `_revisions` listing the new hash and the parent's.
 *
 * Same input document + same translation ⇒ same revision on every device, so replicas that migrate the
 * same document independently converge without conflicts.
 *
 * @param memo canonical texts of objects already serialised, reused for objects `doc` shares with documents hashed
 * before or after it with the same `memo` (see `serialize`); none may change meanwhile.
 */
export function withDeterministicRev(doc: Doc, memo?: Map<object, string>): Doc {
  const parent = typeof doc._rev === "string" ? doc._rev : undefined;
  let gen = 0;
  let parentHash: string | undefined;
  if (parent !== undefined) {
    const dash = parent.indexOf("-");
    gen = Number(parent.slice(0, dash));
    parentHash = parent.slice(dash + 1);
  }
  // canonicalJson({ content: contentOf(doc), parent: parent ?? null }), without copying the document.
  const hash = stringMd5(`{"content":${serialize(doc, REVISION_FIELDS, memo) ?? "null"},"parent":${parent === undefined ? "null" : quote(parent)}}`);
  const start = gen + 1;
  const out: Doc = { ...doc, _id: doc._id, _rev: `${start}-${hash}`, _revisions: { start, ids: parentHash === undefined ? [hash] : [hash, parentHash] } };
  delete out._conflicts;
  return out;
}
