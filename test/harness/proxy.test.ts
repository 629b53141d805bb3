import { describe, expect, it } from "vitest";
import { bookkeepingBytes, requestKind } from "../../examples/todo-app/proxy.js";

const couchSeq = "12-g1AAAACbeJzLYWBgYMpgTmEQTM4vTc5ISXIwNDLXMwBCwxyQVCJDUv3___-zMpgTmXKBAuyGpsapKYam2DTgMSaPBUgyNACp";

describe("what the counting proxy does not count as replicated", () => {
  it("takes the update sequences out of a _changes answer, one JSON body or one per line", () => {
    const body = JSON.stringify({ results: [{ seq: couchSeq, id: "a", changes: [{ rev: "1-x" }] }, { seq: 13, id: "b", changes: [] }], last_seq: couchSeq, pending: 0 });
    expect(bookkeepingBytes("GET _changes", body)).toBe(2 * (couchSeq.length + 2) + 2);
    const continuous = `${JSON.stringify({ seq: "7", id: "a", changes: [] })}\n\n${JSON.stringify({ last_seq: "7" })}\n`;
    expect(bookkeepingBytes("POST _changes", continuous)).toBe(6);
    expect(bookkeepingBytes("POST _changes", '{"results":[{"seq":"7","id":"a","chan')).toBe(0);
  });

  it("counts database info answers and _local checkpoints as bookkeeping, and nothing of documents", () => {
    const checkpoint = JSON.stringify({ _id: "_local/x", session_id: "s", history: [{ last_seq: couchSeq, session_id: "s" }], last_seq: couchSeq });
    expect(bookkeepingBytes(requestKind("PUT", "/db/_local/x"), checkpoint)).toBe(checkpoint.length);
    expect(bookkeepingBytes(requestKind("GET", "/db/_local/x"), checkpoint)).toBe(checkpoint.length);
    expect(bookkeepingBytes(requestKind("GET", "/db"), '{"db_name":"db","update_seq":"1"}')).toBe(33);
    const docs = JSON.stringify({ docs: [{ _id: "a", seq: couchSeq }] });
    expect(bookkeepingBytes(requestKind("POST", "/db/_bulk_docs"), docs)).toBe(0);
    expect(bookkeepingBytes(requestKind("GET", "/db/a"), docs)).toBe(0);
  });
});
