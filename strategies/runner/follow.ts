/**
 * The source's `_changes`, followed by a run: each change is matched against the run's own writes (`id@rev`), so only
 * the changes of others are left for the dirty pass.
 *
 * The feed is read with `style: "all_docs"`: a change lists every leaf revision of its document, and it is the run's
 * own only when every one of them is a revision the run wrote. The default style lists only the winner, and an edit
 * of another (made between the run's read and its write of the child of the revision it read) that loses to the run's
 * write would then be taken for the run's own change and left unmigrated, a silent conflict.
 *
 * A change and its write may come in either order (the change can be read before the `_bulk_docs` answer arrives):
 * whichever comes second cancels the first. Followed while the scan writes, both sides hold only what is in flight,
 * never every document the run wrote.
 */
import type { ChangesPage } from "../../store/port.js";

/** Reads one page of the source's `_changes` with `style: "all_docs"` (with the run's retry). */
export type ReadChanges = (since: string, limit: number) => Promise<ChangesPage>;

/** A change read that the run's writes did not match (yet). */
interface Unmatched {
  readonly id: string;
  /** The sequence the page it came in was read from (every change before it is matched or taken). */
  readonly from: string;
  /** Its leaf revisions no write of the run matched yet. */
  readonly open: Set<string>;
}

export class ChangeFollower {
  /** The sequence the feed has been read up to. */
  since: string;
  /** Writes of the run whose change has not been read yet (`id@rev`). */
  private readonly written = new Set<string>();
  /** Changes read that the run's writes did not match (yet), in the order read. */
  private readonly unmatched = new Set<Unmatched>();
  /** The unmatched changes listing a leaf revision (`id@rev`) that no write of the run matched yet. */
  private readonly waiting = new Map<string, Unmatched[]>();
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
    const changes = this.waiting.get(key);
    if (changes === undefined) return void this.written.add(key);
    this.waiting.delete(key);
    for (const c of changes) {
      c.open.delete(rev);
      if (c.open.size === 0) this.unmatched.delete(c);
    }
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
      const open = new Set<string>();
      for (const { rev } of c.changes) if (!this.written.delete(`${c.id}@${rev}`)) open.add(rev);
      if (open.size === 0) continue;
      const change: Unmatched = { id: c.id, from: s, open };
      this.unmatched.add(change);
      for (const rev of open) {
        const key = `${c.id}@${rev}`;
        const others = this.waiting.get(key);
        if (others === undefined) this.waiting.set(key, [change]);
        else others.push(change);
      }
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
    for (const change of this.unmatched) {
      if (ids.size >= n && !ids.has(change.id)) break;
      ids.add(change.id);
      this.unmatched.delete(change);
      for (const rev of change.open) {
        const key = `${change.id}@${rev}`;
        const rest = this.waiting.get(key)?.filter((c) => c !== change) ?? [];
        if (rest.length > 0) this.waiting.set(key, rest);
        else this.waiting.delete(key);
      }
    }
    return [...ids];
  }

  /**
   * The sequence a checkpoint may hold once the changes taken so far are migrated: every change before it is the
   * run's own or taken. While none of the run's writes is in flight.
   */
  get done(): string {
    for (const { from } of this.unmatched) return from;
    return this.since;
  }
}
