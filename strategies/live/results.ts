/**
 * Small helpers of the live adapter: a thrown error as a row problem, a write result as the adapter's.
 */
import { isDivanError, messageOf, type DivanErrorCode } from "../../core/errors.js";
import type { StepDefinition } from "../../adapters/steps.js";
import type { StepGraph } from "../../adapters/path.js";
import type { LiveWriteResult, RowProblem } from "./types.js";

/** The row problem of an error thrown while reading `id`. */
export function problemOf(e: unknown, id: string): RowProblem {
  if (isDivanError(e)) return { code: e.code, reason: e.message, details: { id, ...e.details } };
  return { code: "STEP_FAILED", reason: `reading ${id} failed: ${messageOf(e)}`, details: { id } };
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
