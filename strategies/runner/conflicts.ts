/**
 * Resolving the conflicts an in-place migration causes: an old app's offline edit merged onto the migrated leaf.
 *
 * Resolving the conflicts an in-place migration causes (amended / client-side strategies): an old app's
 * offline edit of a document that was migrated meanwhile replicates in as a second child of the same
 * revision. The old edit is translated up with the migrated leaf as its base (so what the old version
 * cannot represent survives), written on top of the winning revision, and the other leaves are deleted.
 * Browser-safe.
 */
import type { StepGraph } from "../../adapters/path.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import type { Doc, DocumentStore, Seq } from "../../store/port.js";
import { isDivanError } from "../../core/errors.js";
import { withDeterministicRev } from "./canonical.js";

/** Options of {@link resolveMigrationConflicts}. */
export interface ResolveConflictsOptions {
  readonly graph: StepGraph;
  /** The shape documents were migrated to. */
  readonly to: Shape;
  /** Only look at changes after this sequence. */
  readonly since?: Seq;
  readonly ids?: IdScheme;
  readonly typeField?: string;
  readonly versionField?: string;
  /** Write the merge with revisions derived from content (replicas that resolve the same conflict agree). */
  readonly deterministicRevs?: boolean;
}

/** What {@link resolveMigrationConflicts} did. */
export interface ResolveConflictsReport {
  /** Documents whose conflict was resolved. */
  readonly resolved: string[];
  /** The sequence read up to (pass back as `since`). */
  readonly lastSeq: Seq;
}

/**
 * Finds documents with exactly one old-version leaf and at least one target-version leaf, and merges them
 * (the old edit, translated with the newest target-version leaf as base, becomes the winner's child).
 * Other conflicts are left alone.
 */
export async function resolveMigrationConflicts(store: DocumentStore, options: ResolveConflictsOptions): Promise<ResolveConflictsReport> {
  const tf = options.typeField ?? "schema";
  const vf = options.versionField ?? "version";
  const ids = options.ids ?? singleVersionIds;
  const resolved: string[] = [];
  let since: Seq | undefined = options.since;
  for (;;) {
    const page = await store.changes({ ...(since === undefined ? {} : { since }), limit: 500, style: "all_docs" });
    for (const c of page.results) {
      if (c.changes.length < 2 || c.deleted === true || c.id.startsWith("_")) continue;
      const winner = await store.get(c.id, { conflicts: true }).catch((e: unknown) => {
        if (isDivanError(e, "NOT_FOUND")) return undefined; // deleted meanwhile
        throw e;
      });
      if (winner === undefined || (winner._conflicts ?? []).length === 0) continue;
      const losers = (await store.bulkGet(winner._conflicts!.map((rev) => ({ id: c.id, rev })))).flatMap((r) => ("ok" in r ? [r.ok] : []));
      const leaves = [winner, ...losers].filter((d) => d._deleted !== true);
      const type = winner[tf];
      if (typeof type !== "string" || options.to[type] === undefined) continue;
      const old = leaves.filter((d) => d[tf] === type && d[vf] !== options.to[type]);
      const cur = leaves.filter((d) => d[tf] === type && d[vf] === options.to[type]);
      const oldDoc = old[0];
      if (old.length !== 1 || oldDoc === undefined || cur.length === 0 || typeof oldDoc[vf] !== "number") continue;
      const parsed = ids.parse(c.id);
      if (parsed === undefined) continue;
      // The newest target-version leaf and the entity's other documents are the base.
      const baseLeaf = [...cur].sort((a, b) => Number.parseInt(b._rev!, 10) - Number.parseInt(a._rev!, 10))[0]!;
      const base: Entity = { [type]: baseLeaf };
      const siblings = Object.keys(options.to).filter((t) => t !== type).map((t) => ids.format(t, parsed.entityId, options.to[t]!));
      const sib = await store.allDocs({ keys: siblings, includeDocs: true });
      const sibDocs = new Map<string, Doc>();
      for (const r of sib.rows) {
        if (r.doc === undefined || r.doc === null || r.value?.deleted === true) continue;
        const t = r.doc[tf];
        if (typeof t === "string") {
          base[t] = r.doc;
          sibDocs.set(r.id, r.doc);
        }
      }
      let out: Entity;
      try {
        const path = options.graph.path({ [type]: oldDoc[vf] as number }, options.to);
        out = path({ [type]: { ...oldDoc } }, { base });
      } catch (e) {
        if (!isDivanError(e)) throw e;
        continue; // not translatable: leave the conflict for a human
      }
      const writes: Doc[] = [];
      for (const d of Object.values(out)) {
        if (typeof d._id !== "string") continue;
        if (d._id === c.id) writes.push({ ...(d as Doc), _rev: winner._rev! });
        else {
          const s = sibDocs.get(d._id);
          writes.push({ ...(d as Doc), ...(s?._rev === undefined ? {} : { _rev: s._rev }) });
        }
      }
      // Marked, so a merged branch's end is not taken for a user's deletion (`strategies/deletes.ts`).
      for (const l of [winner, ...losers]) if (l._rev !== winner._rev && l._deleted !== true) writes.push({ _id: c.id, _rev: l._rev!, _deleted: true, divan: { merged: true } });
      const results =
        options.deterministicRevs === true ? await store.bulkDocs(writes.map((d) => withDeterministicRev(d)), { newEdits: false }) : await store.bulkDocs(writes);
      if (results.every((r) => r.ok)) resolved.push(c.id);
    }
    if (page.results.length === 0) return { resolved, lastSeq: page.lastSeq };
    since = page.lastSeq;
  }
}
