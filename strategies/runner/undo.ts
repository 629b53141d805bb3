/**
 * Telling "untouched" from "changed and changed back" (an undo) on one side of a three-way merge of concurrent edits,
 * where replication carried only the side's last revision (`conflicts.ts`). Browser-safe.
 */
import { historyOf, type Doc, type DocumentStore } from "../../store/port.js";
import { basesOf, changedBackAcross, valueHash, type AttributeHashes, type ChangedBack } from "./bases.js";
import { linesOf } from "./merged.js";

/**
 * What {@link ChangedBack} `leaf`'s side holds since the ancestor, revision `ancestorAt.rev` of document `ancestorAt.id`
 * (whose attribute hashes at the target shape are `ancestor`). `hashesAt` gives a revision's attribute hashes at the target shape, undefined when it
 * cannot be translated. Revisions divan wrote (a translation of an old revision, a merge recording a further base) are
 * no user's: where their bodies are here they do not count, nor does a revision that records its parent as a base (a
 * translation, told without its parent's body: replication carried a migrated leaf alone). Where the side's intermediate revisions are all here, the
 * answer is exact: the attributes one of them held differently from the ancestor. `settled`: attributes whose `kept`
 * mark (see {@link keptOf}) does not count here (the caller knows the other side's user saw the kept value and changed it).
 */
export async function changedBack(
  store: DocumentStore,
  leaf: Doc,
  ancestorAt: { readonly id: string; readonly rev: string | undefined },
  ancestor: AttributeHashes | undefined,
  hashesAt: (d: Doc) => AttributeHashes | undefined,
  versionField = "version",
  settled: ReadonlySet<string> = new Set(),
): Promise<ChangedBack> {
  const keptHere = (d: Doc): string[] => keptOf(d).filter((k) => !settled.has(k));
  const none: ReadonlySet<string> = new Set(keptHere(leaf));
  if (ancestorAt.rev === undefined) return none;
  const [read] = leaf._revisions === undefined ? await store.bulkGet([{ id: leaf._id, rev: leaf._rev! }], { revs: true }) : [{ ok: leaf }];
  if (read === undefined || !("ok" in read)) return none;
  const history = historyOf(read.ok);
  const side = await sideOf(store, read.ok, history, { id: ancestorAt.id, rev: ancestorAt.rev });
  if (side === undefined || side.path.length < 2) return none;
  // The side's bodies, leaf first, and their parents (the ancestor last): undefined where the body is not here.
  const found = await store.bulkGet(side.path.slice(1));
  const bodies: (Doc | undefined)[] = [read.ok, ...found.map((r) => ("ok" in r && r.ok._deleted !== true ? r.ok : undefined))];
  const out = new Set<string>(keptHere(read.ok));
  const nothing = valueHash(undefined);
  if (ancestor !== undefined) {
    // An old edit merged on this side since the ancestor changed an attribute, and the side kept its own value (the
    // merge found both changed it): that value is no more "untouched" than the old edit's.
    // (Not an old revision the ancestor already descends from: a stale migration of it merged here brings nothing new.)
    const before = basesOf(bodies[bodies.length - 1]);
    for (const [q, h] of Object.entries(basesOf(read.ok))) {
      if (before[q] !== undefined || side.older.has(q)) continue;
      for (const k of new Set([...Object.keys(h), ...Object.keys(ancestor)])) {
        const v = h[k] ?? nothing;
        if (v !== (ancestor[k] ?? nothing) && v !== valueHash((read.ok as Record<string, unknown>)[k])) out.add(k);
      }
    }
  }
  const vf = (d: Doc): unknown => d[versionField];
  const divans = (i: number, d: Doc, parent: Doc | undefined): boolean => {
    if (i === side.translated) return true; // the migration's first write of this document, from a revision of another
    // One that records its own parent as a base translated it (or wrote an old edit's side of a merge on it), also where
    // the parent's body is not here: an app's edit carries its parent's bases on, and no revision records its own id.
    if (basesOf(d)[side.path[i + 1]!.rev] !== undefined) return true;
    if (parent === undefined) return false;
    if (vf(d) !== vf(parent)) return true; // a translation
    const [mine, theirs] = [Object.keys(basesOf(d)), new Set(Object.keys(basesOf(parent)))];
    return mine.some((k) => !theirs.has(k)); // a merge records the old edit it merged
  };
  let users = 0;
  const between: (AttributeHashes | undefined)[] = [];
  for (let i = 0; i < bodies.length - 1; i++) {
    const d = bodies[i];
    if (d === undefined || !divans(i, d, bodies[i + 1])) users++;
    if (i > 0) between.push(d === undefined || ancestor === undefined ? undefined : hashesAt(d));
  }
  if (ancestor === undefined) return between.length > 0 && users >= 2 ? "any" : out;
  const back = changedBackAcross(ancestor, between, users);
  return back === "any" ? back : new Set([...out, ...back]);
}

/**
 * Whether `leaf`'s own history holds its side since the ancestor, revision `ancestorAt.rev` of `leaf`'s own document: a
 * merge written on `leaf` then holds every revision of that side, and a later merge reads what it changed back there.
 */
export async function holdsOwnSide(store: DocumentStore, leaf: Doc, ancestorAt: { readonly id: string; readonly rev: string | undefined }): Promise<boolean> {
  if (ancestorAt.rev === undefined || ancestorAt.id !== leaf._id) return false;
  const [read] = leaf._revisions === undefined ? await store.bulkGet([{ id: leaf._id, rev: leaf._rev! }], { revs: true }) : [{ ok: leaf }];
  return read !== undefined && "ok" in read && historyOf(read.ok).includes(ancestorAt.rev);
}

/**
 * The revisions of one side of a merge, from its leaf (`leaf`, whose history is `history`) down to the ancestor (last),
 * each named by document and revision; `older`, the revisions the ancestor itself descends from; `translated`, the
 * index of the revision the migration wrote from a revision of the ancestor's document (its parent, next in `path`,
 * is one), -1 when there is none. Undefined when the ancestor is on a branch merged into the leaf's document.
 */
async function sideOf(
  store: DocumentStore,
  leaf: Doc,
  history: readonly string[],
  ancestorAt: { readonly id: string; readonly rev: string },
): Promise<{ path: { id: string; rev: string }[]; older: ReadonlySet<string>; translated: number } | undefined> {
  const inLeaf = (at: number, translated = -1) => ({
    path: history.slice(0, at + 1).map((rev) => ({ id: leaf._id, rev })),
    older: new Set(history.slice(at + 1)),
    translated,
  });
  const at = history.indexOf(ancestorAt.rev);
  if (at >= 0) return inLeaf(at);
  // The ancestor's own document without it in its history: the ancestor is on a branch merged into this one.
  if (leaf._id === ancestorAt.id) return undefined;
  // Another document of the entity (the migration created it): its side starts at the revision that translated the
  // ancestor (records it as a base), the oldest one here. Later revisions carry the bases on, so where the bodies just
  // before that one are not here (replication carried the leaf alone) one of them may be it: the side starts at the
  // oldest of them, and their revisions count as its user's (else an edit changed back there passes for no edit).
  const all = (await store.bulkGet(history.map((rev) => ({ id: leaf._id, rev })))).map((r) => ("ok" in r ? r.ok : undefined));
  // The bases this side records name revisions of the ancestor's document: those the ancestor descends from are in
  // its lines, not in this document's history (where the bodies before the leaf are not here, a base they recorded
  // first is no edit since the ancestor either).
  const lines = await linesOf(store, ancestorAt.id, [...new Set([ancestorAt.rev, ...all.flatMap((d) => Object.keys(basesOf(d)))])]);
  const older = new Set(lines.flatMap((line) => (line.includes(ancestorAt.rev) ? line.slice(line.indexOf(ancestorAt.rev) + 1) : [])));
  const inLeafAfter = (at: number) => ({ ...inLeaf(at), older });
  for (let i = all.length - 1; i >= 0; i--) {
    if (basesOf(all[i])[ancestorAt.rev] === undefined) continue;
    let from = i;
    while (from + 1 < all.length && all[from + 1] === undefined) from++;
    return inLeafAfter(from);
  }
  // Or at the revision that translated a later revision of the ancestor's document: the side's edits between the
  // ancestor and that revision (an old app's, before its device migrated) are in the ancestor's document's history.
  for (let i = all.length - 1; i >= 0; i--) {
    // Of several, the one with the most revisions since the ancestor: every edit of the side counts.
    let best: { line: readonly string[]; from: number; to: number } | undefined;
    for (const q of Object.keys(basesOf(all[i]))) {
      for (const line of lines) {
        const [from, to] = [line.indexOf(q), line.indexOf(ancestorAt.rev)];
        if (from >= 0 && to > from && (best === undefined || to - from > best.to - best.from)) best = { line, from, to };
      }
    }
    if (best === undefined) continue;
    return {
      path: [...history.slice(0, i + 1).map((rev) => ({ id: leaf._id, rev })), ...best.line.slice(best.from, best.to + 1).map((rev) => ({ id: ancestorAt.id, rev }))],
      older: new Set(best.line.slice(best.to + 1)),
      translated: i,
    };
  }
  // Without recorded bases: the migration created it (its first revision), from the ancestor or a later revision of that side.
  return inLeafAfter(history.length - 1);
}

/** The attributes a document keeps at its ancestor's value against another side's change (`divan.kept`, see merge3). */
export function keptOf(doc: Readonly<Record<string, unknown>>): string[] {
  const divan = doc["divan"];
  const kept = typeof divan === "object" && divan !== null ? (divan as { kept?: unknown }).kept : undefined;
  return Array.isArray(kept) ? kept.filter((k): k is string => typeof k === "string") : [];
}

/** `doc` recording `kept` as the attributes it keeps (nothing recorded when there are none). */
export function withKept(doc: Record<string, unknown>, kept: ReadonlySet<string>): Record<string, unknown> {
  const divan = doc["divan"];
  const rest = typeof divan === "object" && divan !== null && !Array.isArray(divan) ? { ...(divan as Record<string, unknown>) } : {};
  delete rest["kept"];
  if (kept.size > 0) rest["kept"] = [...kept].sort();
  return Object.keys(rest).length === 0 && divan === undefined ? doc : { ...doc, divan: rest };
}

/** Whether `back` says attribute `k` may have been changed back. */
export const changed = (back: ChangedBack | undefined, k: string): boolean => back !== undefined && (back === "any" || back.has(k));
