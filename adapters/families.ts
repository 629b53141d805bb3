/**
 * Entity families: the types one entity's documents may have, i.e. types some step connects (`task` and
 * `task-state`). Paths, the runner, the transformer and live adapters all group types by this one function.
 */
import type { Shape } from "./types.js";

/** The types a step reads or writes (one group for {@link typeFamilies}). */
export function stepTypes(step: { readonly from: Shape; readonly to: Shape }): string[] {
  return [...Object.keys(step.from), ...Object.keys(step.to)];
}

/**
 * Merges groups of types that share a type, transitively, and returns each type's family: its types sorted, one
 * array per family (so `family[0]` is a stable key). A type in no group has no family.
 *
 * @example `typeFamilies([["task", "task-state"], ["preferences"]]).get("task-state")` → `["task", "task-state"]`
 */
export function typeFamilies(groups: Iterable<readonly string[]>): Map<string, readonly string[]> {
  const sets = new Map<string, Set<string>>();
  for (const group of groups) {
    const merged = new Set<string>(group);
    for (const t of group) for (const u of sets.get(t) ?? []) merged.add(u);
    for (const t of merged) sets.set(t, merged);
  }
  const sorted = new Map<Set<string>, readonly string[]>();
  const out = new Map<string, readonly string[]>();
  for (const [t, set] of sets) {
    let family = sorted.get(set);
    if (family === undefined) sorted.set(set, (family = [...set].sort()));
    out.set(t, family);
  }
  return out;
}

/**
 * Entity families: types connected by some step (`task` + `task-state`); a type no step
 * names is a family of its own (`preferences`). Returns type → family key.
 */
export function familiesOf(steps: readonly { readonly from: Shape; readonly to: Shape }[]): Map<string, string> {
  return new Map([...typeFamilies(steps.map(stepTypes))].map(([t, family]) => [t, family[0]!]));
}

/** The family of `type` (its own name when no step names it). */
export function familyOf(families: ReadonlyMap<string, string>, type: string): string {
  return families.get(type) ?? type;
}

/** The part of `shape` that belongs to `family`. */
export function familyShape(families: ReadonlyMap<string, string>, shape: Shape, family: string): Shape {
  const out: Shape = {};
  for (const [t, v] of Object.entries(shape)) if (familyOf(families, t) === family) out[t] = v;
  return out;
}
