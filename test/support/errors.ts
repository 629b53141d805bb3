/** The DivanError a promise rejects with; fails the test when it resolves or rejects with anything else. */
import { isDivanError, type DivanError } from "../../core/errors.js";

export async function rejection(p: Promise<unknown>): Promise<DivanError> {
  try {
    await p;
  } catch (e) {
    if (isDivanError(e)) return e;
    throw new Error(`expected a DivanError, got ${String(e)}`, { cause: e });
  }
  throw new Error("expected a rejection, but the promise resolved");
}
