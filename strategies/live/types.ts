/**
 * What a live adapter is configured with and what its reads and writes return (rows, pages, per-document problems).
 */
import type { DivanErrorCode } from "../../core/errors.js";
import type { Fault } from "../../core/faults.js";
import type { StepGraph } from "../../adapters/path.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { Shape } from "../../adapters/types.js";
import type { Manifest } from "../../schemas/manifest.js";
import type { Registry } from "../../schemas/registry.js";
import type { Change, Doc } from "../../store/port.js";

/** How an app configures its live adapter. Give `manifest` or `shape`. */
export interface LiveConfig {
  /** The schema registry (validation on write, document types and versions). */
  readonly registry: Registry;
  /** The steps the app ships with, or a step graph built from them. */
  readonly steps: readonly StepDefinition[] | StepGraph;
  /** The app's manifest; resolved against the registry to the app's shape. */
  readonly manifest?: Manifest;
  /** The app's shape (type → major) instead of a manifest. */
  readonly shape?: Shape;
  /** Store the translated form of an entity read from an older version (default `false`: migrate on write only). */
  readonly writeBack?: boolean;
  /** Validate every document written against its schema (default `true`). */
  readonly validate?: boolean;
  /** Id of a document holding more declarative steps as data (`{ steps: [...] }`), read on every operation. */
  readonly stepsDocId?: string;
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set by an app. */
  readonly faults?: readonly Fault[];
}

/** Why one document could not be read or written. */
export interface RowProblem {
  /** Stable code: `STEP_FAILED`, `ENTITY_INCOMPLETE`, `NO_PATH`, `SCHEMA_INVALID`, `CONFLICT`, … */
  readonly code: DivanErrorCode;
  /** What went wrong, naming the document. */
  readonly reason: string;
  /** Machine-readable facts (id, step, shapes). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** One row of {@link LiveAdapter.allDocs}: the document at the app's version, or a problem. */
export interface LiveRow {
  id: string;
  key: string;
  /** Present when the document has a revision (a synthesized, never written part has none). */
  value?: { rev: string; deleted?: boolean };
  /** The document at the app's version (with `includeDocs`; `null` for a deleted key). */
  doc?: Doc | null;
  /** `not_found` for a missing key, else the problem's code. */
  error?: string;
  /** Why the row has no document. */
  problem?: RowProblem;
}

/** One page of {@link LiveAdapter.allDocs}. */
export interface LivePage {
  /** Documents stored (not translated: a split entity counts its stored documents). */
  totalRows: number;
  rows: LiveRow[];
}

/** Options of {@link LiveAdapter.entityPages}. */
export interface EntityPagesOptions {
  /** Rows read from each type range at a time (default 500); a page holds about this many entities of its family's densest type. */
  readonly limit?: number;
  /** Return the documents too (default `false`, as `allDocs`). */
  readonly includeDocs?: boolean;
  /** A page's {@link LiveEntityPage.next}: continue after that page (in a new iteration). */
  readonly start?: string;
}

/** One page of {@link LiveAdapter.entityPages}: rows in id order, with a token to continue after it. */
export interface LiveEntityPage extends LivePage {
  /** Pass as `start` to continue after this page; `undefined` after the last page (a token may also lead to no more rows). */
  next: string | undefined;
}

/** The result of writing one document through the adapter; one per input, in input order. */
export type LiveWriteResult = { id: string; ok: true; rev: string } | { id: string; ok: false; error: RowProblem };

/** One change as the app sees it (ids and documents at the app's version). */
export interface LiveChange extends Change {
  /** Why the changed document cannot be read at the app's version. */
  problem?: RowProblem;
}

/** One page of {@link LiveAdapter.changes}. */
export interface LiveChangesPage {
  results: LiveChange[];
  lastSeq: string;
}

/** What {@link LiveAdapter.find} returns. */
export interface LiveFindResult {
  docs: Doc[];
  /** Documents that could not be translated (and so could not be matched). */
  problems: { id: string; problem: RowProblem }[];
  /** Always set: a lazy find scans every document. */
  warning: string;
}
