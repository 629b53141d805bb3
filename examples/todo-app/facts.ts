/**
 * The facts of a run that caveats are judged on ({@link RunFacts}), recorded as the world plays events and devices
 * sync, whatever the script.
 */
import type { AppVersion } from "../../strategies/types.js";
import type { ScenarioEvent } from "./events.js";

/** Facts of a run that caveats are judged on (what app versions did when), whatever the script. */
export interface RunFacts {
  /** A device used the old app version after the new one shipped (it read, synced or wrote, or is still on it at the end). */
  oldAppAfterRelease: boolean;
  /**
   * Todos (entity ids) whose old-app writes reached the server only after the new version shipped: written
   * with the old app after the release, or before it on a device that had not pushed them yet.
   */
  oldWrites: Set<string>;
  /** The old app version was retired. */
  retired: boolean;
  /**
   * Todos (entity ids) the old app deleted whose deletion reached the server after the last translation pass of
   * every device running the new app: since it reached the server, no such device synced twice (pulled the
   * deletion, then pushed what it translated of it). A device that upgrades translates its own deletions.
   */
  untranslatedDeletes: Set<string>;
  /**
   * Writes the server refused that the strategy reports and keeps ({@link Strategy.refusedWrites}): their
   * `id@rev`s and entity ids. Filled when the invariants are checked.
   */
  refusedKept?: ReadonlySet<string>;
}

/** What the recorder reads and marks of a device. */
export interface FactsDevice {
  readonly name: string;
  readonly app: AppVersion;
  readonly gone: boolean;
  /**
   * Synced on the old app after the release, and not on the new app since: what it holds it received on the old
   * app's side only (in `transactional`, from the locked old database, which never receives what new apps write).
   */
  oldSideOnly: boolean;
}

/** What the recorder reads of the world. */
export interface FactsWorld {
  /** Whether the new version shipped. */
  released(): boolean;
  readonly devices: ReadonlyMap<string, FactsDevice>;
  /** The entity id of a todo label, once created. */
  idOf(label: string): string | undefined;
  /** The todo labels a device wrote and has not pushed yet. */
  unpushed(device: string): Iterable<string>;
}

/** Event kinds that change a device's state without using its app. */
const LIFECYCLE = new Set<ScenarioEvent["kind"]>(["offline", "online", "upgrade", "abandon", "reinstall"]);

/** Event kinds that are user writes. */
const WRITES = new Set<ScenarioEvent["kind"]>(["create", "edit-title", "set-done", "set-status", "set-new-field", "delete"]);

/** Records the {@link RunFacts} of one run. */
export class FactsRecorder {
  readonly facts: RunFacts = { oldAppAfterRelease: false, oldWrites: new Set(), retired: false, untranslatedDeletes: new Set() };
  /** Syncs so far (numbers each sync, in order). */
  #syncs = 0;
  /** Per device, the todos its old app deleted since it last synced. */
  readonly #oldDeletes = new Map<FactsDevice, Set<string>>();
  /** Todo of {@link RunFacts.untranslatedDeletes} → the number of the sync that pushed its deletion. */
  readonly #deletesReached = new Map<string, number>();
  /** Per device running the new app, the number of its last sync on it. */
  readonly #newAppSyncs = new Map<FactsDevice, number>();

  constructor(
    private readonly world: FactsWorld,
    private readonly oldApp: AppVersion,
  ) {}

  #isOld(d: FactsDevice): boolean {
    return d.app.version === this.oldApp.version;
  }

  /** After `event` was played. */
  played(event: ScenarioEvent): void {
    const { world, facts } = this;
    if (event.kind === "release") {
      for (const d of world.devices.values()) {
        if (d.gone || !this.#isOld(d)) continue;
        for (const label of world.unpushed(d.name)) {
          const id = world.idOf(label);
          if (id !== undefined) facts.oldWrites.add(id);
        }
      }
      return;
    }
    if (!world.released()) return;
    const d = "device" in event ? world.devices.get(event.device) : undefined;
    if (d !== undefined && this.#isOld(d) && !LIFECYCLE.has(event.kind)) {
      facts.oldAppAfterRelease = true;
      const id = "todo" in event && WRITES.has(event.kind) ? world.idOf(event.todo) : undefined;
      if (id !== undefined) facts.oldWrites.add(id);
    }
    if (event.kind === "retire") facts.retired = true;
  }

  /** `d`'s app listed its todos: an old app's list after the release is one of the old app's reads. */
  listed(d: FactsDevice): void {
    if (this.world.released() && this.#isOld(d)) this.facts.oldAppAfterRelease = true;
  }

  /** `d`'s app deleted todo `id`. */
  deleted(d: FactsDevice, id: string): void {
    if (this.#isOld(d)) this.#oldDeletes.set(d, (this.#oldDeletes.get(d) ?? new Set()).add(id));
  }

  /** `d` installed the new app: its new app translates its old app's deletions. */
  upgraded(d: FactsDevice): void {
    this.#oldDeletes.delete(d);
  }

  /** `d` synced: which side its data came from, which deletions reached whom. */
  synced(d: FactsDevice): void {
    const seq = ++this.#syncs;
    const old = this.#isOld(d);
    const released = this.world.released();
    if (old) {
      // Before the release, no version but the old one exists to translate a deletion into.
      for (const id of released ? (this.#oldDeletes.get(d) ?? []) : []) {
        this.facts.untranslatedDeletes.add(id);
        this.#deletesReached.set(id, seq);
      }
      this.#oldDeletes.delete(d);
    }
    if (!released) return;
    d.oldSideOnly = old;
    if (old) {
      this.facts.oldAppAfterRelease = true;
      return;
    }
    // This sync pushed what the device translated of everything its previous sync pulled.
    const previous = this.#newAppSyncs.get(d);
    this.#newAppSyncs.set(d, seq);
    if (previous === undefined) return;
    for (const [id, at] of this.#deletesReached) {
      if (at > previous) continue;
      this.#deletesReached.delete(id);
      this.facts.untranslatedDeletes.delete(id);
    }
  }
}
