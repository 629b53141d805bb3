/**
 * Steps: bidirectional translations between two adjacent shapes of an entity family.
 *
 * A step is either declarative ({@link DeclarativeStep}: plain JSON operations, reverse derived) or a
 * pair of typed functions ({@link Step}). Both compile to the same lens pairs, so paths treat them alike.
 */
import { DivanError } from "../core/errors.js";
import { jsonEqual } from "../core/json.js";
import { compileOp, DISPLACED_FIELD, LensFailure, need, OP_KINDS, reverseOp, type Deps, type LensFn, type Op } from "./ops.js";
import { shapeKey, type Doc, type DocFields, type Entity, type Shape } from "./types.js";

/** A step made of declarative operations (serializable; its `down` is derived with {@link reverseOp}). */
export interface DeclarativeStep {
  /** A name for messages and provenance (default `<from>-><to>`). */
  readonly name?: string;
  /** The older shape. */
  readonly from: Shape;
  /** The newer shape. */
  readonly to: Shape;
  /** Operations applied in order going up; reversed and inverted going down. */
  readonly ops: readonly Op[];
}

/** What a function step receives besides the document(s). */
export interface StepContext<T> {
  /**
   * The entity's current document(s) at the output shape of this call, when the caller has them
   * (the newer document going up): use it to keep what the input cannot represent.
   */
  readonly base: T | undefined;
  /** The entity id (`undefined` for singletons or documents without an id). */
  readonly entityId: string | undefined;
}

/**
 * A step written as two typed functions, for what operations cannot express.
 *
 * With `type` set, `A` and `B` are that type's documents (`Step<TaskV1, TaskV2>`) and the rest of the
 * entity passes through; without it, `A` and `B` are whole entities (`{ "task": TaskV3, … }`).
 * Functions must be pure, must not mutate their arguments, and must keep attributes they do not know
 * (spread the input). `_id`, `_rev` and the version attribute are set by the path afterwards. The path
 * checks every translation: translating the output back (going down: up with the input as base) must
 * give the input back, or the translation fails with `STEP_FAILED` naming the attribute that would be lost.
 */
export interface Step<A = Entity, B = Entity> {
  /** A name for messages and provenance (default `<from>-><to>`). */
  readonly name?: string;
  /** The older shape. */
  readonly from: Shape;
  /** The newer shape. */
  readonly to: Shape;
  /** The document type both functions act on; omit to receive the whole entity. */
  readonly type?: string;
  /** Older → newer. `context.base` is the current newer document(s), when known. */
  up(old: A, context: StepContext<B>): B;
  /** Newer → older. `context.base` is the current older document(s), when known. */
  down(current: B, context: StepContext<A>): A;
}

/** Any step a graph accepts. */
export type StepDefinition = DeclarativeStep | Step<unknown, unknown>;

/** True for a declarative step. */
export function isDeclarativeStep(step: StepDefinition): step is DeclarativeStep {
  return "ops" in step;
}

/**
 * A typed function step over one document type between two of its major versions.
 *
 * @example
 * ```ts
 * const s = documentStep<TaskV1, TaskV2>("task", 1, 2, { up: (d, { base }) => …, down: (d) => … });
 * ```
 */
export function documentStep<A extends Doc, B extends Doc>(
  type: string,
  fromVersion: number,
  toVersion: number,
  fns: { name?: string; up(old: A, context: StepContext<B>): B; down(current: B, context: StepContext<A>): A },
): Step<A, B> {
  return {
    name: fns.name ?? `${type}@${fromVersion}->${type}@${toVersion}`,
    from: { [type]: fromVersion },
    to: { [type]: toVersion },
    type,
    up: fns.up,
    down: fns.down,
  };
}

/** The default name of a step: `task@2->task@3+task-state@1`. */
export function stepName(step: StepDefinition): string {
  return step.name ?? `${shapeKey(step.from)}->${shapeKey(step.to)}`;
}

const DEFAULT_FIELDS: DocFields = { typeField: "schema", versionField: "version" };

function invalid(step: StepDefinition, message: string, details: Record<string, unknown> = {}): DivanError {
  return new DivanError("STEP_INVALID", `step ${stepName(step)}: ${message}`, { details: { step: stepName(step), ...details } });
}

function checkShape(step: StepDefinition, shape: unknown, which: string): void {
  if (typeof shape !== "object" || shape === null || Object.keys(shape).length === 0) {
    throw invalid(step, `${which} must be a non-empty shape { type: major }`);
  }
  for (const [t, v] of Object.entries(shape)) {
    if (t.length === 0 || t.includes(":")) throw invalid(step, `${which}: type ${JSON.stringify(t)} is empty or contains ":"`);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw invalid(step, `${which}: ${t} must have a positive integer major, got ${String(v)}`);
  }
}

/**
 * Check a declarative step and fill in every operation's `type` (default: the single type of `from`).
 *
 * @throws DivanError `STEP_INVALID` naming the step and the offending operation.
 */
export function defineStep(step: DeclarativeStep, fields: DocFields = DEFAULT_FIELDS): DeclarativeStep {
  checkShape(step, step.from, "from");
  checkShape(step, step.to, "to");
  if (!Array.isArray(step.ops)) throw invalid(step, "ops must be an array");
  const fromTypes = Object.keys(step.from);
  const defaultType = fromTypes.length === 1 ? fromTypes[0] : undefined;
  const current = new Set(fromTypes);
  const reserved = new Set([fields.typeField, fields.versionField, DISPLACED_FIELD]);
  const checkField = (i: number, f: unknown): void => {
    if (typeof f !== "string" || f.length === 0) throw invalid(step, `op ${i}: field names must be non-empty strings`, { op: i });
    if (f.startsWith("_") || reserved.has(f)) {
      throw invalid(step, `op ${i}: ${f} is managed by divan (ids, revisions, type, version and ${DISPLACED_FIELD} are translated by the path)`, { op: i });
    }
  };
  const checkFields = (i: number, fs: unknown): void => {
    if (!Array.isArray(fs) || fs.length === 0) throw invalid(step, `op ${i}: fields must be a non-empty array`, { op: i });
    for (const f of fs) checkField(i, f);
  };
  const ops = step.ops.map((raw, i): Op => {
    if (typeof raw !== "object" || raw === null || !(OP_KINDS as readonly string[]).includes(raw.op)) {
      throw invalid(step, `op ${i}: unknown operation ${JSON.stringify((raw as { op?: unknown } | null)?.op)} (known: ${OP_KINDS.join(", ")})`, { op: i });
    }
    const type = raw.type ?? defaultType;
    if (type === undefined) throw invalid(step, `op ${i} (${raw.op}): give "type", the step's source shape has several types`, { op: i });
    if (!current.has(type)) throw invalid(step, `op ${i} (${raw.op}): the entity has no ${type} document at this point`, { op: i });
    const op = { ...raw, type } as Op;
    switch (op.op) {
      case "rename":
        checkField(i, op.from);
        checkField(i, op.to);
        break;
      case "add":
      case "remove":
        checkField(i, op.field);
        if (op.default === undefined) throw invalid(step, `op ${i} (${op.op}): a default is required (it is what the reverse uses)`, { op: i });
        break;
      case "convert":
        checkField(i, op.field);
        if (op.to !== undefined) checkField(i, op.to);
        for (const table of [op.forward, op.backward]) {
          if (!Array.isArray(table) || !table.every((p) => Array.isArray(p) && p.length === 2)) {
            throw invalid(step, `op ${i} (convert): forward and backward must be arrays of [from, to] pairs`, { op: i });
          }
        }
        break;
      case "wrap":
        checkFields(i, op.fields);
        checkField(i, op.into);
        break;
      case "hoist":
        checkFields(i, op.fields);
        checkField(i, op.from);
        break;
      case "extract":
        checkFields(i, op.fields);
        if (current.has(op.into)) throw invalid(step, `op ${i} (extract): the entity already has a ${op.into} document`, { op: i });
        if (step.to[op.into] === undefined) throw invalid(step, `op ${i} (extract): ${op.into} is not in the target shape`, { op: i });
        current.add(op.into);
        break;
      case "merge":
        checkFields(i, op.fields);
        if (!current.has(op.from) || op.from === type) throw invalid(step, `op ${i} (merge): no other ${op.from} document to merge`, { op: i });
        current.delete(op.from);
        break;
    }
    return op;
  });
  const toTypes = Object.keys(step.to);
  if (current.size !== toTypes.length || !toTypes.every((t) => current.has(t))) {
    throw invalid(step, `operations produce {${[...current].join(", ")}} but the target shape is {${toTypes.join(", ")}}`);
  }
  return { name: stepName(step), from: step.from, to: step.to, ops };
}

/** A function step checked: shapes valid, and with `type` both shapes are that single type. */
export function defineFunctionStep<A, B>(step: Step<A, B>): Step<A, B> {
  const s = step as Step<unknown, unknown>;
  checkShape(s, step.from, "from");
  checkShape(s, step.to, "to");
  if (typeof step.up !== "function" || typeof step.down !== "function") throw invalid(s, "up and down must be functions");
  if (step.type !== undefined) {
    const ok = Object.keys(step.from).length === 1 && Object.keys(step.to).length === 1 && step.from[step.type] !== undefined && step.to[step.type] !== undefined;
    if (!ok) throw invalid(s, `with type ${step.type}, from and to must both be the single type ${step.type}`);
  }
  return step;
}

/** The reverse of a declarative step (`to` → `from`, operations inverted in reverse order). */
export function reverseStep(step: DeclarativeStep): DeclarativeStep {
  return { name: `reverse(${stepName(step)})`, from: step.to, to: step.from, ops: [...step.ops].reverse().map(reverseOp) };
}

/**
 * One compiled unit of a path in one direction: its translation, the inverse used to derive the base
 * at its input side (`undefined`: the base passes unchanged), and its contributor flow.
 */
export interface Unit {
  /** The step this unit belongs to (for `STEP_FAILED`). */
  readonly step: string;
  /** The translation (mutates and returns its working entity). */
  readonly fn: LensFn;
  /** The inverse translation, used without a base to walk a base back to this unit's input shape. */
  readonly inv: LensFn | undefined;
  /** How it changes which source types each document is made of. */
  readonly flow: (deps: Deps) => void;
  /** `op`: a declarative operation (reads no version); `function`: user code; `stamp`: sets type and version. */
  readonly kind: "op" | "function" | "stamp";
}

/** A step compiled in both directions. */
export interface CompiledStep {
  /** The step name. */
  readonly name: string;
  /** Units translating `from` → `to`. */
  readonly up: readonly Unit[];
  /** Units translating `to` → `from`. */
  readonly down: readonly Unit[];
}

function stampFn(shape: Shape, fields: DocFields, strict: boolean): LensFn {
  const entries = Object.entries(shape);
  const { typeField, versionField } = fields;
  return (e) => {
    for (let i = 0; i < entries.length; i++) {
      const [t, v] = entries[i]!;
      const d = need(e, t);
      d[typeField] = t;
      d[versionField] = v;
    }
    if (strict) {
      for (const t of Object.keys(e)) {
        if (shape[t] === undefined) throw new LensFailure(`the step returned a ${t} document, which is not in its output shape ${shapeKey(shape)}`);
      }
    }
    return e;
  };
}

function copyDocs(e: unknown, what: string): Entity {
  if (typeof e !== "object" || e === null) throw new LensFailure(`${what} returned ${String(e)}, not an entity`);
  const out: Entity = {};
  for (const [t, d] of Object.entries(e)) {
    if (typeof d !== "object" || d === null) throw new LensFailure(`${what} returned a ${t} that is not a document`);
    out[t] = { ...(d as Doc) };
  }
  return out;
}

function callFunction(step: Step<unknown, unknown>, dir: "up" | "down"): LensFn {
  const f = dir === "up" ? step.up.bind(step) : step.down.bind(step);
  const type = step.type;
  if (type !== undefined) {
    return (e, base, ctx) => {
      const out = f(need(e, type), { base: base === undefined ? undefined : base[type], entityId: ctx.entityId });
      if (typeof out !== "object" || out === null) throw new LensFailure(`${dir} returned ${String(out)}, not a document`);
      e[type] = { ...(out as Doc) };
      return e;
    };
  }
  return (e, base, ctx) => copyDocs(f(e, { base, entityId: ctx.entityId }), dir);
}

/** The first attribute of `before` that `after` does not give back (ignoring `_id`, `_rev`, type and version, which the path sets). */
function firstLoss(before: Entity, after: Entity, fields: DocFields): { type: string; field: string | undefined; was: unknown; now: unknown } | undefined {
  const ignored = new Set(["_id", "_rev", fields.typeField, fields.versionField]);
  for (const [t, a] of Object.entries(before)) {
    const b = after[t];
    if (b === undefined) return { type: t, field: undefined, was: a, now: undefined };
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (ignored.has(k)) continue;
      if (!jsonEqual(a[k], b[k])) return { type: t, field: k, was: a[k], now: b[k] };
    }
  }
  return undefined;
}

/**
 * A function step's direction, checked generically (issue 14): a function step never loses an attribute
 * it does not own. After going up, going down again (without base) must give the input back; after going
 * down, going up again with the input as base must give it back. Otherwise the translation fails with
 * `STEP_FAILED` naming the attribute, so the document is quarantined instead of changed silently.
 */
function functionFn(step: Step<unknown, unknown>, dir: "up" | "down", fields: DocFields): LensFn {
  const there = callFunction(step, dir);
  const back = callFunction(step, dir === "up" ? "down" : "up");
  const law = dir === "up" ? "down(up(x))" : "up(down(y), base y)";
  return (e, base, ctx) => {
    const input = copyDocs(e, "input");
    const out = there(e, base, ctx);
    let again: Entity;
    try {
      again = back(copyDocs(out, dir), dir === "up" ? undefined : copyDocs(input, "input"), ctx);
    } catch (err) {
      throw new LensFailure(`${dir} gave a result its reverse cannot translate back (${err instanceof Error ? err.message : String(err)})`);
    }
    const loss = firstLoss(input, again, fields);
    if (loss !== undefined) {
      const what = loss.field === undefined ? `the ${loss.type} document` : `${loss.type} attribute ${loss.field} (${JSON.stringify(loss.was) ?? "absent"})`;
      throw new LensFailure(
        `${dir} would lose ${what}: ${law} gives ${JSON.stringify(loss.now) ?? "nothing"}; a step must keep attributes it does not own (spread the input, and give back what it overwrites)`,
        loss.field,
      );
    }
    return out;
  };
}

function allInto(outTypes: readonly string[]): (deps: Deps) => void {
  return (deps) => {
    const all = new Set<string>();
    for (const s of deps.values()) for (const x of s) all.add(x);
    deps.clear();
    for (const t of outTypes) deps.set(t, new Set(all));
  };
}

const noFlow = (): void => {};

/** Compile a (checked) step into units for both directions. */
export function compileStep(step: StepDefinition, fields: DocFields): CompiledStep {
  const name = stepName(step);
  if (isDeclarativeStep(step)) {
    const upVersion = (t: string): number => step.to[t] ?? 0;
    const downVersion = (t: string): number => step.from[t] ?? 0;
    const ups = step.ops.map((op, i) => compileOp(op, upVersion, { key: `${name}#${i}`, lossless: true }));
    const downs = step.ops.map((op, i) => compileOp(reverseOp(op), downVersion, { key: `${name}#${i}`, lossless: false }));
    const up: Unit[] = ups.map((u, i) => ({ step: name, fn: u.fn, inv: downs[i]!.fn, flow: u.flow, kind: "op" as const }));
    up.push({ step: name, fn: stampFn(step.to, fields, false), inv: undefined, flow: noFlow, kind: "stamp" });
    const down: Unit[] = downs.map((d, i) => ({ step: name, fn: d.fn, inv: ups[i]!.fn, flow: d.flow, kind: "op" as const })).reverse();
    down.push({ step: name, fn: stampFn(step.from, fields, false), inv: undefined, flow: noFlow, kind: "stamp" });
    return { name, up, down };
  }
  const fUp = functionFn(step, "up", fields);
  const fDown = functionFn(step, "down", fields);
  // The base is walked back with the plain functions: it is the caller's stored document, not an input to check.
  const rawUp = callFunction(step, "up");
  const rawDown = callFunction(step, "down");
  return {
    name,
    up: [
      { step: name, fn: fUp, inv: rawDown, flow: allInto(Object.keys(step.to)), kind: "function" },
      { step: name, fn: stampFn(step.to, fields, true), inv: undefined, flow: noFlow, kind: "stamp" },
    ],
    down: [
      { step: name, fn: fDown, inv: rawUp, flow: allInto(Object.keys(step.from)), kind: "function" },
      { step: name, fn: stampFn(step.from, fields, true), inv: undefined, flow: noFlow, kind: "stamp" },
    ],
  };
}
