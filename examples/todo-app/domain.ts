/**
 * What the comparison harness knows of an app's entities, so the same scenario templates run on any app.
 *
 * The entity type scenarios create, a text field every app version of the change knows (the stories'
 * "title"), and a field only the new app version knows (the stories' "new field"). The todo example's app
 * is hand-written ({@link TODO_DOMAIN}); any other app's domain is found from its schemas and steps
 * ({@link deriveDomain}), and its apps are generic ({@link SchemaApp}): they create entities with values
 * generated from the schemas and edit those two fields.
 */
import fc from "fast-check";
import { formatDocId } from "../../adapters/ids.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Entity, Shape } from "../../adapters/types.js";
import { DivanError, isDivanError } from "../../core/errors.js";
import { arbitraryFromSchema } from "../../schemas/arbitrary.js";
import type { Registry } from "../../schemas/registry.js";
import type { Doc } from "../../store/port.js";
import { stepGraphOf } from "../../strategies/steps.js";
import { familiesOf, familyOf, familyShape } from "../../strategies/transformer/plan.js";
import type { AppChange, AppVersion } from "../../strategies/types.js";
import semver from "semver";
import { SUPPORT_NOTICE_ID, TodoApp, type AppFeatures, type Status, type Todo, type TodoAppOptions, type TodoList, type TodoPatch, type Unreadable } from "./app.js";
import type { ModelTodo } from "./model.js";

/** An app version on a device, as the world drives it (the todo app, or a {@link SchemaApp}). */
export interface DomainApp {
  /** What this app version can do. */
  readonly features: AppFeatures;
  /** Documents this app has written. */
  readonly writes: number;
  /** The app version. */
  readonly version: string;
  /** Creates an entity whose text field is `title`. */
  create(title: string): Promise<{ id: string; createdAt: string; docIds: string[] }>;
  /** Changes an entity; resolves with its status as this device saw it and whether anything was written. */
  update(id: string, patch: TodoPatch): Promise<{ status: Status; wrote: boolean }>;
  /** Deletes an entity (every document of it). */
  remove(id: string): Promise<void>;
  /** Every entity this app version can read, and those it cannot. */
  list(): Promise<TodoList>;
}

/** The app's entities as scenarios use them. */
export interface Domain {
  /** The type of an entity's first document (`push-first-document` pushes only it). */
  readonly root: string;
  /** Apps have the todo app's done flag and statuses (`set-done`, `set-status`); else templates leave those events out. */
  readonly hasDone: boolean;
  /** Apps of the new version have a field the old one does not know (`set-new-field`); else templates leave it out. */
  readonly hasNewField: boolean;
  /** The value of the new field of an entity nobody set it on (what the steps give it). */
  readonly newDefault: unknown;
  /** The value `set-new-field` with `value` sets (valid for the field's schema). */
  newValue(value: string): unknown;
  /** An app version on a device. */
  createApp(options: TodoAppOptions): DomainApp;
  /** What of `m` no server document (or revision) in `has` keeps, as `field … is <where>` lines. */
  lostFields(m: ModelTodo, has: (test: (d: Doc) => boolean) => boolean, where: string): string[];
}

/** The todo example: its hand-written app, the title, done/status, importance and group. */
export const TODO_DOMAIN: Domain = {
  root: "todo-item",
  hasDone: true,
  hasNewField: true,
  newDefault: "default",
  newValue: (value) => value,
  createApp: (options) => new TodoApp(options),
  lostFields(m, has, where) {
    const out: string[] = [];
    if (!has((d) => d["title"] === m.title)) out.push(`"${m.label}" (${m.id}): title ${JSON.stringify(m.title)} is ${where}`);
    const done = m.status === "done";
    const binary = m.status === "active" || m.status === "done";
    const statusKept = has((d) => d["status"] === m.status || (binary && d["status"] === undefined && d["isDone"] === done));
    if (!statusKept) out.push(`"${m.label}" (${m.id}): status ${m.status} is ${where}`);
    if (m.isImportant !== undefined && !has((d) => d["isImportant"] === m.isImportant)) out.push(`"${m.label}" (${m.id}): isImportant ${String(m.isImportant)} is ${where}`);
    if (m.group !== undefined && !has((d) => d["group"] === m.group)) out.push(`"${m.label}" (${m.id}): group ${JSON.stringify(m.group)} is ${where}`);
    return out;
  },
};

/** A field of one document type at one major. */
interface FieldAt {
  readonly type: string;
  readonly prop: string;
}

/** What {@link deriveDomain} found. */
interface Found {
  readonly root: string;
  /** Family shape of each app version of the change. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** The text field per app version. */
  readonly title: ReadonlyMap<string, FieldAt>;
  /** The new field (in the new app version only). */
  readonly newField?: FieldAt & { readonly schema: Record<string, unknown>; readonly default: unknown };
}

type SchemaObject = Record<string, unknown>;

function propsOf(registry: Registry, type: string, major: number): Record<string, SchemaObject> {
  const schema = registry.schema(type, major).schema as SchemaObject;
  return (schema["properties"] ?? {}) as Record<string, SchemaObject>;
}

/** A string property any text fits (no pattern, format, enum or const; room for a sentence). */
function freeText(s: SchemaObject | undefined): boolean {
  if (s === undefined || s["type"] !== "string") return false;
  if ("pattern" in s || "format" in s || "enum" in s || "const" in s) return false;
  const max = s["maxLength"];
  const min = s["minLength"];
  return (typeof max !== "number" || max >= 48) && (typeof min !== "number" || min <= 1);
}

function generate(registry: Registry, type: string, major: number, id: string, seed: number): Doc {
  const overrides = { _id: formatDocId(type, id), [registry.typeField]: type, [registry.versionField]: major };
  const [generated] = fc.sample(arbitraryFromSchema(registry.schema(type, major).schema, { overrides, allOptional: true }), { seed, numRuns: 1 });
  // CouchDB's own attributes (`_rev`, `_attachments`, …) are the store's to set, never generated.
  return Object.fromEntries(Object.entries(generated as Doc).filter(([k]) => k === "_id" || !k.startsWith("_"))) as Doc;
}

/**
 * The domain of an app's change, from its schemas and steps: the first type whose major the change bumps
 * (for an additive change: the first with a free-text field) is the entity; a free-text property an old document carries unchanged through the steps to the new
 * version (and back) is its text field; a property only the new version has, which the steps fill with a
 * fixed value, is its new field.
 *
 * @throws DivanError `CONFIG_INVALID` when no type has a free-text field that survives the steps.
 */
export function deriveDomain(registry: Registry, steps: readonly StepDefinition[], apps: readonly AppVersion[], change: AppChange): Domain {
  const from = apps.find((a) => a.version === change.from);
  const to = apps.find((a) => a.version === change.to);
  if (from === undefined || to === undefined) throw new DivanError("CONFIG_INVALID", `No manifest for app ${from === undefined ? change.from : change.to}.`);
  const families = familiesOf(steps);
  // The first type the change bumps; for an additive change, the first type with a free-text field.
  const types = Object.keys(from.shape).sort();
  const root =
    types.find((t) => to.shape[t] !== from.shape[t]) ??
    types.find((t) => to.shape[t] !== undefined && Object.values(propsOf(registry, t, from.shape[t]!)).some(freeText));
  if (root === undefined) throw new DivanError("CONFIG_INVALID", `App ${change.from} → ${change.to}: no document type has a free-text field scenarios could edit.`);
  const family = familyOf(families, root);
  const oldShape = familyShape(families, from.shape, family);
  const newShape = familyShape(families, to.shape, family);
  const graph = stepGraphOf(steps);
  const up = graph.path(oldShape, newShape);
  const down = graph.path(newShape, oldShape);

  // Probe: an old entity whose free-text properties carry their own names; where they land in the new version.
  const probe: Entity = {};
  for (const [type, major] of Object.entries(oldShape)) {
    const doc = generate(registry, type, major, "probe", 1);
    for (const [prop, s] of Object.entries(propsOf(registry, type, major))) if (freeText(s) && !prop.startsWith("_")) doc[prop] = `probe ${type} ${prop}`;
    probe[type] = doc;
  }
  const raised = up(probe);
  let title: { old: FieldAt; new: FieldAt } | undefined;
  const carried = new Set<string>();
  for (const [type, doc] of Object.entries(raised)) {
    const props = propsOf(registry, type, newShape[type]!);
    for (const [prop, v] of Object.entries(doc)) {
      const m = typeof v === "string" ? /^probe (\S+) (\S+)$/.exec(v) : null;
      if (m === null) continue;
      carried.add(`${type}\u0000${prop}`);
      const candidate = { old: { type: m[1]!, prop: m[2]! }, new: { type, prop } };
      if (!freeText(props[prop])) continue;
      // Back down: an edit made by the new app reaches the old one in the same field.
      const edited = { ...raised, [type]: { ...doc, [prop]: "probe edited" } };
      if (down(edited, { base: probe })[candidate.old.type]?.[candidate.old.prop] !== "probe edited") continue;
      if (title === undefined || (candidate.old.type === root && title.old.type !== root)) title = candidate;
    }
  }
  if (title === undefined) {
    throw new DivanError("CONFIG_INVALID", `App ${change.from} → ${change.to}: no free-text field of ${family} is carried by the steps from one version to the other, so scenarios have nothing both apps edit.`);
  }
  const oldProps = new Set(Object.entries(oldShape).flatMap(([t, v]) => Object.keys(propsOf(registry, t, v))));
  let newField: Found["newField"];
  for (const type of [title.new.type, ...Object.keys(newShape).filter((t) => t !== title!.new.type)]) {
    const props = propsOf(registry, type, newShape[type]!);
    for (const prop of Object.keys(props).sort()) {
      if (prop.startsWith("_") || prop === registry.typeField || prop === registry.versionField || oldProps.has(prop) || carried.has(`${type}\u0000${prop}`)) continue;
      const value = raised[type]?.[prop];
      if (value === undefined || settable(props[prop]!, value) === undefined) continue;
      newField ??= { type, prop, schema: props[prop]!, default: value };
    }
  }
  const found: Found = {
    root: title.new.type,
    shapes: new Map([
      [from.version, oldShape],
      [to.version, newShape],
    ]),
    title: new Map([
      [from.version, title.old],
      [to.version, title.new],
    ]),
    ...(newField === undefined ? {} : { newField }),
  };
  const titleNames = [...new Set([title.old.prop, title.new.prop])];
  return {
    root: found.root,
    hasDone: false,
    hasNewField: newField !== undefined,
    newDefault: newField?.default,
    newValue: (value) => (newField === undefined ? value : settable(newField.schema, newField.default, value)),
    createApp: (options) => new SchemaApp(options, registry, found),
    lostFields(m, has, where) {
      const out: string[] = [];
      if (!has((d) => titleNames.some((n) => d[n] === m.title))) out.push(`"${m.label}" (${m.id}): ${titleNames.join("/")} ${JSON.stringify(m.title)} is ${where}`);
      if (newField !== undefined && m.group !== undefined && !has((d) => JSON.stringify(d[newField.prop]) === JSON.stringify(m.group))) {
        out.push(`"${m.label}" (${m.id}): ${newField.prop} ${JSON.stringify(m.group)} is ${where}`);
      }
      return out;
    },
  };
}

/**
 * A value a user can set on a field of schema `s` that differs from `current` (for a string: `value` itself),
 * or `undefined` when the schema offers none the harness can pick.
 */
function settable(s: SchemaObject, current: unknown, value = "set by a user"): unknown {
  if (Array.isArray(s["enum"])) return (s["enum"] as unknown[]).find((v) => JSON.stringify(v) !== JSON.stringify(current));
  switch (s["type"]) {
    case "string":
      return freeText(s) ? value : undefined;
    case "boolean":
      return current !== true;
    case "integer":
    case "number": {
      const max = typeof s["maximum"] === "number" ? s["maximum"] : Number.MAX_SAFE_INTEGER;
      const min = typeof s["minimum"] === "number" ? s["minimum"] : 0;
      const next = typeof current === "number" && current + 1 <= max ? current + 1 : min;
      return next === current ? undefined : next;
    }
    default:
      return undefined;
  }
}

/**
 * A generic app version: its entities are the documents of the domain's family at its own versions,
 * created with values generated from the schemas; it shows and edits the text field and, in the new
 * version, the new field. Like the todo app it reads only its own versions, keeps attributes it does not
 * know when it edits, and reads the support notice.
 */
export class SchemaApp implements DomainApp {
  readonly features: AppFeatures;
  writes = 0;
  readonly #o: TodoAppOptions;
  readonly #registry: Registry;
  readonly #shape: Shape;
  readonly #title: FieldAt;
  readonly #newField: FieldAt | undefined;
  readonly #default: unknown;

  constructor(options: TodoAppOptions, registry: Registry, found: Found) {
    this.#o = options;
    this.#registry = registry;
    const shape = found.shapes.get(options.app.version);
    const title = found.title.get(options.app.version);
    if (shape === undefined || title === undefined) throw new DivanError("CONFIG_INVALID", `App ${options.app.version} is neither version of the compared change.`);
    this.#shape = shape;
    this.#title = title;
    const knowsNew = found.newField !== undefined && shape[found.newField.type] !== undefined && Object.keys(propsOf(registry, found.newField.type, shape[found.newField.type]!)).includes(found.newField.prop);
    this.#newField = knowsNew ? found.newField : undefined;
    this.#default = found.newField?.default;
    this.features = { important: false, status: false, group: knowsNew };
  }

  get version(): string {
    return this.#o.app.version;
  }

  async create(title: string): Promise<{ id: string; createdAt: string; docIds: string[] }> {
    const id = this.#o.newId();
    const seed = Number.parseInt(id.slice(0, 8), 16) || 1;
    const docs = Object.entries(this.#shape).map(([type, major]) => {
      const doc = generate(this.#registry, type, major, id, seed);
      if (type === this.#title.type) doc[this.#title.prop] = title;
      if (this.#newField !== undefined && type === this.#newField.type) doc[this.#newField.prop] = this.#default;
      const verdict = this.#registry.validate(doc);
      if (!verdict.ok) throw new DivanError("SCHEMA_INVALID", `App ${this.version} generated an invalid ${doc._id}: ${verdict.errors.map((e) => `${e.pointer} ${e.message}`).join("; ")}`);
      return doc;
    });
    await this.#write(docs);
    return { id, createdAt: "", docIds: docs.map((d) => d._id) };
  }

  async update(id: string, patch: TodoPatch): Promise<{ status: Status; wrote: boolean }> {
    if (patch.status !== undefined || patch.done !== undefined || patch.isImportant !== undefined) {
      throw new DivanError("BAD_REQUEST", `App ${this.version} has no done flag, status or importance (entity ${id}).`);
    }
    if (patch.group !== undefined && this.#newField === undefined) {
      throw new DivanError("BAD_REQUEST", `App ${this.version} cannot set a field of a newer version (entity ${id}): the feature is newer than the app.`);
    }
    const docs = await this.#load(id);
    const changed: Doc[] = [];
    for (const doc of docs) {
      const next: Doc = { ...doc };
      if (patch.title !== undefined && doc._id === formatDocId(this.#title.type, id)) next[this.#title.prop] = patch.title;
      if (patch.group !== undefined && this.#newField !== undefined && doc._id === formatDocId(this.#newField.type, id)) next[this.#newField.prop] = patch.group;
      if (JSON.stringify(next) !== JSON.stringify(doc)) changed.push(next);
    }
    if (changed.length > 0) await this.#write(changed);
    return { status: "active", wrote: changed.length > 0 };
  }

  async remove(id: string): Promise<void> {
    const docs = await this.#load(id);
    await this.#write(docs.map((d) => ({ _id: d._id, _rev: d._rev, _deleted: true }) as Doc));
  }

  async list(): Promise<TodoList> {
    const page = await this.#o.store.allDocs({ includeDocs: true });
    const byId = new Map<string, Doc>();
    for (const row of page.rows) if (row.doc) byId.set(row.id, row.doc);
    const todos: Todo[] = [];
    const unreadable: Unreadable[] = [];
    const prefix = `${this.#title.type}:`;
    for (const doc of byId.values()) {
      if (this.#registry.identify(doc)?.type !== this.#title.type || !doc._id.startsWith(prefix)) continue;
      const id = doc._id.slice(prefix.length);
      const docs = Object.keys(this.#shape).map((t) => byId.get(formatDocId(t, id)));
      const problem = this.#problem(id, docs);
      if (problem) unreadable.push({ id, reason: problem });
      else todos.push(this.#view(id, docs as Doc[]));
    }
    todos.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    unreadable.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const list: TodoList = { todos, unreadable };
    const notice = byId.get(SUPPORT_NOTICE_ID);
    const minimum = notice?.["minimumVersion"];
    if (typeof minimum === "string" && semver.valid(minimum) && semver.lt(this.version, minimum)) {
      list.retired = { minimumVersion: minimum, message: String(notice?.["message"] ?? "") };
    }
    return list;
  }

  #view(id: string, docs: readonly Doc[]): Todo {
    const byId = new Map(docs.map((d) => [d._id, d]));
    const view: Todo = { id, title: String(byId.get(formatDocId(this.#title.type, id))?.[this.#title.prop]), createdAt: "", done: false };
    if (this.#newField !== undefined) view.group = byId.get(formatDocId(this.#newField.type, id))?.[this.#newField.prop] as string;
    return view;
  }

  /** Why this app version cannot read the entity (its documents in shape order), or `undefined`. */
  #problem(id: string, docs: readonly (Doc | undefined)[]): string | undefined {
    for (const [i, [type, major]] of Object.entries(this.#shape).entries()) {
      const doc = docs[i];
      if (doc === undefined) return `${formatDocId(type, id)} is missing (app ${this.version} needs it)`;
      const have = this.#registry.identify(doc);
      if (have?.version !== major) return `${doc._id} is ${type}@${String(have?.version)}; app ${this.version} reads ${type}@${major}`;
      const verdict = this.#registry.validate(doc);
      if (!verdict.ok) return `${doc._id} is invalid: ${verdict.errors.map((e) => `${e.pointer} ${e.message}`).join("; ")}`;
    }
    return undefined;
  }

  async #load(id: string): Promise<Doc[]> {
    const docs: (Doc | undefined)[] = [];
    for (const type of Object.keys(this.#shape)) {
      try {
        docs.push(await this.#o.store.get(formatDocId(type, id)));
      } catch (e) {
        if (!isDivanError(e, "NOT_FOUND")) throw e;
        docs.push(undefined);
      }
    }
    const problem = this.#problem(id, docs);
    if (problem) throw new DivanError("SCHEMA_INVALID", `App ${this.version} cannot edit entity ${id}: ${problem}.`, { details: { id, app: this.version } });
    return docs as Doc[];
  }

  async #write(docs: Doc[]): Promise<void> {
    const results = await this.#o.store.bulkDocs(docs);
    for (const r of results) {
      if (!r.ok) throw new DivanError(r.error.code, `App ${this.version} could not write ${r.id}: ${r.error.reason}`, { details: { id: r.id, app: this.version } });
      this.writes += 1;
    }
  }
}
