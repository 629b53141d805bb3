/**
 * CouchDB `validate_doc_update` for the embedded server: every design document's function runs
 * (in a separate V8 context) before a write; `throw { forbidden }` → 403, `throw { unauthorized }` → 401.
 */
import vm from "node:vm";
import { HttpError, isObject } from "./http.js";

type ValidateFn = (newDoc: unknown, oldDoc: unknown, userCtx: unknown, secObj: unknown) => void;

/** The user context validation functions see: the embedded server has no users, everyone is admin. */
function userCtx(db: string): Record<string, unknown> {
  return { db, name: null, roles: ["_admin"] };
}

/** Compiles a design document function; a syntax error is reported as a 500 `compilation_error`. */
export function compileFunction(source: string, what: string): (...args: unknown[]) => unknown {
  try {
    const fn: unknown = vm.runInNewContext(`(function () { "use strict"; return (${source}\n); })()`, Object.create(null), {
      timeout: 1000,
    });
    if (typeof fn !== "function") throw new Error("not a function");
    return fn as (...args: unknown[]) => unknown;
  } catch (e) {
    throw new HttpError(500, "compilation_error", `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Caches compiled validation functions per database, keyed by the design documents' revs. */
export class Validator {
  private cache = new Map<string, { key: string; fns: ValidateFn[] }>();

  /** The validation functions of `db`, recompiled when a design document changed. */
  private async functions(name: string, db: PouchDB.Database): Promise<ValidateFn[]> {
    const res = await db.allDocs({ startkey: "_design/", endkey: "_design0", include_docs: true });
    const ddocs = res.rows.flatMap((r) => {
      const doc: unknown = r.doc;
      return isObject(doc) && typeof doc.validate_doc_update === "string" ? [doc] : [];
    });
    const key = ddocs.map((d) => `${String(d._id)}@${String(d._rev)}`).join(",");
    const hit = this.cache.get(name);
    if (hit !== undefined && hit.key === key) return hit.fns;
    const fns = ddocs.map((d) => {
      const fn = compileFunction(String(d.validate_doc_update), `validate_doc_update in ${String(d._id)}`);
      return ((n: unknown, o: unknown, u: unknown, s: unknown) => void fn.call(d, n, o, u, s)) as ValidateFn;
    });
    this.cache.set(name, { key, fns });
    return fns;
  }

  /**
   * Throws an {@link HttpError} (403 `forbidden`, 401 `unauthorized`, 500 otherwise) when a validation
   * function of `db` refuses `doc`. Design and `_local` documents are not validated.
   */
  async check(name: string, db: PouchDB.Database, doc: Record<string, unknown>): Promise<void> {
    const id = doc._id;
    if (typeof id === "string" && (id.startsWith("_design/") || id.startsWith("_local/"))) return;
    const fns = await this.functions(name, db);
    if (fns.length === 0) return;
    let oldDoc: unknown = null;
    if (typeof id === "string" && id !== "") {
      try {
        oldDoc = await db.get(id, { revs: true });
      } catch {
        oldDoc = null;
      }
    }
    const copy: unknown = JSON.parse(JSON.stringify(doc));
    for (const fn of fns) {
      try {
        fn(copy, oldDoc, userCtx(name), { admins: { names: [], roles: [] }, members: { names: [], roles: [] } });
      } catch (e) {
        if (isObject(e) && e.forbidden !== undefined) throw new HttpError(403, "forbidden", String(e.forbidden));
        if (isObject(e) && e.unauthorized !== undefined) throw new HttpError(401, "unauthorized", String(e.unauthorized));
        // Errors thrown inside the function come from another realm: read their message directly.
        const msg = isObject(e) && typeof e.message === "string" ? e.message : isObject(e) ? JSON.stringify(e) : String(e);
        throw new HttpError(500, "validation_error", `validate_doc_update failed: ${msg}`);
      }
    }
  }

  /** Forgets the cached functions of database `name`. */
  forget(name: string): void {
    this.cache.delete(name);
  }
}
