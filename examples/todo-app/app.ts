/**
 * The todo app's domain API (create, edit, set status, group, delete, list), as each app version implements it.
 *
 * The todo app's domain API, as each app version implements it: create, edit title,
 * mark done / set status, mark important, set group, delete, list. An app version reads and writes
 * exactly the documents its manifest resolves to (its shape); it ignores types it does not know,
 * cannot read a document of another major (it reports it as unreadable, with the reason), and keeps
 * attributes it does not know when it edits a document.
 *
 * Every app version, from 1.0 on, also reads the `app-support` notice document, so it can tell its
 * user that their version is no longer supported (the "drop legacy" scenario).
 */
import semver from "semver";
import { DivanError, isDivanError } from "../../core/errors.js";
import type { Doc, DocumentStore } from "../../store/port.js";
import type { Registry } from "../../schemas/registry.js";
import type { AppVersion, Clock } from "../../strategies/types.js";

/** A todo's progress as apps from 2.0 on show it. */
export type Status = "active" | "blocked" | "done" | "rejected";

/** The statuses, in display order. */
export const STATUSES: readonly Status[] = ["active", "blocked", "done", "rejected"];

/** A todo as one app version shows it: only the fields that version knows are present. */
export interface Todo {
  /** Entity id (the `<id>` of `todo-item:<id>`). */
  id: string;
  title: string;
  createdAt: string;
  /** Every version shows whether the todo is done. */
  done: boolean;
  /** From 2.0. */
  status?: Status;
  /** From 1.1 (a todo without the attribute is not important). */
  isImportant?: boolean;
  /** From 3.0 (`"default"` unless set). */
  group?: string;
}

/** An entity the app found but cannot read. */
export interface Unreadable {
  /** Entity id. */
  id: string;
  /** Why, naming the document and the versions involved. */
  reason: string;
}

/** The `app-support` notice: app versions below `minimumVersion` are no longer supported. */
export interface SupportNotice {
  minimumVersion: string;
  message: string;
}

/** What {@link TodoApp.list} shows. */
export interface TodoList {
  todos: Todo[];
  unreadable: Unreadable[];
  /** Present when the server told this app version that it is no longer supported. */
  retired?: SupportNotice;
}

/** What an app version can do. */
export interface AppFeatures {
  /** Mark a todo important (1.1+). */
  important: boolean;
  /** Statuses beyond done/not done (2.0+). */
  status: boolean;
  /** Groups (3.0+). */
  group: boolean;
}

/** The id of the support notice document. */
export const SUPPORT_NOTICE_ID = "app-support";

/** The features of app version `version` (the app's own code knows what it can do). */
export function featuresOf(version: string): AppFeatures {
  return {
    important: semver.gte(version, "1.1.0"),
    status: semver.gte(version, "2.0.0"),
    group: semver.gte(version, "3.0.0"),
  };
}

/** A change to a todo. Only fields the app version knows may be set. */
export interface TodoPatch {
  title?: string;
  done?: boolean;
  status?: Status;
  isImportant?: boolean;
  group?: string;
}

/** What {@link TodoApp} needs. */
export interface TodoAppOptions {
  /** The store the app reads and writes (as the strategy bound it). */
  store: DocumentStore;
  /** The app version and its shape. */
  app: AppVersion;
  /** The registry that validates documents. */
  registry: Registry;
  /** The seeded clock (for `createdAt`). */
  clock: Clock;
  /** A seeded source of entity ids. */
  newId: () => string;
}

const ITEM = "todo-item";
const STATUS = "todo-item-status";

/** One app version running on one device. */
export class TodoApp {
  /** What this app version can do. */
  readonly features: AppFeatures;
  /** Documents this app has written (every put, create and delete counts one). */
  writes = 0;
  readonly #o: TodoAppOptions;

  constructor(options: TodoAppOptions) {
    this.#o = options;
    this.features = featuresOf(options.app.version);
  }

  /** The app version. */
  get version(): string {
    return this.#o.app.version;
  }

  /** Creates a todo; returns its entity id, creation time and the ids of the documents written, in write order. */
  async create(title: string): Promise<{ id: string; createdAt: string; docIds: string[] }> {
    const id = this.#o.newId();
    const createdAt = this.#o.clock.iso();
    const major = this.#major(ITEM);
    const item: Doc = { _id: `${ITEM}:${id}`, schema: ITEM, version: major, title, createdAt };
    const docs: Doc[] = [item];
    if (major === 1) item["isDone"] = false;
    if (major === 2) item["status"] = "active";
    if (this.features.important) item["isImportant"] = false;
    if (major >= 3) {
      item["group"] = "default";
      docs.push({ _id: `${STATUS}:${id}`, schema: STATUS, version: this.#major(STATUS), status: "active" });
    }
    await this.#write(docs);
    return { id, createdAt, docIds: docs.map((d) => d._id) };
  }

  /**
   * Changes a todo; fields this app version does not know are refused with `BAD_REQUEST`. Resolves with the
   * status the todo has now (as this device saw it) and whether anything was written.
   */
  async update(id: string, patch: TodoPatch): Promise<{ status: Status; wrote: boolean }> {
    if (patch.status !== undefined && !this.features.status) this.#refuse("set a status", id);
    if (patch.isImportant !== undefined && !this.features.important) this.#refuse("mark a todo important", id);
    if (patch.group !== undefined && !this.features.group) this.#refuse("set a group", id);
    const { item, status } = await this.#load(id);
    const current = toTodo(id, item, status);
    let nextStatus: Status = current.status ?? (current.done ? "done" : "active");
    if (patch.status !== undefined) nextStatus = patch.status;
    else if (patch.done !== undefined && patch.done !== current.done) nextStatus = patch.done ? "done" : "active";

    const nextItem: Doc = { ...item };
    if (patch.title !== undefined) nextItem["title"] = patch.title;
    if (patch.isImportant !== undefined) nextItem["isImportant"] = patch.isImportant;
    if (patch.group !== undefined) nextItem["group"] = patch.group;
    const major = this.#major(ITEM);
    if (major === 1) nextItem["isDone"] = nextStatus === "done";
    if (major === 2) nextItem["status"] = nextStatus;
    const docs: Doc[] = [];
    if (JSON.stringify(nextItem) !== JSON.stringify(item)) docs.push(nextItem);
    if (status && status["status"] !== nextStatus) docs.push({ ...status, status: nextStatus });
    if (docs.length > 0) await this.#write(docs);
    return { status: nextStatus, wrote: docs.length > 0 };
  }

  /**
   * Deletes a todo: every document of the entity the device holds, each with its conflicting revisions (deleting
   * only the winning revision would let CouchDB pick a conflicting one as the next winner, and the todo would come
   * back). A todo whose status document has not replicated yet is deleted too: what the device holds goes, and a
   * status document arriving later belongs to a deleted todo.
   */
  async remove(id: string): Promise<void> {
    const { item, status } = await this.#load(id, true);
    const docs: Doc[] = [];
    for (const d of [item, ...(status ? [status] : [])]) {
      const leaves = await this.#o.store.get(d._id, { conflicts: true });
      const conflicts = Array.isArray(leaves["_conflicts"]) ? (leaves["_conflicts"] as string[]) : [];
      for (const rev of [d._rev, ...conflicts]) docs.push({ _id: d._id, _rev: rev, _deleted: true } as Doc);
    }
    await this.#write(docs);
  }

  /** Every todo this app version can read, and the entities it cannot (with reasons). */
  async list(): Promise<TodoList> {
    const page = await this.#o.store.allDocs({ includeDocs: true });
    const byId = new Map<string, Doc>();
    for (const row of page.rows) if (row.doc) byId.set(row.id, row.doc);
    const todos: Todo[] = [];
    const unreadable: Unreadable[] = [];
    for (const doc of byId.values()) {
      if (this.#o.registry.identify(doc)?.type !== ITEM) continue; // whitelist: only todo items drive the list
      const id = entityIdOf(doc._id);
      if (id === undefined) continue;
      const problem = this.#problem(id, doc, byId.get(`${STATUS}:${id}`));
      if (problem) unreadable.push({ id, reason: problem });
      else todos.push(this.#view(toTodo(id, doc, byId.get(`${STATUS}:${id}`))));
    }
    todos.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    unreadable.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const notice = byId.get(SUPPORT_NOTICE_ID);
    const list: TodoList = { todos, unreadable };
    if (notice && typeof notice["minimumVersion"] === "string" && semver.valid(notice["minimumVersion"])) {
      if (semver.lt(this.version, notice["minimumVersion"])) {
        list.retired = { minimumVersion: notice["minimumVersion"], message: String(notice["message"] ?? "") };
      }
    }
    return list;
  }

  /** Only the fields this version knows. */
  #view(todo: Todo): Todo {
    const v: Todo = { id: todo.id, title: todo.title, createdAt: todo.createdAt, done: todo.done };
    if (this.features.status && todo.status !== undefined) v.status = todo.status;
    if (this.features.important) v.isImportant = todo.isImportant ?? false;
    if (this.features.group) v.group = todo.group ?? "default";
    return v;
  }

  /** Why this app version cannot read the entity (or, with `partial`, delete it), or `undefined` when it can. */
  #problem(id: string, item: Doc, status: Doc | undefined, partial = false): string | undefined {
    const r = this.#o.registry;
    const wanted = this.#major(ITEM);
    const have = r.identify(item);
    if (have?.version !== wanted) {
      return `${item._id} is ${ITEM}@${String(have?.version)}; app ${this.version} reads ${ITEM}@${wanted}`;
    }
    const verdict = r.validate(item);
    if (!verdict.ok) return `${item._id} is invalid: ${verdict.errors.map((e) => `${e.pointer} ${e.message}`).join("; ")}`;
    const statusMajor = this.#o.app.shape[STATUS];
    if (statusMajor !== undefined) {
      if (!status) return partial ? undefined : `${STATUS}:${id} is missing (app ${this.version} needs it next to ${item._id})`;
      const s = r.identify(status);
      if (s?.version !== statusMajor) {
        return `${status._id} is ${STATUS}@${String(s?.version)}; app ${this.version} reads ${STATUS}@${statusMajor}`;
      }
      const sv = r.validate(status);
      if (!sv.ok) return `${status._id} is invalid: ${sv.errors.map((e) => `${e.pointer} ${e.message}`).join("; ")}`;
    }
    return undefined;
  }

  /** Reads an entity for an edit; refuses one this app version cannot read (`partial`: one without its status document is read). */
  async #load(id: string, partial = false): Promise<{ item: Doc; status?: Doc }> {
    const store = this.#o.store;
    const item = await store.get(`${ITEM}:${id}`);
    let status: Doc | undefined;
    if (this.#o.app.shape[STATUS] !== undefined) {
      try {
        status = await store.get(`${STATUS}:${id}`);
      } catch (e) {
        if (!isDivanError(e, "NOT_FOUND")) throw e;
      }
    }
    const problem = this.#problem(id, item, status, partial);
    if (problem) {
      throw new DivanError("SCHEMA_INVALID", `App ${this.version} cannot edit todo ${id}: ${problem}.`, {
        details: { id, app: this.version },
      });
    }
    return status ? { item, status } : { item };
  }

  async #write(docs: Doc[]): Promise<void> {
    const results = await this.#o.store.bulkDocs(docs);
    for (const r of results) {
      if (!r.ok) {
        throw new DivanError(r.error.code, `App ${this.version} could not write ${r.id}: ${r.error.reason}`, {
          details: { id: r.id, app: this.version },
        });
      }
      this.writes += 1;
    }
  }

  #major(type: string): number {
    const major = this.#o.app.shape[type];
    if (major === undefined) {
      throw new DivanError("MANIFEST_INVALID", `App ${this.version} has no ${type} in its manifest.`, { details: { type } });
    }
    return major;
  }

  #refuse(what: string, id: string): never {
    throw new DivanError("BAD_REQUEST", `App ${this.version} cannot ${what} (todo ${id}): the feature is newer than the app.`, {
      details: { id, app: this.version },
    });
  }
}

/** The entity id of a `todo-item:<id>` or `todo-item-status:<id>` document id, else `undefined`. */
export function entityIdOf(docId: string): string | undefined {
  const m = /^todo-item(?:-status)?:([^:]+)/.exec(docId);
  return m?.[1];
}

/** Reads a todo from its documents, whatever their version (done/status/important/group as stored). */
function toTodo(id: string, item: Doc, status: Doc | undefined): Todo {
  const stored = (status?.["status"] ?? item["status"]) as Status | undefined;
  const done = stored !== undefined ? stored === "done" : item["isDone"] === true;
  const todo: Todo = { id, title: String(item["title"]), createdAt: String(item["createdAt"]), done };
  if (stored !== undefined) todo.status = stored;
  if (typeof item["isImportant"] === "boolean") todo.isImportant = item["isImportant"];
  if (typeof item["group"] === "string") todo.group = item["group"];
  return todo;
}
