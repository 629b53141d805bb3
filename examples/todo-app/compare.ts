/**
 * `divan compare`: every strategy that applies to an app's change against every scenario in a fresh world, into one report.
 *
 * Runs every strategy that applies to an app's change against every scenario (the
 * templates instantiated for the app's entities) in a fresh world, checks
 * the invariants, collects the metrics and returns one report (written as Markdown, JSON and HTML by
 * `report.ts`). Uses `COUCHDB_URL` when set, else starts the embedded server; devices replicate
 * through a counting proxy so replicated bytes are measured the same way on both.
 */
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import nano from "nano";
import { DivanError, messageOf } from "../../core/errors.js";
import { redact } from "../../core/redact.js";
import { loadManifests, loadRegistry } from "../../schemas/load.js";
import { resolveManifest, sortManifests } from "../../schemas/manifest.js";
import type { Registry } from "../../schemas/registry.js";
import { startEmbeddedServer } from "../../server/embedded.js";
import { toDivanError } from "../../store/errors.js";
import { createStrategy, strategyNames, TODO_CHANGES, type ComparedChanges } from "../strategies.js";
import type { StepDefinition } from "../../adapters/steps.js";
import { loadConfig, loadConfiguredRegistry, loadStepDefinitions } from "../../server/config.js";
import { deriveDomain, TODO_DOMAIN, type Domain } from "./domain.js";
import { todoSteps } from "./steps/index.js";
import type { AppChange, AppVersion, Caveat, MigrationCode, Strategy, Taxonomy } from "../../strategies/types.js";
import { checkInvariants } from "./invariants.js";
import { collectMetrics, migrationLocOf, packageRoot, type RunMetrics } from "./metrics.js";
import { startCountingProxy, type CountingProxy } from "./proxy.js";
import { scenariosFor, type Scenario } from "./scenarios.js";
import { World, type RefusedAction } from "./world.js";

/** The invariant verdicts as `report.json` lists them. */
export interface ReportedInvariant {
  name: string;
  ok: boolean;
  /** A violation the strategy's caveat predicts. */
  expected: boolean;
  detail: string;
  /** Every violation, one line each (empty when ok). */
  violations: string[];
}

/** `pass`: every invariant holds; `expected`: only predicted violations; `fail`: an unpredicted violation; `error`: the run broke. */
export type RunStatus = "pass" | "expected" | "fail" | "error";

/** One strategy × scenario run. */
export interface RunReport {
  strategy: string;
  scenario: string;
  taxonomy: Taxonomy;
  change: AppChange;
  status: RunStatus;
  invariants: ReportedInvariant[];
  metrics: RunMetrics;
  /** User actions the apps refused or that failed. */
  refused: RefusedAction[];
  /** What the retire step did, when the scenario retires the old app. */
  retired?: string;
  /** Why the run broke (status `error`). */
  error?: string;
}

/** A registered strategy as the report describes it. */
export interface StrategySummary {
  name: string;
  description: string;
  taxonomy: Taxonomy;
  change: AppChange;
  caveats: Caveat[];
  migrationCode: MigrationCode[];
}

/** The server a comparison ran on (never its URL). */
export interface ServerInfo {
  /** The embedded server, or a CouchDB at `COUCHDB_URL`. */
  kind: "embedded" | "couchdb";
  /** The version its `GET /` reports (for the embedded server: the CouchDB API version it follows). */
  version: string;
}

/** The whole comparison (`report.json`). */
export interface ComparisonReport {
  seed: number;
  /** The server it ran on. */
  server: ServerInfo;
  strategies: StrategySummary[];
  scenarios: { name: string; description: string }[];
  runs: RunReport[];
}

/** Progress of {@link runComparison}. */
export interface CompareProgress {
  done: number;
  total: number;
  strategy: string;
  scenario: string;
}

/** Options of {@link runComparison}. */
export interface CompareOptions {
  /** Strategy names (default: every registered strategy). */
  strategies?: readonly string[];
  /** Strategy factories to run instead of registered ones (tests use this for deliberately broken strategies). */
  factories?: readonly (() => Strategy)[];
  /** Scenario names (default: every scenario). */
  scenarios?: readonly string[];
  /** The seed (default 1). */
  seed?: number;
  /** A CouchDB server URL (default: `COUCHDB_URL`, else the embedded server). */
  serverUrl?: string;
  /** Called before each run (done = runs finished so far). */
  onProgress?: (progress: CompareProgress) => void;
  /** The app to compare on (default: the todo example, {@link loadTodoApp}). */
  app?: ComparedApp;
}

/** An app as the comparison runs it: its schemas, versions, steps, entities and the change compared. */
export interface ComparedApp {
  readonly registry: Registry;
  /** Every app version (manifest), oldest first. */
  readonly apps: readonly AppVersion[];
  readonly steps: readonly StepDefinition[];
  /** Its entities as the scenario templates use them. */
  readonly domain: Domain;
  /** The change(s) compared: which strategies apply. */
  readonly changes: ComparedChanges;
  /** The app team's step modules, counted as migration code of the strategies that run the steps. */
  readonly stepFiles: readonly MigrationCode[];
}

/** The default seed. */
export const DEFAULT_SEED = 1;

/** The todo example's directory (holding `schemas/` and `manifests/`), from source or from `dist/`. */
export function exampleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, path.join(packageRoot(), "examples", "todo-app")]) {
    if (existsSync(path.join(dir, "schemas")) && existsSync(path.join(dir, "manifests"))) return dir;
  }
  throw new DivanError("INTERNAL", `Cannot find the todo example's schemas and manifests near ${here}.`);
}

/** The registry and every app version (with its resolved shape) of the todo example, oldest first. */
export async function loadTodoExample(): Promise<{ registry: Registry; apps: AppVersion[] }> {
  const dir = exampleDir();
  const registry = await loadRegistry(path.join(dir, "schemas"));
  const manifests = sortManifests(await loadManifests(path.join(dir, "manifests")));
  return { registry, apps: manifests.map((m) => ({ version: m.version, shape: resolveManifest(m, registry) })) };
}

/** The todo example as the comparison runs it: its hand-written app, 1.0.0 → 3.0.0 and 1.0.0 → 1.1.0. */
export async function loadTodoApp(): Promise<ComparedApp> {
  const { registry, apps } = await loadTodoExample();
  return { registry, apps, steps: todoSteps, domain: TODO_DOMAIN, changes: TODO_CHANGES, stepFiles: todoStepFiles };
}

/** What {@link loadConfiguredApp} found besides the app. */
export interface ConfiguredApp {
  readonly app: ComparedApp;
  /** The compared change. */
  readonly change: AppChange;
  /** False when no type changes major (an additive change: only `non-breaking` applies). */
  readonly breaking: boolean;
}

/**
 * An app from its `divan.config.*` (`file`), for `divan compare --config`: the change is `from` → `to`,
 * by default the two newest manifests.
 *
 * @throws DivanError `CONFIG_INVALID` when the config, a version or the domain cannot be found.
 */
export async function loadConfiguredApp(file: string, change: { from?: string; to?: string } = {}): Promise<ConfiguredApp> {
  const config = await loadConfig({ file });
  const registry = await loadConfiguredRegistry(config);
  const manifests = sortManifests(await loadManifests(config.manifests));
  const apps = manifests.map((m) => ({ version: m.version, shape: resolveManifest(m, registry) }));
  const find = (version: string | undefined, fallback: number): AppVersion => {
    const app = version === undefined ? apps[apps.length + fallback] : apps.find((a) => a.version === version);
    if (app === undefined) {
      throw new DivanError("CONFIG_INVALID", version === undefined ? `${config.manifests} holds fewer than two manifests: nothing to compare.` : `No manifest for app ${version} in ${config.manifests}.`, {
        details: { version },
      });
    }
    return app;
  };
  const to = find(change.to, -1);
  const from = find(change.from, change.to === undefined ? -2 : apps.indexOf(to) - 1 - apps.length);
  const compared = { from: from.version, to: to.version };
  const breaking = Object.entries(from.shape).some(([t, major]) => to.shape[t] !== major);
  const steps = await loadStepDefinitions(config.steps);
  const domain = deriveDomain(registry, steps, apps, compared);
  return { app: { registry, apps, steps, domain, changes: breaking ? { breaking: compared } : { nonBreaking: compared }, stepFiles: await stepFilesOf(config.steps) }, change: compared, breaking };
}

/** The step modules of an app: every module in the folder of its steps module (`steps/index.ts` lists the others). */
async function stepFilesOf(stepsModule: string): Promise<MigrationCode[]> {
  const dir = path.dirname(stepsModule);
  const names = (await readdir(dir)).filter((n) => /\.(ts|mts|js|mjs)$/.test(n) && !n.endsWith(".d.ts")).sort();
  return names.map((n) => ({ path: path.relative(packageRoot(), path.join(dir, n)), why: n === path.basename(stepsModule) ? "the app's steps module" : "a step module of the app" }));
}


/** Runs the matrix and returns the report. Every run gets its own databases, removed afterwards. */
export async function runComparison(options: CompareOptions = {}): Promise<ComparisonReport> {
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) throw new DivanError("CONFIG_INVALID", `The seed must be an integer, not ${String(seed)}.`);
  const app = options.app ?? (await loadTodoApp());
  const factories: (() => Strategy)[] = options.factories
    ? [...options.factories]
    : (options.strategies?.length ? options.strategies : strategyNames(app.changes)).map((n) => () => createStrategy(n, app.changes));
  const strategyList = factories.map((create) => create());
  const scenarioList = scenariosFor(app.domain, options.scenarios);

  const external = options.serverUrl ?? process.env["COUCHDB_URL"];
  const embedded = external ? undefined : await startEmbeddedServer();
  const serverUrl = (external ?? embedded?.url ?? "").replace(/\/$/, "");
  let proxy: CountingProxy | undefined;
  let server: ServerInfo | undefined;
  const runs: RunReport[] = [];
  try {
    server = { kind: external ? "couchdb" : "embedded", version: await serverVersion(serverUrl) };
    proxy = await startCountingProxy(serverUrl);
    const total = strategyList.length * scenarioList.length;
    for (const [i, s] of strategyList.entries()) {
      const loc = await migrationLocOf(migrationFiles(s, app));
      const create = factories[i] as () => Strategy;
      for (const scenario of scenarioList) {
        options.onProgress?.({ done: runs.length, total, strategy: s.name, scenario: scenario.name });
        runs.push(await runOne(create, scenario, { seed, serverUrl, proxy, app, loc }));
      }
    }
    options.onProgress?.({ done: runs.length, total, strategy: "", scenario: "" });
  } finally {
    await proxy?.close();
    await embedded?.close();
  }
  return {
    seed,
    server,
    strategies: strategyList.map((s) => summary(s, app)),
    scenarios: scenarioList.map((s) => ({ name: s.name, description: s.description })),
    runs,
  };
}

/** The `version` a CouchDB server's `GET /` reports. */
async function serverVersion(serverUrl: string): Promise<string> {
  try {
    return (await nano(serverUrl).info()).version;
  } catch (e) {
    throw toDivanError(e, { operation: "GET /", store: redact(serverUrl) });
  }
}

/** The todo app's step modules (`steps/index.ts` only lists them), counted as the app team's migration code. */
const todoStepFiles: readonly MigrationCode[] = [
  { path: "examples/todo-app/steps/1-to-2.ts", why: "todo-item 1↔2: isDone ↔ status (declarative step)" },
  { path: "examples/todo-app/steps/2-to-3.ts", why: "todo-item 2↔3: status into its own document, group added (declarative step)" },
];

/** The files of a strategy's migration code; `"steps"` are the app's step modules. */
function migrationFiles(s: Strategy, app: ComparedApp): readonly MigrationCode[] {
  return s.migrationCode === "steps" ? app.stepFiles : s.migrationCode;
}

function summary(s: Strategy, app: ComparedApp): StrategySummary {
  return {
    name: s.name,
    description: s.description,
    taxonomy: s.taxonomy,
    change: s.change,
    caveats: [...s.caveats],
    migrationCode: [...migrationFiles(s, app)],
  };
}

interface RunContext {
  seed: number;
  serverUrl: string;
  proxy: CountingProxy;
  app: ComparedApp;
  loc: number;
}

/** Runs one scenario against a fresh instance of one strategy. */
async function runOne(create: () => Strategy, scenario: Scenario, ctx: RunContext): Promise<RunReport> {
  const strategy = create();
  const started = performance.now();
  const bytesBefore = ctx.proxy.bytes();
  const wireBefore = ctx.proxy.wireBytes();
  let world: World | undefined;
  try {
    world = await World.create({
      strategy,
      scenario: scenario.name,
      seed: ctx.seed,
      serverUrl: ctx.serverUrl,
      proxy: ctx.proxy,
      registry: ctx.app.registry,
      apps: ctx.app.apps,
      steps: ctx.app.steps,
      domain: ctx.app.domain,
    });
    await world.play(scenario.events);
    for (const d of world.devices.values()) d.online = true;
    await world.settle();
    await world.check("the end");
    const replicatedBytes = ctx.proxy.bytes() - bytesBefore;
    const wireBytes = ctx.proxy.wireBytes() - wireBefore;
    const wallMs = Math.round(performance.now() - started);
    const { results, counts } = await checkInvariants(world, scenario.name);
    const metrics = await collectMetrics(world, counts, { wallMs, replicatedBytes, wireBytes, migrationLoc: ctx.loc });
    const status: RunStatus = results.every((r) => r.ok) ? "pass" : results.every((r) => r.ok || r.expected) ? "expected" : "fail";
    const report: RunReport = {
      strategy: strategy.name,
      scenario: scenario.name,
      taxonomy: strategy.taxonomy,
      change: strategy.change,
      status,
      invariants: results.map(({ name, ok, expected, detail, violations }) => ({ name, ok, expected, detail, violations })),
      metrics,
      refused: world.refused,
    };
    if (world.retireResult) report.retired = world.retireResult.detail;
    return report;
  } catch (e) {
    return {
      strategy: strategy.name,
      scenario: scenario.name,
      taxonomy: strategy.taxonomy,
      change: strategy.change,
      status: "error",
      invariants: [],
      metrics: emptyMetrics(Math.round(performance.now() - started), ctx.proxy.bytes() - bytesBefore, ctx.proxy.wireBytes() - wireBefore, ctx.loc),
      refused: world?.refused ?? [],
      error: redact(messageOf(e)),
    };
  } finally {
    await world?.close().catch(() => undefined);
    await strategy.close().catch(() => undefined);
  }
}

function emptyMetrics(wallMs: number, replicatedBytes: number, wireBytes: number, migrationLoc: number): RunMetrics {
  return {
    legacySupport: "n/a",
    legacySupportReason: "the run broke before it could be measured",
    downtimeMs: 0,
    lostDocs: 0,
    lostFields: 0,
    conflicts: 0,
    serverDocs: 0,
    serverBytes: 0,
    deviceDocs: 0,
    deviceBytes: 0,
    replicatedBytes,
    replicatedBytesPerDevice: replicatedBytes,
    wireBytes,
    wallMs,
    migrationLoc,
    refusedActions: 0,
    userWrites: 0,
    serverRevisions: 0,
  };
}
