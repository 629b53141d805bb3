/**
 * Declarative lens operations: plain JSON records whose reverse is derived by
 * {@link reverseOp}, never written by hand, and compiled once into closures.
 *
 * Every operation acts on one document type of the entity (`type`); {@link defineStep} fills it in
 * when the step's source shape has a single type. Operations never touch `_id`, `_rev`, `_deleted`,
 * `_attachments` or the type/version fields; attributes they do not name pass through untouched, and an
 * attribute in the way of an operation's output is kept in {@link DISPLACED_FIELD} and put back by the
 * reverse (never overwritten). The laws hold for every kind: `down(up(x))` is `x`, and
 * `up(down(y), { base: y })` is `y`.
 */
import type { IdScheme } from "./ids.js";
import { jsonEqual } from "../core/json.js";
import type { Doc, DocFields, Entity, JsonValue } from "./types.js";

/** `{ op: "rename" }`: the attribute `from` is called `to` (in its place). Reverse: rename `to` → `from`. */
export interface RenameOp {
  readonly op: "rename";
  readonly type?: string;
  readonly from: string;
  readonly to: string;
}

/**
 * `{ op: "add" }`: a new attribute. Going this way it takes, in order, the value its reverse `remove`
 * kept, the value on the base document, or `default` (an attribute of that name already on the document
 * is not the new one: it is kept aside and put back by the reverse). Reverse: `remove` with the same default.
 */
export interface AddOp {
  readonly op: "add";
  readonly type?: string;
  readonly field: string;
  readonly default: JsonValue;
}

/**
 * `{ op: "remove" }`: the attribute goes away. Going up, a value other than `default` (and the absence
 * of the attribute) is kept in {@link DISPLACED_FIELD} so that going down gives it back; going down (the
 * reverse of an `add`), the base restores it on the way back up. `default` is what the reverse (`add`)
 * uses otherwise.
 */
export interface RemoveOp {
  readonly op: "remove";
  readonly type?: string;
  readonly field: string;
  readonly default: JsonValue;
}

/**
 * `{ op: "convert" }`: map the value of `field` through `forward` (pairs `[old, new]`) and store it as
 * `to` (default: same field). `backward` is the explicit reverse table. With a base, a value whose base
 * value maps back (through `backward`) to the current value keeps the base value: an old edit that
 * leaves `isDone` unchanged keeps the base `status`. A value missing from the table fails the step, and
 * so does, going up, a value that `backward` would not give back.
 */
export interface ConvertOp {
  readonly op: "convert";
  readonly type?: string;
  readonly field: string;
  readonly to?: string;
  readonly forward: ReadonlyArray<readonly [JsonValue, JsonValue]>;
  readonly backward: ReadonlyArray<readonly [JsonValue, JsonValue]>;
}

/**
 * `{ op: "wrap" }`: move `fields` into the nested object `into`, created when missing and at least one of
 * them is present. Reverse: `hoist`.
 */
export interface WrapOp {
  readonly op: "wrap";
  readonly type?: string;
  readonly fields: readonly string[];
  readonly into: string;
}

/**
 * `{ op: "hoist" }`: move `fields` out of the nested object `from`; a `from` this emptied is removed (unless
 * the reverse `wrap` found it empty, or the base has it). Reverse: `wrap`.
 */
export interface HoistOp {
  readonly op: "hoist";
  readonly type?: string;
  readonly from: string;
  readonly fields: readonly string[];
}

/**
 * `{ op: "extract" }` (1→N): move `fields` of the `type` document into a new document of type `into`
 * (id `<into>:<entityId>`). With a base, the new document starts from the base's `into` document
 * (keeping its `_rev` and unknown attributes). Reverse: `merge`.
 */
export interface ExtractOp {
  readonly op: "extract";
  readonly type?: string;
  readonly fields: readonly string[];
  readonly into: string;
}

/**
 * `{ op: "merge" }` (N→1): move `fields` of the `from` document into the `type` document and drop
 * the `from` document from the entity (going up, its other attributes are kept in
 * {@link DISPLACED_FIELD} for the reverse; its `_rev` is the store's). Reverse: `extract`.
 */
export interface MergeOp {
  readonly op: "merge";
  readonly type?: string;
  readonly from: string;
  readonly fields: readonly string[];
}

/** A declarative lens operation (tagged by `op`). */
export type Op = RenameOp | AddOp | RemoveOp | ConvertOp | WrapOp | HoistOp | ExtractOp | MergeOp;

/** The operation kinds, for validation and documentation. */
export const OP_KINDS = ["rename", "add", "remove", "convert", "wrap", "hoist", "extract", "merge"] as const;

/** Compile-time exhaustiveness check: a new operation kind without a case does not compile. */
export function assertNever(x: never): never {
  throw new Error(`unexpected value ${JSON.stringify(x)}`);
}

/** The operation that undoes `op` (the only place reverses are defined). */
export function reverseOp(op: Op): Op {
  switch (op.op) {
    case "rename":
      return { op: "rename", type: op.type, from: op.to, to: op.from };
    case "add":
      return { op: "remove", type: op.type, field: op.field, default: op.default };
    case "remove":
      return { op: "add", type: op.type, field: op.field, default: op.default };
    case "convert":
      return { op: "convert", type: op.type, field: op.to ?? op.field, to: op.field, forward: op.backward, backward: op.forward };
    case "wrap":
      return { op: "hoist", type: op.type, from: op.into, fields: op.fields };
    case "hoist":
      return { op: "wrap", type: op.type, fields: op.fields, into: op.from };
    case "extract":
      return { op: "merge", type: op.type, from: op.into, fields: op.fields };
    case "merge":
      return { op: "extract", type: op.type, fields: op.fields, into: op.from };
    default:
      return assertNever(op);
  }
}

/** What a compiled operation or step needs at run time. */
export interface RunContext {
  /** The entity id of the documents being translated (`undefined` for singletons). */
  readonly entityId: string | undefined;
  /** False when the input carried no parseable `_id`: new documents then get no `_id` either. */
  readonly idKnown: boolean;
  /** The id scheme output documents are named by. */
  readonly ids: IdScheme;
  /** Type and version attribute names. */
  readonly fields: DocFields;
}

/**
 * One compiled direction of an operation or step: mutates and returns the working entity (whose
 * documents are private copies), reading `base`, the entity at this lens's output shape, if given.
 */
export type LensFn = (entity: Entity, base: Entity | undefined, ctx: RunContext) => Entity;

/** Which source types each current type's document is made from (for contributor analysis). */
export type Deps = Map<string, Set<string>>;

/** Thrown inside a compiled lens; the path wraps it into `STEP_FAILED` with the document id (and `field`, when known). */
export class LensFailure extends Error {
  /** The attribute concerned, when there is one. */
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.name = "LensFailure";
    this.field = field;
  }
}

/** The document of `type` in `entity`, or a failure naming what is missing. */
export function need(entity: Entity, type: string): Doc {
  const d = entity[type];
  if (d === undefined) {
    throw new LensFailure(`the entity has no ${type} document (has ${Object.keys(entity).join(", ") || "none"})`);
  }
  return d;
}

/**
 * The attribute where operations keep what they must not lose (issue 14): an attribute in the way of an
 * operation's output, the value a `remove` takes away going up, the other attributes of a document a
 * `merge` folds in going up. It maps `<step>#<op index>/<direction>` to a {@link DisplacedEntry}, which
 * the same operation consumes going the other way. Operations may not name it; a target schema that
 * forbids additional properties must declare it (as an object) for steps that need it, or the
 * translation does not validate.
 */
export const DISPLACED_FIELD = "divanDisplaced";

/** What one operation kept in {@link DISPLACED_FIELD}, for its reverse to put back. */
export interface DisplacedEntry {
  /** Top-level attributes to put back. */
  readonly fields?: Record<string, unknown>;
  /** Attributes a `remove` found absent: the reverse `add` leaves them absent. */
  readonly absent?: readonly string[];
  /** Attributes to put back inside the `wrap`/`hoist` container. */
  readonly inner?: Record<string, unknown>;
  /** The `wrap` container existed and was empty: the reverse `hoist` keeps it. */
  readonly empty?: true;
  /** The other attributes of the document a `merge` folded in: the reverse `extract` gives them back. */
  readonly document?: Record<string, unknown>;
}

/** Where a compiled operation sits: its key in {@link DISPLACED_FIELD} and whether its direction must lose nothing. */
export interface OpSite {
  /** `<step>#<op index>` (the direction is appended). */
  readonly key: string;
  /**
   * `true` going up (older → newer): `down(up(x))` must give `x` back without a base, so values the
   * output cannot show are kept in {@link DISPLACED_FIELD}. Going down, the base (the stored older
   * documents) restores them (`up(down(y), base y) = y`), so only attributes in the way are kept.
   */
  readonly lossless: boolean;
}

const hasOwn = Object.prototype.hasOwnProperty;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A copy of `d` without `key` (and, if given, with `add` set last). Rebuilding instead of `delete` keeps
 * V8's fast object layout, which matters in 100k-document loops.
 */
function without(d: Doc, key: string, addKey?: string, addValue?: unknown): Doc {
  const out: Doc = {};
  for (const k in d) if (k !== key && hasOwn.call(d, k)) out[k] = d[k];
  if (addKey !== undefined) out[addKey] = addValue;
  return out;
}

/** A copy of `d` with `from` renamed to `to` in its place (key order kept, so a round trip restores it). */
function renamed(d: Doc, from: string, to: string, value: unknown): Doc {
  const out: Doc = {};
  for (const k in d) if (hasOwn.call(d, k)) out[k === from ? to : k] = k === from ? value : d[k];
  return out;
}

function reserveOf(d: Doc): Record<string, unknown> | undefined {
  const r = d[DISPLACED_FIELD];
  if (r === undefined) return undefined;
  if (!isPlainObject(r)) {
    throw new LensFailure(`${DISPLACED_FIELD} is reserved for attributes steps keep aside, and holds ${JSON.stringify(r)}, not an object`, DISPLACED_FIELD);
  }
  return r;
}

/** Removes and returns the entry `key` of `d`'s {@link DISPLACED_FIELD} (copy on write: the input's objects are shared). */
function take(d: Doc, key: string): DisplacedEntry | undefined {
  const r = reserveOf(d);
  if (r === undefined || !hasOwn.call(r, key)) return undefined;
  const entry = r[key];
  if (!isPlainObject(entry)) throw new LensFailure(`${DISPLACED_FIELD}["${key}"] is not an entry divan wrote: ${JSON.stringify(entry)}`, DISPLACED_FIELD);
  const rest: Record<string, unknown> = {};
  for (const k in r) if (k !== key && hasOwn.call(r, k)) rest[k] = r[k];
  if (Object.keys(rest).length === 0) delete d[DISPLACED_FIELD];
  else d[DISPLACED_FIELD] = rest;
  return entry as DisplacedEntry;
}

/** Adds the entry `key` to `d`'s {@link DISPLACED_FIELD} (nothing when empty). */
function put(d: Doc, key: string, entry: DisplacedEntry): void {
  if (Object.keys(entry).length === 0) return;
  const r = reserveOf(d);
  if (r !== undefined && hasOwn.call(r, key)) throw new LensFailure(`${DISPLACED_FIELD} already holds an entry of ${key}; the document was translated this way before and not back`, DISPLACED_FIELD);
  d[DISPLACED_FIELD] = { ...r, [key]: entry };
}

/** Puts back the top-level attributes of an entry. */
function restore(d: Doc, entry: DisplacedEntry | undefined): void {
  if (entry?.fields === undefined) return;
  for (const k of Object.keys(entry.fields)) d[k] = entry.fields[k];
}

/** Moves the attributes `names` of `d` that exist into a record (for an entry), deleting them from `d`. */
function displace(d: Doc, names: readonly string[]): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const f of names) {
    if (hasOwn.call(d, f)) {
      (out ??= {})[f] = d[f];
      delete d[f];
    }
  }
  return out;
}

function tableKey(v: unknown): unknown {
  return typeof v === "object" && v !== null ? `\u0000json:${JSON.stringify(v)}` : v;
}

function freshValue(v: JsonValue): () => unknown {
  if (typeof v !== "object" || v === null) return () => v;
  const json = JSON.stringify(v);
  return () => JSON.parse(json) as unknown;
}

/**
 * Compile `op` (type already resolved) into one direction of a lens. `versionOf(type)` gives the
 * version a document created by this op gets (the step's output shape); `site` says where the op is
 * (see {@link OpSite}).
 *
 * Every direction obeys one rule: it never overwrites or drops an attribute it does not own. Before it
 * writes, the attributes in the way of its output (whether or not it has a value to write there) go into
 * {@link DISPLACED_FIELD} under its own key; after it wrote, it puts back what its reverse kept there.
 */
export function compileOp(op: Op, versionOf: (type: string) => number, site: OpSite): { fn: LensFn; flow: (deps: Deps) => void } {
  const type = op.type;
  if (type === undefined) throw new Error(`internal: operation ${op.op} has no type`);
  const mine = `${site.key}/${site.lossless ? "up" : "down"}`;
  const theirs = `${site.key}/${site.lossless ? "down" : "up"}`;
  const { lossless } = site;
  const same = (): void => {};
  switch (op.op) {
    case "rename": {
      const { from, to } = op;
      return {
        flow: same,
        fn: (e) => {
          let d = need(e, type);
          const back = take(d, theirs);
          const inWay = displace(d, [to]);
          if (hasOwn.call(d, from)) d = renamed(d, from, to, d[from]);
          restore(d, back);
          if (inWay !== undefined) put(d, mine, { fields: inWay });
          e[type] = d;
          return e;
        },
      };
    }
    case "add": {
      const { field } = op;
      const fallback = freshValue(op.default);
      return {
        flow: same,
        fn: (e, base) => {
          const d = need(e, type);
          const back = take(d, theirs);
          const inWay = displace(d, [field]);
          if (back?.fields !== undefined && hasOwn.call(back.fields, field)) d[field] = back.fields[field];
          else if (back?.absent?.includes(field) !== true) {
            const b = base === undefined ? undefined : base[type];
            d[field] = b !== undefined && hasOwn.call(b, field) ? b[field] : fallback();
          }
          if (inWay !== undefined) put(d, mine, { fields: inWay });
          return e;
        },
      };
    }
    case "remove": {
      const { field } = op;
      const dflt = op.default;
      return {
        flow: same,
        fn: (e) => {
          const d = need(e, type);
          const back = take(d, theirs);
          let kept: DisplacedEntry | undefined;
          if (hasOwn.call(d, field)) {
            const v = d[field];
            delete d[field];
            if (lossless && !jsonEqual(v, dflt)) kept = { fields: { [field]: v } };
          } else if (lossless) kept = { absent: [field] };
          restore(d, back);
          if (kept !== undefined) put(d, mine, kept);
          return e;
        },
      };
    }
    case "convert": {
      const field = op.field;
      const to = op.to ?? op.field;
      const forward = new Map<unknown, unknown>(op.forward.map(([a, b]) => [tableKey(a), b]));
      const backward = new Map<unknown, unknown>(op.backward.map(([a, b]) => [tableKey(a), b]));
      return {
        flow: same,
        fn: (e, base) => {
          let d = need(e, type);
          const back = take(d, theirs);
          const inWay = to === field ? undefined : displace(d, [to]);
          if (hasOwn.call(d, field)) {
            const v = d[field];
            const k = tableKey(v);
            const b = base === undefined ? undefined : base[type];
            let out: unknown;
            if (b !== undefined && hasOwn.call(b, to) && backward.has(tableKey(b[to])) && tableKey(backward.get(tableKey(b[to]))) === k) {
              out = b[to];
            } else {
              if (!forward.has(k)) {
                throw new LensFailure(`convert ${field}: value ${JSON.stringify(v)} is not in the table (${[...forward.keys()].map((x) => JSON.stringify(x)).join(", ")})`, field);
              }
              out = forward.get(k);
              if (lossless && (!backward.has(tableKey(out)) || tableKey(backward.get(tableKey(out))) !== k)) {
                const w = backward.get(tableKey(out));
                throw new LensFailure(
                  `convert ${field}: value ${JSON.stringify(v)} becomes ${JSON.stringify(out)}, which converts back to ${w === undefined ? "nothing" : JSON.stringify(w)}: the value would be lost; make the tables inverse for it`,
                  field,
                );
              }
            }
            if (to !== field) d = renamed(d, field, to, out);
            else d[to] = out;
          }
          restore(d, back);
          if (inWay !== undefined) put(d, mine, { fields: inWay });
          e[type] = d;
          return e;
        },
      };
    }
    case "wrap": {
      const { fields, into } = op;
      return {
        flow: same,
        fn: (e) => {
          const d = need(e, type);
          const back = take(d, theirs);
          const kept: { fields?: Record<string, unknown>; inner?: Record<string, unknown>; empty?: true } = {};
          const present = fields.filter((f) => hasOwn.call(d, f));
          const existing = d[into];
          if (existing !== undefined && !isPlainObject(existing)) {
            kept.fields = { [into]: existing }; // in the container's place
            delete d[into];
          }
          if (isPlainObject(existing)) {
            const c: Record<string, unknown> = { ...existing };
            const inner = displace(c, fields);
            if (inner !== undefined) kept.inner = inner;
            if (lossless && present.length > 0 && Object.keys(c).length === 0) kept.empty = true;
            for (const f of present) {
              c[f] = d[f];
              delete d[f];
            }
            d[into] = c;
          } else if (present.length > 0) {
            const c: Record<string, unknown> = {};
            for (const f of present) {
              c[f] = d[f];
              delete d[f];
            }
            d[into] = c;
          }
          restore(d, back);
          put(d, mine, kept);
          return e;
        },
      };
    }
    case "hoist": {
      const { fields, from } = op;
      return {
        flow: same,
        fn: (e, base) => {
          const d = need(e, type);
          const back = take(d, theirs);
          const inWay = displace(d, fields);
          const c = d[from];
          const leftover: { fields?: Record<string, unknown>; inner?: Record<string, unknown> } = {};
          if (isPlainObject(c)) {
            const rest: Record<string, unknown> = { ...c };
            let moved = false;
            for (const f of fields) {
              if (hasOwn.call(rest, f)) {
                d[f] = rest[f];
                delete rest[f];
                moved = true;
              }
            }
            if (back?.inner !== undefined) Object.assign(rest, back.inner);
            const b = base === undefined ? undefined : base[type];
            const keepEmpty = back?.empty === true || (b !== undefined && isPlainObject(b[from]));
            if (moved && Object.keys(rest).length === 0 && !keepEmpty) delete d[from];
            else d[from] = rest;
          } else if (back?.inner !== undefined) leftover.inner = back.inner;
          // What the reverse `wrap` found in the container's place comes back once the place is free.
          if (back?.fields !== undefined) {
            if (hasOwn.call(d, from)) leftover.fields = back.fields;
            else restore(d, back);
          }
          put(d, theirs, leftover); // nowhere to put it back yet: kept for later
          if (inWay !== undefined) put(d, mine, { fields: inWay });
          return e;
        },
      };
    }
    case "extract": {
      const { fields, into } = op;
      const version = versionOf(into);
      return {
        flow: (deps) => {
          const src = deps.get(type) ?? new Set<string>();
          deps.set(into, new Set([...(deps.get(into) ?? []), ...src]));
        },
        fn: (e, base, ctx) => {
          const src = need(e, type);
          const back = take(src, theirs);
          const b = base === undefined ? undefined : base[into];
          let nd: Doc;
          if (back?.document === undefined && b !== undefined) nd = { ...b };
          else {
            nd = ctx.idKnown ? { _id: ctx.ids.format(into, ctx.entityId, version) } : {};
            if (b?._rev !== undefined) nd._rev = b._rev;
            nd[ctx.fields.typeField] = into;
            nd[ctx.fields.versionField] = version;
            if (back?.document !== undefined) Object.assign(nd, back.document);
          }
          let rest = src;
          for (const f of fields) {
            if (hasOwn.call(src, f)) {
              nd[f] = src[f];
              rest = without(rest, f);
            } else if (hasOwn.call(nd, f)) nd = without(nd, f);
          }
          restore(rest, back);
          e[type] = rest;
          e[into] = nd;
          return e;
        },
      };
    }
    case "merge": {
      const { fields, from } = op;
      return {
        flow: (deps) => {
          const mine = deps.get(type) ?? new Set<string>();
          for (const s of deps.get(from) ?? []) mine.add(s);
          deps.set(type, mine);
          deps.delete(from);
        },
        fn: (e, _base, ctx) => {
          const dst = need(e, type);
          const src = need(e, from);
          const inWay = displace(dst, fields);
          for (const f of fields) if (hasOwn.call(src, f)) dst[f] = src[f];
          const kept: { fields?: Record<string, unknown>; document?: Record<string, unknown> } = {};
          if (inWay !== undefined) kept.fields = inWay;
          if (lossless) {
            // The merged document's own attributes (not its id, revision, type or version: the store and the path own those).
            const skip = new Set<string>(["_id", "_rev", ctx.fields.typeField, ctx.fields.versionField, ...fields]);
            let doc: Record<string, unknown> | undefined;
            for (const k in src) if (hasOwn.call(src, k) && !skip.has(k)) (doc ??= {})[k] = src[k];
            if (doc !== undefined) kept.document = doc;
          }
          delete e[from];
          put(dst, mine, kept);
          return e;
        },
      };
    }
    default:
      return assertNever(op);
  }
}
