/**
 * App manifests: what an app version needs, like a package.json:
 * `{ "name": "task-app", "version": "5.0.0", "dependencies": { "task": "^5.0.0" } }`.
 *
 * A dependency range is matched (with `semver`) against the schema versions the registry holds,
 * written `<major>.<minor>.0`. Browser-safe.
 */
import semver from "semver";
import { DivanError } from "../core/errors.js";
import type { Registry } from "./registry.js";

/** What one app version needs from the database. */
export interface Manifest {
  /** App name. */
  name: string;
  /** App version (semver). */
  version: string;
  /** Type → semver range of schema versions, e.g. `{ "task": "^5.0.0" }`. */
  dependencies: Record<string, string>;
}

/** The (type → major) documents an app version reads and writes. */
export type Shape = Record<string, number>;

/** Access of one app version to one `type@major`. */
export type Access = "read-write" | "read" | "none";

/** One row of the {@link compatibilityMatrix}: an app version and its access per `type@major`. */
export interface CompatibilityRow {
  /** App version. */
  app: string;
  /** The shape the app writes (newest matching major per type). */
  shape: Shape;
  /** Access per column key `type@major` (every column of the matrix is present). */
  access: Record<string, Access>;
}

/** Which app versions can read and write which `type@major`. */
export interface CompatibilityMatrix {
  /** Column keys `type@major`, sorted by type then major. */
  columns: string[];
  /** One row per manifest, by ascending app version. */
  rows: CompatibilityRow[];
}

function fail(message: string, details: Record<string, unknown>): never {
  throw new DivanError("MANIFEST_INVALID", message, { details });
}

/**
 * Checks that `json` is a manifest (name, semver version, dependency ranges) and returns it typed.
 * `source` (a file name) is used in error messages only.
 */
export function parseManifest(json: unknown, source = "manifest"): Manifest {
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail(`${source}: a manifest is a JSON object.`, { source });
  const o = json as Record<string, unknown>;
  if (typeof o["name"] !== "string" || o["name"] === "") fail(`${source}: "name" must be a non-empty string.`, { source });
  const version = o["version"];
  if (typeof version !== "string" || semver.valid(version) === null) fail(`${source}: "version" must be a semantic version like "4.2.0".`, { source });
  const deps = o["dependencies"];
  if (typeof deps !== "object" || deps === null || Array.isArray(deps)) fail(`${source}: "dependencies" must be an object of type → version range.`, { source });
  const dependencies: Record<string, string> = {};
  for (const [type, range] of Object.entries(deps as Record<string, unknown>)) {
    if (typeof range !== "string" || semver.validRange(range) === null) {
      fail(`${source}: dependency "${type}" must be a semver range like "^4.0.0".`, { source, type });
    }
    dependencies[type] = range;
  }
  return { name: o["name"] as string, version, dependencies };
}

/** Manifests sorted by ascending app version (semver order). */
export function sortManifests(manifests: readonly Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => semver.compare(a.version, b.version));
}

/** The schema versions of `type` in the registry, as `<major>.<minor>.0` strings. */
function versionsOf(registry: Registry, type: string): string[] {
  return registry
    .files()
    .filter((f) => f.type === type)
    .map((f) => `${f.major}.${f.minor}.0`);
}

/** Every major of `type` that has a schema version satisfying `range`, ascending. */
export function majorsSatisfying(registry: Registry, type: string, range: string): number[] {
  const majors = new Set<number>();
  for (const v of versionsOf(registry, type)) if (semver.satisfies(v, range)) majors.add(semver.major(v));
  return [...majors].sort((a, b) => a - b);
}

/**
 * Resolves a manifest to concrete (type → major) pairs: for each dependency, the newest major that has a
 * schema version satisfying the range. Throws `MANIFEST_INVALID` for an unknown type or a range nothing
 * satisfies (e.g. `^4.2.0` when only 4.0 and 4.1 exist).
 */
export function resolveManifest(manifest: Manifest, registry: Registry): Shape {
  const shape: Shape = {};
  for (const [type, range] of Object.entries(manifest.dependencies)) {
    if (registry.majors(type).length === 0) {
      fail(`${manifest.name}@${manifest.version} depends on "${type}", which has no schema.`, { app: manifest.version, type });
    }
    const majors = majorsSatisfying(registry, type, range);
    const newest = majors[majors.length - 1];
    if (newest === undefined) {
      fail(`${manifest.name}@${manifest.version} needs ${type} ${range}, but the schemas hold only ${versionsOf(registry, type).join(", ")}.`, {
        app: manifest.version,
        type,
        range,
      });
    }
    shape[type] = newest;
  }
  return shape;
}

/**
 * The compatibility matrix: for each app version (manifest) and each `type@major` in the registry,
 * whether the app reads and writes it (`read-write`: the major it resolves to), only reads it (`read`:
 * an older major its range still admits, e.g. `>=4.0.0 <6.0.0`), or cannot use it (`none`).
 * Minor versions never change access: they are non-breaking revisions of one major.
 */
export function compatibilityMatrix(manifests: readonly Manifest[], registry: Registry): CompatibilityMatrix {
  const columns: string[] = [];
  for (const type of registry.types()) for (const major of registry.majors(type)) columns.push(`${type}@${major}`);
  const rows = sortManifests(manifests).map((m) => {
    const shape = resolveManifest(m, registry);
    const access: Record<string, Access> = Object.fromEntries(columns.map((c) => [c, "none" as Access]));
    for (const [type, range] of Object.entries(m.dependencies)) {
      for (const major of majorsSatisfying(registry, type, range)) access[`${type}@${major}`] = shape[type] === major ? "read-write" : "read";
    }
    return { app: m.version, shape, access };
  });
  return { columns, rows };
}

/** The matrix as a Markdown table (rows: app versions; columns: `type@major`; cells `rw`, `r` or `–`). */
export function formatMatrix(matrix: CompatibilityMatrix): string {
  const cell = (a: Access | undefined): string => (a === "read-write" ? "rw" : a === "read" ? "r" : "–");
  const head = `| app | ${matrix.columns.join(" | ")} |`;
  const sep = `|---|${matrix.columns.map(() => "---").join("|")}|`;
  const body = matrix.rows.map((r) => `| ${r.app} | ${matrix.columns.map((c) => cell(r.access[c])).join(" | ")} |`);
  return [head, sep, ...body].join("\n");
}
