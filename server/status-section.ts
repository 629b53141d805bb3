/**
 * The contract of a `divan status` section: what it is given and what it returns, so features (the transformer)
 * add their section without importing the command.
 */
import type { DocumentStore } from "../store/port.js";

/** What a status section gets. */
export interface StatusContext {
  /** The database asked about. */
  readonly store: DocumentStore;
  /** The state database holding the database's lease, when there is one. */
  readonly state?: DocumentStore;
  /** The jobs to list in full (`--id` / `--to`); every job when empty. */
  readonly selected: readonly string[];
  /** The current time (ms). */
  readonly now: number;
  /** Field holding the document type (default `schema`). */
  readonly typeField?: string;
  /** Field holding the major version (default `version`). */
  readonly versionField?: string;
}

/** One section of `divan status`: returns its lines. */
export type StatusSection = (ctx: StatusContext) => Promise<string[]>;
