/**
 * Every strategy divan ships, in one table: its name, its one-sentence description and the cell of the
 * storage × timing × place taxonomy it fills.
 */
import type { AppChange, Strategy, Taxonomy } from "./types.js";

interface Entry {
  readonly taxonomy: Taxonomy;
  readonly description: (change: AppChange) => string;
}

const SIDE_BY_SIDE = "Every version of a document side by side in one server database";
const PER_DATABASE = "One server database per schema major, and one local database per version on new-app devices";
const CLIENT_EAGER = "new-app devices keep the versions in step with a transformer of their own (deterministic revisions). The server only stores and replicates.";
const CLIENT_LAZY =
  "a new-app device translates an entity only when its app touches it: reads show the translation, writes store it and translate the edit to the other version (deterministic revisions). The server only stores and replicates.";

const CATALOG = {
  none: {
    taxonomy: { storage: "single-version", timing: "none", place: "none" },
    description: ({ from, to }) => `A breaking change (${from} → ${to}) shipped without any migration: the baseline that shows what breaks.`,
  },
  "non-breaking": {
    taxonomy: { storage: "single-version", timing: "none", place: "none" },
    description: ({ from, to }) => `An additive change (${from} → ${to}): apps default missing attributes, keep unknown ones and ignore unknown types; nothing is migrated.`,
  },
  "per-version-database": {
    taxonomy: { storage: "multi-db", timing: "eager", place: "server" },
    description: () => "One database per schema major, kept in step by bidirectional server transformers; every app version replicates with its own database.",
  },
  "per-version-documents": {
    taxonomy: { storage: "multi-version", timing: "eager", place: "server" },
    description: () =>
      "Every version of a document side by side in one database, kept in step by server transformers; each app version replicates only its versions through a Mango channel.",
  },
  "live-adapter": {
    taxonomy: { storage: "single-version", timing: "lazy", place: "client" },
    description: () =>
      "Live adapters (divan/client) in every app: documents are read at the app's version and migrated only when written; old apps learn new declarative steps from a replicated document.",
  },
  "live-adapter-new-app-only": {
    taxonomy: { storage: "single-version", timing: "lazy", place: "client" },
    description: ({ from, to }) => `Live adapters in the new app only: ${to} reads every old version and writes its own; the plain ${from} app cannot read what ${to} wrote.`,
  },
  transactional: {
    taxonomy: { storage: "single-version", timing: "eager", place: "server" },
    description: () => "Maintenance window: refuse writes, copy and migrate into a new database, verify, switch; old apps lose write access.",
  },
  "transactional-online": {
    taxonomy: { storage: "single-version", timing: "eager", place: "server" },
    description: () => "Copy and migrate into a new database while apps keep writing, follow _changes, then switch under a short write lock.",
  },
  amended: {
    taxonomy: { storage: "single-version", timing: "eager", place: "server" },
    description: () => "In-place server-side eager migration that keeps following _changes after the release and migrates old documents that arrive late.",
  },
  "client-side": {
    taxonomy: { storage: "single-version", timing: "eager", place: "client" },
    description: () => "Each device migrates its own PouchDB when its app updates, with deterministic revisions so devices migrating the same documents do not conflict.",
  },
  "client-transformer-documents": {
    taxonomy: { storage: "multi-version", timing: "eager", place: "client" },
    description: () => `${SIDE_BY_SIDE}; ${CLIENT_EAGER}`,
  },
  "client-transformer-database": {
    taxonomy: { storage: "multi-db", timing: "eager", place: "client" },
    description: () => `${PER_DATABASE}; ${CLIENT_EAGER}`,
  },
  "client-lazy-documents": {
    taxonomy: { storage: "multi-version", timing: "lazy", place: "client" },
    description: () => `${SIDE_BY_SIDE}; ${CLIENT_LAZY}`,
  },
  "client-lazy-database": {
    taxonomy: { storage: "multi-db", timing: "lazy", place: "client" },
    description: () => `${PER_DATABASE}; ${CLIENT_LAZY}`,
  },
  "server-lazy": {
    taxonomy: { storage: "single-version", timing: "lazy", place: "server" },
    description: () =>
      "A translating proxy serves the one server database as a database per app version: plain apps of every version replicate with their own, reads translate, writes migrate the documents they touch.",
  },
} as const satisfies Record<string, Entry>;

/** The name of a strategy divan ships. */
export type StrategyName = keyof typeof CATALOG;

/** What a strategy says about itself for `change`: its name, description, taxonomy cell and the change. */
export function identityOf(name: StrategyName, change: AppChange): Pick<Strategy, "name" | "description" | "taxonomy" | "change"> {
  const entry: Entry = CATALOG[name];
  return { name, description: entry.description(change), taxonomy: entry.taxonomy, change };
}
