/**
 * Loads an optional peer package (express, tsx, chart.js, pouchdb-adapter-leveldb) only when a feature needs
 * it, and says which package to install when it is missing.
 */
import { createRequire } from "node:module";
import { DivanError } from "./errors.js";

/** True when `e` says `pkg` itself (not a module it imports) cannot be found. */
function isMissing(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return false;
  const message = e instanceof Error ? e.message : String(e);
  return message.includes(`'${pkg}'`) || message.includes(`'${pkg}/`) || message.includes(`"${pkg}"`);
}

function missing(pkg: string, feature: string, cause: unknown): DivanError {
  return new DivanError("DEPENDENCY_MISSING", `${feature} needs the package ${pkg}, which is not installed: npm install ${pkg}`, {
    cause,
    details: { package: pkg },
  });
}

/**
 * Imports an optional peer package through `load` (a literal `import("pkg")`, so bundlers and types see it).
 *
 * @throws DivanError `DEPENDENCY_MISSING` naming `pkg` and the feature when it is not installed.
 */
export async function importPeer<T>(pkg: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw isMissing(e, pkg) ? missing(pkg, feature, e) : e;
  }
}

/**
 * Requires an optional CommonJS peer package synchronously from `from` (a module URL), or returns
 * `undefined` when it is not installed.
 */
export function requirePeer(pkg: string, from: string): unknown {
  try {
    return createRequire(from)(pkg);
  } catch (e) {
    if (isMissing(e, pkg)) return undefined;
    throw e;
  }
}

/** Resolves the path of a file of an optional peer package, or throws `DEPENDENCY_MISSING` naming `feature`. */
export function resolvePeer(pkg: string, feature: string, from: string): string {
  try {
    return createRequire(from).resolve(pkg);
  } catch (e) {
    throw isMissing(e, pkg) ? missing(pkg, feature, e) : e;
  }
}
