/**
 * `validate_doc_update` and `_security` for the embedded server, functions compiled in a separate V8 context.
 *
 * `validate_doc_update` and `_security` for the embedded server: the one implementation of
 * `store/validate-doc-update.ts` (shared with the PouchDB store), with functions compiled in a separate
 * V8 context so they cannot reach the server's globals (as `_changes` filters are, {@link compileFunction}). The embedded server has no users: every request
 * is an admin's (CouchDB's admin party), and each database's security object is kept in memory.
 */
import vm from "node:vm";
import type { Doc } from "../../store/port.js";
import { DocUpdateValidator, defaultSecurity, type SecurityObject, type ValidatedDatabase } from "../../store/validate-doc-update.js";
import { badRequest, HttpError, isObject } from "./http.js";

/** Evaluates an expression in a fresh V8 context: design functions see none of the server's globals. */
const evaluateInContext = (expression: string): unknown => vm.runInNewContext(`(${expression}\n)`, Object.create(null) as object, { timeout: 1000 });

/** Compiles a design document function (a `_changes` filter); a syntax error is a 500 `compilation_error`. */
export function compileFunction(source: string, what: string): (...args: unknown[]) => unknown {
  try {
    const fn = evaluateInContext(source);
    if (typeof fn !== "function") throw new Error("not a function");
    return fn as (...args: unknown[]) => unknown;
  } catch (e) {
    throw new HttpError(500, "compilation_error", `${what}: ${isObject(e) && typeof e.message === "string" ? e.message : String(e)}`);
  }
}

/** Validates writes and keeps security objects for the databases of one embedded server. */
export class Validator {
  private readonly validator = new DocUpdateValidator(evaluateInContext);
  private readonly security = new Map<string, SecurityObject>();

  /**
   * Throws the {@link HttpError} CouchDB answers (403 `forbidden`, 401 `unauthorized`, 500 for a function
   * that crashed or does not compile) when a `validate_doc_update` of database `name` refuses `doc`.
   */
  async check(name: string, db: PouchDB.Database, doc: Record<string, unknown>, newEdits = true): Promise<void> {
    const refused = await this.validator.check(db as unknown as ValidatedDatabase, name, doc as Doc, { newEdits, secObj: this.securityOf(name) });
    if (refused !== undefined) throw new HttpError(refused.status, refused.error, refused.reason);
  }

  /** {@link check} for every one of `docs` at once: the {@link HttpError} refusing each, or `undefined`. */
  async checkAll(name: string, db: PouchDB.Database, docs: readonly Record<string, unknown>[], newEdits = true): Promise<(HttpError | undefined)[]> {
    const refused = await this.validator.checkAll(db as unknown as ValidatedDatabase, name, docs as Doc[], { newEdits, secObj: this.securityOf(name) });
    return refused.map((r) => (r === undefined ? undefined : new HttpError(r.status, r.error, r.reason)));
  }

  /** The security object of database `name` (CouchDB 3's default until one is put). */
  securityOf(name: string): SecurityObject {
    return this.security.get(name) ?? defaultSecurity();
  }

  /** Replaces the security object of database `name`; 400 unless `admins` and `members` hold string lists, as CouchDB checks. */
  putSecurity(name: string, body: Record<string, unknown>): void {
    for (const section of ["admins", "members"]) {
      const value = body[section];
      if (value === undefined) continue;
      if (!isObject(value)) throw badRequest(`${section} must be a JSON object`);
      for (const list of ["names", "roles"]) {
        const items = value[list];
        if (items !== undefined && !(Array.isArray(items) && items.every((i) => typeof i === "string"))) {
          throw badRequest(`${section}.${list} must be a JSON list of strings`);
        }
      }
    }
    this.security.set(name, body as SecurityObject);
  }

  /** Forgets what belongs to database `name` (deleted). */
  forget(name: string): void {
    this.security.delete(name);
  }
}
