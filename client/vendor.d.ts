// Declarations for the untyped PouchDB module divan/client uses.
declare module "pouchdb-selector-core" {
  /** True when `doc` matches the Mango `selector` (PouchDB's in-memory matcher, as used by pouchdb-find). */
  export function matchesSelector(doc: unknown, selector: Record<string, unknown>): boolean;
}
