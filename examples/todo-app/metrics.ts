/**
 * Metrics of one strategy × scenario run: legacy support, downtime, data lost, conflicts, bytes, time, code.
 *
 * Metrics of one strategy × scenario run (issue 6, item 5): legacy support, downtime, data lost,
 * conflicts, documents and bytes on the server and per device, bytes replicated, wall time, and
 * the lines of migration code the app team writes. `wallMs` and `downtimeMs` are timings and
 * `wireBytes` depends on the server (a CouchDB's update sequences differ between two fresh databases);
 * every other metric is a deterministic function of the seed on a given server.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DivanError } from "../../core/errors.js";
import type { Doc } from "../../store/port.js";
import type { MigrationCode } from "../../strategies/types.js";
import type { InvariantCounts } from "./invariants.js";
import { allDocsOf, type World } from "./world.js";

/** Does the old app still see and edit all data? */
export type LegacySupport = "yes" | "partial" | "no" | "n/a";

/** The metrics of one run. */
export interface RunMetrics {
  /** Old-app devices after the release: all todos right (`yes`), some (`partial`), none (`no`), or no old device ran (`n/a`). */
  legacySupport: LegacySupport;
  /** Why, in one sentence. */
  legacySupportReason: string;
  /** Milliseconds of refused writes (maintenance windows). A timing. */
  downtimeMs: number;
  /** Todos users kept that have no document on the server. */
  lostDocs: number;
  /** Values users set that are on no server document. */
  lostFields: number;
  /** Documents with conflicting revisions, once per replica holding them. */
  conflicts: number;
  /** Documents on the server, every database of the run (design documents included, `_local` excluded). */
  serverDocs: number;
  /** Bytes of those documents as JSON. */
  serverBytes: number;
  /** Documents on the device that stores the most. */
  deviceDocs: number;
  /** Bytes (JSON) on the device that stores the most. */
  deviceBytes: number;
  /**
   * Body bytes replication moved between devices and the server (through the counting proxy), all devices
   * together, without the server's bookkeeping: update sequences and database info answers, whose size is
   * the server's choice (`bookkeepingBytes` in `proxy.ts`). Reproducible from the seed on any server.
   */
  replicatedBytes: number;
  /** Every body byte through the counting proxy, bookkeeping included: what went over the wire. Depends on the server. */
  wireBytes: number;
  /**
   * `replicatedBytes` per device of the scenario (the mean, rounded): what one device's sync, upgrade and
   * compaction cost, comparable between scenarios with different numbers of devices.
   */
  replicatedBytesPerDevice: number;
  /** Wall time of the run in milliseconds. A timing. */
  wallMs: number;
  /** Lines of migration code (non-blank, non-comment) the app team writes. */
  migrationLoc: number;
  /** User actions the apps refused or that failed. */
  refusedActions: number;
  /** Document writes users made. */
  userWrites: number;
  /** Sum of the generations of every server document's winning revision. */
  serverRevisions: number;
}

/** The metric fields that are timings, left out when two reports are compared for determinism. */
export const TIMING_FIELDS: readonly (keyof RunMetrics)[] = ["wallMs", "downtimeMs"];

/**
 * The metric fields that are reproducible on the embedded server but not on a CouchDB: there the update
 * sequences, and so the bytes that carry them, differ between two fresh databases.
 */
export const SERVER_DEPENDENT_FIELDS: readonly (keyof RunMetrics)[] = ["wireBytes"];

/** Measurements the comparison takes around a run. */
export interface RunMeasurements {
  wallMs: number;
  replicatedBytes: number;
  wireBytes: number;
  migrationLoc: number;
}

/** Collects the metrics of a world at quiescence. */
export async function collectMetrics(world: World, counts: InvariantCounts, measured: RunMeasurements): Promise<RunMetrics> {
  const server = [...(await world.serverDocs()).values()].flat();
  let deviceDocs = 0;
  let deviceBytes = 0;
  for (const d of world.devices.values()) {
    let docs = 0;
    let bytes = 0;
    for (const store of d.locals.values()) {
      const all = await allDocsOf(store);
      docs += all.length;
      bytes += bytesOf(all);
    }
    deviceDocs = Math.max(deviceDocs, docs);
    deviceBytes = Math.max(deviceBytes, bytes);
  }
  const legacy = legacySupportOf(world);
  return {
    legacySupport: legacy.level,
    legacySupportReason: legacy.reason,
    downtimeMs: world.releaseResult?.downtimeMs ?? 0,
    lostDocs: counts.lostDocs,
    lostFields: counts.lostFields,
    conflicts: counts.conflicts,
    serverDocs: server.length,
    serverBytes: bytesOf(server),
    deviceDocs,
    deviceBytes,
    replicatedBytes: measured.replicatedBytes,
    replicatedBytesPerDevice: perDevice(measured.replicatedBytes, world.devices.size),
    wireBytes: measured.wireBytes,
    wallMs: measured.wallMs,
    migrationLoc: measured.migrationLoc,
    refusedActions: world.refused.length,
    userWrites: world.userWrites,
    serverRevisions: counts.serverRevisions,
  };
}

/** `bytes` shared by `devices` devices (the rounded mean; `bytes` itself when there is no device). */
export function perDevice(bytes: number, devices: number): number {
  return devices > 0 ? Math.round(bytes / devices) : bytes;
}

function bytesOf(docs: readonly Doc[]): number {
  return docs.reduce((n, d) => n + Buffer.byteLength(JSON.stringify(d)), 0);
}

/** Legacy support, judged from every list an old-app device showed after the release. */
export function legacySupportOf(world: World): { level: LegacySupport; reason: string } {
  const old = world.oldApp.version;
  const checks = world.checks.filter((c) => c.legacy);
  const refusedSteps = world.refused.filter((r) => world.devices.get(r.device)?.app.version === old && world.released);
  if (checks.length === 0) return { level: "n/a", reason: `no device ran app ${old} after the release in this scenario` };
  const expected = checks.reduce((n, c) => n + c.expected, 0);
  const correct = checks.reduce((n, c) => n + c.correct, 0);
  const firstProblem = checks.flatMap((c) => c.problems.map((p) => `${c.device}: ${p}`))[0] ?? refusedSteps[0]?.error;
  if (correct === expected && firstProblem === undefined) {
    return { level: "yes", reason: `app ${old} showed all ${expected} todos correctly in ${checks.length} read(s) after the release` };
  }
  const level: LegacySupport = correct === 0 ? "no" : "partial";
  return { level, reason: `app ${old} showed ${correct} of ${expected} todos correctly after the release; ${firstProblem ?? ""}`.trim() };
}

/** The package root (the directory holding divan's package.json), from this module's location. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "strategies"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new DivanError("INTERNAL", "Cannot find divan's package root from the comparison module.");
    dir = up;
  }
}

/** Counts non-blank lines that are not only comments in `code` (TypeScript/JavaScript/JSON). */
export function countLoc(code: string): number {
  let n = 0;
  let inBlock = false;
  for (const raw of code.split(/\r?\n/)) {
    let line = raw.trim();
    if (inBlock) {
      const end = line.indexOf("*/");
      if (end < 0) continue;
      inBlock = false;
      line = line.slice(end + 2).trim();
    }
    if (line.startsWith("/*")) {
      const end = line.indexOf("*/", 2);
      if (end < 0) {
        inBlock = true;
        continue;
      }
      line = line.slice(end + 2).trim();
    }
    if (line === "" || line.startsWith("//")) continue;
    n += 1;
  }
  return n;
}

/** Lines of migration code in `files` (paths relative to the package root). */
export async function migrationLocOf(files: readonly MigrationCode[], root: string = packageRoot()): Promise<number> {
  let total = 0;
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(path.join(root, f.path), "utf8");
    } catch (e) {
      throw new DivanError("CONFIG_INVALID", `Migration code file ${f.path} cannot be read; fix the strategy's migrationCode list.`, {
        cause: e,
        details: { path: f.path },
      });
    }
    total += countLoc(text);
  }
  return total;
}
