/**
 * The corpus of the "nothing lost on real databases" acceptance (issue 14): a database of ≥ 10,000 documents
 * such as a team's own data holds, built from a seed so two databases built alike are identical, revisions
 * included (every document is written as replication writes it, `new_edits: false`, with revisions of its own).
 *
 * Besides valid todo-app documents of every version (todo-item@1 with and without 1.1's isImportant, @2, @3 with
 * its todo-item-status@1, settings@1) it holds: attachments, conflicts (several leaves), tombstones, design
 * documents, `_local` documents, unknown types, unknown versions (9, `"1"`, none), documents that fail their
 * schema (a title too long, no isDone, a bad date, isDone "yes"), unknown attributes colliding with step outputs
 * (a v1 `status`, a v3 `isDone`, a v1 `group`), entities split across pages (every todo-item@3 and its status
 * document: statuses sort before items) and very large documents.
 */
import type { Json } from "../cli/support.js";

/** What a document of the corpus is, for the checks. */
export type Kind =
  | "v1"
  | "v1-important"
  | "v1-note"
  | "v1-attachment"
  | "v1-conflict"
  | "v1-large"
  | "v2"
  | "v3-item"
  | "v3-status"
  | "v3-conflict"
  | "settings"
  | "unknown-type"
  | "unknown-attachment"
  | "unknown-conflict"
  | "tombstone"
  | "design"
  | "unknown-version"
  | "invalid"
  | "collide-v1-status"
  | "collide-v1-group"
  | "collide-v3-isDone";

/** A generated corpus. */
export interface Corpus {
  /** Documents and leaves to write with `new_edits: false` (a conflicted document appears once per leaf). */
  readonly docs: readonly Json[];
  /** `_local` documents (written one by one). */
  readonly locals: readonly Json[];
  /** The kind of every document id. */
  readonly kinds: ReadonlyMap<string, Kind>;
  /** Live (not deleted) documents, design documents included: the database's `doc_count`. */
  readonly docCount: number;
}

/** Sizes of a corpus; the defaults give a little over 10,000 documents. */
export interface CorpusSize {
  /** Valid todo-item@1 documents (the bulk). Default 8,100. */
  readonly v1?: number;
  /** Extra todo-item@1 documents that fail their schema; each has a long `reason` when quarantined. Default 200. */
  readonly invalid?: number;
  /** Characters of the `blob` attribute of each of the 4 very large documents. Default 1,500,000. */
  readonly large?: number;
  /** Characters added to the id of each schema-invalid document (long ids make long quarantine records). Default 0. */
  readonly invalidIdPadding?: number;
}

const CREATED = Date.UTC(2024, 0, 1);

/** A small seeded PRNG (mulberry32): the same seed builds the same corpus. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds the corpus of `seed`. */
export function generateCorpus(seed: number, size: CorpusSize = {}): Corpus {
  const random = prng(seed);
  const hex = (): string => Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  const docs: Json[] = [];
  const kinds = new Map<string, Kind>();
  let live = 0;
  const pad = (n: number): string => String(n).padStart(5, "0");
  const created = (n: number): string => new Date(CREATED + n * 1000).toISOString();
  /** One document at revision 1 (its own, from the seed). */
  const add = (kind: Kind, doc: Json): void => {
    kinds.set(doc._id, kind);
    docs.push({ ...doc, _rev: `1-${hex()}` });
    live++;
  };
  const todo1 = (id: string, n: number, extra: Record<string, unknown> = {}): Json => ({
    _id: `todo-item:${id}`,
    schema: "todo-item",
    version: 1,
    title: `todo ${n} ${"abcdefgh".slice(0, Math.floor(random() * 8))}`,
    isDone: random() < 0.4,
    createdAt: created(n),
    ...extra,
  });
  const statuses = ["active", "blocked", "done", "rejected"] as const;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

  const v1 = size.v1 ?? 8_100;
  for (let n = 0; n < v1; n++) {
    const id = `a${pad(n)}`;
    if (n % 97 === 0) add("v1-attachment", todo1(id, n, { _attachments: { "note.txt": { content_type: "text/plain", data: Buffer.from(`note ${n} `.repeat(1 + (n % 40))).toString("base64") } } }));
    else if (n % 7 === 0) add("v1-important", todo1(id, n, { isImportant: random() < 0.5 }));
    else if (n % 11 === 0) add("v1-note", todo1(id, n, { note: `kept ${n}`, tags: ["x", n] }));
    else add("v1", todo1(id, n));
  }
  for (let n = 0; n < 400; n++) {
    add("v2", { _id: `todo-item:b${pad(n)}`, schema: "todo-item", version: 2, title: `todo v2 ${n}`, status: pick(statuses), isImportant: random() < 0.3, createdAt: created(n) });
  }
  for (let n = 0; n < 400; n++) {
    const id = `c${pad(n)}`;
    add("v3-item", { _id: `todo-item:${id}`, schema: "todo-item", version: 3, title: `todo v3 ${n}`, isImportant: random() < 0.3, createdAt: created(n), group: n % 3 === 0 ? "default" : `group ${n % 5}` });
    add("v3-status", { _id: `todo-item-status:${id}`, schema: "todo-item-status", version: 1, status: pick(statuses) });
  }
  add("settings", { _id: "settings", schema: "settings", version: 1, color: "#336699" });
  for (let n = 0; n < 300; n++) {
    if (n % 30 === 0) add("unknown-attachment", { _id: `widget:w${pad(n)}`, schema: "widget", version: 7, size: n, _attachments: { "w.bin": { content_type: "application/octet-stream", data: Buffer.from(`widget ${n}`).toString("base64") } } });
    else add("unknown-type", n % 2 === 0 ? { _id: `widget:w${pad(n)}`, schema: "widget", version: 7, size: n } : { _id: `note:n${pad(n)}`, kind: "note", text: `free text ${n}` });
  }
  // Unknown versions of a known type, and schema-invalid todos.
  for (let n = 0; n < 70; n++) {
    const base = todo1(`v${pad(n)}`, n);
    if (n < 40) add("unknown-version", { ...base, version: 9 });
    else if (n < 60) add("unknown-version", { ...base, version: "1" });
    else {
      const { version, ...rest } = base;
      void version;
      add("unknown-version", rest as Json);
    }
  }
  const invalid = size.invalid ?? 200;
  const padding = "-".padEnd(1 + (size.invalidIdPadding ?? 0), "x");
  for (let n = 0; n < invalid; n++) {
    const base = todo1(`i${pad(n)}${padding === "-" ? "" : padding}`, n);
    const k = n % 4;
    if (k === 0) add("invalid", { ...base, title: `${"t".repeat(65 + (n % 30))} ${n}` });
    else if (k === 1) {
      const { isDone, ...rest } = base;
      void isDone;
      add("invalid", rest as Json);
    } else if (k === 2) add("invalid", { ...base, createdAt: `someday ${n}` });
    else add("invalid", { ...base, isDone: "yes" });
  }
  // Unknown attributes colliding with what the steps write.
  for (let n = 0; n < 50; n++) add("collide-v1-status", todo1(`s${pad(n)}`, n, { status: "weird" }));
  for (let n = 0; n < 20; n++) add("collide-v1-group", todo1(`g${pad(n)}`, n, { group: "mine" }));
  for (let n = 0; n < 30; n++) {
    const id = `d${pad(n)}`;
    add("collide-v3-isDone", { _id: `todo-item:${id}`, schema: "todo-item", version: 3, title: `v3 own isDone ${n}`, createdAt: created(n), group: "g", isDone: "own" });
    add("v3-status", { _id: `todo-item-status:${id}`, schema: "todo-item-status", version: 1, status: "done" });
  }
  // Very large documents (an unknown attribute of ~1.5 MB each).
  for (let n = 0; n < 4; n++) add("v1-large", todo1(`l${pad(n)}`, n, { blob: String.fromCharCode(97 + n).repeat(size.large ?? 1_500_000) }));
  // Conflicts: independent leaves of one todo-item@1 or widget, and a todo-item@3 whose losing leaf an old app wrote.
  for (let n = 0; n < 40; n++) {
    const id = `todo-item:k${pad(n)}`;
    kinds.set(id, "v1-conflict");
    live++;
    for (let leaf = 0; leaf < 2 + (n % 2); leaf++) docs.push({ ...todo1(`k${pad(n)}`, n), title: `leaf ${leaf} of ${n}`, _rev: `1-${hex()}` });
  }
  for (let n = 0; n < 10; n++) {
    const id = `widget:k${pad(n)}`;
    kinds.set(id, "unknown-conflict");
    live++;
    for (let leaf = 0; leaf < 2; leaf++) docs.push({ _id: id, schema: "widget", version: 7, side: leaf, _rev: `1-${hex()}` });
  }
  for (let n = 0; n < 10; n++) {
    const id = `m${pad(n)}`;
    const root = hex();
    const [a, b] = [hex(), hex()];
    kinds.set(`todo-item:${id}`, "v3-conflict");
    live++;
    docs.push({ _id: `todo-item:${id}`, schema: "todo-item", version: 3, title: `migrated ${n}`, createdAt: created(n), group: "work", _rev: `2-${a}`, _revisions: { start: 2, ids: [a, root] } });
    docs.push({ _id: `todo-item:${id}`, schema: "todo-item", version: 1, title: `old edit ${n}`, isDone: true, createdAt: created(n), _rev: `2-${b}`, _revisions: { start: 2, ids: [b, root] } });
    add("v3-status", { _id: `todo-item-status:${id}`, schema: "todo-item-status", version: 1, status: "blocked" });
  }
  // Tombstones (deleted after one live revision, as a replication brings them).
  for (let n = 0; n < 120; n++) {
    const id = n < 100 ? `todo-item:t${pad(n)}` : `widget:t${pad(n)}`;
    const [del, first] = [hex(), hex()];
    kinds.set(id, "tombstone");
    docs.push({ _id: id, _rev: `2-${del}`, _revisions: { start: 2, ids: [del, first] }, _deleted: true });
  }
  // Design documents (no validate_doc_update: this corpus is about data, not about refusals).
  add("design", { _id: "_design/app", language: "javascript", views: { byType: { map: "function (doc) { if (doc.schema) emit(doc.schema, doc.version); }" } } });
  add("design", { _id: "_design/filters", filters: { todos: "function (doc) { return doc.schema === 'todo-item'; }" } });
  add("design", { _id: "_design/empty" });
  const locals: Json[] = Array.from({ length: 5 }, (_, n) => ({ _id: `_local/app-state-${n}`, lastSync: `seq-${n}`, device: `phone ${n}` }));
  return { docs, locals, kinds, docCount: live };
}
