/**
 * The CouchDB status and error name the translating proxy answers for a divan error code.
 */

const STATUS: Record<string, [number, string]> = {
  NOT_FOUND: [404, "not_found"],
  CONFLICT: [409, "conflict"],
  FORBIDDEN: [403, "forbidden"],
  SCHEMA_INVALID: [403, "forbidden"],
  UNAUTHORIZED: [401, "unauthorized"],
  BAD_REQUEST: [400, "bad_request"],
};

/** CouchDB status and error name of a divan error code. */
export function couchStatusOf(code: string): [number, string] {
  return STATUS[code] ?? [500, code === "STORE_UNAVAILABLE" ? "service_unavailable" : "unknown_error"];
}
