/**
 * Declarative lens operations (CONVENTIONS §1): plain JSON records whose reverse is derived by
 * {@link reverseOp}, never written by hand, and compiled once into closures.
 *
 * Every operation acts on one document type of the entity (`type`); {@link defineStep} fills it in
 * when the step's source shape has a single type. Operations never touch `_id`, `_rev`, `_deleted`,
 * `_attachments` or the type/version fields; attributes they do not name pass through untouched.
 */
import type { IdScheme } from "./ids.js";
import type { Doc, DocFields, Entity, JsonValue } from "./types.js";

/** `{ op: "rename" }`: the attribute `from` is called `to`. Reverse: rename `to` → `from`. */
export interface RenameOp {
  readonly op: "rename";
  readonly type?: string;
  readonly from: string;
  readonly to: string;
}

/**
 * `{ op: "add" }`: a new attribute. Going this way it takes, in order, the value already on the
 * document, the value on the base document, or `default`. Reverse: `remove` with the same default.
 */
export interface AddOp {
  readonly op: "add";
  readonly type?: string;
  readonly field: string;
  readonly default: JsonValue;
}

/**
 * `{ op: "remove" }`: the attribute goes away. The value is lost in this direction unless a base
 * restores it on the way back; `default` is what the reverse (`add`) uses without a base.
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
 * leaves `isDone` unchanged keeps the base `status`. A value missing from the table fails the step.
 */
export interface ConvertOp {
  readonly op: "convert";
  readonly type?: string;
  readonly field: string;
  readonly to?: string;
  readonly forward: ReadonlyArray<readonly [JsonValue, JsonValue]>;
  readonly backward: ReadonlyArray<readonly [JsonValue, JsonValue]>;
}

/** `{ op: "wrap" }`: move `fields` into the nested object `into` (created when missing). Reverse: `hoist`. */
export interface WrapOp {
  readonly op: "wrap";
  readonly type?: string;
  readonly fields: readonly string[];
  readonly into: string;
}

/** `{ op: "hoist" }`: move `fields` out of the nested object `from`; an emptied `from` is removed. Reverse: `wrap`. */
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
 * the `from` document from the entity. Reverse: `extract`.
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

/** Thrown inside a compiled lens; the path wraps it into `STEP_FAILED` with the document id. */
export class LensFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LensFailure";
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

const hasOwn = Object.prototype.hasOwnProperty;

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

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
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
 * version a document created by this op gets (the step's output shape).
 */
export function compileOp(op: Op, versionOf: (type: string) => number): { fn: LensFn; flow: (deps: Deps) => void } {
  const type = op.type;
  if (type === undefined) throw new Error(`internal: operation ${op.op} has no type`);
  const same = (): void => {};
  switch (op.op) {
    case "rename": {
      const { from, to } = op;
      return {
        flow: same,
        fn: (e) => {
          const d = need(e, type);
          if (hasOwn.call(d, from)) e[type] = without(d, from, to, d[from]);
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
          if (hasOwn.call(d, field)) return e;
          const b = base === undefined ? undefined : base[type];
          d[field] = b !== undefined && hasOwn.call(b, field) ? b[field] : fallback();
          return e;
        },
      };
    }
    case "remove": {
      const { field } = op;
      return {
        flow: same,
        fn: (e) => {
          const d = need(e, type);
          if (hasOwn.call(d, field)) e[type] = without(d, field);
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
          const d = need(e, type);
          if (!hasOwn.call(d, field)) return e;
          const v = d[field];
          const k = tableKey(v);
          const b = base === undefined ? undefined : base[type];
          let out: unknown;
          if (b !== undefined && hasOwn.call(b, to) && backward.has(tableKey(b[to])) && tableKey(backward.get(tableKey(b[to]))) === k) {
            out = b[to];
          } else {
            if (!forward.has(k)) {
              throw new LensFailure(`convert ${field}: value ${JSON.stringify(v)} is not in the table (${[...forward.keys()].map((x) => JSON.stringify(x)).join(", ")})`);
            }
            out = forward.get(k);
          }
          if (to !== field) e[type] = without(d, field, to, out);
          else d[to] = out;
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
          const existing = d[into];
          if (existing !== undefined && !isPlainObject(existing)) {
            throw new LensFailure(`wrap into ${into}: the attribute exists and is not an object`);
          }
          const c: Record<string, unknown> = existing === undefined ? {} : { ...existing };
          for (const f of fields) {
            if (hasOwn.call(d, f)) {
              c[f] = d[f];
              delete d[f];
            }
          }
          d[into] = c;
          return e;
        },
      };
    }
    case "hoist": {
      const { fields, from } = op;
      return {
        flow: same,
        fn: (e) => {
          const d = need(e, type);
          const c = d[from];
          if (c === undefined) return e;
          if (!isPlainObject(c)) throw new LensFailure(`hoist from ${from}: the attribute is not an object`);
          const rest: Record<string, unknown> = { ...c };
          for (const f of fields) {
            if (hasOwn.call(rest, f)) {
              d[f] = rest[f];
              delete rest[f];
            }
          }
          if (Object.keys(rest).length === 0) delete d[from];
          else d[from] = rest;
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
          const b = base === undefined ? undefined : base[into];
          let nd: Doc;
          if (b !== undefined) nd = { ...b };
          else {
            nd = ctx.idKnown ? { _id: ctx.ids.format(into, ctx.entityId, version) } : {};
            nd[ctx.fields.typeField] = into;
            nd[ctx.fields.versionField] = version;
          }
          let rest = src;
          for (const f of fields) {
            if (hasOwn.call(src, f)) {
              nd[f] = src[f];
              rest = without(rest, f);
            } else if (hasOwn.call(nd, f)) nd = without(nd, f);
          }
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
        fn: (e) => {
          const dst = need(e, type);
          const src = need(e, from);
          for (const f of fields) if (hasOwn.call(src, f)) dst[f] = src[f];
          delete e[from];
          return e;
        },
      };
    }
    default:
      return assertNever(op);
  }
}
