/**
 * App versions as multi-db strategies use them: the schema major of an app version, the suffix of the
 * server (and device) database that holds that major, and the shape such a database holds.
 */
import type { Shape } from "../adapters/types.js";
import { DivanError } from "../core/errors.js";
import type { AppVersion } from "./types.js";

/** The major of an app version (`"6.0.0"` → 3). */
export function appMajor(app: AppVersion): number {
  const major = Number.parseInt(app.version, 10);
  if (!Number.isInteger(major)) throw new DivanError("CONFIG_INVALID", `app version ${app.version} is not a semantic version`, { details: { version: app.version } });
  return major;
}

/** The database suffix of a major: `-v3`. */
export function versionSuffix(major: number): string {
  return `-v${major}`;
}

/** The shape a version database holds: the shape of the newest app version of that major. */
export function shapeOfMajor(apps: readonly AppVersion[], major: number): Shape {
  const same = apps.filter((a) => appMajor(a) === major);
  const last = same[same.length - 1];
  if (last === undefined) throw new DivanError("CONFIG_INVALID", `no app version has major ${major}`, { details: { major } });
  return { ...last.shape };
}
