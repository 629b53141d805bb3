/**
 * What planning one entity's translation takes and gives: the entity, the documents read on both sides, and the plan.
 */
import type { Fault } from "../../core/faults.js";
import type { IdScheme } from "../../adapters/ids.js";
import type { CompiledPath } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import type { Doc } from "../../store/port.js";
import type { EarlierRevisions } from "./seen.js";

/** One entity: a family and an entity id (`undefined` for singletons such as `preferences`). */
export interface EntityRef {
  readonly family: string;
  readonly entityId: string | undefined;
}

/** A stable key of an entity. */
export function entityKey(e: EntityRef): string {
  return `${e.family}\u0000${e.entityId ?? ""}`;
}

/** A document as read for planning: the live document, a tombstone, or nothing. */
export type ReadDoc = { state: "live"; doc: Doc } | { state: "deleted"; id: string; rev: string } | { state: "missing"; id: string };

/** What {@link planEntity} needs. */
export interface PlanInput {
  /** The entity. */
  readonly entity: EntityRef;
  /** Source side name (provenance `from`). */
  readonly source: string;
  /** Target side name. */
  readonly target: string;
  /** Source documents by type (every type of the source family shape). */
  readonly sourceDocs: Readonly<Record<string, ReadDoc>>;
  /** Target documents by type (every type of the target family shape). */
  readonly targetDocs: Readonly<Record<string, ReadDoc>>;
  /** Source family shape and target family shape. */
  readonly from: Shape;
  readonly to: Shape;
  /** The compiled path `from → to`. */
  readonly path: CompiledPath;
  /** The compiled path `to → from` (tells whether the target's edit is already reflected in the source). */
  readonly reversePath: CompiledPath;
  /** How documents are named. */
  readonly ids: IdScheme;
  /** Attribute holding the document type (default `schema`). */
  readonly typeField: string;
  /** Attribute holding the major version (default `version`). */
  readonly versionField: string;
  /**
   * Earlier revisions of the edited source documents (by type, newest first), when the planner asked for
   * them ({@link EntityPlan} `kind: "need-parents"`): if one of them reflects the target's state, the
   * source's edits were made on top of it (no conflict).
   */
  readonly sourceAncestors?: Readonly<Record<string, readonly Doc[]>>;
  /**
   * Earlier revisions of the source's documents and of the target's edited ones (and of those the source's edits were
   * translated from), by document id, given with {@link sourceAncestors}: every revision of the current one's history
   * (`_revisions`), the newest 20 with their bodies where the store still has them (`seen.ts`).
   */
  readonly revisions?: { readonly source: EarlierRevisions; readonly target: EarlierRevisions };
  /** Whether each side translated every revision of its documents as it made it (`TransformerSide.translatedOnWrite`). */
  readonly translatedOnWrite?: { readonly source: boolean; readonly target: boolean };
  /** Positive when the source side wins a tie of the conflict rule (source listed after target). */
  readonly sourceRank: number;
  /** Deliberate bugs for the simulation's mutation tests (`core/faults.ts`); never set in production. */
  readonly faults?: readonly Fault[];
  readonly targetRank: number;
}

/** A conflict between concurrent edits, as reported. */
export interface ConflictRecord {
  /** The entity (`family` and id). */
  readonly family: string;
  readonly entityId: string | undefined;
  /** Side whose edit won, and its newest edited revision. */
  readonly winner: string;
  readonly winnerRev: string;
  /** Side whose edit lost (kept there as a conflict revision), and the losing revisions by document id. */
  readonly loser: string;
  readonly loserRevs: Readonly<Record<string, string>>;
}

/** A document to write: a normal update (`_rev` = current target revision, or none), or a winning branch. */
export interface PlannedWrite {
  readonly doc: Doc;
  /** `branch`: written with `new_edits: false` as a sibling branch that beats the current (losing) revision. */
  readonly mode: "update" | "branch";
}

/** What translating one entity into one target must do. */
export type EntityPlan =
  | {
      readonly kind: "noop";
      readonly reason: string;
      /** The target's edit won a concurrent edit: translate it back, to win on the source too (where its translation may have lost CouchDB's choice). */
      readonly translateBack?: boolean;
    }
  | {
      readonly kind: "write";
      readonly writes: readonly PlannedWrite[];
      readonly conflict?: ConflictRecord;
      /** Once written, translate the entity back from the target into the source (it holds an edit the writes were waiting for). */
      readonly translateBack?: boolean;
    }
  /** A contributing source document has not arrived yet: retry later (its other documents are still on their way). Not an error. */
  | { readonly kind: "wait"; readonly missing: readonly string[] }
  /** Call again with {@link PlanInput.sourceAncestors} (of the source documents `ids`) and {@link PlanInput.revisions} (`targetIds`: the target's). */
  | { readonly kind: "need-parents"; readonly ids: readonly string[]; readonly targetIds: readonly string[] }
  /** The source documents cannot be translated; they stay where they are. */
  | { readonly kind: "quarantine"; readonly id: string; readonly rev: string | undefined; readonly reason: string };
