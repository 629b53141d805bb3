/**
 * Conflicted documents in a run: their losing revisions, whether their entity is translated, and each losing
 * revision's own migration on its branch (in place) or its copy with its document.
 */
import type { Entity } from "../../adapters/types.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { Doc } from "../../store/port.js";
import { withDeterministicRev } from "./canonical.js";
import { revOf, type Item, type Job, type RunContext, type Write } from "./context.js";
import { translationProblem } from "./plan.js";
import { writeAll } from "./write.js";

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

/** How one losing revision is migrated in place: its writes, nothing to do (`skip`), or why it cannot be (`problem`). */
export type LeafPlan = { readonly docs: readonly Doc[] } | { readonly skip: string } | { readonly problem: { readonly code: string; readonly reason: string } };

/**
 * In place: the plan of every losing revision of `losers` (none in a copy, which carries them). Each is migrated on
 * its own branch (see {@link planLeaf}); one whose translation also writes other documents the database already has
 * cannot be (they are written only as new documents), so it is a `problem`.
 */
export async function planLosers(ctx: RunContext, losers: ReadonlyMap<Item, readonly Item[]>): Promise<Map<Item, LeafPlan>> {
  const plans = new Map<Item, LeafPlan>();
  if (!ctx.inPlace) return plans;
  const others = new Set<string>();
  for (const leaves of losers.values()) {
    for (const leaf of leaves) {
      const plan = planLeaf(ctx, leaf);
      plans.set(leaf, plan);
      if ("docs" in plan) for (const d of plan.docs.slice(1)) others.add(d._id);
    }
  }
  if (others.size === 0) return plans;
  const page = await ctx.retry(() => ctx.src.allDocs({ keys: [...others] }));
  const existing = new Set(page.rows.filter((r) => r.error === undefined && r.value !== undefined).map((r) => r.id));
  for (const [leaf, plan] of plans) {
    if (!("docs" in plan)) continue;
    const taken = plan.docs.slice(1).filter((d) => existing.has(d._id)).map((d) => d._id);
    if (taken.length > 0) {
      plans.set(leaf, {
        problem: { code: "CONFLICT", reason: `its translation also writes ${taken.join(", ")}, which the database already has (a losing revision's other documents are written only as new ones)` },
      });
    }
  }
  return plans;
}

/**
 * In place: how one losing revision is migrated on its own branch. Its translation must hold its own document (valid,
 * nothing lost): written as the revision's child. The other documents it writes (a split's new documents) are written
 * as root revisions derived from their content, so the leaves' translations conflict as the leaves did and replicas
 * that migrate the same leaves agree; the winner's translation writes its own. `docs` lists the document first.
 */
function planLeaf(ctx: RunContext, leaf: Item): LeafPlan {
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
  const outs = Object.values(job.out).filter((d) => d._deleted !== true && typeof d._id === "string");
  const own = outs.find((d) => d._id === doc._id);
  if (own === undefined) {
    return {
      problem: {
        code: "CONFLICT",
        reason: `its translation writes ${outs.map((d) => d._id).join(", ")} but not ${doc._id}: a losing revision is migrated on its own branch only when its translation keeps its document`,
      },
    };
  }
  const problem = translationProblem(ctx, job);
  if (problem !== undefined) return { problem };
  const content = (d: Entity[string]): Doc => {
    const { _rev, _conflicts, _revisions, ...rest } = d;
    void _rev;
    void _conflicts;
    void _revisions;
    return rest as Doc;
  };
  return { docs: [{ ...content(own), _id: doc._id, _rev: doc._rev! }, ...outs.filter((d) => d !== own).map(content)] };
}

/**
 * Whether an entity with conflicted documents is translated: in a copy never (it is carried unchanged, every leaf,
 * and quarantined); in place only when every losing revision can be migrated on its own branch, else every
 * document and losing revision of it is left as it is and quarantined (`CONFLICT`), so a winner-only translation
 * never changes documents a losing revision's entity shares. Returns false when the entity is left.
 */
export function conflictedEntity(ctx: RunContext, job: Job, losers: Map<Item, Item[]>, plans: ReadonlyMap<Item, LeafPlan>, copies: Item[]): boolean {
  const conflicted = job.items.filter((it) => losers.has(it));
  if (conflicted.length === 0) return true;
  let problem: string | undefined;
  if (!ctx.inPlace) {
    problem = "a copy holds one translation per document, and a losing revision would be dropped: it is carried unchanged with every leaf";
  } else {
    for (const it of conflicted) {
      for (const leaf of losers.get(it)!) {
        const plan = plans.get(leaf)!;
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
export async function losingRevisions(ctx: RunContext, losers: ReadonlyMap<Item, readonly Item[]>, plans: ReadonlyMap<Item, LeafPlan>, carried: ReadonlySet<Item>): Promise<void> {
  const writes: { leaf: Item; writes: Write[] }[] = [];
  for (const [item, leaves] of losers) {
    for (const leaf of leaves) {
      if (!ctx.inPlace) {
        if (carried.has(item)) ctx.result({ status: "copied", id: leaf.doc._id, ...revOf(leaf.doc) });
        continue;
      }
      const plan = plans.get(leaf)!;
      // The other documents are root revisions derived from their content (written with `new_edits: false`).
      if ("docs" in plan) writes.push({ leaf, writes: plan.docs.map((doc, i) => ({ doc: i === 0 ? { ...doc } : withDeterministicRev(doc), sources: [leaf] })) });
      else if ("skip" in plan) ctx.skip(leaf, plan.skip);
      else ctx.quarantineItem(leaf, plan.problem.code, `a losing revision of a conflicted document: ${plan.problem.reason}; resolve the conflict, then run again`);
    }
  }
  if (writes.length === 0) return;
  const outcome = await writeAll(ctx, writes.flatMap((w) => w.writes));
  for (const { leaf, writes: ws } of writes) {
    const failed = ctx.dry ? undefined : ws.map((w) => outcome.get(w)).find((r) => r?.ok !== true);
    const ownResult = outcome.get(ws[0]!);
    if (ctx.dry || failed === undefined) {
      ctx.result({ status: "migrated", id: leaf.doc._id, ...revOf(leaf.doc), written: ws.map((w) => w.doc._id) });
    } else if (ownResult !== undefined && !ownResult.ok && ownResult.error.code === "CONFLICT") {
      ctx.result({ status: "conflict", id: leaf.doc._id, ...revOf(leaf.doc), current: undefined });
    } else {
      const error = failed !== undefined && !failed.ok ? failed.error : undefined;
      ctx.quarantineItem(leaf, error?.code ?? "INTERNAL", `the target refused the write of the losing revision's translation: ${error?.reason ?? "no result"}`);
    }
  }
}
