/**
 * The configuration of `divan serve --transform <config>`: a JSON file naming the version databases,
 * the shape each holds and the module exporting the steps.
 *
 * ```json
 * {
 *   "steps": "examples/todo-app/steps/index.ts",
 *   "schemas": "examples/todo-app/schemas",
 *   "ids": "single-version",
 *   "sides": [
 *     { "name": "v1", "db": "tasks-v1", "shape": { "task": 1, "preferences": 1 } },
 *     { "name": "v3", "db": "tasks-v3", "shape": { "task": 3, "task-state": 1, "preferences": 1 } }
 *   ]
 * }
 * ```
 * `db` is a database name on the server (the embedded one, or `COUCHDB_URL`) or a full URL. `steps` is
 * resolved from the config file's directory and loaded as `divan migrate --steps` loads it
 * (`loadStepDefinitions` of `server/config.ts`, TypeScript included). `ids: "multi-version"` keeps every side in
 * one database (`<type>:<id>:v:<n>`). `staleScanMs` (default 60000; 0: on start only) is how often the service
 * ends stale translations (two translations of one document that met, e.g. a device's made offline and the
 * service's), as the per-version strategies do when they settle. `schemas` (resolved like `steps`; optional) is the
 * folder of the versioned JSON Schemas: every translation is validated at its version before it is written, and a
 * document whose translation is not valid is quarantined (`SCHEMA_INVALID`) instead.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DivanError, messageOf } from "../../core/errors.js";

/** One version database in the config. */
export interface TransformSideConfig {
  readonly name: string;
  readonly db: string;
  readonly shape: Readonly<Record<string, number>>;
}

/** The parsed configuration. */
export interface TransformConfig {
  /** Absolute path of the steps module. */
  readonly steps: string;
  /** Absolute path of the schemas folder: translations are validated against it before they are written. */
  readonly schemas?: string;
  readonly ids: "single-version" | "multi-version";
  readonly sides: readonly TransformSideConfig[];
  /** Checkpoint id (default `divan-transformer`). */
  readonly checkpointId?: string;
  /** How often stale translations are ended, in ms (default 60000; 0: on start only). */
  readonly staleScanMs?: number;
}

const bad = (file: string, why: string): DivanError => new DivanError("CONFIG_INVALID", `${file}: ${why}`, { details: { file } });

/** Reads and checks a transform config file. */
export async function loadTransformConfig(file: string): Promise<TransformConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new DivanError("CONFIG_INVALID", `cannot read transform config ${file}: ${messageOf(e)}`, { cause: e, details: { file } });
  }
  if (raw === null || typeof raw !== "object") throw bad(file, "expected a JSON object");
  const o = raw as Record<string, unknown>;
  if (typeof o["steps"] !== "string") throw bad(file, `"steps" must name the module exporting the steps`);
  if (o["schemas"] !== undefined && typeof o["schemas"] !== "string") throw bad(file, `"schemas" must name the folder of the versioned JSON Schemas`);
  const ids = o["ids"] ?? "single-version";
  if (ids !== "single-version" && ids !== "multi-version") throw bad(file, `"ids" must be "single-version" or "multi-version"`);
  if (!Array.isArray(o["sides"]) || o["sides"].length === 0) throw bad(file, `"sides" must list the version databases`);
  const sides = o["sides"].map((s: unknown, i: number): TransformSideConfig => {
    const r = (s ?? {}) as Record<string, unknown>;
    const shape = r["shape"];
    if (typeof r["name"] !== "string" || typeof r["db"] !== "string" || shape === null || typeof shape !== "object") {
      throw bad(file, `sides[${i}] needs "name", "db" and "shape" ({ type: major })`);
    }
    for (const [t, v] of Object.entries(shape)) if (!Number.isInteger(v)) throw bad(file, `sides[${i}].shape.${t} must be an integer major version`);
    return { name: r["name"], db: r["db"], shape: shape as Record<string, number> };
  });
  const staleScanMs = o["staleScanMs"];
  if (staleScanMs !== undefined && (!Number.isInteger(staleScanMs) || (staleScanMs as number) < 0)) throw bad(file, `"staleScanMs" must be a whole number of milliseconds (0: on start only)`);
  return {
    steps: path.resolve(path.dirname(file), o["steps"]),
    ...(typeof o["schemas"] === "string" ? { schemas: path.resolve(path.dirname(file), o["schemas"]) } : {}),
    ids,
    sides,
    ...(typeof o["checkpointId"] === "string" ? { checkpointId: o["checkpointId"] } : {}),
    ...(staleScanMs === undefined ? {} : { staleScanMs: staleScanMs as number }),
  };
}
