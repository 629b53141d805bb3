/**
 * CouchDB's `validate_doc_update`, run outside CouchDB (PouchDB stores, the embedded server), as CouchDB 3.4 runs it.
 *
 * CouchDB's `validate_doc_update`, run outside CouchDB: by the PouchDB store when asked to
 * (`validateDocUpdate: true`) and by the embedded server on every write. One implementation, so both
 * refuse the same writes with the same answers, and both behave as CouchDB 3.4 was measured to:
 *
 * - every live design document with a `validate_doc_update` string runs, in id order, with `this` bound
 *   to the design document; the first refusal wins; its return value is ignored;
 * - design documents and `_local/` documents are never validated;
 * - a write that conflicts is not validated (CouchDB answers 409 before it validates);
 * - `newDoc` is the document as written, with `_revisions` when it has a `_rev`; `oldDoc` is the revision
 *   it replaces (with its `_revisions`): the updated leaf, or for a replicated write (`new_edits: false`)
 *   its nearest ancestor the database has; `null` for a new or re-created document;
 * - `throw({ forbidden })` is 403 `forbidden`, `throw({ unauthorized })` 401 `unauthorized`, an `Error`
 *   500 with its name as the error (`TypeError`, …), anything else 500 `unknown_error`, and source that
 *   does not compile 500 `compilation_error` for every write;
 * - functions run in sloppy mode (as CouchDB's engine does) and see CouchDB's `log` and `isArray`.
 *
 * Browser-safe: no Node built-ins. The compiler is pluggable (the embedded server compiles in a separate
 * V8 context; the default is `new Function`, which a strict Content-Security-Policy forbids).
 */
import type { Doc } from "./port.js";

/** Who is writing, as CouchDB passes it to `validate_doc_update`. */
export interface UserContext {
  /** The database name. */
  db: string;
  /** The user name, `null` when nobody is logged in. */
  name: string | null;
  /** The user's roles (`_admin` for a server admin). */
  roles: string[];
}

/** A database's security object (`GET /db/_security`). */
export interface SecurityObject {
  admins?: { names?: string[]; roles?: string[] };
  members?: { names?: string[]; roles?: string[] };
  [key: string]: unknown;
}

/** What CouchDB 3 answers for the security object of a new database (`default_security = admin_only`). */
export function defaultSecurity(): SecurityObject {
  return { members: { roles: ["_admin"] }, admins: { roles: ["_admin"] } };
}

/**
 * The writer of a database that has no users (a device's own PouchDB, the embedded server): CouchDB's
 * "admin party", where every request is a server admin's.
 */
export function adminParty(db: string): UserContext {
  return { db, name: null, roles: ["_admin"] };
}

/** A compiled `validate_doc_update`, called with `this` bound to its design document. */
export type ValidateFunction = (this: Doc, newDoc: unknown, oldDoc: unknown, userCtx: UserContext, secObj: SecurityObject) => unknown;

/**
 * Evaluates `factory` (the source of a JavaScript expression `function (log, isArray) { return (<fn>); }`)
 * and returns its value; {@link compileValidateFunction} does the rest.
 */
export type Evaluate = (factory: string) => unknown;

/** A write `validate_doc_update` refused, as CouchDB answers it. */
export interface Refusal {
  /** HTTP status: 403, 401, or 500 when the function crashed or does not compile. */
  status: 401 | 403 | 500;
  /** CouchDB's error name: `forbidden`, `unauthorized`, `compilation_error`, an `Error`'s name or `unknown_error`. */
  error: string;
  /** The reason thrown (JSON when it was not a string). */
  reason: string;
}

/** How a write is made. */
export interface WriteContext {
  /** `false` for replicated writes (`new_edits: false`); default `true`. */
  newEdits?: boolean;
  /** Default: {@link adminParty} of the database. */
  userCtx?: UserContext;
  /** Default: {@link defaultSecurity}. */
  secObj?: SecurityObject;
}

/** The slice of a PouchDB database the validator reads. */
export interface ValidatedDatabase {
  allDocs(options: Record<string, unknown>): Promise<{ rows: { id?: string; doc?: unknown }[] }>;
  get(id: string, options?: Record<string, unknown>): Promise<unknown>;
  revsDiff(revs: Record<string, string[]>): Promise<Record<string, { missing?: string[] } | undefined>>;
}

/** `new Function`: the default evaluator (sloppy mode, as CouchDB's engine). */
const evaluateWithFunction: Evaluate = (factory) => new Function(`return (${factory});`)() as unknown;

/** CouchDB's `log` (to nowhere here) and `isArray`, the globals a validation function may call. */
const GLOBALS = [() => undefined, (v: unknown) => Array.isArray(v)] as const;

/** Compiles the source of a `validate_doc_update`; throws a {@link Refusal}-shaped 500 when it does not compile. */
export function compileValidateFunction(source: string, ddocId: string, evaluate: Evaluate = evaluateWithFunction): ValidateFunction {
  let fn: unknown;
  try {
    const factory = evaluate(`function (log, isArray) { return (${source}\n); }`);
    if (typeof factory !== "function") throw new Error("not a function");
    fn = (factory as (...g: unknown[]) => unknown)(...GLOBALS);
    if (typeof fn !== "function") throw new Error("validate_doc_update is not a function");
  } catch (e) {
    throw refusal(500, "compilation_error", `validate_doc_update in ${ddocId}: ${messageOf(e)}`);
  }
  return fn as ValidateFunction;
}

function refusal(status: Refusal["status"], error: string, reason: unknown): Refusal {
  return { status, error, reason: typeof reason === "string" ? reason : (JSON.stringify(reason) ?? String(reason)) };
}

function isRefusal(e: unknown): e is Refusal {
  return isObject(e) && typeof e.status === "number" && typeof e.error === "string" && typeof e.reason === "string" && Object.keys(e).length === 3;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The message of anything thrown, also from another realm (a V8 context's `Error` is not this realm's). */
function messageOf(e: unknown): string {
  return isObject(e) && typeof e.message === "string" ? e.message : String(e);
}

/** A thrown value → CouchDB's answer. */
function refusalOf(thrown: unknown): Refusal {
  if (isObject(thrown)) {
    if (thrown.forbidden !== undefined) return refusal(403, "forbidden", thrown.forbidden);
    if (thrown.unauthorized !== undefined) return refusal(401, "unauthorized", thrown.unauthorized);
    if (typeof thrown.name === "string" && typeof thrown.message === "string") return refusal(500, thrown.name, thrown.message);
  }
  return refusal(500, "unknown_error", messageOf(thrown));
}

const hashOf = (rev: string): string => rev.slice(rev.indexOf("-") + 1);
const generationOf = (rev: string): number => Number.parseInt(rev, 10);

/**
 * Runs the `validate_doc_update` functions of a PouchDB database on writes, like CouchDB. Compiled
 * functions are kept per database instance until a design document changes.
 */
export class DocUpdateValidator {
  private readonly evaluate: Evaluate;
  private readonly cache = new WeakMap<object, { key: string; fns: { ddoc: Doc; fn: ValidateFunction }[] }>();

  /** `evaluate` compiles function source (default `new Function`). */
  constructor(evaluate: Evaluate = evaluateWithFunction) {
    this.evaluate = evaluate;
  }

  /**
   * The refusal of writing `doc` into `db`, or `undefined` when every function accepts it (or it is not
   * validated: a design or `_local` document, a conflicting write, a database without functions).
   */
  async check(db: ValidatedDatabase, dbName: string, doc: Doc, context: WriteContext = {}): Promise<Refusal | undefined> {
    return (await this.checkAll(db, dbName, [doc], context))[0];
  }

  /**
   * {@link check} for every one of `docs` (a `_bulk_docs` request): the design documents are read once for all of
   * them, and a database without functions costs no read per document.
   */
  async checkAll(db: ValidatedDatabase, dbName: string, docs: readonly Doc[], context: WriteContext = {}): Promise<(Refusal | undefined)[]> {
    const out = new Array<Refusal | undefined>(docs.length).fill(undefined);
    const validated = (doc: Doc): boolean => typeof doc._id === "string" && !doc._id.startsWith("_design/") && !doc._id.startsWith("_local/");
    if (!docs.some(validated)) return out;
    let fns: { ddoc: Doc; fn: ValidateFunction }[];
    try {
      fns = await this.functions(db);
    } catch (e) {
      if (!isRefusal(e)) throw e;
      return docs.map((d) => (validated(d) ? e : undefined));
    }
    if (fns.length === 0) return out;
    const userCtx = context.userCtx ?? adminParty(dbName);
    const secObj = context.secObj ?? defaultSecurity();
    for (const [i, doc] of docs.entries()) {
      if (!validated(doc)) continue;
      const old = await oldDocOf(db, doc, context.newEdits !== false);
      if (old === "conflict") continue;
      const newDoc: Doc = JSON.parse(JSON.stringify(doc)) as Doc;
      if (typeof newDoc._rev === "string" && newDoc._revisions === undefined) {
        newDoc._revisions = { start: generationOf(newDoc._rev), ids: [hashOf(newDoc._rev)] };
      }
      for (const { ddoc, fn } of fns) {
        try {
          fn.call(ddoc, newDoc, old, userCtx, secObj);
        } catch (e) {
          out[i] = refusalOf(e);
          break;
        }
      }
    }
    return out;
  }

  /** The functions of `db`'s live design documents, recompiled when one changed. */
  private async functions(db: ValidatedDatabase): Promise<{ ddoc: Doc; fn: ValidateFunction }[]> {
    const res = await db.allDocs({ startkey: "_design/", endkey: "_design0", inclusive_end: false, include_docs: true });
    const ddocs = res.rows.flatMap((r) => (isObject(r.doc) && typeof r.doc.validate_doc_update === "string" ? [r.doc as Doc] : []));
    const key = ddocs.map((d) => `${d._id}@${String(d._rev)}`).join(",");
    const hit = this.cache.get(db);
    if (hit !== undefined && hit.key === key) return hit.fns;
    const fns = ddocs.map((ddoc) => ({ ddoc, fn: compileValidateFunction(String(ddoc.validate_doc_update), ddoc._id, this.evaluate) }));
    this.cache.set(db, { key, fns });
    return fns;
  }
}

/** Reads `id` at `options`, or `undefined` when it is missing. */
async function read(db: ValidatedDatabase, id: string, options: Record<string, unknown>): Promise<unknown> {
  try {
    return await db.get(id, options);
  } catch (e) {
    if (isObject(e) && e.status === 404) return undefined;
    throw e;
  }
}

/** The revision `doc` replaces (with `_revisions`), `null` for none, or `"conflict"` when the write will conflict. */
async function oldDocOf(db: ValidatedDatabase, doc: Doc, newEdits: boolean): Promise<Doc | null | "conflict"> {
  const id = doc._id;
  if (!newEdits) {
    const rev = doc._rev;
    if (typeof rev !== "string") return null;
    const start = doc._revisions?.start ?? generationOf(rev);
    const ids = doc._revisions?.ids ?? [hashOf(rev)];
    const ancestors = ids.slice(1).map((hash, i) => `${start - 1 - i}-${hash}`);
    if (ancestors.length === 0) return null;
    const missing = new Set((await db.revsDiff({ [id]: ancestors }))[id]?.missing ?? []);
    const nearest = ancestors.find((r) => !missing.has(r));
    return nearest === undefined ? null : (((await read(db, id, { rev: nearest, revs: true })) as Doc | undefined) ?? null);
  }
  const leaves = ((await read(db, id, { open_revs: "all", revs: true })) ?? []) as { ok?: Doc }[];
  const live = leaves.flatMap((l) => (l.ok !== undefined && l.ok._deleted !== true ? [l.ok] : []));
  if (typeof doc._rev !== "string") return live.length > 0 ? "conflict" : null;
  const leaf = leaves.find((l) => l.ok?._rev === doc._rev)?.ok;
  if (leaf === undefined) return "conflict";
  return leaf._deleted === true ? null : leaf;
}
