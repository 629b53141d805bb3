import { describe, expect, it } from "vitest";
import { DivanError } from "../../core/errors.js";
import { codeForCouchError, isNetworkError, toDivanError, writeErrorCode } from "../../store/errors.js";

const ctx = { operation: "get", store: "http://admin:***@db.example:5984/todos", id: "todo-item:1" };

describe("store error mapping", () => {
  it.each([
    [{ status: 404, name: "not_found", message: "missing" }, "NOT_FOUND"],
    [{ status: 409, name: "conflict", message: "Document update conflict" }, "CONFLICT"],
    [{ status: 401, name: "unauthorized", message: "Name or password is incorrect." }, "UNAUTHORIZED"],
    [{ status: 403, name: "forbidden", message: "no writes" }, "FORBIDDEN"],
    [{ status: 400, name: "bad_request", message: "Invalid rev format" }, "BAD_REQUEST"],
    [{ status: 503, name: "unknown_error", message: "Service Unavailable" }, "STORE_UNAVAILABLE"],
  ])("maps a PouchDB error %o to %s", (raw, code) => {
    const err = toDivanError(raw, ctx);
    expect(err.code).toBe(code);
    expect(err.message).toContain(raw.message);
    expect(err.details.status).toBe(raw.status);
  });

  it("maps a nano error (statusCode + CouchDB body) and keeps the reason", () => {
    const raw = Object.assign(new Error("maintenance"), { statusCode: 403, error: "forbidden", reason: "maintenance" });
    const err = toDivanError(raw, { operation: "put", store: "s", id: "x" });
    expect(err.code).toBe("FORBIDDEN");
    expect(err.message).toContain("maintenance");
    expect(err.message).toContain('put "x"');
    expect(err.details).toMatchObject({ status: 403, error: "forbidden", reason: "maintenance", id: "x" });
  });

  it("treats a refused connection, found anywhere in the cause chain, as STORE_UNAVAILABLE", () => {
    const raw = new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }) });
    expect(isNetworkError(raw)).toBe(true);
    const err = toDivanError(raw, ctx);
    expect(err.code).toBe("STORE_UNAVAILABLE");
    expect(err.details.networkCode).toBe("ECONNREFUSED");
    expect(err.message).toMatch(/reachable/);
  });

  it("redacts passwords from the message, the details and the kept cause", () => {
    const raw = Object.assign(new Error("request to http://admin:s3cret@127.0.0.1:1/db failed, reason: connect ECONNREFUSED"), {
      code: "ECONNREFUSED",
      cause: new Error("at http://bob:hunter2@host/x"),
    });
    const err = toDivanError(raw, { operation: "info", store: "http://admin:s3cret@127.0.0.1:1/db" });
    const everything = [err.message, JSON.stringify(err.toJSON()), String(err.cause), String((err.cause as Error).cause)].join("\n");
    expect(everything).not.toContain("s3cret");
    expect(everything).not.toContain("hunter2");
    expect(err.message).toContain("admin:***@127.0.0.1:1");
  });

  it("passes a DivanError through unchanged and maps unknown failures to INTERNAL", () => {
    const own = new DivanError("CONFLICT", "already mapped");
    expect(toDivanError(own, ctx)).toBe(own);
    expect(toDivanError(new RangeError("oops"), ctx).code).toBe("INTERNAL");
    expect(toDivanError("plain string", ctx).code).toBe("INTERNAL");
  });

  it("derives per-document write codes from CouchDB error names", () => {
    expect(writeErrorCode("conflict")).toBe("CONFLICT");
    expect(writeErrorCode("forbidden")).toBe("FORBIDDEN");
    expect(writeErrorCode("unauthorized")).toBe("UNAUTHORIZED");
    expect(writeErrorCode("doc_validation")).toBe("BAD_REQUEST");
    expect(writeErrorCode(undefined, 500)).toBe("BAD_REQUEST");
    expect(codeForCouchError(undefined, 412)).toBe("CONFLICT");
    expect(codeForCouchError("file_exists", undefined)).toBe("CONFLICT");
  });
});
