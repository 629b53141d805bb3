/**
 * Loading schema files and manifests from disk (Node only).
 *
 * Layout: `<dir>/<type>/<major>.<minor>.json` and `<manifests>/<app-version>.json`.
 */
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DivanError, messageOf } from "../core/errors.js";
import { createRegistry } from "./registry.js";
import type { JsonSchema, Registry, RegistryOptions, SchemaFile } from "./registry.js";
import { parseManifest, sortManifests } from "./manifest.js";
import type { Manifest } from "./manifest.js";

const VERSION_FILE = /^(\d+)\.(\d+)\.json$/;

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new DivanError("SCHEMA_LOAD_FAILED", `Cannot read ${file}: ${messageOf(e)}`, { cause: e, details: { file } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new DivanError("SCHEMA_LOAD_FAILED", `${file} is not valid JSON: ${messageOf(e)}`, { cause: e, details: { file } });
  }
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new DivanError("SCHEMA_LOAD_FAILED", `Cannot read the folder ${dir}: ${messageOf(e)}`, { cause: e, details: { dir } });
  }
}

/**
 * Reads every `<type>/<major>.<minor>.json` under `dir`, sorted by type, major, minor.
 * Hidden entries and non-JSON files are ignored; a `.json` file with another name is an error
 * (`SCHEMA_LOAD_FAILED`), as is a file that is not a JSON object or boolean schema.
 */
export async function loadSchemaFiles(dir: string): Promise<SchemaFile[]> {
  const out: SchemaFile[] = [];
  for (const entry of await listDir(dir)) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const type = entry.name;
    for (const f of await listDir(join(dir, type))) {
      if (!f.isFile() || f.name.startsWith(".") || !f.name.endsWith(".json")) continue;
      const m = VERSION_FILE.exec(f.name);
      if (!m) {
        throw new DivanError("SCHEMA_LOAD_FAILED", `${join(dir, type, f.name)}: schema files are named <major>.<minor>.json (e.g. 2.1.json).`, {
          details: { file: join(dir, type, f.name) },
        });
      }
      const schema = await readJson(join(dir, type, f.name));
      if (typeof schema !== "boolean" && (typeof schema !== "object" || schema === null || Array.isArray(schema))) {
        throw new DivanError("SCHEMA_LOAD_FAILED", `${join(dir, type, f.name)} is not a JSON Schema object.`, { details: { file: join(dir, type, f.name) } });
      }
      out.push({ type, major: Number(m[1]), minor: Number(m[2]), schema: schema as JsonSchema });
    }
  }
  return out.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.major - b.major || a.minor - b.minor));
}

/** {@link loadSchemaFiles} then {@link createRegistry}. */
export async function loadRegistry(dir: string, options?: RegistryOptions): Promise<Registry> {
  return createRegistry(await loadSchemaFiles(dir), options);
}

/**
 * Reads every `*.json` manifest in `dir`, validated (`MANIFEST_INVALID` otherwise), sorted by app version.
 */
export async function loadManifests(dir: string): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const f of await listDir(dir)) {
    if (!f.isFile() || f.name.startsWith(".") || !f.name.endsWith(".json")) continue;
    const file = join(dir, f.name);
    let json: unknown;
    try {
      json = await readJson(file);
    } catch (e) {
      throw new DivanError("MANIFEST_INVALID", messageOf(e), { cause: e, details: { file } });
    }
    out.push(parseManifest(json, file));
  }
  return sortManifests(out);
}
