/**
 * Turning PouchDB, nano, HTTP and network failures into {@link DivanError}s with a stable code.
 *
 * Both backends report CouchDB-shaped errors (`{ status, name | error, reason | message }`);
 * network failures have no status. Every message and every cause this module produces is passed
 * through {@link redact}, so a URL password never reaches a log.
 */
import { DivanError, type DivanErrorCode } from "../core/errors.js";
import { redact } from "../core/redact.js";

/** The store error codes, a subset of {@link DivanErrorCode}. */
export type StoreErrorCode = Extract<
  DivanErrorCode,
  "NOT_FOUND" | "CONFLICT" | "UNAUTHORIZED" | "FORBIDDEN" | "BAD_REQUEST" | "STORE_UNAVAILABLE" | "INTERNAL"
>;

/** The per-document error codes a bulk write can report. */
export type WriteErrorCode = "CONFLICT" | "FORBIDDEN" | "UNAUTHORIZED" | "BAD_REQUEST";

/** Where a failure happened, for the message. */
export interface ErrorContext {
  /** The operation, e.g. `"get"`, `"bulkDocs"`. */
  operation: string;
  /** The store's (already redacted) name. */
  store: string;
  /** The document id concerned, if any. */
  id?: string;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
]);

const NETWORK_MESSAGE = /fetch failed|error happened in your connection|network ?error|failed to fetch|socket hang up|ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT/i;

/** Facts read from any thrown value, whatever library threw it. */
interface Facts {
  status?: number;
  /** CouchDB error name (`not_found`, `conflict`, …). */
  error?: string;
  reason: string;
  /** Node/undici error code of the error or its causes. */
  netCode?: string;
}

function prop(o: unknown, key: string): unknown {
  return typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

function facts(e: unknown): Facts {
  const rawStatus = prop(e, "status") ?? prop(e, "statusCode");
  const status = typeof rawStatus === "number" && rawStatus > 0 ? rawStatus : undefined;
  // nano copies the CouchDB body onto the Error (`error`, `reason`); PouchDB uses `name`, `reason`/`message`.
  const name = str(prop(e, "name"));
  const error = str(prop(e, "error")) ?? (name !== undefined && name !== "Error" && name !== "TypeError" ? name : undefined);
  const reason = str(prop(e, "reason")) ?? str(prop(e, "message")) ?? str(prop(e, "description")) ?? error ?? String(e);
  let netCode: string | undefined;
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== undefined && cur !== null; depth++) {
    const code = str(prop(cur, "code")) ?? str(prop(cur, "errno"));
    if (code !== undefined && NETWORK_CODES.has(code)) {
      netCode = code;
      break;
    }
    cur = prop(cur, "cause");
  }
  const f: Facts = { reason };
  if (status !== undefined) f.status = status;
  if (error !== undefined) f.error = error;
  if (netCode !== undefined) f.netCode = netCode;
  return f;
}

/** The divan code for a CouchDB error name and/or HTTP status. */
export function codeForCouchError(error: string | undefined, status: number | undefined): StoreErrorCode {
  switch (error) {
    case "not_found":
    case "missing":
      return "NOT_FOUND";
    case "conflict":
    case "file_exists":
      return "CONFLICT";
    case "unauthorized":
      return "UNAUTHORIZED";
    case "forbidden":
      return "FORBIDDEN";
    case "bad_request":
    case "invalid_json":
    case "query_parse_error":
    case "doc_validation":
    case "illegal_database_name":
    case "invalid_rev":
    case "bad_content_type":
    case "too_large":
    case "compilation_error":
      return "BAD_REQUEST";
    default:
      break;
  }
  if (status === undefined) return "INTERNAL";
  // A 500 named after a JavaScript error (`TypeError`, …) is a design document function that crashed on
  // this request, e.g. a validate_doc_update: the same write fails again, the server is not unavailable.
  if (status === 500 && error !== undefined && /^[A-Z][A-Za-z]*Error$/.test(error)) return "BAD_REQUEST";
  if (status === 404) return "NOT_FOUND";
  if (status === 409 || status === 412) return "CONFLICT";
  if (status === 401) return "UNAUTHORIZED";
  if (status === 403) return "FORBIDDEN";
  if (status >= 400 && status < 500) return "BAD_REQUEST";
  return "STORE_UNAVAILABLE";
}

/** The per-document code of a failed write (`conflict`, `forbidden`, …); anything else is `BAD_REQUEST`. */
export function writeErrorCode(error: string | undefined, status?: number): WriteErrorCode {
  const code = codeForCouchError(error, status);
  return code === "CONFLICT" || code === "FORBIDDEN" || code === "UNAUTHORIZED" ? code : "BAD_REQUEST";
}

/** True when `e` is a failure to reach the server at all (refused, reset, DNS, timeout). */
export function isNetworkError(e: unknown): boolean {
  const f = facts(e);
  return f.status === undefined && (f.netCode !== undefined || NETWORK_MESSAGE.test(f.reason));
}

const HINTS: Record<StoreErrorCode, string> = {
  NOT_FOUND: "check the id or database name",
  CONFLICT: "read the current revision and retry the write on top of it",
  UNAUTHORIZED: "check the credentials in the database URL",
  FORBIDDEN: "the database refused the write (validate_doc_update or permissions)",
  BAD_REQUEST: "the request was malformed; check the arguments",
  STORE_UNAVAILABLE: "check that the server is running and reachable, then retry",
  INTERNAL: "this is a bug or an unexpected backend answer",
};

/** A copy of a thrown value safe to keep as `cause`: same name, code and status, redacted message. */
function sanitized(e: unknown, depth = 0): unknown {
  if (depth > 3 || typeof e !== "object" || e === null) return typeof e === "string" ? redact(e) : e;
  const copy = new Error(redact(str(prop(e, "message")) ?? str(prop(e, "reason")) ?? "unknown error"));
  const name = str(prop(e, "name"));
  if (name !== undefined) copy.name = name;
  const extra = copy as Error & Record<string, unknown>;
  for (const key of ["status", "statusCode", "code", "error", "reason", "errno"]) {
    const v = prop(e, key);
    if (typeof v === "string") extra[key] = redact(v);
    else if (typeof v === "number") extra[key] = v;
  }
  const inner = prop(e, "cause");
  if (inner !== undefined) extra.cause = sanitized(inner, depth + 1);
  return copy;
}

/**
 * Converts anything a backend threw into a {@link DivanError}. A `DivanError` is returned as is.
 * The message names the operation, the store and the id, says what to do, and contains no password.
 */
export function toDivanError(e: unknown, context: ErrorContext): DivanError {
  if (e instanceof DivanError) return e;
  const f = facts(e);
  const code: StoreErrorCode =
    f.status === undefined && (f.netCode !== undefined || NETWORK_MESSAGE.test(f.reason))
      ? "STORE_UNAVAILABLE"
      : codeForCouchError(f.error, f.status);
  const what = context.id === undefined ? context.operation : `${context.operation} ${JSON.stringify(context.id)}`;
  const message = redact(`${what} on ${context.store} failed (${code}): ${f.reason}; ${HINTS[code]}`);
  const details: Record<string, unknown> = { operation: context.operation, store: redact(context.store), reason: redact(f.reason) };
  if (context.id !== undefined) details.id = context.id;
  if (f.status !== undefined) details.status = f.status;
  if (f.error !== undefined) details.error = f.error;
  if (f.netCode !== undefined) details.networkCode = f.netCode;
  return new DivanError(code, message, { cause: sanitized(e), details });
}

/** Runs `fn` and rethrows any failure as a {@link DivanError} (see {@link toDivanError}). */
export async function mapErrors<T>(context: ErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toDivanError(e, context);
  }
}
