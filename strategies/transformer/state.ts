/**
 * What a transformer's parts share: its configuration, sides, followed feeds and counters, and how a
 * document id maps to a side's entity. Internal to `strategies/transformer/` (not exported).
 */
import { DivanError, messageOf } from "../../core/errors.js";
import { singleVersionIds, type IdScheme } from "../../adapters/ids.js";
import { createStepGraph, type StepGraph } from "../../adapters/path.js";
import type { Shape } from "../../adapters/types.js";
import type { Change, Doc, DocumentStore, LiveFeed, Seq } from "../../store/port.js";
import { entityKey, familiesOf, familyOf, type ConflictRecord, type EntityRef } from "./plan.js";
import { isPristine, provenanceOf } from "./provenance.js";
import type { QuarantineEntry, TransformerOptions, TransformerSide } from "./types.js";

/** One followed database: its position, live subscription, checkpoint and quarantine. */
export interface Feed {
  readonly store: DocumentStore;
  since: Seq | undefined;
  loaded: boolean;
  live: LiveFeed | undefined;
  /** Identity of the current live subscription; changes from an older one are ignored. */
  sub: object | undefined;
  /** Changes the live feed delivered and no tick processed yet (feed order), with when they arrived. */
  queue: { change: Change; at: number }[];
  /** Callers of `onChange` held back while the queue is full (back-pressure on the live feed). */
  held: (() => void)[];
  dirtySince: number | undefined;
  lastError: string | undefined;
  /** When the last attempt failed (a failed feed is retried after `retryMs`). */
  failedAt: number | undefined;
  processed: number;
  /** Changes processed since the last checkpoint save, and when it was saved. */
  unsaved: number;
  savedAt: number;
  /** The checkpoint's current revision (saves without reading it first). */
  checkpointRev: string | undefined;
  /** A checkpoint save a tick started without waiting for it (at most one per feed). */
  saving: Promise<void> | undefined;
  quarantine: QuarantineEntry[];
  quarantineDirty: boolean;
  /** Documents of its sides whose translation a target refused (stored with `quarantine.ts`)… */
  refused: QuarantineEntry[];
  /** …and those of them not stored yet. */
  refusedPending: QuarantineEntry[];
  /** `id@rev` this transformer wrote and has not seen in the feed yet. */
  readonly written: Set<string>;
}

/** Quarantine records kept in a checkpoint, and conflicts kept in the status, at most. */
export const MAX_RECORDS = 200;

/** The state of one transformer ({@link createState}), shared by the feeds, checkpoints and translation. */
export interface TransformerState {
  /** The sides, oldest first. */
  sides: TransformerSide[];
  readonly o: TransformerOptions;
  readonly ids: IdScheme;
  readonly graph: StepGraph;
  readonly families: Map<string, string>;
  readonly versionField: string;
  readonly typeField: string;
  /** The checkpoint's `_local` id, with its prefix. */
  readonly checkpoint: string;
  readonly now: () => number;
  readonly feeds: Map<DocumentStore, Feed>;
  readonly waiting: Map<string, { side: string; entity: EntityRef }>;
  /** Entities (waiting keys) whose last writes failed in a way that may pass later: tries so far, and when the next is due. */
  readonly failures: Map<string, { attempts: number; dueAt: number }>;
  /** Sides that are sources only (`Transformer.retireSide`). */
  readonly retired: Set<string>;
  readonly conflicts: ConflictRecord[];
  readonly writesBySide: Record<string, number>;
  readonly writeSetsBySide: Record<string, number>;
  writes: number;
  writeSets: number;
  skippedOwn: number;
  checkpoints: number;
  running: boolean;
  /** Wakes the sleeping live loop, if it sleeps. */
  wake: (() => void) | undefined;
  lastRetry: number;
  /** Ids written while a batch of changes is translated (see `processBatch`). */
  writtenIds: Set<string> | undefined;
}

/** The state of a new transformer, with the sides of `o` added. */
export function createState(o: TransformerOptions): TransformerState {
  const ids = o.ids ?? singleVersionIds;
  const versionField = o.versionField ?? "version";
  const graph = createStepGraph(o.steps, { ids, ...(o.typeField ? { typeField: o.typeField } : {}), versionField });
  const state: TransformerState = {
    sides: [],
    o,
    ids,
    graph,
    families: familiesOf(graph.steps),
    versionField,
    typeField: o.typeField ?? "schema",
    checkpoint: `_local/${o.checkpointId ?? "divan-transformer"}`,
    now: o.now ?? Date.now,
    feeds: new Map(),
    waiting: new Map(),
    failures: new Map(),
    retired: new Set(),
    conflicts: [],
    writesBySide: {},
    writeSetsBySide: {},
    writes: 0,
    writeSets: 0,
    skippedOwn: 0,
    checkpoints: 0,
    running: false,
    wake: undefined,
    lastRetry: 0,
    writtenIds: undefined,
  };
  for (const s of o.sides) addSideDef(state, s);
  return state;
}

/** Adds a side, and a feed for its store if no other side has one. */
export function addSideDef(state: TransformerState, side: TransformerSide): void {
  if (state.sides.some((s) => s.name === side.name)) {
    throw new DivanError("CONFIG_INVALID", `two transformer sides are called ${side.name}; give every side its own name`, { details: { side: side.name } });
  }
  checkShape(side.name, side.shape);
  state.sides.push(side);
  if (!state.feeds.has(side.store)) {
    state.feeds.set(side.store, {
      store: side.store,
      since: undefined,
      loaded: false,
      live: undefined,
      sub: undefined,
      queue: [],
      held: [],
      dirtySince: undefined,
      lastError: undefined,
      failedAt: undefined,
      processed: 0,
      unsaved: 0,
      savedAt: state.now(),
      checkpointRev: undefined,
      saving: undefined,
      quarantine: [],
      quarantineDirty: false,
      refused: [],
      refusedPending: [],
      written: new Set(),
    });
  }
}

/** The side called `name`; a `CONFIG_INVALID` error when there is none. */
export function sideNamed(state: TransformerState, name: string): TransformerSide {
  const s = state.sides.find((x) => x.name === name);
  if (s === undefined) throw new DivanError("CONFIG_INVALID", `no transformer side is called ${name} (sides: ${state.sides.map((x) => x.name).join(", ")})`, { details: { side: name } });
  return s;
}

/** The sides `source` translates into: every other side (a retired one receives deletions only, see `planOne`). */
export function targets(state: TransformerState, source: TransformerSide): TransformerSide[] {
  return state.sides.filter((s) => s !== source);
}

/** The entities (of any side) that document ids belong to, once each. */
export function entitiesOf(state: TransformerState, ids: readonly string[]): EntityRef[] {
  const entities = new Map<string, EntityRef>();
  for (const id of ids) {
    for (const side of state.sides) {
      const e = entityOf(state, side, id);
      if (e !== undefined) entities.set(entityKey(e), e);
    }
  }
  return [...entities.values()];
}

/** The entity a document id of `side` belongs to, or `undefined` for ids the side does not hold. */
export function entityOf(state: TransformerState, side: TransformerSide, id: string): EntityRef | undefined {
  const p = state.ids.parse(id);
  if (p === undefined) return undefined;
  const v = side.shape[p.type];
  if (v === undefined || (p.version !== undefined && p.version !== v)) return undefined;
  return { family: familyOf(state.families, p.type), entityId: p.entityId };
}

/** Pristine output of a transformer between our sides: its source was translated everywhere when it was written. */
export function isOwnOutput(state: TransformerState, doc: Doc): boolean {
  const p = provenanceOf(doc);
  return p !== undefined && state.sides.some((s) => s.name === p.from) && isPristine(doc);
}

/** Records that following `feed` failed (it is retried after `retryMs`), and reports an `error` event. */
export function feedFailed(state: TransformerState, feed: Feed, e: unknown): void {
  feed.lastError = messageOf(e);
  feed.failedAt = state.now();
  state.o.onEvent?.({ type: "error", database: feed.store.name, message: feed.lastError });
}

/** Throws `CONFIG_INVALID` unless every type a side holds appears once with one version. */
export function checkShape(name: string, shape: Shape): void {
  for (const [t, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < 0) throw new DivanError("CONFIG_INVALID", `side ${name}: ${t} has version ${String(v)}; use a major version number`, { details: { side: name, type: t } });
  }
}
