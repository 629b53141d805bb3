/**
 * Small helpers of the live adapter: a thrown error or a schema failure as a row problem, a write result as the adapter's.
 */
import { isDivanError, messageOf, type DivanErrorCode } from "../../core/errors.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { StepGraph } from "../../adapters/path.js";
import type { Registry } from "../../schemas/registry.js";
import type { Doc } from "../../store/port.js";
import type { LiveRow, LiveWriteResult, RowProblem } from "./types.js";

/** The row problem of an error thrown while reading `id`. */
export function problemOf(e: unknown, id: string): RowProblem {
  if (isDivanError(e)) return { code: e.code, reason: e.message, details: { id, ...e.details } };
  return { code: "STEP_FAILED", reason: `reading ${id} failed: ${messageOf(e)}`, details: { id } };
}

/** The schema problem of a document an app writes, if any (same reason text as `validate_doc_update`); `translated` ends the reason. */
export function schemaProblem(registry: Registry, doc: Doc, translated?: string): RowProblem | undefined {
  if (doc._deleted === true || doc._id?.startsWith("_design/")) return undefined;
  const ident = registry.identify(doc);
  if (ident === undefined || registry.majors(ident.type).length === 0) return undefined; // unknown types pass
  const verdict = registry.validate(doc);
  if (verdict.ok) return undefined;
  const first = verdict.errors[0];
  const reason = `invalid ${ident.type}@${ident.version} document ${doc._id}: ${first ? `${first.pointer || "/"} ${first.message}` : "does not match its schema"}${translated ?? ""}`;
  return { code: "SCHEMA_INVALID", reason, details: { id: doc._id, type: ident.type, version: ident.version, errors: verdict.errors } };
}

/** True when the bundled steps are a compiled graph rather than a list. */
export function isGraph(s: readonly StepDefinition[] | StepGraph): s is StepGraph {
  return !Array.isArray(s) && typeof (s as StepGraph).path === "function";
}

/** A store's write result as the live adapter's result for input `id`. */
export function toLiveResult(r: { id: string; ok: boolean; rev?: string; error?: { code: DivanErrorCode; reason: string } }, id: string): LiveWriteResult {
  if (r.ok && typeof r.rev === "string") return { id, ok: true, rev: r.rev };
  const error = r.error ?? { code: "INTERNAL" as const, reason: "write failed" };
  return { id, ok: false, error: { code: error.code, reason: error.reason, details: { id } } };
}

/**
 * A page's rows, in id order once {@link PageRows.ordered}: rows passed through first (first among equal ids), then
 * the entities' rows within `[lo, hi]` (an end undefined is open), kept by type: each type's rows come in runs of
 * ascending ids, which the sort merges rather than sorts.
 */
export class PageRows {
  readonly #rows: LiveRow[] = [];
  readonly #byType = new Map<string, LiveRow[]>();

  constructor(
    readonly lo: string | undefined,
    readonly hi: string | undefined,
  ) {}

  /** A row that passes through untranslated. */
  pass(row: LiveRow): void {
    this.#rows.push(row);
  }

  /** An entity's row of `type`, kept when its id lies in the range. */
  readonly add = (type: string, row: LiveRow): void => {
    if ((this.lo !== undefined && row.id < this.lo) || (this.hi !== undefined && row.id > this.hi)) return;
    const list = this.#byType.get(type);
    if (list === undefined) this.#byType.set(type, [row]);
    else list.push(row);
  };

  /** Every row in id order (`descending`: reversed). */
  ordered(descending: boolean): LiveRow[] {
    const rows = this.#rows;
    for (const t of [...this.#byType.keys()].sort()) for (const r of this.#byType.get(t)!) rows.push(r);
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (descending) rows.reverse();
    return rows;
  }
}
