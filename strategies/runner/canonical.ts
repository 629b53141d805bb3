/**
 * Canonical JSON and deterministic revisions (client-side migration without conflicts).
 * Browser-safe.
 */
import { stringMd5 } from "pouchdb-md5";
import type { Doc } from "../../store/port.js";

/**
 * JSON with object keys sorted at every level and every non-ASCII character escaped (`\uXXXX`), so the
 * same value gives the same text everywhere, whatever the key order, and hashes the same with Node's and
 * the browser's md5 (which treat non-ASCII text differently).
 */
export function canonicalJson(value: unknown): string {
  return escapeNonAscii(JSON.stringify(sortKeys(value)) ?? "null");
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = sortKeys(v);
  }
  return out;
}

function escapeNonAscii(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The document's content as it is hashed and compared: everything but `_rev`, `_revisions` and `_conflicts`. */
export function contentOf(doc: Doc): Record<string, unknown> {
  const { _rev, _revisions, _conflicts, ...rest } = doc;
  void _rev;
  void _revisions;
  void _conflicts;
  return rest;
}

/** True when two documents have the same content (ignoring revision fields and key order). */
export function sameContent(a: Doc, b: Doc): boolean {
  return canonicalJson(contentOf(a)) === canonicalJson(contentOf(b));
}

/**
 * The deterministic child revision of `doc` (whose `_rev`, if any, is the parent): `<gen+1>-<md5>` where the
 * md5 covers the canonical content and the parent revision. Returns the document to write with
 * `new_edits: false`: `_rev` set and `_revisions` listing the new hash and the parent's.
 *
 * Same input document + same translation ⇒ same revision on every device, so replicas that migrate the
 * same document independently converge without conflicts.
 */
export function withDeterministicRev(doc: Doc): Doc {
  const parent = typeof doc._rev === "string" ? doc._rev : undefined;
  let gen = 0;
  let parentHash: string | undefined;
  if (parent !== undefined) {
    const dash = parent.indexOf("-");
    gen = Number(parent.slice(0, dash));
    parentHash = parent.slice(dash + 1);
  }
  const hash = stringMd5(canonicalJson({ content: contentOf(doc), parent: parent ?? null }));
  const start = gen + 1;
  const out: Doc = { ...contentOf(doc), _id: doc._id, _rev: `${start}-${hash}`, _revisions: { start, ids: parentHash === undefined ? [hash] : [hash, parentHash] } };
  return out;
}
