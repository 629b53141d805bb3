/**
 * Replication channels: the Mango selector an app version replicates with when every version of a document
 * lives in one database.
 *
 * Every version of a document side by side: `task:<id>:v:3` next to `task:<id>:v:1`.
 *
 * Two forms, both plain Mango that PouchDB replication (`selector`) and CouchDB `_changes?filter=_selector`
 * accept:
 *
 * - **exact** (`$or`): only the documents of the versions the app reads and writes, plus (by default)
 *   documents that carry no type at all (notices such as `app-support` or the `divan-retired` signal):
 *   `{ $or: [ { schema: "task", version: 3 }, { schema: "task-state", version: 1 }, { schema: { $exists: false } } ] }`.
 *   Smallest traffic; a device that upgrades pulls its new versions then.
 * - **newer** (`$not … $lt`): everything except versions older than the app's, so newer documents
 *   already wait on the device when the app updates (a "seamless migration"), and unknown types flow
 *   through: `{ $not: { schema: "task", version: { $lt: 2 } } }`. With several types this is written
 *   `{ $nor: [ { schema: "task", version: { $lt: 3 } }, { schema: "task-state", version: { $lt: 1 } } ] }`,
 *   never as `$and` of several `$not`: PouchDB's selector normaliser merges the `$not`s of an `$and`
 *   into one, silently keeping only the last (pouchdb-selector-core 7–9), which CouchDB does not.
 *
 * Browser-safe: no Node built-ins.
 */
import semver from "semver";
import { DivanError } from "../core/errors.js";
import type { Manifest } from "../schemas/manifest.js";
import { resolveManifest } from "../schemas/manifest.js";
import type { Registry } from "../schemas/registry.js";
import type { DocumentStore, ReplicationResult, Selector } from "../store/port.js";
import { replicate } from "../store/replicate.js";

/** Which documents a channel lets through; see the module comment. */
export type ChannelForm = "exact" | "newer";

/** Type → major version: the documents an app version reads and writes. */
export type ChannelShape = Readonly<Record<string, number>>;

/** Options of {@link channelSelector} and {@link manifestChannel}. */
export interface ChannelOptions {
  /** `exact` (default) or `newer`. */
  form?: ChannelForm;
  /** Attribute holding the document type (default `"schema"`). */
  typeField?: string;
  /** Attribute holding the major version (default `"version"`). */
  versionField?: string;
  /**
   * `exact` form only: also let documents without a type attribute through (default `true`), so the
   * app receives notices such as the `divan-retired` signal. The `newer` form always does.
   */
  untyped?: boolean;
}

/** Options of {@link manifestChannel}. */
export interface ManifestChannelOptions extends ChannelOptions {
  /**
   * The schema registry to resolve dependency ranges with (the newest major satisfying each range).
   * Without it, a range must name one major (`^6.0.0`, `~6.1.0`, `6.x`, `6.2.0`).
   */
  registry?: Registry;
}

/**
 * The Mango selector of the channel of an app version whose documents are `shape`.
 *
 * @throws DivanError `CONFIG_INVALID` for an empty shape or a version that is not a non-negative integer.
 * @example
 * ```ts
 * channelSelector({ "task": 3, "task-state": 1 })
 * // { $or: [ { schema: "task", version: 3 }, { schema: "task-state", version: 1 }, { schema: { $exists: false } } ] }
 * channelSelector({ "task": 2 }, { form: "newer" })
 * // { $not: { schema: "task", version: { $lt: 2 } } }
 * ```
 */
export function channelSelector(shape: ChannelShape, options: ChannelOptions = {}): Selector {
  const typeField = options.typeField ?? "schema";
  const versionField = options.versionField ?? "version";
  const types = Object.keys(shape).sort();
  if (types.length === 0) {
    throw new DivanError("CONFIG_INVALID", "A channel needs at least one type: the app's manifest resolved to an empty shape.");
  }
  for (const t of types) {
    const v = shape[t];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new DivanError("CONFIG_INVALID", `A channel's version of "${t}" must be a non-negative integer, not ${String(v)}.`, {
        details: { type: t, version: v },
      });
    }
  }
  if (options.form === "newer") {
    const older = types.map((t) => ({ [typeField]: t, [versionField]: { $lt: shape[t] } }));
    return older.length === 1 ? { $not: older[0] } : { $nor: older };
  }
  const clauses: Selector[] = types.map((t) => ({ [typeField]: t, [versionField]: shape[t] }));
  if (options.untyped !== false) clauses.push({ [typeField]: { $exists: false } });
  return { $or: clauses };
}

/**
 * The shape an app manifest resolves to: with a registry, the newest major satisfying each range
 * (`resolveManifest`); without one, the one major each range names.
 *
 * @throws DivanError `MANIFEST_INVALID` for a range that spans several majors (or none) when no registry is given.
 */
export function manifestShape(manifest: Manifest, registry?: Registry): Record<string, number> {
  if (registry !== undefined) return resolveManifest(manifest, registry);
  const shape: Record<string, number> = {};
  for (const [type, range] of Object.entries(manifest.dependencies)) {
    const min = semver.validRange(range) === null ? null : semver.minVersion(range);
    if (min === null || semver.satisfies(`${min.major + 1}.0.0`, range)) {
      throw new DivanError(
        "MANIFEST_INVALID",
        `${manifest.name}@${manifest.version}: "${type}": "${range}" does not name one major version; pass the schema registry to resolve it.`,
        { details: { app: manifest.version, type, range } },
      );
    }
    shape[type] = min.major;
  }
  return shape;
}

/**
 * The Mango selector of an app version's channel, from its manifest.
 *
 * @example `manifestChannel({ name: "task-app", version: "4.0.0", dependencies: { "task": "^4.0.0" } })`
 * → `{ $or: [ { schema: "task", version: 1 }, { schema: { $exists: false } } ] }`
 */
export function manifestChannel(manifest: Manifest, options: ManifestChannelOptions = {}): Selector {
  return channelSelector(manifestShape(manifest, options.registry), options);
}

/**
 * True when a document of `type` at `version` travels through the channel of `shape`: the same
 * decision the selector makes, for code that filters documents it already holds.
 */
export function inChannel(shape: ChannelShape, type: string | undefined, version: number | undefined, form: ChannelForm = "exact"): boolean {
  if (type === undefined) return true;
  const wanted = shape[type];
  if (form === "newer") return wanted === undefined || version === undefined || version >= wanted;
  return wanted !== undefined && version === wanted;
}

// ---------------------------------------------------------------------------------------------
// The retirement signal (drop legacy).

/**
 * Id of the retirement signal: an untyped document every channel carries (the `exact` form lets
 * untyped documents through, the `newer` form lets everything but older versions through), so a
 * retired app learns it is retired from its own replication instead of silently losing data.
 *
 * ```json
 * { "_id": "divan-retired", "retired": [ { "app": "4.0.0", "shape": { "task": 1 },
 *   "minimumVersion": "6.0.0", "message": "…", "removal": "delete" } ] }
 * ```
 * Clients read it with {@link retirementOf}; `divan/client`'s `syncChannel` reports it as `retired`.
 */
export const RETIRED_DOC_ID = "divan-retired";

/** One retired app version, as listed in the {@link RETIRED_DOC_ID} document. */
export interface RetiredApp {
  /** The retired app version (semver). */
  readonly app: string;
  /** The documents (type → major) that were removed because only this app version needed them. */
  readonly shape: Readonly<Record<string, number>>;
  /** The oldest app version still supported. */
  readonly minimumVersion: string;
  /** What to tell the user. */
  readonly message: string;
  /** How the retired documents were removed: tombstones (`delete`) or `_purge`. */
  readonly removal: "delete" | "purge";
}

/**
 * The retirement entry that applies to app version `appVersion` in a {@link RETIRED_DOC_ID} document
 * (`undefined` when the document is absent, malformed, or does not retire this version): listed by
 * name, or older than a listed `minimumVersion`.
 */
export function retirementOf(doc: unknown, appVersion: string): RetiredApp | undefined {
  if (typeof doc !== "object" || doc === null) return undefined;
  const list = (doc as { retired?: unknown }).retired;
  if (!Array.isArray(list)) return undefined;
  for (const entry of list as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const e = entry as Record<string, unknown>;
    if (typeof e["app"] !== "string" || typeof e["minimumVersion"] !== "string") continue;
    const named = e["app"] === appVersion;
    const older = semver.valid(appVersion) !== null && semver.valid(e["minimumVersion"]) !== null && semver.lt(appVersion, e["minimumVersion"]);
    if (named || older) {
      return {
        app: e["app"],
        shape: (typeof e["shape"] === "object" && e["shape"] !== null ? e["shape"] : {}) as Record<string, number>,
        minimumVersion: e["minimumVersion"],
        message: typeof e["message"] === "string" ? e["message"] : "",
        removal: e["removal"] === "purge" ? "purge" : "delete",
      };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Client compaction.

/** Options of {@link compactThrough}. */
export interface CompactThroughOptions {
  /** Push `from` here first (everything), so no unpushed write is dropped; abort if it fails. */
  push?: DocumentStore;
  /** Destroy `from` once the copy is complete (default `true`). */
  destroyOld?: boolean;
  /** Documents per replication batch. */
  batchSize?: number;
}

/** What {@link compactThrough} did. */
export interface CompactThroughResult {
  /** Documents copied into `to`. */
  copied: number;
  /** Live documents of `from` the channel left behind. */
  dropped: number;
  /** What the preliminary push sent, when `push` was given. */
  pushed?: ReplicationResult;
  /** `from` was kept (not destroyed) because the server refused some of its documents. */
  keptOld: boolean;
}

/**
 * Compaction by filtered replication: copies `from` into the empty `to` through `selector` (revisions and
 * histories kept, so the server sees the same revisions and nothing conflicts), then destroys `from`.
 * Local only, apart from the optional `push`. If the push fails, `from` is left untouched; if the server
 * refused some documents (e.g. `403 divan-retired`), `from` is kept so they stay on the device.
 *
 * @throws DivanError `CONFIG_INVALID` when `to` is not empty.
 */
export async function compactThrough(
  from: DocumentStore,
  to: DocumentStore,
  selector: Selector,
  options: CompactThroughOptions = {},
): Promise<CompactThroughResult> {
  const info = await to.info();
  if (info.docCount > 0 || (info.docDelCount ?? 0) > 0) {
    throw new DivanError("CONFIG_INVALID", `Compaction needs an empty target database; ${to.name} holds ${info.docCount} document(s).`, {
      details: { target: to.name },
    });
  }
  const batch = options.batchSize === undefined ? {} : { batchSize: options.batchSize };
  // A new, unfiltered replication on purpose, although it re-diffs (`_revs_diff`) every document of `from`
  // instead of reusing the sync's checkpoint: a replication's checkpoint moves past documents the server
  // refused (e.g. `403 divan-retired`), so the sync's own replication would report nothing pending, and
  // `from` would be destroyed with the refused writes in it.
  const pushed = options.push === undefined ? undefined : await replicate(from, options.push, batch);
  const before = (await from.info()).docCount;
  const copy = await replicate(from, to, { selector, ...batch });
  const after = (await to.info()).docCount;
  const keptOld = options.destroyOld === false || (pushed?.docWriteFailures ?? 0) > 0;
  if (!keptOld) await from.destroy();
  const result: CompactThroughResult = { copied: copy.docsWritten, dropped: Math.max(0, before - after), keptOld };
  if (pushed !== undefined) result.pushed = pushed;
  return result;
}
