/**
 * Document ids.
 *
 * - single-version and multi-db storage: `<type>:<entityId>` (`task:8f5e…`);
 * - multi-version storage: `<type>:<entityId>:v:<version>`;
 * - singletons keep a plain id (`preferences`), with `:v:<n>` added in multi-version storage.
 *
 * Types never contain `:`; an entity id may (everything between the first `:` and an optional
 * trailing `:v:<n>` is the entity id).
 */

/** The parts of a document id. */
export interface ParsedDocId {
  /** The document type, e.g. `task`. */
  readonly type: string;
  /** The entity id; `undefined` for a singleton (`preferences`). */
  readonly entityId: string | undefined;
  /** The major version, present only in multi-version ids (`…:v:3`). */
  readonly version: number | undefined;
}

const VERSION_SUFFIX = /:v:(0|[1-9][0-9]*)$/;

/**
 * Split a document id into type, entity id and (multi-version) version.
 * Returns `undefined` for ids that follow no scheme: empty ids, `_design/…` and `_local/…`, or an empty type or
 * entity id.
 *
 * @example `parseDocId("task:42:v:3")` → `{ type: "task", entityId: "42", version: 3 }`
 */
export function parseDocId(id: string): ParsedDocId | undefined {
  if (id.length === 0 || id.startsWith("_")) return undefined;
  let rest = id;
  let version: number | undefined;
  const m = id.includes(":v:") ? VERSION_SUFFIX.exec(id) : null;
  if (m !== null) {
    version = Number(m[1]);
    rest = id.slice(0, m.index);
  }
  const colon = rest.indexOf(":");
  if (colon === -1) return rest.length === 0 ? undefined : { type: rest, entityId: undefined, version };
  const type = rest.slice(0, colon);
  const entityId = rest.slice(colon + 1);
  if (type.length === 0 || entityId.length === 0) return undefined;
  return { type, entityId, version };
}

/**
 * Build a document id. `entityId` `undefined` makes a singleton id; a `version` adds the multi-version suffix.
 *
 * @example `formatDocId("task-state", "42")` → `"task-state:42"`
 */
export function formatDocId(type: string, entityId: string | undefined, version?: number): string {
  const base = entityId === undefined ? type : `${type}:${entityId}`;
  return version === undefined ? base : `${base}:v:${version}`;
}

/**
 * How a storage layout names documents. Steps and paths translate `_id`s through one of these, so
 * single-version and multi-version storage share the same steps.
 */
export interface IdScheme {
  /** A name for messages (`single-version`, `multi-version`). */
  readonly name: string;
  /** The id of the document of `type` at `version` for `entityId` (`undefined` = singleton). */
  format(type: string, entityId: string | undefined, version: number): string;
  /** Parse an id written by {@link IdScheme.format}; `undefined` when it is not one. */
  parse(id: string): ParsedDocId | undefined;
}

/** `<type>:<entityId>` ids, one document per type and entity (single-version and multi-db storage). */
export const singleVersionIds: IdScheme = {
  name: "single-version",
  format: (type, entityId) => (entityId === undefined ? type : `${type}:${entityId}`),
  parse: (id) => {
    const p = parseDocId(id);
    return p === undefined || p.version !== undefined ? undefined : p;
  },
};

/** `<type>:<entityId>:v:<version>` ids, every version side by side (multi-version storage). */
export const multiVersionIds: IdScheme = {
  name: "multi-version",
  format: (type, entityId, version) => formatDocId(type, entityId, version),
  parse: (id) => {
    const p = parseDocId(id);
    return p === undefined || p.version === undefined ? undefined : p;
  },
};
