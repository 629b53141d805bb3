/**
 * The simulation (`divan simulate`): seeded random scripts against strategies, with the comparison's invariants.
 *
 * The simulation (`divan simulate`): plays seeded random scripts ({@link generateScript}) against
 * strategies exactly as `divan compare` plays the named scenarios — same world, same invariants, same
 * caveats — in the fast in-process world (`memory`) or over real HTTP (`http`: the embedded server, or
 * `COUCHDB_URL`). A failing script is kept as replayable JSON and can be shrunk to the fewest events
 * that still fail (delta debugging over legal scripts).
 */
import { performance } from "node:perf_hooks";
import { DivanError, messageOf } from "../../../core/errors.js";
import { redact } from "../../../core/redact.js";
import type { Registry } from "../../../schemas/registry.js";
import { startEmbeddedServer } from "../../../server/embedded.js";
import { allStrategies, createStrategy } from "../../strategies.js";
import type { AppVersion, InvariantName, Strategy } from "../../../strategies/types.js";
import { loadTodoExample, type RunStatus } from "../compare.js";
import { checkInvariants } from "../invariants.js";
import { startCountingProxy, type CountingProxy } from "../proxy.js";
import { World, type ScenarioEvent } from "../world.js";
import { firstIllegal, generateScript, type Script } from "./script.js";

/** Where scripts run: in process (fast) or over HTTP (the truth). */
export type Transport = "memory" | "http";

/** A world factory's environment, shared by many runs. */
export interface SimulationEnv {
  readonly transport: Transport;
  readonly registry: Registry;
  readonly apps: readonly AppVersion[];
  /** `http` only. */
  readonly serverUrl?: string;
  readonly proxy?: CountingProxy;
  /** `couchdb` when the HTTP world runs against `COUCHDB_URL` (or a given server). */
  readonly server: "memory" | "embedded" | "couchdb";
  close(): Promise<void>;
}

/** Opens the environment: nothing to start in memory; the embedded server (unless a server URL is given) and a counting proxy over HTTP. */
export async function openEnv(transport: Transport, serverUrl: string | undefined = process.env["COUCHDB_URL"]): Promise<SimulationEnv> {
  const { registry, apps } = await loadTodoExample();
  if (transport === "memory") return { transport, registry, apps, server: "memory", close: async () => {} };
  const embedded = serverUrl === undefined ? await startEmbeddedServer() : undefined;
  const url = (serverUrl ?? embedded?.url ?? "").replace(/\/$/, "");
  const proxy = await startCountingProxy(url).catch(async (e: unknown) => {
    await embedded?.close();
    throw e;
  });
  return {
    transport,
    registry,
    apps,
    serverUrl: url,
    proxy,
    server: embedded === undefined ? "couchdb" : "embedded",
    close: async () => {
      await proxy.close();
      await embedded?.close();
    },
  };
}

/** The verdict of one script against one strategy. */
export interface ScriptVerdict {
  readonly strategy: string;
  readonly seed: number;
  readonly status: RunStatus;
  /** Invariants violated without a caveat that predicts it (empty unless `fail`). */
  readonly failed: readonly InvariantName[];
  /** Invariants violated as a caveat predicts. */
  readonly expected: readonly InvariantName[];
  /** One line per unexpected violation (or the error). */
  readonly details: readonly string[];
  readonly ms: number;
}

/** Plays `script` against a fresh strategy from `create` in a fresh world, then checks every invariant at quiescence. */
export async function runScript(create: () => Strategy, script: Script, env: SimulationEnv): Promise<ScriptVerdict> {
  const strategy = create();
  const started = performance.now();
  let world: World | undefined;
  const verdict = (status: RunStatus, failed: InvariantName[], expected: InvariantName[], details: string[]): ScriptVerdict => ({
    strategy: strategy.name,
    seed: script.seed,
    status,
    failed,
    expected,
    details,
    ms: Math.round(performance.now() - started),
  });
  try {
    world = await World.create({
      strategy,
      scenario: `script ${script.seed}`,
      seed: script.seed,
      transport: env.transport,
      ...(env.serverUrl === undefined ? {} : { serverUrl: env.serverUrl }),
      ...(env.proxy === undefined ? {} : { proxy: env.proxy }),
      registry: env.registry,
      apps: env.apps,
    });
    await world.play(script.events);
    for (const d of world.devices.values()) if (!d.gone) d.online = true;
    await world.settle();
    await world.check("the end");
    const { results } = await checkInvariants(world);
    const failed = results.filter((r) => !r.ok && !r.expected);
    const expected = results.filter((r) => !r.ok && r.expected).map((r) => r.name);
    const status: RunStatus = failed.length > 0 ? "fail" : expected.length > 0 ? "expected" : "pass";
    return verdict(status, failed.map((r) => r.name), expected, failed.map((r) => `${r.name}: ${r.detail}`));
  } catch (e) {
    return verdict("error", [], [], [redact(messageOf(e))]);
  } finally {
    await world?.close().catch(() => undefined);
    await strategy.close().catch(() => undefined);
  }
}

/** True when `v` fails as `like` did: an error again, or an unexpected violation of one of the same invariants. */
function failsLike(v: ScriptVerdict, like: ScriptVerdict): boolean {
  if (like.status === "error") return v.status === "error";
  return v.status === "fail" && v.failed.some((n) => like.failed.includes(n));
}

/**
 * Shrinks a failing script to a legal one with as few events as delta debugging finds that still fails
 * the same way (ddmin over complements, then single events), for a reader to see the cause.
 */
export async function minimize(create: () => Strategy, script: Script, env: SimulationEnv, failing: ScriptVerdict): Promise<{ script: Script; verdict: ScriptVerdict }> {
  let events = [...script.events];
  let last = failing;
  const attempt = async (candidate: ScenarioEvent[]): Promise<boolean> => {
    if (firstIllegal(candidate) !== undefined) return false;
    const v = await runScript(create, { seed: script.seed, events: candidate }, env);
    if (!failsLike(v, failing)) return false;
    last = v;
    return true;
  };
  let n = 2;
  while (events.length >= 2) {
    const size = Math.ceil(events.length / n);
    let shrunk = false;
    for (let start = 0; start < events.length; start += size) {
      const candidate = [...events.slice(0, start), ...events.slice(start + size)];
      if (await attempt(candidate)) {
        events = candidate;
        n = Math.max(n - 1, 2);
        shrunk = true;
        break;
      }
    }
    if (!shrunk) {
      if (n >= events.length) break;
      n = Math.min(events.length, n * 2);
    }
  }
  return { script: { seed: script.seed, events }, verdict: last };
}

/** Per-strategy totals of a simulation. */
export interface StrategyTotals {
  readonly strategy: string;
  runs: number;
  pass: number;
  expected: number;
  fail: number;
  error: number;
  /** Wall time spent on this strategy's runs, in ms. */
  ms: number;
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Strategy names (default every registered one). */
  readonly strategies?: readonly string[];
  /** Strategy factories to run instead (tests use this for strategies with faults switched on). */
  readonly factories?: readonly (() => Strategy)[];
  /** Scripts per strategy (default 100). */
  readonly runs?: number;
  /** The first seed; script `i` uses `seed + i` (default 1). */
  readonly seed?: number;
  /** Play these scripts instead of generated ones. */
  readonly scripts?: readonly Script[];
  /** Stop a strategy's runs at its first unexpected failure. */
  readonly stopAtFirstFailure?: boolean;
  /** Shrink each failing script. */
  readonly minimize?: boolean;
  /** The environment (default: the fast in-process world). */
  readonly env?: SimulationEnv;
  /** Called after every run. */
  readonly onRun?: (verdict: ScriptVerdict) => void;
}

/** A failing script, as written to disk and replayed with `--replay`. */
export interface FailingScript extends Script {
  readonly strategy: string;
  readonly failed: readonly InvariantName[];
  readonly details: readonly string[];
  /** The events before minimizing, when the script was shrunk. */
  readonly original?: readonly ScenarioEvent[];
}

/** What {@link simulate} found. */
export interface SimulationReport {
  readonly transport: Transport;
  readonly server: SimulationEnv["server"];
  readonly totals: StrategyTotals[];
  readonly failures: FailingScript[];
}

/** Runs scripts against strategies; see {@link SimulateOptions}. */
export async function simulate(options: SimulateOptions = {}): Promise<SimulationReport> {
  const factories: (() => Strategy)[] = options.factories
    ? [...options.factories]
    : (options.strategies?.length ? options.strategies : allStrategies().map((s) => s.name)).map((n) => {
        createStrategy(n); // unknown names fail before anything runs
        return () => createStrategy(n);
      });
  const runs = options.runs ?? 100;
  const first = options.seed ?? 1;
  if (!Number.isSafeInteger(first)) throw new DivanError("CONFIG_INVALID", `The seed must be an integer, not ${String(first)}.`);
  const scripts = options.scripts ?? Array.from({ length: runs }, (_, i) => generateScript(first + i));
  const env = options.env ?? (await openEnv("memory"));
  const totals: StrategyTotals[] = [];
  const failures: FailingScript[] = [];
  try {
    for (const create of factories) {
      const t: StrategyTotals = { strategy: create().name, runs: 0, pass: 0, expected: 0, fail: 0, error: 0, ms: 0 };
      totals.push(t);
      for (const script of scripts) {
        const started = performance.now();
        const v = await runScript(create, script, env);
        t.ms += performance.now() - started;
        t.runs += 1;
        t[v.status] += 1;
        options.onRun?.(v);
        if (v.status !== "fail" && v.status !== "error") continue;
        let kept: FailingScript = { strategy: v.strategy, seed: script.seed, events: script.events, failed: v.failed, details: v.details };
        if (options.minimize === true) {
          const small = await minimize(create, script, env, v);
          kept = { ...kept, events: small.script.events, failed: small.verdict.failed, details: small.verdict.details, original: script.events };
        }
        failures.push(kept);
        if (options.stopAtFirstFailure === true) break;
      }
    }
  } finally {
    if (options.env === undefined) await env.close();
  }
  return { transport: env.transport, server: env.server, totals, failures };
}

/** The summary table (Markdown) of a simulation, with runs per second per strategy. */
export function renderSummary(report: SimulationReport): string {
  const rows = report.totals.map((t) => {
    const rate = t.ms > 0 ? (t.runs / (t.ms / 1000)).toFixed(1) : "–";
    return `| ${t.strategy} | ${t.runs} | ${t.pass} | ${t.expected} | ${t.fail} | ${t.error} | ${rate} |`;
  });
  return [`| strategy | runs | pass | expected | fail | error | runs/s |`, `|---|---|---|---|---|---|---|`, ...rows].join("\n");
}
