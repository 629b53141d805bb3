/**
 * The one retry loop for a read-modify-write that loses to a concurrent writer (HTTP 409, `CONFLICT`): read again,
 * decide again, write again, up to {@link CONFLICT_ATTEMPTS} times.
 */
import { DivanError, isDivanError, type DivanErrorDetails } from "./errors.js";

/** Attempts of a read-modify-write before it gives up with `CONFLICT`. */
export const CONFLICT_ATTEMPTS = 10;

/** What an attempt returns when its write lost (e.g. a compare-and-set answered `false`) and it should run again. */
export const AGAIN: unique symbol = Symbol("divan.again");

/** Options of {@link retryOnConflict}. */
export interface ConflictRetryOptions {
  /** Attempts in all (default {@link CONFLICT_ATTEMPTS}). */
  readonly attempts?: number;
  /** Which thrown errors mean "lost to a concurrent write" (default: a `DivanError` with code `CONFLICT`). */
  readonly isConflict?: (e: unknown) => boolean;
  /** Details of the `CONFLICT` thrown when every attempt lost (e.g. the document id). */
  readonly details?: DivanErrorDetails;
}

/**
 * Runs `attempt` (which reads, decides and writes) until it returns a value: again when it throws a conflict or
 * returns {@link AGAIN}. Other errors propagate at once.
 *
 * @param what what is being written, for the error message (`"_local/divan-jobs on todos"`).
 * @throws DivanError `CONFLICT` when every attempt lost (its `cause` is the last conflict thrown).
 */
export async function retryOnConflict<T>(what: string, attempt: () => Promise<T | typeof AGAIN>, options: ConflictRetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? CONFLICT_ATTEMPTS;
  const isConflict = options.isConflict ?? ((e: unknown) => isDivanError(e, "CONFLICT"));
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const result = await attempt();
      if (result !== AGAIN) return result;
    } catch (e) {
      if (!isConflict(e)) throw e;
      last = e;
    }
  }
  throw new DivanError("CONFLICT", `${what} kept changing: ${attempts} writes in a row lost to concurrent ones; try again`, {
    ...(last === undefined ? {} : { cause: last }),
    ...(options.details === undefined ? {} : { details: options.details }),
  });
}
