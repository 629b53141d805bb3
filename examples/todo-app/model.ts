/**
 * The model of what users did: every todo, with the latest value of each field a user set, whatever
 * app version they used. Invariants compare the replicas and every app's view with this model.
 */
import type { AppFeatures, Status, Todo, TodoPatch } from "./app.js";

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
  deleted: boolean;
}

/** What users did, as a model the invariants compare with. */
export class UserModel {
  readonly #todos = new Map<string, ModelTodo>();
  readonly #labels = new Map<string, string>();

  /** Records a created todo. */
  created(label: string, todo: Todo): void {
    this.#labels.set(label, todo.id);
    const m: ModelTodo = { id: todo.id, label, title: todo.title, status: "active", createdAt: todo.createdAt, deleted: false };
    this.#todos.set(todo.id, m);
  }

  /** The entity id a scenario label stands for, if that todo was created. */
  idOf(label: string): string | undefined {
    return this.#labels.get(label);
  }

  /** Records a successful change. */
  updated(id: string, patch: TodoPatch): void {
    const m = this.#todos.get(id);
    if (!m) return;
    if (patch.title !== undefined) m.title = patch.title;
    if (patch.status !== undefined) m.status = patch.status;
    else if (patch.done !== undefined && patch.done !== (m.status === "done")) m.status = patch.done ? "done" : "active";
    if (patch.isImportant !== undefined) m.isImportant = patch.isImportant;
    if (patch.group !== undefined) m.group = patch.group;
  }

  /** Records a deletion. */
  deleted(id: string): void {
    const m = this.#todos.get(id);
    if (m) m.deleted = true;
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

/** What an app with `features` must show for `m`. */
export function expectedView(m: ModelTodo, features: AppFeatures): Todo {
  const v: Todo = { id: m.id, title: m.title, createdAt: m.createdAt, done: m.status === "done" };
  if (features.status) v.status = m.status;
  if (features.important) v.isImportant = m.isImportant ?? false;
  if (features.group) v.group = m.group ?? "default";
  return v;
}
