/**
 * Step graphs and compiled paths, from any shape to any shape by composing adjacent steps,
 * up or down, compiled once into a single function.
 */
import { DivanError, messageOf } from "../core/errors.js";
import { singleVersionIds, type IdScheme } from "./ids.js";
import { LensFailure, type Deps, type LensFn, type RunContext } from "./ops.js";
import { compileStep, defineFunctionStep, defineStep, isDeclarativeStep, stepName, type CompiledStep, type StepDefinition, type Unit } from "./steps.js";
import { stepTypes, typeFamilies } from "./families.js";
import { shapeKey, type Doc, type DocFields, type Entity, type Shape } from "./types.js";

/** Options of {@link createStepGraph}. */
export interface StepGraphOptions {
  /** Attribute holding the document type (default `"schema"`). */
  typeField?: string;
  /** Attribute holding the major version (default `"version"`). */
  versionField?: string;
  /** How output documents are named (default {@link singleVersionIds}: `<type>:<entityId>`). */
  ids?: IdScheme;
}

/** Options of one translation. */
export interface TranslateOptions {
  /**
   * The entity's current documents at the path's target shape (e.g. the stored v3 documents when an
   * edited v1 document goes up). Whatever the input cannot represent is taken from it, and new
   * documents take its `_rev`. May be partial (a document not replicated yet).
   */
  base?: Entity;
}

/** A compiled path: call it with an entity at `from`, get the entity at `to`. Pure; never mutates its arguments. */
export interface CompiledPath {
  /**
   * Translate one entity.
   *
   * @throws DivanError `STEP_FAILED` (details: `id`, `step`, `from`, `to`) when the input is not at the
   * path's source shape or a step fails.
   */
  (entity: Entity, options?: TranslateOptions): Entity;
  /** The source shape (as asked). */
  readonly from: Shape;
  /** The target shape (as asked). */
  readonly to: Shape;
  /** `up` (older → newer), `down`, `mixed`, or `identity` when nothing changes. */
  readonly direction: "up" | "down" | "mixed" | "identity";
  /** Names of the steps applied, in order. */
  readonly steps: readonly string[];
  /** The document types an input entity may consist of. */
  readonly sourceTypes: readonly string[];
}

/** A source document that contributes to a target document. */
export interface Contributor {
  /** Source type. */
  readonly type: string;
  /** Source major version. */
  readonly version: number;
}

/** Steps of one or more entity families, ready to compile paths. */
export interface StepGraph {
  /** The checked steps (declarative steps with every operation's `type` filled in). */
  readonly steps: readonly StepDefinition[];
  /** Every shape some step starts or ends at. */
  shapes(): Shape[];
  /**
   * The path from `from` to `to`, compiled once (cached). Shapes may be whole manifest shapes
   * (`{ "task": 3, "task-state": 1, preferences: 1 }`): each entity family is routed through
   * its own steps, and types no step knows translate as themselves when their version is the same.
   *
   * @throws DivanError `NO_PATH` naming the missing link.
   */
  path(from: Shape, to: Shape): CompiledPath;
  /**
   * Which source documents each target document is made from, e.g. from `{ "task": 2 }` to task v3:
   * `{ "task": [task@2], "task-state": [task@2] }`. Function steps count every
   * input document as a source of every output document.
   *
   * @throws DivanError `NO_PATH` like {@link StepGraph.path}.
   */
  contributors(from: Shape, to: Shape): Record<string, Contributor[]>;
}

interface Edge {
  readonly to: string;
  readonly units: readonly Unit[];
  readonly step: string;
  readonly dir: "up" | "down";
}

interface Family {
  readonly types: Set<string>;
  readonly nodes: Map<string, Shape>;
  readonly edges: Map<string, Edge[]>;
}

interface SubPath {
  readonly from: Shape;
  readonly to: Shape;
  readonly units: readonly Unit[];
  readonly edges: readonly Edge[];
}

function project(shape: Shape, types: Set<string>): Shape {
  const out: Shape = {};
  for (const [t, v] of Object.entries(shape)) if (types.has(t)) out[t] = v;
  return out;
}

function copyEntity(e: Entity): Entity {
  const out: Entity = {};
  for (const t in e) out[t] = { ...e[t] };
  return out;
}

/**
 * Build a step graph. Steps are checked here (`STEP_INVALID`); every shape reachable from another
 * through steps, in either direction, can be translated.
 *
 * @example
 * ```ts
 * const graph = createStepGraph(todoSteps);
 * const up = graph.path({ "task": 1 }, { "task": 3, "task-state": 1 });
 * const v3 = up({ "task": v1doc }, { base: storedV3 });
 * ```
 */
export function createStepGraph(steps: readonly StepDefinition[], options: StepGraphOptions = {}): StepGraph {
  const fields: DocFields = { typeField: options.typeField ?? "schema", versionField: options.versionField ?? "version" };
  const ids = options.ids ?? singleVersionIds;
  const checked: StepDefinition[] = steps.map((s) => (isDeclarativeStep(s) ? defineStep(s, fields) : defineFunctionStep(s)));

  const { families, familyOf } = buildFamilies(checked, fields);
  const cache = new Map<string, CompiledPath>();

  return {
    steps: checked,
    shapes: () => [...families.values()].flatMap((f) => [...f.nodes.values()]),
    path(from, to) {
      const key = `${shapeKey(from)} -> ${shapeKey(to)}`;
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
      const compiled = compilePath(plan(familyOf, from, to), from, to, key, fields, ids);
      cache.set(key, compiled);
      return compiled;
    },
    contributors(from, to) {
      const out: Record<string, Contributor[]> = {};
      for (const sp of plan(familyOf, from, to).list) {
        const deps: Deps = new Map(Object.keys(sp.from).map((t) => [t, new Set([t])]));
        for (const u of sp.units) u.flow(deps);
        for (const t of Object.keys(sp.to)) {
          out[t] = [...(deps.get(t) ?? [])].sort().map((s) => ({ type: s, version: sp.from[s]! }));
        }
      }
      return out;
    },
  };
}

/** The families of the checked steps (types connected by some step), each with its shapes and its edges both ways. */
function buildFamilies(checked: readonly StepDefinition[], fields: DocFields): { families: Map<string, Family>; familyOf: (t: string) => Family | undefined } {
  // keyed by the family's first type
  const typeFamily = typeFamilies(checked.map(stepTypes));
  const families = new Map<string, Family>();
  const familyOf = (t: string): Family | undefined => families.get(typeFamily.get(t)?.[0] ?? "");
  for (const [t, family] of typeFamily) {
    const f = families.get(family[0]!) ?? { types: new Set<string>(), nodes: new Map(), edges: new Map() };
    f.types.add(t);
    families.set(family[0]!, f);
  }
  const seen = new Set<string>();
  for (const s of checked) {
    const fam = familyOf(Object.keys(s.from)[0]!)!;
    const a = shapeKey(s.from);
    const b = shapeKey(s.to);
    if (a === b) throw new DivanError("STEP_INVALID", `step ${stepName(s)}: from and to are the same shape`, { details: { step: stepName(s) } });
    const pair = [a, b].sort().join(" | ");
    if (seen.has(pair)) {
      throw new DivanError("STEP_INVALID", `two steps connect ${a} and ${b}; keep one (a step already translates both ways)`, { details: { step: stepName(s) } });
    }
    seen.add(pair);
    const c: CompiledStep = compileStep(s, fields);
    fam.nodes.set(a, s.from);
    fam.nodes.set(b, s.to);
    fam.edges.set(a, [...(fam.edges.get(a) ?? []), { to: b, units: c.up, step: c.name, dir: "up" }]);
    fam.edges.set(b, [...(fam.edges.get(b) ?? []), { to: a, units: c.down, step: c.name, dir: "down" }]);
  }
  return { families, familyOf };
}

/** A `NO_PATH` error with its details. */
function noPath(message: string, details: Record<string, unknown>): DivanError {
  return new DivanError("NO_PATH", message, { details });
}

/** The chain of edges from `from` to `to` within one family (breadth first: fewest steps). */
function route(fam: Family, from: Shape, to: Shape): SubPath {
  const a = shapeKey(from);
  const b = shapeKey(to);
  const known = [...fam.nodes.keys()].join(", ");
  for (const [k, s] of [[a, from], [b, to]] as const) {
    if (!fam.nodes.has(k)) {
      throw noPath(`no step starts or ends at ${k} (known shapes of this family: ${known}); add a step to or from it`, { shape: s, known: [...fam.nodes.keys()] });
    }
  }
  if (a === b) return { from, to, units: [], edges: [] };
  const prev = new Map<string, { node: string; edge: Edge }>();
  const queue = [a];
  const visited = new Set([a]);
  while (queue.length > 0 && !visited.has(b)) {
    const n = queue.shift()!;
    for (const e of fam.edges.get(n) ?? []) {
      if (visited.has(e.to)) continue;
      visited.add(e.to);
      prev.set(e.to, { node: n, edge: e });
      queue.push(e.to);
    }
  }
  if (!visited.has(b)) {
    throw noPath(`no chain of steps links ${a} to ${b}: from ${a} only ${[...visited].join(", ")} can be reached; a step between them is missing`, {
      from,
      to,
      reachable: [...visited],
    });
  }
  const edges: Edge[] = [];
  for (let n = b; n !== a; ) {
    const p = prev.get(n)!;
    edges.unshift(p.edge);
    n = p.node;
  }
  return { from, to, units: elideStamps(edges.flatMap((e) => e.units)), edges };
}

interface Plan {
  readonly subs: Map<string, SubPath>; // by source type
  readonly list: SubPath[];
}

/** The sub-path of each family (or untouched type) that `from` → `to` goes through. */
function plan(familyOf: (t: string) => Family | undefined, from: Shape, to: Shape): Plan {
  const subs = new Map<string, SubPath>();
  const list: SubPath[] = [];
  const done = new Set<Family>();
  for (const t of Object.keys(from)) {
    const fam = familyOf(t);
    if (fam === undefined) {
      if (to[t] === undefined) continue; // not in the target: such entities are not translatable
      if (to[t] !== from[t]) {
        throw noPath(`no step translates ${t}@${String(from[t])} to ${t}@${String(to[t])}`, { type: t, from: from[t], to: to[t] });
      }
      const sp: SubPath = { from: { [t]: from[t]! }, to: { [t]: to[t]! }, units: [], edges: [] };
      subs.set(t, sp);
      list.push(sp);
      continue;
    }
    if (done.has(fam)) continue;
    done.add(fam);
    const f = project(from, fam.types);
    const g = project(to, fam.types);
    if (Object.keys(g).length === 0) continue;
    const sp = route(fam, f, g);
    for (const ft of Object.keys(f)) subs.set(ft, sp);
    list.push(sp);
  }
  return { subs, list };
}

/** One function for the path `key` (`from` → `to`) planned as `p`: each entity goes through its family's sub-path. */
function compilePath(p: Plan, from: Shape, to: Shape, key: string, fields: DocFields, ids: IdScheme): CompiledPath {
  const runners = new Map<string, (e: Entity, o?: TranslateOptions) => Entity>();
  const byPath = new Map<SubPath, (e: Entity, o?: TranslateOptions) => Entity>();
  for (const sp of p.list) byPath.set(sp, compileSubPath(sp, fields, ids));
  for (const [t, sp] of p.subs) runners.set(t, byPath.get(sp)!);
  const only = p.list.length === 1 ? byPath.get(p.list[0]!)! : undefined;
  const sourceTypes = [...p.subs.keys()];
  const fn = (entity: Entity, o?: TranslateOptions): Entity => {
    if (only !== undefined) return only(entity, o);
    let first: string | undefined;
    for (const k in entity) {
      first = k;
      break;
    }
    const r = first === undefined ? undefined : runners.get(first);
    if (r === undefined) {
      throw new DivanError("STEP_FAILED", `cannot translate an entity of ${first ?? "no documents"}: the path ${key} translates ${sourceTypes.join(", ")}`, {
        details: { type: first, from, to },
      });
    }
    return r(entity, o);
  };
  const dirs = new Set(p.list.flatMap((sp) => sp.edges.map((e) => e.dir)));
  const direction = dirs.size === 0 ? "identity" : dirs.size === 2 ? "mixed" : dirs.has("up") ? "up" : "down";
  const compiled = Object.assign(fn, {
    from,
    to,
    direction,
    steps: p.list.flatMap((sp) => sp.edges.map((e) => e.step)),
    sourceTypes,
  }) as CompiledPath;
  return compiled;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Drop version stamps nobody reads: operations ignore versions, so a stamp is kept only when user
 * code (a function step) runs before the next stamp, or when it is the last (it sets the output
 * versions), or when it checks a function step's output.
 */
function elideStamps(units: readonly Unit[]): Unit[] {
  return units.filter((u, i) => {
    if (u.kind !== "stamp" || i === units.length - 1) return true;
    if (units[i - 1]?.kind === "function") return true;
    for (let j = i + 1; j < units.length; j++) {
      const k = units[j]!.kind;
      if (k === "function") return true;
      if (k === "stamp") return false;
    }
    return true;
  });
}

function compileSubPath(sp: SubPath, fields: DocFields, ids: IdScheme): (e: Entity, o?: TranslateOptions) => Entity {
  const fromTypes = Object.keys(sp.from);
  const fromVersions = fromTypes.map((t) => sp.from[t]!);
  const toEntries = Object.entries(sp.to);
  const units = sp.units;
  const fns: LensFn[] = units.map((u) => u.fn);
  const n = units.length;
  const { versionField } = fields;
  const pathName = `${shapeKey(sp.from)} -> ${shapeKey(sp.to)}`;

  const fail = (message: string, id: string | undefined, step: string | undefined, cause?: unknown): DivanError => {
    const field = cause instanceof LensFailure ? cause.field : undefined;
    return new DivanError("STEP_FAILED", `${step === undefined ? "" : `step ${step} `}failed for ${id ?? "a document without _id"}: ${message}`, {
      cause,
      details: { id, step, from: sp.from, to: sp.to, ...(field === undefined ? {} : { field }) },
    });
  };

  function tombstones(input: Entity, ctx: RunContext, base: Entity | undefined): Entity {
    const out: Entity = {};
    if (!ctx.idKnown) return out;
    const revs = new Map<string, string>();
    for (const d of Object.values(input)) if (typeof d._id === "string" && typeof d._rev === "string") revs.set(d._id, d._rev);
    if (base !== undefined) {
      for (const d of Object.values(base)) if (typeof d._id === "string" && typeof d._rev === "string" && !revs.has(d._id)) revs.set(d._id, d._rev);
    }
    for (const [t, v] of toEntries) {
      const id = ids.format(t, ctx.entityId, v);
      const rev = revs.get(id);
      if (rev !== undefined) out[t] = { _id: id, _rev: rev, _deleted: true };
    }
    return out;
  }

  return (input, o) => {
    // Identify the entity and check the input is at the source shape.
    let firstId: string | undefined;
    let deleted = false;
    let count = 0;
    for (const t in input) {
      count++;
      const d = input[t]!;
      if (firstId === undefined && typeof d._id === "string") firstId = d._id;
      if (d._deleted === true) deleted = true;
    }
    let entityId: string | undefined;
    let idKnown = false;
    if (firstId !== undefined) {
      const parsed = ids.parse(firstId);
      if (parsed !== undefined) {
        entityId = parsed.entityId;
        idKnown = true;
      }
    }
    const ctx: RunContext = { entityId, idKnown, ids, fields };
    const base = o?.base;
    if (deleted) return tombstones(input, ctx, base);
    const e: Entity = {};
    for (let i = 0; i < fromTypes.length; i++) {
      const t = fromTypes[i]!;
      const d = input[t];
      if (d === undefined) {
        throw fail(`the entity has no ${t} document (not replicated yet?); the path ${pathName} needs ${fromTypes.join(", ")}`, firstId, undefined);
      }
      if (d[versionField] !== fromVersions[i]) {
        throw fail(`${t} has ${versionField} ${JSON.stringify(d[versionField])}, the path ${pathName} expects ${String(fromVersions[i])}`, firstId, undefined);
      }
      e[t] = { ...d };
    }
    if (count !== fromTypes.length) {
      const extra = Object.keys(input).filter((t) => sp.from[t] === undefined);
      throw fail(`unexpected ${extra.join(", ")} in the entity; the path ${pathName} translates ${fromTypes.join(", ")}`, firstId, undefined);
    }

    // Bases at every unit's output side, walked back from the target shape.
    let bases: (Entity | undefined)[] | undefined;
    if (base !== undefined && n > 0) {
      bases = new Array<Entity | undefined>(n);
      let b: Entity | undefined = base;
      for (let k = n - 1; k >= 0; k--) {
        bases[k] = b;
        if (b === undefined) continue;
        const inv = units[k]!.inv;
        if (inv === undefined) continue;
        try {
          b = inv(copyEntity(b), undefined, ctx);
        } catch {
          b = undefined; // a partial base (a document not replicated yet) helps only the steps it reaches
        }
      }
    }

    let cur = e;
    let k = 0;
    try {
      if (bases === undefined) for (; k < n; k++) cur = fns[k]!(cur, undefined, ctx);
      else for (; k < n; k++) cur = fns[k]!(cur, bases[k], ctx);
    } catch (err) {
      throw fail(messageOf(err), firstId, units[k]?.step, err);
    }

    // Ids and revisions of the output documents.
    if (idKnown) {
      for (let i = 0; i < toEntries.length; i++) {
        const [t, v] = toEntries[i]!;
        const d: Doc | undefined = cur[t];
        if (d === undefined) continue;
        const id = ids.format(t, entityId, v);
        if (d._id === id) continue;
        d._id = id;
        const b = base === undefined ? undefined : base[t];
        if (b !== undefined && b._id === id && typeof b._rev === "string") d._rev = b._rev;
        else if (hasOwn.call(d, "_rev")) delete d._rev;
      }
    }
    return cur;
  };
}

