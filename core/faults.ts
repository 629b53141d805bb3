/**
 * Deliberate bugs (faults) the seeded simulation must catch: mutation testing of the simulation itself.
 *
 * Deliberate bugs (faults) the seeded simulation must catch: mutation testing of the simulation itself.
 * Each is a mistake a developer could plausibly make; strategies and the transformer core take an option
 * that switches faults on, which production code never sets (only the simulation's tests do). A fault the
 * simulation cannot catch means the simulation lacks an event or an invariant.
 */

/** Every fault, with what it breaks. */
export const FAULTS = {
  "lazy-edit-not-translated": "a lazy client transformer stores the new app's edit but does not translate it to the old version",
  "translate-without-base": "the transformer translates without the target's current documents as base",
  "ignore-steps-document": "the old app's live adapter does not read new steps from the replicated steps document",
  "compact-without-push": "an upgrading per-version-documents device compacts its database without pushing it first",
  "migration-wins-over-delete": "amended ignores a deletion that meets a migrated revision",
  "skip-migration-merge": "amended does not merge an old edit that conflicts with a migrated revision",
  "upgrade-without-sync": "amended upgrades an online device without pulling the migrated documents",
  "live-write-without-base": "the live adapter translates an old app's write up without the stored newer document as base",
} as const;

/** The name of a fault. */
export type Fault = keyof typeof FAULTS;

/** True when `fault` is switched on in `faults`. */
export function hasFault(faults: readonly Fault[] | undefined, fault: Fault): boolean {
  return faults?.includes(fault) === true;
}
