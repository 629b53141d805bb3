/**
 * The events a todo scenario script is made of (devices, edits, sync, releases, checks): the vocabulary the world
 * plays and the simulation generates.
 */
import type { Status } from "./app.js";

/** Which app version a scenario means: the strategy's `change.from` (old) or `change.to` (new). */
export type AppRole = "old" | "new";

/** One step of a scenario script. Todos are named by labels; devices by names. */
export type ScenarioEvent =
  | { kind: "device"; device: string; app: AppRole }
  | { kind: "create"; device: string; todo: string; title: string }
  | { kind: "edit-title"; device: string; todo: string; title: string }
  | { kind: "set-done"; device: string; todo: string; done: boolean }
  /** Sets the status (an app without statuses marks the todo done when `status` is `done`, else not done). */
  | { kind: "set-status"; device: string; todo: string; status: Status }
  /** Sets the field only the new app knows (3.0: a group; 1.1: important), with `value` as the group name. */
  | { kind: "set-new-field"; device: string; todo: string; value: string }
  | { kind: "delete"; device: string; todo: string }
  | { kind: "offline"; device: string }
  | { kind: "online"; device: string }
  /** One push and one pull between the device and the server. */
  | { kind: "sync"; device: string }
  /** Pushes only the first document of a todo (Marten: todo-item@3 long before its todo-item-status@1). */
  | { kind: "push-first-document"; device: string; todo: string }
  /** Syncs every online device until nothing moves, and lets server-side work catch up. */
  | { kind: "settle" }
  /** The new app version ships. */
  | { kind: "release" }
  /** A device installs the new app version. */
  | { kind: "upgrade"; device: string }
  /** Support for the old app version ends: the strategy purges, the server tells old apps. */
  | { kind: "retire" }
  /** The device is never used again (lost, or its user left): it stays offline and is not checked. */
  | { kind: "abandon"; device: string }
  /** The device is wiped and the new app version installed on it: it starts empty and fills by syncing. */
  | { kind: "reinstall"; device: string }
  /** Online devices (all, or the listed ones) list their todos; the lists are compared with the model. */
  | { kind: "check"; label: string; devices?: readonly string[] };
