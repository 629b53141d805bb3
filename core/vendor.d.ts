// Declarations for the untyped, browser-safe PouchDB helper modules divan uses (runner, transformer, divan/client).
declare module "pouchdb-md5" {
  /** Hex md5 of a string (Node: crypto; browser: spark-md5). Feed ASCII only so both agree. */
  export function stringMd5(text: string): string;
}
declare module "pouchdb-selector-core" {
  /** True when `doc` matches the Mango `selector` (PouchDB's in-memory matcher). */
  export function matchesSelector(doc: unknown, selector: Record<string, unknown>): boolean;
}
