/**
 * Conflicted documents in a run: their losing revisions, whether their entity is translated, and each losing
 * revision's own migration on its branch (in place) or its copy with its document.
 */
import { DivanError, isDivanError } from "../../core/errors.js";
import type { Doc } from "../../store/port.js";
import { revOf, type Item, type Job, type RunContext } from "./context.js";
import { translationProblem } from "./plan.js";

/** The losing (non-deleted) revisions of conflicted documents, read from the source; one gone meanwhile is left out. */
export async function losersOf(ctx: RunContext, items: readonly Item[]): Promise<Map<Item, Item[]>> {
  const out = new Map<Item, Item[]>();
  const requests: { item: Item; id: string; rev: string }[] = [];
  for (const it of items) for (const rev of it.doc._conflicts ?? []) requests.push({ item: it, id: it.doc._id, rev });
  if (requests.length === 0) return out;
  const got = await ctx.retry(() => ctx.src.bulkGet(requests.map(({ id, rev }) => ({ id, rev }))));
  got.forEach((r, i) => {
    const { item } = requests[i]!;
    const list = out.get(item) ?? [];
    out.set(item, list);
    if (!("ok" in r)) return;
    list.push(ctx.item(r.ok));
  });
  return out;
}

/**
 * In place: how one losing revision is migrated on its own branch: the write (its translation, as the revision's
 * child), nothing to do (`skip`), or why it cannot be (`problem`): only a revision that translates into exactly one
 * document with its own id, valid and with nothing lost, can.
 */
export function planLeaf(ctx: RunContext, leaf: Item): { doc: Doc } | { skip: string } | { problem: { code: string; reason: string } } {
  const { doc, type, version } = leaf;
  if (doc._deleted === true || type === undefined || !ctx.known.has(type) || !ctx.selected(leaf)) {
    return { skip: "a losing revision divan does not migrate (deleted, unknown type or not selected)" };
  }
  if (ctx.to[type] === version) return { skip: "a losing revision already at the target version" };
  if (typeof version !== "number" || !Number.isInteger(version)) {
    return { problem: { code: "SCHEMA_INVALID", reason: `${ctx.versionField} must be an integer, got ${JSON.stringify(version) ?? "nothing"}` } };
  }
  const path = ctx.pathFor({ [type]: version });
  if (path instanceof DivanError) {
    return "path" in ctx.o.plan && path.code === "NO_PATH" ? { skip: path.message } : { problem: { code: path.code, reason: path.message } };
  }
  const job: Job = { entityId: undefined, items: [leaf], input: { [type]: doc }, base: {}, path, out: undefined };
  try {
    job.out = path({ [type]: doc });
  } catch (e) {
    if (!isDivanError(e)) throw e;
    return { problem: { code: e.code, reason: e.message } };
  }
  const outs = Object.values(job.out).filter((d) => d._deleted !== true);
  if (outs.length !== 1 || outs[0]!._id !== doc._id) {
    return {
      problem: {
        code: "CONFLICT",
        reason: `its translation writes ${outs.map((d) => d._id).join(", ")}: only a losing revision that translates into itself can be migrated on its own branch`,
      },
    };
  }
  const problem = translationProblem(ctx, job);
  if (problem !== undefined) return { problem };
  const { _conflicts, _revisions, ...out } = outs[0]!;
  void _conflicts;
  void _revisions;
  return { doc: { ...out, _id: doc._id, _rev: doc._rev! } as Doc };
}

/**
 * Whether an entity with conflicted documents is translated: in a copy never (it is carried unchanged, every leaf,
 * and quarantined); in place only when every losing revision can be migrated on its own branch, else every
 * document and losing revision of it is left as it is and quarantined (`CONFLICT`), so a winner-only translation
 * never changes documents a losing revision's entity shares. Returns false when the entity is left.
 */
export function conflictedEntity(ctx: RunContext, job: Job, losers: Map<Item, Item[]>, copies: Item[]): boolean {
  const conflicted = job.items.filter((it) => losers.has(it));
  if (conflicted.length === 0) return true;
  let problem: string | undefined;
  if (!ctx.inPlace) {
    problem = "a copy holds one translation per document, and a losing revision would be dropped: it is carried unchanged with every leaf";
  } else {
    for (const it of conflicted) {
      for (const leaf of losers.get(it)!) {
        const plan = planLeaf(ctx, leaf);
        if ("problem" in plan) problem ??= `its losing revision ${leaf.doc._id}@${leaf.doc._rev ?? "?"} cannot be migrated (${plan.problem.reason})`;
      }
    }
  }
  if (problem === undefined) return true;
  for (const it of job.items) {
    ctx.quarantineItem(it, "CONFLICT", `left as it is with its entity's conflicted documents: ${problem}; resolve the conflict, then run again`);
    if (!ctx.inPlace) copies.push(it);
  }
  if (ctx.inPlace) {
    for (const it of conflicted) {
      for (const leaf of losers.get(it)!) ctx.quarantineItem(leaf, "CONFLICT", `a losing revision left as it is with its entity: ${problem}; resolve the conflict, then run again`);
      losers.delete(it);
    }
  }
  return false;
}

/**
 * Results (and, in place, writes) for the losing revisions of documents whose entity was not left as it is:
 * carried into a copy with their document, or migrated on their own branch in place (or skipped, or quarantined).
 */
export async function losingRevisions(ctx: RunContext, losers: ReadonlyMap<Item, readonly Item[]>, carried: ReadonlySet<Item>): Promise<void> {
  const writes: { leaf: Item; doc: Doc }[] = [];
  for (const [item, leaves] of losers) {
    for (const leaf of leaves) {
      if (!ctx.inPlace) {
        if (carried.has(item)) ctx.result({ status: "copied", id: leaf.doc._id, ...revOf(leaf.doc) });
        continue;
      }
      const plan = planLeaf(ctx, leaf);
      if ("doc" in plan) writes.push({ leaf, doc: plan.doc });
      else if ("skip" in plan) ctx.skip(leaf, plan.skip);
      else ctx.quarantineItem(leaf, plan.problem.code, `a losing revision of a conflicted document: ${plan.problem.reason}; resolve the conflict, then run again`);
    }
  }
  if (writes.length === 0) return;
  const results = ctx.dry ? writes.map((w) => ({ id: w.doc._id, ok: true as const, rev: "" })) : await ctx.retry(() => ctx.dst.bulkDocs(writes.map((w) => w.doc)));
  writes.forEach(({ leaf, doc }, i) => {
    const r = results[i];
    if (r?.ok === true) {
      ctx.totals.written++;
      if (!ctx.dry) ctx.wrote(r.id, r.rev);
      ctx.result({ status: "migrated", id: leaf.doc._id, ...revOf(leaf.doc), written: [doc._id] });
    } else if (r !== undefined && r.error.code === "CONFLICT") {
      ctx.result({ status: "conflict", id: leaf.doc._id, ...revOf(leaf.doc), current: undefined });
    } else {
      ctx.quarantineItem(leaf, r?.error.code ?? "INTERNAL", `the target refused the write of the losing revision's translation: ${r?.error.reason ?? "no result"}`);
    }
  });
}
