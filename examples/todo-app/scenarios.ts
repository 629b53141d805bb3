/**
 * The named scenarios of the comparison, as templates of world events that run against any strategy and any app.
 *
 * The named scenarios, from the article that motivated divan, as templates of world
 * events. "old" and "new" are the app versions of the strategy's change (e.g. 1.0 → 3.0 for a
 * breaking change, 1.0 → 1.1 for the non-breaking one), so every scenario runs against any strategy.
 * The events name what an app does to its entities (create one, edit the text field every version
 * knows, set the field only the new version knows, delete), so {@link scenariosFor} instantiates them
 * for any app's domain; on the todo app they are the stories as told.
 */
import { DivanError } from "../../core/errors.js";
import type { Domain } from "./domain.js";
import type { ScenarioEvent } from "./world.js";

/** A named script of world events. */
export interface Scenario {
  /** Stable, kebab-case name used on the command line and in reports. */
  readonly name: string;
  /** The story in one or two sentences. */
  readonly description: string;
  /** The script. */
  readonly events: readonly ScenarioEvent[];
}

const haneen: Scenario = {
  name: "haneen",
  description:
    "An offline old-app device creates a todo while the server moves to the new version; it syncs later and then installs the new app.",
  events: [
    { kind: "device", device: "web", app: "old" },
    { kind: "device", device: "haneen", app: "old" },
    { kind: "create", device: "web", todo: "rust", title: "reimplement my pet project in Rust" },
    { kind: "create", device: "web", todo: "milk", title: "buy oat milk" },
    { kind: "settle" },
    { kind: "offline", device: "haneen" },
    { kind: "create", device: "haneen", todo: "flowers", title: "pluck flowers for a friend's birthday" },
    { kind: "set-done", device: "haneen", todo: "milk", done: true },
    { kind: "release" },
    { kind: "upgrade", device: "web" },
    { kind: "create", device: "web", todo: "slides", title: "prepare the release slides" },
    { kind: "sync", device: "web" },
    { kind: "online", device: "haneen" },
    { kind: "sync", device: "haneen" },
    { kind: "check", label: "haneen back online", devices: ["haneen"] },
    { kind: "upgrade", device: "haneen" },
    { kind: "settle" },
  ],
};

const basti: Scenario = {
  name: "basti",
  description: "One person with a new-app web client and a never-updated old-app phone on the same data.",
  events: [
    { kind: "device", device: "web", app: "old" },
    { kind: "device", device: "phone", app: "old" },
    { kind: "create", device: "web", todo: "rust", title: "reimplement my pet project in Rust" },
    { kind: "create", device: "phone", todo: "milk", title: "buy oat milk" },
    { kind: "settle" },
    { kind: "release" },
    { kind: "upgrade", device: "web" },
    { kind: "create", device: "web", todo: "groceries", title: "plan the groceries" },
    { kind: "edit-title", device: "web", todo: "rust", title: "reimplement my pet project in Zig" },
    { kind: "settle" },
    { kind: "check", label: "after the web update" },
    { kind: "set-done", device: "phone", todo: "milk", done: true },
    { kind: "create", device: "phone", todo: "call", title: "call the bank" },
    { kind: "settle" },
  ],
};

const marten: Scenario = {
  name: "marten",
  description:
    "A new-app device creates a todo; the server receives its first document long before the rest (todo-item@3 before todo-item-status@1).",
  events: [
    { kind: "device", device: "web", app: "old" },
    { kind: "create", device: "web", todo: "rust", title: "reimplement my pet project in Rust" },
    { kind: "settle" },
    { kind: "release" },
    { kind: "device", device: "marten", app: "new" },
    { kind: "device", device: "office", app: "new" },
    { kind: "settle" },
    { kind: "offline", device: "marten" },
    { kind: "create", device: "marten", todo: "visa", title: "apply for a visa" },
    { kind: "push-first-document", device: "marten", todo: "visa" },
    { kind: "sync", device: "office" },
    { kind: "sync", device: "web" },
    { kind: "online", device: "marten" },
    { kind: "settle" },
  ],
};

const storm: ScenarioEvent[] = [];
const STORM_DEVICES = ["d1", "d2", "d3", "d4", "d5"];
for (const d of STORM_DEVICES) storm.push({ kind: "device", device: d, app: "old" });
for (const [i] of STORM_DEVICES.entries()) storm.push({ kind: "create", device: "d1", todo: `t${i + 1}`, title: `shared todo ${i + 1}` });
storm.push({ kind: "settle" }, { kind: "release" });
for (const d of STORM_DEVICES) storm.push({ kind: "upgrade", device: d });
storm.push({ kind: "settle" });
for (const [i, d] of STORM_DEVICES.entries()) storm.push({ kind: "edit-title", device: d, todo: `t${i + 1}`, title: `shared todo ${i + 1}, edited on ${d}` });
storm.push({ kind: "settle" });

const conflictStorm: Scenario = {
  name: "conflict-storm",
  description: "Five online devices on the same data all install the new app at once, then each edits a different todo.",
  events: storm,
};

const legacyForever: Scenario = {
  name: "legacy-forever",
  description:
    "An old-app device edits a todo that a new-app device changed in a field only the new app knows (3.0: a group); the field survives.",
  events: [
    { kind: "device", device: "web", app: "old" },
    { kind: "device", device: "phone", app: "old" },
    { kind: "create", device: "web", todo: "garden", title: "plant tulips" },
    { kind: "create", device: "web", todo: "rust", title: "reimplement my pet project in Rust" },
    { kind: "settle" },
    { kind: "release" },
    { kind: "upgrade", device: "web" },
    { kind: "set-new-field", device: "web", todo: "garden", value: "garden" },
    { kind: "settle" },
    { kind: "edit-title", device: "phone", todo: "garden", title: "plant tulips in the garden" },
    { kind: "set-done", device: "phone", todo: "garden", done: true },
    { kind: "settle" },
  ],
};

const dropLegacy: Scenario = {
  name: "drop-legacy",
  description:
    "Support for the old app ends: what only it needed is purged, old apps are told, and the last old device updates without losing its todos.",
  events: [
    { kind: "device", device: "web", app: "old" },
    { kind: "device", device: "phone", app: "old" },
    { kind: "create", device: "web", todo: "rust", title: "reimplement my pet project in Rust" },
    { kind: "create", device: "phone", todo: "milk", title: "buy oat milk" },
    { kind: "settle" },
    { kind: "release" },
    { kind: "upgrade", device: "web" },
    { kind: "create", device: "web", todo: "slides", title: "prepare the release slides" },
    { kind: "settle" },
    { kind: "create", device: "phone", todo: "call", title: "call the bank" },
    { kind: "settle" },
    { kind: "check", label: "before retirement" },
    { kind: "retire" },
    { kind: "settle" },
    { kind: "check", label: "after retirement" },
    { kind: "upgrade", device: "phone" },
    { kind: "settle" },
  ],
};

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [haneen, basti, marten, conflictStorm, legacyForever, dropLegacy];

/**
 * The scenarios for an app's `domain`: events it has no field for are left out (an app without the todo
 * app's done flag skips `set-done` and `set-status`; one without a field only the new version knows skips
 * `set-new-field`). On the todo domain these are {@link SCENARIOS} unchanged.
 */
export function scenariosFor(domain: Domain, names?: readonly string[]): Scenario[] {
  const chosen = names?.length ? names.map((n) => scenarioByName(n)) : [...SCENARIOS];
  const keep = (e: ScenarioEvent): boolean => {
    if (e.kind === "set-done" || e.kind === "set-status") return domain.hasDone;
    if (e.kind === "set-new-field") return domain.hasNewField;
    return true;
  };
  return chosen.map((s) => (s.events.every(keep) ? s : { ...s, events: s.events.filter(keep) }));
}

/** The names of every scenario, in report order. */
export function scenarioNames(): string[] {
  return SCENARIOS.map((s) => s.name);
}

/** The scenario called `name`; `CONFIG_INVALID` if there is none. */
export function scenarioByName(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) {
    throw new DivanError("CONFIG_INVALID", `Unknown scenario "${name}". Known scenarios: ${scenarioNames().join(", ")}.`, {
      details: { scenario: name },
    });
  }
  return found;
}
