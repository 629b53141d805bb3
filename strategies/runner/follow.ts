/**
 * The source's `_changes`, followed by a run: each change is matched against the run's own writes (`id@rev`), so only
 * the changes of others are left for the dirty pass.
 *
 * A change and its write may come in either order (the change can be read before the `_bulk_docs` answer arrives):
 * whichever comes second cancels the first. Followed while the scan writes, both sides hold only what is in flight,
 * never every document the run wrote.
 */
import type { ChangesPage } from "../../store/port.js";

/** Reads one page of the source's `_changes` (with the run's retry). */
export type ReadChanges = (since: string, limit: number) => Promise<ChangesPage>;

export class ChangeFollower {
  /** The sequence the feed has been read up to. */
  since: string;
  /** Writes of the run whose change has not been read yet (`id@rev`). */
  private readonly written = new Set<string>();
  /**
   * Changes read that no write of the run matched (yet), in the order read: `id@rev` → the id and the sequence the
   * page it came in was read from (every change before that one is matched or taken).
   */
  private readonly unmatched = new Map<string, { readonly id: string; readonly from: string }>();
  private reading: Promise<void> | undefined;
  /** Why a read of {@link follow} failed. */
  failure: unknown;

  constructor(
    private readonly readChanges: ReadChanges,
    since: string,
  ) {
    this.since = since;
  }

  /** Records a write of the run (it is not someone else's change). */
  wrote(id: string, rev: string): void {
    const key = `${id}@${rev}`;
    if (!this.unmatched.delete(key)) this.written.add(key);
  }

  /** Changes read that no write of the run matched: while none is in flight, the changes of others. */
  get pending(): number {
    return this.unmatched.size;
  }

  /** Writes of the run whose change has not been read yet: how far the reading lags behind the writing. */
  get lag(): number {
    return this.written.size;
  }

  /** How many entries it holds: writes whose change is not read yet and changes no write matched (yet). */
  get held(): number {
    return this.written.size + this.unmatched.size;
  }

  /** Reads one page of at most `limit` changes after {@link since}; how many it had. */
  async read(limit: number): Promise<number> {
    const s = this.since;
    const page = await this.readChanges(s, limit);
    for (const c of page.results) {
      const key = `${c.id}@${c.changes[0]?.rev ?? ""}`;
      if (!this.written.delete(key)) this.unmatched.set(key, { id: c.id, from: s });
    }
    this.since = page.lastSeq;
    return page.results.length;
  }

  /**
   * While the scan writes: reads pages of `limit` until one is short, unless such a read is under way. A failure
   * stops following; {@link failure} and {@link settled} give it.
   */
  follow(limit: number): void {
    if (this.reading !== undefined || this.failure !== undefined) return;
    this.reading = (async () => {
      try {
        while ((await this.read(limit)) === limit);
      } catch (e) {
        this.failure ??= e;
      } finally {
        this.reading = undefined;
      }
    })();
  }

  /** Resolves when no read of {@link follow} is under way; rejects with the failure of one. */
  async settled(): Promise<void> {
    await this.reading;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Takes the ids of up to `n` unmatched changes, the earliest read first (the same id at two revisions is one id). */
  take(n: number): string[] {
    const ids = new Set<string>();
    for (const [key, { id }] of this.unmatched) {
      if (ids.size >= n && !ids.has(id)) break;
      ids.add(id);
      this.unmatched.delete(key);
    }
    return [...ids];
  }

  /**
   * The sequence a checkpoint may hold once the changes taken so far are migrated: every change before it is the
   * run's own or taken. While none of the run's writes is in flight.
   */
  get done(): string {
    for (const { from } of this.unmatched.values()) return from;
    return this.since;
  }
}
