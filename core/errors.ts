/**
 * Divan's single error class and its stable codes.
 *
 * Every failure divan reports carries a stable string `code` that programs can switch on,
 * a message that tells a human what to do, and the underlying `cause`.
 * A new instance is created for every failure; no shared error object is ever thrown or mutated.
 */

/** Stable error codes. Programs may switch on these; they never change meaning. */
export const ERROR_CODES = [
  // store
  "NOT_FOUND",
  "CONFLICT",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "BAD_REQUEST",
  "STORE_UNAVAILABLE",
  // schemas
  "SCHEMA_INVALID",
  "SCHEMA_LOAD_FAILED",
  "UNKNOWN_TYPE",
  "MANIFEST_INVALID",
  // adapters
  "NO_PATH",
  "STEP_FAILED",
  "STEP_INVALID",
  "ENTITY_INCOMPLETE",
  // runner / strategies / server
  "LEASE_HELD",
  // a listener of a run's events threw (the run goes on)
  "LISTENER_FAILED",
  // a command refused to write into, or drop, a database that is not divan's copy of the source
  "NOT_A_COPY",
  "MAINTENANCE",
  "CONFIG_INVALID",
  // an app version whose support ended (drop legacy): update the app
  "APP_RETIRED",
  // an optional package a feature needs (express, tsx, chart.js, pouchdb-adapter-leveldb) is not installed
  "DEPENDENCY_MISSING",
  // `divan compare`: the compared app change is additive, so no migrating strategy applies
  "CHANGE_NOT_BREAKING",
  "INTERNAL",
] as const;

/** One of divan's stable error codes. */
export type DivanErrorCode = (typeof ERROR_CODES)[number];

/** Extra, machine-readable facts about a failure (document id, step, status, …). */
export type DivanErrorDetails = Readonly<Record<string, unknown>>;

/** Options accepted by {@link DivanError}. */
export interface DivanErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
  /** Machine-readable facts (document id, rev, HTTP status, …). */
  details?: DivanErrorDetails;
}

/**
 * The one error class divan throws or returns.
 *
 * @example
 * ```ts
 * try { await store.get("todo-item:1"); }
 * catch (e) { if (isDivanError(e, "NOT_FOUND")) { ... } }
 * ```
 */
export class DivanError extends Error {
  /** Stable code; see {@link ERROR_CODES}. */
  readonly code: DivanErrorCode;
  /** Machine-readable facts about the failure. */
  readonly details: DivanErrorDetails;

  constructor(code: DivanErrorCode, message: string, options: DivanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DivanError";
    this.code = code;
    this.details = options.details ?? {};
  }

  /** A plain JSON form, safe to log or store in a quarantine record. */
  toJSON(): { name: string; code: DivanErrorCode; message: string; details: DivanErrorDetails } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is a {@link DivanError}, optionally with the given code. */
export function isDivanError(e: unknown, code?: DivanErrorCode): e is DivanError {
  return e instanceof DivanError && (code === undefined || e.code === code);
}

/** The message of any thrown value, for error reports. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "object" && e !== null) {
    const o = e as { message?: unknown; reason?: unknown; error?: unknown };
    if (typeof o.reason === "string") return o.reason;
    if (typeof o.message === "string") return o.message;
    if (typeof o.error === "string") return o.error;
  }
  return String(e);
}
