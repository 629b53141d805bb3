/**
 * Helpers of the corpus tests: seed a corpus ({@link generateCorpus}) into a database of the test server,
 * snapshot a database (every leaf of every document, `_local` documents, tombstones), read every quarantine
 * record of every job, and account for every original document and leaf after a migration and its rollback.
 */
import { expect } from "vitest";
import { canonicalJson } from "../../strategies/runner/canonical.js";
import { readJobs, readQuarantine } from "../../strategies/runner/local.js";
import type { QuarantineRecord } from "../../strategies/runner/types.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import { couchFetch } from "../support/server.js";
import type { Json } from "../cli/support.js";
import type { Corpus, Kind } from "./generator.js";

/** Creates database `db` on `base` and writes the corpus into it as replication would (revisions kept). */
export async function seedCorpus(base: string, db: string, corpus: Corpus): Promise<void> {
  expect((await couchFetch(`${base}/${db}`, { method: "PUT" })).status).toBe(201);
  for (let i = 0; i < corpus.docs.length; i += 500) {
    const res = await couchFetch(`${base}/${db}/_bulk_docs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ docs: corpus.docs.slice(i, i + 500), new_edits: false }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { error?: unknown }[]).filter((r) => r.error !== undefined)).toEqual([]);
  }
  for (const local of corpus.locals) {
    const res = await couchFetch(`${base}/${db}/${local._id}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(local) });
    expect(res.status).toBe(201);
  }
}

/** A database at one moment: every live document's leaves (winner first), and the `_local` documents asked for. */
export interface Snapshot {
  /** Per id, every leaf: the winner first, then its conflicts (sorted by revision). */
  readonly leaves: ReadonlyMap<string, readonly Doc[]>;
  readonly locals: ReadonlyMap<string, Json | undefined>;
}

/** Reads every live document of `store` with every leaf, and the given `_local` documents. */
export async function snapshot(store: DocumentStore, localIds: readonly string[] = []): Promise<Snapshot> {
  const leaves = new Map<string, Doc[]>();
  const conflicted: { id: string; rev: string }[] = [];
  let startkey: string | undefined;
  for (;;) {
    const page = await store.allDocs({ includeDocs: true, conflicts: true, limit: 1000, ...(startkey === undefined ? {} : { startkey, skip: 1 }) });
    for (const row of page.rows) {
      if (row.doc === undefined || row.doc === null) continue;
      const { _conflicts, ...winner } = row.doc;
      leaves.set(row.id, [winner as Doc]);
      for (const rev of _conflicts ?? []) conflicted.push({ id: row.id, rev });
    }
    const last = page.rows[page.rows.length - 1];
    if (page.rows.length < 1000 || last === undefined) break;
    startkey = last.id;
  }
  for (let i = 0; i < conflicted.length; i += 200) {
    for (const r of await store.bulkGet(conflicted.slice(i, i + 200))) if ("ok" in r) leaves.get(r.id)?.push(r.ok);
  }
  for (const list of leaves.values()) list.splice(1, list.length - 1, ...list.slice(1).sort((a, b) => String(a._rev).localeCompare(String(b._rev))));
  const locals = new Map<string, Json | undefined>();
  for (const id of localIds) locals.set(id, (await store.getLocal(id)) as Json | undefined);
  return { leaves, locals };
}

/**
 * A document's body as the corpus compares it: canonical JSON of everything but revision fields, attachments by
 * name, type, digest and length (the generation an attachment was added at moves with every write).
 */
export function body(doc: Doc): string {
  const { _rev, _revisions, _conflicts, _attachments, ...rest } = doc;
  void _rev;
  void _revisions;
  void _conflicts;
  const atts: Record<string, unknown> = {};
  for (const [name, a] of Object.entries((_attachments ?? {}) as Record<string, Record<string, unknown>>)) {
    atts[name] = { content_type: a["content_type"], digest: a["digest"], length: a["length"] };
  }
  return canonicalJson(_attachments === undefined ? rest : { ...rest, _attachments: atts });
}

/** Every quarantine record of every job recorded on `store`, by `id@rev`. */
export async function quarantines(store: DocumentStore): Promise<Map<string, QuarantineRecord>> {
  const out = new Map<string, QuarantineRecord>();
  for (const job of await readJobs(store)) for (const r of await readQuarantine(store, job.id)) out.set(`${r.id}@${r.rev ?? ""}`, r);
  return out;
}

/** Kinds of documents that start at a todo version other than 1 (a rollback to 1.0.0 translates them down). */
const NEWER: ReadonlySet<Kind> = new Set(["v2", "v3-item", "v3-conflict", "collide-v3-isDone"]);
/** Attributes the todo schemas name, which a translation may change; every other attribute must come back. */
const OWNED = new Set(["schema", "version", "title", "isDone", "createdAt", "isImportant", "status", "group"]);

/**
 * Whether `now` is `original` (a todo-item@2 or @3, with `status` its status) translated down to todo-item@1:
 * what a rollback to 1.0.0 must make of it.
 */
function translatedDown(original: Doc, status: unknown, now: Doc | undefined): string | undefined {
  if (now === undefined) return "is gone";
  if (now["version"] !== 1 || now["schema"] !== "todo-item") return `is at ${String(now["schema"])}@${String(now["version"])}, not todo-item@1`;
  for (const f of ["title", "createdAt", "isImportant"]) if (canonicalJson(now[f]) !== canonicalJson(original[f])) return `${f} changed`;
  if (now["isDone"] !== (status === "done")) return `isDone ${String(now["isDone"])} for status ${String(status)}`;
  for (const [k, v] of Object.entries(original)) if (!k.startsWith("_") && !OWNED.has(k) && canonicalJson(now[k]) !== canonicalJson(v)) return `attribute ${k} lost`;
  return undefined;
}

/**
 * What is not accounted for after an in-place migration and its rollback to 1.0.0 (empty when everything is):
 * every original leaf is back byte for byte (its body, revisions apart) or its document is listed in the
 * quarantine with a reason (by the original revision, or by a revision it has now: left where it was); a todo that
 * started at 2 or 3 is its translation down to todo-item@1 (its status document merged into it) unless quarantined;
 * design and `_local` documents are unchanged; tombstones stay deleted; and no document is there that was not there
 * before.
 */
export function unaccounted(corpus: Corpus, before: Snapshot, after: Snapshot, quarantine: ReadonlyMap<string, QuarantineRecord>): string[] {
  const problems: string[] = [];
  const reported = (id: string, rev: string | undefined): boolean => {
    const r = quarantine.get(`${id}@${rev ?? ""}`);
    return r !== undefined && r.reason.length > 0 && r.code.length > 0;
  };
  /** Back unchanged, or listed in the quarantine by its revision then or by one it has now. */
  const accounted = (id: string, leaf: Doc): boolean => {
    const now = after.leaves.get(id) ?? [];
    return now.some((d) => body(d) === body(leaf)) || reported(id, leaf._rev) || now.some((d) => reported(id, d._rev));
  };
  for (const [id, leaves] of before.leaves) {
    const kind = corpus.kinds.get(id);
    const now = after.leaves.get(id) ?? [];
    if (kind === "design") {
      if (now.length !== 1 || now[0]!._rev !== leaves[0]!._rev || body(now[0]!) !== body(leaves[0]!)) problems.push(`${id}: the design document changed`);
      continue;
    }
    if (kind === "v3-status") {
      const item = `todo-item:${id.slice("todo-item-status:".length)}`;
      const itemNow = after.leaves.get(item)?.[0];
      if (now.length === 0 && itemNow?.["version"] === 1) continue; // merged into its todo, now at 1
      if (accounted(id, leaves[0]!)) continue;
      problems.push(`${id}: a status document neither merged into its todo nor left as it was`);
      continue;
    }
    leaves.forEach((leaf, i) => {
      if (accounted(id, leaf)) return;
      if (i === 0 && kind !== undefined && NEWER.has(kind)) {
        const statusDoc = before.leaves.get(`todo-item-status:${id.slice("todo-item:".length)}`)?.[0];
        const why = translatedDown(leaf, leaf["version"] === 2 ? leaf["status"] : statusDoc?.["status"], now[0]);
        if (why !== undefined) problems.push(`${id}@${leaf._rev ?? ""} (${kind}): not translated down to todo-item@1: it ${why}`);
        return;
      }
      problems.push(`${id}@${leaf._rev ?? ""} (${kind ?? "?"}): neither back unchanged nor in the quarantine`);
    });
  }
  for (const id of after.leaves.keys()) {
    if (!before.leaves.has(id)) problems.push(`${id}: not in the original database`);
    if (corpus.kinds.get(id) === "tombstone") problems.push(`${id}: a tombstone came back to life`);
  }
  for (const [id, local] of before.locals) if (canonicalJson(after.locals.get(id)) !== canonicalJson(local)) problems.push(`${id}: the _local document changed`);
  return problems;
}

/**
 * What is wrong with a copy (`--target`) of `source` made by job `job`: every live source document is in the copy,
 * translated (a valid todo-item@1 becomes todo-item@3 and its status) or carried unchanged with every leaf (its
 * revisions kept) — or, for a losing leaf of a translated document, listed in the quarantine; quarantined
 * documents are carried unchanged; attachments are there; nothing else is.
 */
export function copyProblems(corpus: Corpus, source: Snapshot, copy: Snapshot, quarantine: ReadonlyMap<string, QuarantineRecord>): string[] {
  const problems: string[] = [];
  const statusIds = new Set<string>();
  for (const [id, leaves] of source.leaves) {
    const kind = corpus.kinds.get(id);
    if (kind === "design") {
      if (copy.leaves.has(id)) problems.push(`${id}: design documents are not copied`);
      continue;
    }
    const now = copy.leaves.get(id);
    if (now === undefined) {
      problems.push(`${id} (${kind ?? "?"}): missing from the copy`);
      continue;
    }
    const winner = leaves[0]!;
    const translated = now[0]!["version"] === 3 && winner["version"] !== 3 && winner["schema"] === "todo-item";
    if (translated) {
      statusIds.add(`todo-item-status:${id.slice("todo-item:".length)}`);
      const atts = Object.keys(winner._attachments ?? {});
      const got = (now[0]!._attachments ?? {}) as Record<string, { digest?: unknown }>;
      for (const a of atts) if (got[a]?.digest !== (winner._attachments as Record<string, { digest?: unknown }>)[a]?.digest) problems.push(`${id}: attachment ${a} missing from the copy`);
      for (const leaf of leaves.slice(1)) if (!quarantine.has(`${id}@${leaf._rev ?? ""}`)) problems.push(`${id}@${leaf._rev ?? ""}: a losing leaf of a translated document neither carried nor quarantined`);
      if (quarantine.has(`${id}@${winner._rev ?? ""}`)) problems.push(`${id}: translated, yet in the quarantine`);
      continue;
    }
    if (kind === "v3-status") {
      const item = `todo-item:${id.slice("todo-item-status:".length)}`;
      const [from, to] = [source.leaves.get(item)?.[0], copy.leaves.get(item)?.[0]];
      if (from?.["version"] !== 3 && to?.["version"] === 3) continue; // its todo was translated: the status is the translation's
    }
    // Carried unchanged: every leaf, with its revision.
    const want = leaves.map((l) => `${l._rev ?? ""} ${body(l)}`).sort();
    const got = now.map((l) => `${l._rev ?? ""} ${body(l)}`).sort();
    if (canonicalJson(want) !== canonicalJson(got)) problems.push(`${id} (${kind ?? "?"}): not carried unchanged with every leaf`);
    // A todo not at 3 that was carried unchanged could not be translated: the quarantine must say why.
    if (winner["schema"] === "todo-item" && winner["version"] !== 3 && !quarantine.has(`${id}@${winner._rev ?? ""}`)) problems.push(`${id} (${kind ?? "?"}): carried unchanged but not quarantined`);
  }
  for (const id of copy.leaves.keys()) if (!source.leaves.has(id) && !statusIds.has(id)) problems.push(`${id}: in the copy but not in the source`);
  return problems;
}
