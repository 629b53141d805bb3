/**
 * The one interface every migration strategy implements, and the taxonomy that classifies strategies.
 *
 * The one interface every migration strategy implements, and the taxonomy
 * that classifies strategies. A strategy sees the world only through the store port: the server
 * databases it is given, and each device's own local store.
 *
 * The comparison harness (`examples/todo-app`) drives a strategy through a scenario:
 * `prepareServer` once, `openDevice` for every device, `release` when the new app version ships,
 * `upgradeDevice` when a device installs it, `settle` to wait for server-side background work,
 * `retire` when support for the old app version ends, and `close` at the end.
 */
import type { StepDefinition } from "../adapters/steps.js";
import type { Registry } from "../schemas/registry.js";
import type { TranslatingProxyFactory } from "./proxy.js";
import type { DocumentStore, Selector } from "../store/port.js";

/** Where data is stored (taxonomy axis 1). */
export type Storage = "single-version" | "multi-version" | "multi-db";
/** When data is changed (taxonomy axis 2); `none` for strategies that never change documents. */
export type Timing = "eager" | "lazy" | "none";
/** Where data is changed (taxonomy axis 3); `none` for strategies that never change documents. */
export type Place = "server" | "client" | "none";

/** The cell of the taxonomy a strategy occupies. */
export interface Taxonomy {
  readonly storage: Storage;
  readonly timing: Timing;
  readonly place: Place;
}

/** Type → major version: the documents an app version needs (as `resolveManifest` returns it). */
export type VersionShape = Readonly<Record<string, number>>;

/** An app version and the shape its manifest resolves to. */
export interface AppVersion {
  /** Semantic version of the app, e.g. `"6.0.0"`. */
  readonly version: string;
  /** The documents (type → major) this app version reads and writes. */
  readonly shape: VersionShape;
}

/** The app change a strategy is built to handle: from one app version to another. */
export interface AppChange {
  /** The app version before the change, e.g. `"4.0.0"`. */
  readonly from: string;
  /** The app version after the change, e.g. `"6.0.0"`. */
  readonly to: string;
}

/**
 * What every strategy factory takes: the app change the strategy is built for, from the app's own manifests
 * (`divan compare --config` takes it from `divan.config.*`). The app's steps and registry come with every
 * {@link ServerContext} and {@link DeviceContext}; factories that take `steps` only override those.
 */
export interface StrategyOptions {
  /** The app versions the strategy migrates between. */
  readonly change: AppChange;
}

/** The invariants the harness checks at quiescence after every scenario. */
export const INVARIANTS = [
  "converged",
  "no-lost-documents",
  "no-lost-fields",
  "apps-read-their-data",
  "bounded-writes",
  "expected-conflicts-only",
] as const;

/** The name of one invariant. */
export type InvariantName = (typeof INVARIANTS)[number];

/**
 * When a caveat applies, as a condition on what app versions did when, so it can be judged on any
 * script (not only on named scenarios):
 *
 * - `old-app-after-release`: a device used the old app version after the new one shipped. For
 *   `apps-read-their-data` it covers only what such devices read and could not do, and what a device that synced
 *   on the old app after the release could not do on the new app before it synced on the new one, with an entity it
 *   never received (it holds no document of it, and the app found none).
 * - `old-app-wrote-after-release`: writes made with the old app version reached the server only after
 *   the new one shipped (written after the release, or written before it and pushed after).
 * - `retired`: the old app version was retired.
 * - `refused-write-kept`: the violation concerns a write the server refused (a entity, or a device's revision
 *   of a document) that the strategy reports and keeps where it can be recovered ({@link Strategy.refusedWrites}).
 * - `untranslated-old-delete`: the violation concerns an entity the old app version deleted after the new one shipped
 *   (or deleted before and pushed after), whose deletion reached the server when no device running the new version
 *   would translate it any more: since it reached the server, no new-app device synced twice (pulled the deletion,
 *   then pushed what it translated of it). For strategies in which only new-app devices translate, once every such
 *   device is abandoned; a device that syncs on the new app later (or joins) translates it.
 *
 * There is no condition for a device that installed the new app offline: its new app must read and edit the
 * device's data before it syncs, in every strategy.
 */
export type CaveatCondition = "old-app-after-release" | "old-app-wrote-after-release" | "retired" | "refused-write-kept" | "untranslated-old-delete";

/** A write the server refused, as a strategy reports and keeps it ({@link Strategy.refusedWrites}). */
export interface RefusedWrite {
  /** The document's id. */
  readonly id: string;
  /** The refused revision, kept with its history where it can be recovered. */
  readonly rev: string;
  /** The revisions kept with it, newest first (`rev` and the ones it grew from, e.g. a device's earlier refused edits). */
  readonly history: readonly string[];
  /** Where it is kept (e.g. a server database). */
  readonly keptIn: string;
}

/**
 * A documented weakness: the strategy is expected to violate `invariant` whenever `when` holds (always
 * when absent). A violation that matches a caveat is reported as expected; any other violation is a
 * failure. Silent data loss, resurrected deletions, divergence and unreported conflicts are never caveats.
 */
export interface Caveat {
  readonly invariant: InvariantName;
  /** The condition under which the violation happens; always when absent. */
  readonly when?: CaveatCondition;
  /** Why the violation happens, in one sentence a reader of the report understands. */
  readonly reason: string;
}

/** A file of migration code the app team writes for this strategy (counted as lines of code). */
export interface MigrationCode {
  /** Path relative to the package root, e.g. `examples/todo-app/steps/v3.ts`. */
  readonly path: string;
  /** What the file is for. */
  readonly why: string;
}

/** A deterministic clock: the harness passes a seeded one, so pure code never reads the real time. */
export interface Clock {
  /** Milliseconds since the epoch; advances on every call. */
  now(): number;
  /** {@link now} as an ISO 8601 string. */
  iso(): string;
}

/**
 * The app team's migration definitions, as the harness (or an app) hands them to a strategy:
 * strategies never import an app's steps or schemas themselves.
 */
export interface AppDefinitions {
  /** The steps between adjacent shapes of the app's entity families. */
  readonly steps: readonly StepDefinition[];
  /** The app's schemas. */
  readonly registry: Registry;
}

/** What a strategy is given to act on the server. */
export interface ServerContext extends AppDefinitions {
  /** Name of the main server database (the one apps replicate with unless the strategy says otherwise). */
  readonly database: string;
  /** The main server database. */
  readonly main: DocumentStore;
  /**
   * Opens (and creates if needed) another server database whose name starts with {@link database}
   * plus `suffix` (e.g. `"-v3"`), so the harness can measure and delete it. Returns the same store for
   * the same suffix.
   */
  open(suffix: string): Promise<DocumentStore>;
  /** Every app version the example knows, oldest first. */
  readonly apps: readonly AppVersion[];
  /** The seeded clock. */
  readonly clock: Clock;
  /** Starts a translating proxy (`server/lazy`), for strategies that serve translated views. Optional. */
  readonly translatingProxy?: TranslatingProxyFactory;
}

/** One replication a device runs with the server. */
export interface SyncChannel {
  /** The device-side store that replicates. */
  readonly local: DocumentStore;
  /** The server database: `""` for the main one, else the suffix given to {@link ServerContext.open}. */
  readonly database: string;
  /** Only pull server documents matching this Mango selector (the app version's channel). */
  readonly pullSelector?: Selector;
  /** Only push local documents matching this Mango selector. */
  readonly pushSelector?: Selector;
  /**
   * A CouchDB-compatible database URL (without credentials) to replicate with instead of server database
   * {@link database}, e.g. a translating proxy in front of it (`server-lazy`). The harness reaches it
   * through its counting proxy, so the traffic is measured, and checks convergence against it.
   */
  readonly remoteUrl?: string;
}

/** How a device's app reaches its data, as a strategy sets it up. */
export interface DeviceBinding {
  /** The store the app reads and writes (the local store itself, or a wrapper such as a live adapter). */
  readonly store: DocumentStore;
  /** The replications that keep this device in sync with the server. */
  readonly sync: readonly SyncChannel[];
  /**
   * Called after each sync of the device (every channel pushed, then pulled), as an app's sync loop would:
   * a binding that waits for the server (e.g. after an upgrade made offline, until the server's translations
   * arrived) returns the binding to use from then on; `undefined` keeps this one.
   */
  readonly synced?: () => Promise<DeviceBinding | undefined>;
}

/** What a strategy is given to act on one device. */
export interface DeviceContext extends AppDefinitions {
  /** The device's name in the scenario (for logs). */
  readonly device: string;
  /** The app version the device runs (after an upgrade: the new one). */
  readonly app: AppVersion;
  /** The device's main local database (PouchDB). */
  readonly local: DocumentStore;
  /** Opens (and creates) another local database of this device, e.g. one per schema version. */
  openLocal(suffix: string): Promise<DocumentStore>;
  /**
   * Server database `database` (`""` for the main one) as this device reaches it: through the same
   * connection its sync uses (so the traffic is measured), rejecting with `STORE_UNAVAILABLE` while the
   * device is offline. For strategies that pull while a device upgrades.
   */
  server(database: string): Promise<DocumentStore>;
  /**
   * The database at `url` (e.g. a translating proxy's, as in {@link SyncChannel.remoteUrl}) reached the way
   * this device's sync reaches it (measured), rejecting with `STORE_UNAVAILABLE` while the device is
   * offline. For strategies that push or pull through such a database while a device upgrades. Optional.
   */
  remote?(url: string): Promise<DocumentStore>;
  /** Every app version the example knows, oldest first. */
  readonly apps: readonly AppVersion[];
  /** The seeded clock. */
  readonly clock: Clock;
}

/** What releasing a new app version did on the server. */
export interface ReleaseResult {
  /** Milliseconds during which the server refused writes (a maintenance window); 0 for none. */
  readonly downtimeMs: number;
  /** Documents the release wrote on the server (e.g. an eager migration). */
  readonly documentsWritten: number;
}

/** What retiring an old app version did. */
export interface RetireResult {
  /** Documents of the retired version that were purged or deleted. */
  readonly purgedDocs: number;
  /** A sentence for the report. */
  readonly detail: string;
}

/**
 * A migration strategy. Created by a factory in `strategies/<name>/index.ts` for the app's change; the comparison
 * lists every strategy in `examples/strategies.ts`.
 */
export interface Strategy {
  /** Short, stable, kebab-case name used on the command line and in reports. */
  readonly name: string;
  /** One sentence describing the strategy. */
  readonly description: string;
  /** The taxonomy cell. */
  readonly taxonomy: Taxonomy;
  /** The app change this strategy handles. */
  readonly change: AppChange;
  /** Invariants this strategy is documented to violate, and why. */
  readonly caveats: readonly Caveat[];
  /**
   * The migration code the app team writes to use this strategy: `"steps"` (the app's step modules, which
   * the harness knows), or a list of files (empty: none).
   */
  readonly migrationCode: "steps" | readonly MigrationCode[];

  /** Prepares the server before any device exists (design documents, extra databases, transformers). */
  prepareServer(server: ServerContext): Promise<void>;
  /** The new app version (`to`) ships: migrate, start transformers, open maintenance windows… */
  release(server: ServerContext, from: AppVersion, to: AppVersion): Promise<ReleaseResult>;
  /** How a device running `device.app` opens its data: the store its app uses and what it replicates. */
  openDevice(device: DeviceContext): Promise<DeviceBinding>;
  /**
   * A device installs a new app version (`device.app` is the new one, `from` the old one): migrate its
   * local data if the strategy does that, and return the new binding. `previous` is the old binding.
   */
  upgradeDevice(device: DeviceContext, from: AppVersion, previous: DeviceBinding): Promise<DeviceBinding>;
  /** Resolves when server-side background work (transformers, re-migration) has caught up. */
  settle(server: ServerContext): Promise<void>;
  /**
   * Resolves when the server's live work (a transformer following `_changes`) has handled every write made so
   * far, without the clean-ups `settle` runs. Between a device's push and its pull, as time passes between two
   * syncs in the field: what another device pushed before is translated when this one pulls. A strategy with
   * nothing live on the server leaves it out.
   */
  caughtUp?(server: ServerContext): Promise<void>;
  /** Support for `app` ends: purge what only it needed. */
  retire(server: ServerContext, app: AppVersion): Promise<RetireResult>;
  /** Stops everything the strategy started (feeds, transformers). Idempotent. */
  close(): Promise<void>;
  /**
   * The writes the server refused (e.g. made against a database locked for a migration) and where each is
   * kept; a strategy that refuses no write leaves it out.
   */
  refusedWrites?(server: ServerContext): Promise<readonly RefusedWrite[]>;
}

/**
 * The plainest binding: the app reads and writes the device's own local database, which replicates
 * with the main server database. What every single-database strategy starts from.
 */
export function bindToMain(device: DeviceContext): DeviceBinding {
  return { store: device.local, sync: [{ local: device.local, database: "" }] };
}

/**
 * The lifecycle of a strategy that never changes a document (`none`, `non-breaking`): nothing to
 * prepare, release, settle or close, and every device uses {@link bindToMain}.
 */
export const WITHOUT_MIGRATION: Pick<Strategy, "prepareServer" | "release" | "openDevice" | "upgradeDevice" | "settle" | "close"> = {
  prepareServer: async () => {},
  release: async () => ({ downtimeMs: 0, documentsWritten: 0 }),
  openDevice: async (device) => bindToMain(device),
  upgradeDevice: async (device) => bindToMain(device),
  settle: async () => {},
  close: async () => {},
};
