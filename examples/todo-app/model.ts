/**
 * The model of what users did: every todo, with the latest value of each field a user set, whatever
 * app version they used. Invariants compare the replicas and every app's view with this model.
 *
 * Users can edit one todo on two devices that have not received each other's edit (both offline), or
 * delete it on one while another edits it. CouchDB keeps both edits as conflicting revisions and shows
 * one of them; which one depends on revision ids, not on the order users acted in. Such a todo is
 * *concurrent*: an app may show, per field, any value users gave it, and every latest value must still be
 * on some revision. A todo deleted on one device and edited on another is *contested*: deleted or kept
 * are both right, as long as every replica agrees.
 */
import type { AppFeatures, Status, Todo, TodoList, TodoPatch } from "./app.js";

/** The fields users set, as the model tracks them. */
export type ModelField = "title" | "status" | "isImportant" | "group";

/** What the world knows about a user action (see `simulate/script.ts`). */
export interface ActionKind {
  /** The device had not received every earlier edit or deletion of the todo. */
  readonly concurrent: boolean;
  /** The todo is deleted on one device and edited on another. */
  readonly contested: boolean;
}

/** One todo as the users left it. */
export interface ModelTodo {
  /** Entity id. */
  id: string;
  /** The scenario's label for it. */
  label: string;
  title: string;
  status: Status;
  createdAt: string;
  /** Set once a user marked it (un)important. */
  isImportant?: boolean;
  /** Set once a user moved it to a group. */
  group?: string;
  /** The group an app shows before a user set one. */
  groupDefault: unknown;
  deleted: boolean;
  /** Edited (or deleted) on a device that had not received another edit: see the module comment. */
  concurrent: boolean;
  /** Deleted and edited concurrently: deleted or kept are both right. */
  contested: boolean;
  /** Per field, every value an app may show (one value unless the todo is concurrent). */
  accepted: Record<ModelField, unknown[]>;
  /** Per field, every value users gave it. */
  history: Record<ModelField, unknown[]>;
}

const SEQUENTIAL: ActionKind = { concurrent: false, contested: false };

/** What users did, as a model the invariants compare with. */
export class UserModel {
  readonly #todos = new Map<string, ModelTodo>();
  readonly #labels = new Map<string, string>();
  readonly #groupDefault: unknown;
  /** Every revision a user's change wrote (`<doc id>@<rev>`). */
  readonly #revisions = new Set<string>();

  /** `groupDefault`: the new field's value on an entity nobody set it on (the todo app's group: `"default"`). */
  constructor(groupDefault: unknown = "default") {
    this.#groupDefault = groupDefault;
  }

  /** Records a created todo. */
  created(label: string, todo: Todo): void {
    this.#labels.set(label, todo.id);
    const start = (): Record<ModelField, unknown[]> => ({ title: [todo.title], status: ["active"], isImportant: [false], group: [this.#groupDefault] });
    const m: ModelTodo = {
      id: todo.id,
      label,
      title: todo.title,
      status: "active",
      createdAt: todo.createdAt,
      groupDefault: this.#groupDefault,
      deleted: false,
      concurrent: false,
      contested: false,
      accepted: start(),
      history: start(),
    };
    this.#todos.set(todo.id, m);
  }

  /** The entity id a scenario label stands for, if that todo was created. */
  idOf(label: string): string | undefined {
    return this.#labels.get(label);
  }

  /**
   * Records a successful change; `revisions` are the revisions it wrote (`<doc id>@<rev>`), when known. CouchDB
   * derives a revision id from its content and its parent, so two devices that make the identical change on the same
   * revision write one revision: when every revision a change wrote is one an earlier change wrote, it is that
   * change, and what users did on top of it since (on its line) stays the latest.
   */
  updated(id: string, patch: TodoPatch, kind: ActionKind = SEQUENTIAL, revisions: readonly string[] = []): void {
    const m = this.#todos.get(id);
    if (!m) return;
    const known = revisions.length > 0 && revisions.every((r) => this.#revisions.has(r));
    for (const r of revisions) this.#revisions.add(r);
    if (known) {
      this.#note(m, kind);
      return;
    }
    const next: Partial<Record<ModelField, unknown>> = {};
    if (patch.title !== undefined) next.title = patch.title;
    if (patch.status !== undefined) next.status = patch.status;
    else if (patch.done !== undefined && patch.done !== (m.status === "done")) next.status = patch.done ? "done" : "active";
    if (patch.isImportant !== undefined) next.isImportant = patch.isImportant;
    if (patch.group !== undefined) next.group = patch.group;
    if (next.title !== undefined) m.title = next.title as string;
    if (next.status !== undefined) m.status = next.status as Status;
    if (next.isImportant !== undefined) m.isImportant = next.isImportant as boolean;
    if (next.group !== undefined) m.group = next.group as string;
    for (const [f, v] of Object.entries(next) as [ModelField, unknown][]) if (!m.history[f].includes(v)) m.history[f].push(v);
    this.#note(m, kind);
    if (kind.concurrent) {
      for (const f of Object.keys(m.accepted) as ModelField[]) m.accepted[f] = [...m.history[f]];
    } else {
      for (const [f, v] of Object.entries(next) as [ModelField, unknown][]) m.accepted[f] = [v];
    }
  }

  /** Records a deletion. */
  deleted(id: string, kind: ActionKind = SEQUENTIAL): void {
    const m = this.#todos.get(id);
    if (!m) return;
    m.deleted = true;
    this.#note(m, kind);
  }

  #note(m: ModelTodo, kind: ActionKind): void {
    if (kind.concurrent) m.concurrent = true;
    if (kind.contested) m.contested = true;
  }

  /** Every todo, in id order. */
  all(): ModelTodo[] {
    return [...this.#todos.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The todos that are not deleted, in id order. */
  live(): ModelTodo[] {
    return this.all().filter((t) => !t.deleted);
  }
}

/** What an app with `features` must show for `m` (for a concurrent todo: the latest value of each field). */
export function expectedView(m: ModelTodo, features: AppFeatures): Todo {
  const v: Todo = { id: m.id, title: m.title, createdAt: m.createdAt, done: m.status === "done" };
  if (features.status) v.status = m.status;
  if (features.important) v.isImportant = m.isImportant ?? false;
  if (features.group) v.group = (m.group ?? m.groupDefault) as string;
  return v;
}

/** The fields of `shown` that an app with `features` shows wrong for `m`, as `field is X, users set Y` lines. */
export function wrongFields(m: ModelTodo, shown: Todo, features: AppFeatures): string[] {
  const want = expectedView(m, features);
  const ok: Record<keyof Todo, (v: unknown) => boolean> = {
    id: (v) => v === want.id,
    createdAt: (v) => v === want.createdAt,
    title: (v) => m.accepted.title.includes(v),
    done: (v) => m.accepted.status.some((s) => (s === "done") === v),
    status: (v) => m.accepted.status.includes(v),
    isImportant: (v) => m.accepted.isImportant.includes(v),
    group: (v) => m.accepted.group.includes(v),
  };
  return (Object.keys(want) as (keyof Todo)[])
    .filter((k) => !ok[k](shown[k]))
    .map((k) => `${k} is ${JSON.stringify(shown[k])}, users set ${JSON.stringify(want[k])}${m.concurrent ? " (or another value they gave it concurrently)" : ""}`);
}

/** One device's list compared with the model. */
export interface ReadCheck {
  /** Where in the scenario (a check label, or `final`). */
  at: string;
  device: string;
  app: string;
  /** The device ran the old app version after the new one shipped. */
  legacy: boolean;
  /** Todos the model says the app should show. */
  expected: number;
  /** Of those, shown with every field right. */
  correct: number;
  /** What was wrong, one line each. */
  problems: string[];
}

/** One device's `list` compared with `model`; `where` names the check and the device, and the app's features. */
export function compareWithModel(
  model: UserModel,
  where: Pick<ReadCheck, "at" | "device" | "app" | "legacy"> & { readonly features: AppFeatures },
  list: TodoList,
): ReadCheck {
  const problems: string[] = [];
  const live = model.live();
  let correct = 0;
  const shown = new Map(list.todos.map((t) => [t.id, t]));
  const unreadable = new Map(list.unreadable.map((u) => [u.id, u.reason]));
  for (const m of model.all()) {
    const got = shown.get(m.id);
    if (!got) {
      const why = unreadable.get(m.id);
      if (!m.deleted || (m.contested && why !== undefined)) problems.push(`"${m.label}" (${m.id}) not shown: ${why ?? "no document on the device"}`);
      continue;
    }
    if (m.deleted && !m.contested) {
      problems.push(`"${m.label}" (${m.id}) was deleted but is shown`);
      continue;
    }
    const wrong = wrongFields(m, got, where.features);
    if (wrong.length > 0) problems.push(`"${m.label}" (${m.id}) shown wrong: ${wrong.join(", ")}`);
    else if (!m.deleted) correct += 1;
  }
  return {
    at: where.at,
    device: where.device,
    app: where.app,
    legacy: where.legacy,
    expected: live.length,
    correct,
    problems,
  };
}
