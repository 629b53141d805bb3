/**
 * The data model steps and paths work on: documents, entities and shapes.
 */

/** A JSON value (what a declarative operation may carry as a default or a table entry). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A CouchDB/PouchDB document. Every attribute is kept unless a step says otherwise; `_id`, `_rev`,
 * `_deleted` and `_attachments` are handled by the path, never by operations.
 */
export interface Doc {
  _id?: string;
  _rev?: string;
  _deleted?: boolean;
  _attachments?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * The documents of one entity id at one shape, keyed by type:
 * `{ "task": {...}, "task-state": {...} }` for a task at app 6.0.
 */
export type Entity = Record<string, Doc>;

/** A set of (type, major version): `{ "task": 3, "task-state": 1 }`. */
export type Shape = Record<string, number>;

/** Field names that identify a document's type and major version (defaults `schema` / `version`). */
export interface DocFields {
  /** The attribute holding the document type (default `"schema"`). */
  readonly typeField: string;
  /** The attribute holding the major version (default `"version"`). */
  readonly versionField: string;
}

/** `type@version` pairs of a shape in a stable order, e.g. `task@3+task-state@1`. */
export function shapeKey(shape: Shape): string {
  return Object.keys(shape)
    .sort()
    .map((t) => `${t}@${String(shape[t])}`)
    .join("+");
}

/** True when both shapes have the same types at the same versions. */
export function sameShape(a: Shape, b: Shape): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((t) => b[t] === a[t]);
}
