/**
 * The three-way merge of an edit pushed through a view with the view's current content, on the contents the
 * revision record keeps: pure, so both its rules (clashes, members changed back) are tested on their own.
 */
import { attributeHashes, changedBackAcross, type AttributeHashes, type ChangedBack } from "../../strategies/runner/bases.js";
import { jsonEqual } from "../../core/json.js";
import { generationOf, type ViewRev } from "./revmap.js";

type Content = Record<string, unknown>;

/** True when two member values are the same JSON (absent and `null` alike). */
export function sameValue(a: unknown, b: unknown): boolean {
  return jsonEqual(a ?? null, b ?? null);
}

const backs = (b: ChangedBack, k: string): boolean => b === "any" || b.has(k);

/**
 * What each side may have changed back since `common` (see {@link changedBackAcross}): the pushed side from its
 * history `history` (newest first), the view's own line from the record `entry`; bodies are the contents the record keeps.
 */
export function changedBackSides(entry: ViewRev | undefined, history: readonly string[], common: string, base: Content): { mine: ChangedBack; current: ChangedBack } {
  const baseHashes = attributeHashes(base);
  const contentAt = (rev: string): AttributeHashes | undefined => {
    const c = entry?.contents?.[rev];
    return c === undefined ? undefined : attributeHashes(c);
  };
  const side = (line: readonly string[]): ChangedBack => {
    const past = line.indexOf(common);
    return changedBackAcross(baseHashes, line.slice(1, Math.max(1, past)).map(contentAt), past);
  };
  const line = entry === undefined ? [] : entry.ancestors.map((h, i) => `${generationOf(entry.rev) - i}-${h}`);
  return { mine: side(history), current: side(line) };
}

/**
 * Merges `mine` (the pushed content) with `current` (the view's content now) from their common `base`: every member
 * the push changed wins, and `clash` tells a member both sides changed, or one a side changed back while the other
 * changed it (then the push's value, and the caller keeps the current content on a branch).
 */
export function mergeContents(base: Content, mine: Content, current: Content, back: { mine: ChangedBack; current: ChangedBack }): { out: Content; clash: boolean } {
  const out: Content = { ...current };
  let clash = false;
  for (const k of new Set([...Object.keys(base), ...Object.keys(mine), ...Object.keys(current)])) {
    if (k === "_id" || k === "_rev" || k === "_revisions") continue;
    if (sameValue(mine[k], base[k])) {
      // The push changed it back while the view's line changed it: the push's value, the line's on a kept branch.
      if (!backs(back.mine, k) || sameValue(current[k], base[k])) continue;
      clash = true;
    } else if (!sameValue(current[k], base[k]) && !sameValue(current[k], mine[k])) clash = true;
    else if (sameValue(current[k], base[k]) && backs(back.current, k) && !sameValue(current[k], mine[k])) clash = true;
    if (k in mine) out[k] = mine[k];
    else delete out[k];
  }
  return { out, clash };
}

/** True when the push holds the base's value of a member it may have changed back. */
export function pushChangedBack(base: Content, mine: Content, back: ChangedBack): boolean {
  return [...new Set([...Object.keys(base), ...Object.keys(mine)])].some((k) => k !== "_id" && sameValue(mine[k], base[k]) && backs(back, k));
}
