/**
 * divan adapters: bidirectional steps and compiled paths between entity shapes.
 *
 * ## Model
 * - **Doc**: a CouchDB document; `schema` (type) and `version` (major) attributes, names configurable.
 * - **Entity**: the documents of one entity id at one shape, keyed by type:
 *   `{ "task": {...}, "task-state": {...} }`.
 * - **Shape**: `{ type: major }`, e.g. task v3 = `{ "task": 3, "task-state": 1 }`.
 * - **Step**: a bidirectional translation between two adjacent shapes. Either data
 *   ({@link DeclarativeStep}: `{ from, to, ops }` with {@link Op}s `rename`, `add`, `remove`, `convert`,
 *   `wrap`, `hoist`, `extract` (1→N), `merge` (N→1); `down` is derived by {@link reverseOp}) or typed
 *   functions ({@link Step}`<TaskV1, TaskV2>`, built with {@link documentStep}).
 * - **Path**: {@link createStepGraph}`(steps).path(from, to)` composes steps up or down, any shape to any
 *   shape, and compiles once into one function `(entity, { base? }) => entity`.
 *
 * ## Guarantees
 * - **No information loss.** `path(entity, { base })` takes the entity's current documents at the target
 *   shape; each operation reads the base at its own output side (the path walks the base back through
 *   the inverse steps), so an old edit keeps what the old version cannot represent (`add` takes the base
 *   value, `convert` keeps a base value that maps back to the input, `extract` starts from the base
 *   document). Attributes no operation names pass through untouched.
 * - **Laws.** For every step and path, `down(up(x))` is `x` and `up(down(y), { base: y })` is `y`. An
 *   operation never overwrites or drops an attribute it does not own: what is in the way of its output,
 *   what a `remove` takes away going up and the other attributes of a document a `merge` folds in going
 *   up are kept in {@link DISPLACED_FIELD} (`divanDisplaced`) and put back by the reverse. A function step
 *   is checked on every translation (its reverse must give the input back) and fails with `STEP_FAILED`
 *   naming the attribute it would lose.
 * - **Ids** follow DESIGN §2 through a pluggable {@link IdScheme} ({@link singleVersionIds} `<type>:<id>`,
 *   {@link multiVersionIds} `<type>:<id>:v:<n>`). An output document whose `_id` equals its input
 *   document's keeps its `_rev` (an in-place write is an update); a new document (the extracted status)
 *   takes the base's `_rev` when the base has that id, else has none.
 * - **Tombstones**: an entity with a `_deleted` document translates to tombstones `{ _id, _rev, _deleted }`
 *   of the target documents that exist (have a `_rev` in the input or the base). `_attachments` stay on
 *   their document untouched (stubs only make sense while the `_id` is unchanged).
 * - **Errors**: `NO_PATH` (a missing link, named) when compiling; `STEP_FAILED` (details `id`, `step`,
 *   `from`, `to`, `field` when one attribute is concerned, and `cause`) when translating; `STEP_INVALID`
 *   for a malformed step.
 * - **Transformers** ask {@link StepGraph.contributors} which source documents make a target shape.
 *
 * @example
 * ```ts
 * const graph = createStepGraph(todoSteps);
 * const up = graph.path({ "task": 1 }, { "task": 3, "task-state": 1 });
 * const v3 = up({ "task": editedV1 }, { base: storedV3 }); // group and blocked status kept
 * ```
 *
 * @packageDocumentation
 */
export { formatDocId, multiVersionIds, parseDocId, singleVersionIds, type IdScheme, type ParsedDocId } from "./ids.js";
export {
  DISPLACED_FIELD,
  OP_KINDS,
  assertNever,
  reverseOp,
  type AddOp,
  type ConvertOp,
  type DisplacedEntry,
  type ExtractOp,
  type HoistOp,
  type MergeOp,
  type Op,
  type RemoveOp,
  type RenameOp,
  type WrapOp,
} from "./ops.js";
export {
  createStepGraph,
  type CompiledPath,
  type Contributor,
  type StepGraph,
  type StepGraphOptions,
  type TranslateOptions,
} from "./path.js";
export {
  defineFunctionStep,
  defineStep,
  documentStep,
  isDeclarativeStep,
  reverseStep,
  stepName,
  type DeclarativeStep,
  type Step,
  type StepContext,
  type StepDefinition,
} from "./steps.js";
export { sameShape, shapeKey, type Doc, type DocFields, type Entity, type JsonValue, type Shape } from "./types.js";
