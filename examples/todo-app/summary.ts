/**
 * The summary a reader choosing a strategy reads first: one row per strategy and the article's five trade-offs.
 *
 * One row per strategy, aggregated over the
 * scenarios that ran, and the five trade-offs of "Distributed migration strategies" (the article
 * that motivated divan, sync-tank.com) measured per strategy next to what the article claims.
 *
 * The article's claims are stated here in words (and as a rule over the taxonomy) so the report can say
 * where the measurement disagrees. Everything measured is derived from a {@link ComparisonReport}; this
 * module is pure.
 */
import type { Caveat, CaveatCondition, InvariantName, Taxonomy } from "../../strategies/types.js";
import type { ComparisonReport, RunReport, StrategySummary } from "./compare.js";

/** Whether a strategy has a trade-off's property: fully, in some scenarios or in part, or not at all. */
export type Verdict = "yes" | "partial" | "no";

/** One trade-off measured for one strategy. */
export interface TradeoffCell {
  /** What was measured. */
  readonly verdict: Verdict;
  /** The figures behind the verdict, e.g. `"0 ms, 0 refused"`. */
  readonly measured: string;
  /** What the article claims for this strategy's taxonomy cell; `undefined` when it says nothing about it. */
  readonly claim: Verdict | undefined;
  /** `false` when the measurement disagrees with the claim (yes against not-yes); `undefined` without a claim. */
  readonly agrees: boolean | undefined;
}

/** The names of the article's five trade-offs, in its order. */
export type TradeoffId = "legacy" | "seamless" | "simplicity" | "deduplication" | "conflicts";

/** What the statistics of one strategy's runs are, for {@link Tradeoff.measure}. */
export interface StrategyFigures {
  readonly strategy: StrategySummary;
  readonly runs: readonly RunReport[];
  /** Mean of server documents over the scenarios, divided by the fewest any migrating strategy stored in the same scenario (mean over scenarios). */
  readonly serverDocsRatio: number;
  /** The same for the device that stores the most. */
  readonly deviceDocsRatio: number;
  /** The fewest lines of migration code any strategy that migrates needs in this comparison. */
  readonly leastMigrationLoc: number;
}

/** One of the article's trade-offs: what it claims, how divan measures it. */
export interface Tradeoff {
  readonly id: TradeoffId;
  readonly title: string;
  /** What the article claims, in words. */
  readonly article: string;
  /** How the comparison measures it. */
  readonly measuredBy: string;
  /** The article's claim as a rule over the taxonomy (`undefined`: it says nothing about this cell). */
  claim(taxonomy: Taxonomy): Verdict | undefined;
  /** The measured verdict and the figures behind it. */
  measure(figures: StrategyFigures): { verdict: Verdict; measured: string };
}

/** A strategy whose documents are duplicated (server or devices) holds this many times the documents of the leanest migrating strategy. */
export const DUPLICATION_RATIO = 1.5;

const migrates = (t: Taxonomy): boolean => t.timing !== "none";

function max(values: readonly number[]): number {
  return values.reduce((a, b) => Math.max(a, b), 0);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : sum(values) / values.length;
}

/** Runs that measured something (not broken). */
function measuredRuns(runs: readonly RunReport[]): RunReport[] {
  return runs.filter((r) => r.status !== "error");
}

/** The article's five trade-offs (section "Tradeoffs"), in its order. */
export const TRADEOFFS: readonly Tradeoff[] = [
  {
    id: "legacy",
    title: "Legacy app support",
    article:
      "Single-version migrations can never support clients that require multiple versions of the schema; keeping several versions (multi-version documents or one database per version) is what lets old apps keep working.",
    measuredBy: "Every list an old-app device showed after the release, compared with the todos it should show: yes when every old-app read was right in every scenario with an old device.",
    claim: (t) => (migrates(t) ? (t.storage === "single-version" ? "no" : "yes") : undefined),
    measure: ({ runs }) => {
      const judged = measuredRuns(runs).filter((r) => r.metrics.legacySupport !== "n/a");
      const yes = judged.filter((r) => r.metrics.legacySupport === "yes").length;
      const no = judged.filter((r) => r.metrics.legacySupport === "no").length;
      const verdict: Verdict = judged.length > 0 && yes === judged.length ? "yes" : no === judged.length ? "no" : "partial";
      return { verdict, measured: `${yes}/${judged.length} right` };
    },
  },
  {
    id: "seamless",
    title: "Seamless migration",
    article:
      "Lazy (on-the-fly adapter) migrations and migrations that keep several versions need no downtime: documents are updated and distributed before the apps using them update. A one-shot single-version migration does not offer that.",
    measuredBy: "Milliseconds the server refused writes (maintenance windows, locks) and actions refused to devices on the new app: yes when both are zero in every run.",
    claim: (t) => (migrates(t) ? (t.timing === "lazy" || t.storage !== "single-version" ? "yes" : "no") : undefined),
    measure: ({ runs }) => {
      const ran = measuredRuns(runs);
      const downtime = max(ran.map((r) => r.metrics.downtimeMs));
      const refused = sum(ran.map((r) => r.refused.filter((a) => !a.legacy).length));
      const verdict: Verdict = downtime > 0 ? "no" : refused > 0 ? "partial" : "yes";
      const parts = [...(downtime > 0 || refused === 0 ? [`${downtime} ms down`] : []), ...(refused > 0 ? [`${refused} refused`] : [])];
      return { verdict, measured: parts.join(", ") };
    },
  },
  {
    id: "simplicity",
    title: "Simplicity",
    article:
      "Server-side migrations are easier to implement, test, control and revert; migration code shipped to clients (possibly in several languages, on devices that are offline) is a maintenance burden.",
    measuredBy: "Lines of migration code the team writes (non-blank, non-comment), against the fewest any migrating strategy needs here; where that code runs is shown next to it.",
    claim: (t) => (migrates(t) ? (t.place === "server" ? "yes" : "no") : undefined),
    measure: ({ strategy, runs, leastMigrationLoc }) => {
      const loc = max(runs.map((r) => r.metrics.migrationLoc));
      const where = strategy.taxonomy.place === "client" ? "devices" : strategy.taxonomy.place === "server" ? "server" : "none";
      return { verdict: loc <= leastMigrationLoc ? "yes" : "no", measured: `${loc} loc, ${where}` };
    },
  },
  {
    id: "deduplication",
    title: "Deduplication",
    article:
      "Keeping several versions of a document costs storage: multi-db migrations do not reuse documents across versions, so a device may hold several versions of the very same document; multi-version storage keeps versions side by side. A single version is not duplicated.",
    measuredBy: `Documents on the server and on the device that stores the most, as a multiple of the leanest migrating strategy in the same scenario (mean over scenarios): duplicated from ${DUPLICATION_RATIO}×; yes when neither is, partial when one is.`,
    claim: (t) => (migrates(t) ? (t.storage === "single-version" ? "yes" : "no") : undefined),
    measure: ({ serverDocsRatio, deviceDocsRatio }) => {
      const duplicated = [serverDocsRatio, deviceDocsRatio].filter((r) => r >= DUPLICATION_RATIO).length;
      const verdict: Verdict = duplicated === 0 ? "yes" : duplicated === 1 ? "partial" : "no";
      return { verdict, measured: `${serverDocsRatio.toFixed(1)}× / ${deviceDocsRatio.toFixed(1)}×` };
    },
  },
  {
    id: "conflicts",
    title: "Conflict safety",
    article:
      "Migrations that update documents in many places, such as on several clients in parallel, create conflicts (clients do not generate the same revision ids); a migration in one place on the server does not.",
    measuredBy: "Documents with conflicting revisions at the end of every run, once per replica holding them (the conflict storm has five devices migrate at once): yes when there are none.",
    claim: (t) => (migrates(t) ? (t.place === "server" ? "yes" : "no") : undefined),
    measure: ({ runs }) => {
      const ran = measuredRuns(runs);
      const conflicts = sum(ran.map((r) => r.metrics.conflicts));
      const unexpected = ran.some((r) => r.invariants.some((i) => i.name === "expected-conflicts-only" && !i.ok && !i.expected));
      const verdict: Verdict = conflicts === 0 && !unexpected ? "yes" : "no";
      return { verdict, measured: `${conflicts} conflict${conflicts === 1 ? "" : "s"}` };
    },
  },
];

/** One strategy's row of the summary. */
export interface StrategyRow {
  readonly strategy: string;
  readonly taxonomy: Taxonomy;
  /** Runs per status. */
  readonly pass: number;
  readonly expected: number;
  readonly fail: number;
  readonly error: number;
  /** The longest downtime of any run (ms). */
  readonly downtimeMs: number;
  /** Conflicts over every run. */
  readonly conflicts: number;
  /** Replicated bytes per device, mean over the runs. */
  readonly bytesPerDevice: number;
  /** Server documents, mean over the runs. */
  readonly serverDocs: number;
  /** Documents on the device that stores the most, mean over the runs. */
  readonly deviceDocs: number;
  /** Lines of migration code the team writes. */
  readonly migrationLoc: number;
  /** The strategy's caveats in words, grouped by when they apply. */
  readonly caveats: string;
  /** The five trade-offs, in {@link TRADEOFFS} order. */
  readonly tradeoffs: Readonly<Record<TradeoffId, TradeoffCell>>;
}

const INVARIANT_WORDS: Record<InvariantName, string> = {
  converged: "replicas differ",
  "no-lost-documents": "documents missing",
  "no-lost-fields": "edits missing",
  "apps-read-their-data": "unreadable data",
  "bounded-writes": "unbounded writes",
  "expected-conflicts-only": "conflicts",
};

const CONDITION_WORDS: Record<CaveatCondition | "always", string> = {
  always: "always",
  "old-app-after-release": "old app after release",
  "old-app-wrote-after-release": "old-app writes after release",
  retired: "old app retired",
  "refused-write-kept": "refused write reported and kept",
  "untranslated-old-delete": "old-app deletion no new-app device is left to translate",
};

/** A strategy's caveats in words: `<when>: <what happens>, …; …` (e.g. `old app after release: unreadable data`), or "none". */
export function caveatWords(caveats: readonly Caveat[]): string {
  if (caveats.length === 0) return "none";
  const byCondition = new Map<string, string[]>();
  for (const c of caveats) {
    const key = CONDITION_WORDS[c.when ?? "always"];
    const words = byCondition.get(key) ?? [];
    const word = INVARIANT_WORDS[c.invariant];
    if (!words.includes(word)) words.push(word);
    byCondition.set(key, words);
  }
  return [...byCondition].map(([when, what]) => `${when}: ${what.join(", ")}`).join("; ");
}

/** Mean over the scenarios of `value(run) / fewest(scenario)`, where fewest is the least any migrating strategy's run stored. */
function docsRatio(report: ComparisonReport, runs: readonly RunReport[], value: (r: RunReport) => number): number {
  const ratios: number[] = [];
  for (const run of measuredRuns(runs)) {
    const peers = measuredRuns(report.runs).filter((r) => r.scenario === run.scenario && migrates(r.taxonomy) && value(r) > 0);
    const fewest = Math.min(...peers.map(value));
    if (Number.isFinite(fewest) && fewest > 0) ratios.push(value(run) / fewest);
  }
  return mean(ratios);
}

/** One row per strategy of `report`, in report order. */
export function summarise(report: ComparisonReport): StrategyRow[] {
  const migratingLoc = report.runs.filter((r) => migrates(r.taxonomy)).map((r) => r.metrics.migrationLoc);
  const leastMigrationLoc = migratingLoc.length === 0 ? 0 : Math.min(...migratingLoc);
  return report.strategies.map((strategy) => {
    const runs = report.runs.filter((r) => r.strategy === strategy.name);
    const ran = measuredRuns(runs);
    const figures: StrategyFigures = {
      strategy,
      runs,
      serverDocsRatio: docsRatio(report, runs, (r) => r.metrics.serverDocs),
      deviceDocsRatio: docsRatio(report, runs, (r) => r.metrics.deviceDocs),
      leastMigrationLoc,
    };
    const tradeoffs = Object.fromEntries(
      TRADEOFFS.map((t) => {
        const { verdict, measured } = t.measure(figures);
        const claim = t.claim(strategy.taxonomy);
        const cell: TradeoffCell = { verdict, measured, claim, agrees: claim === undefined ? undefined : (verdict === "yes") === (claim === "yes") };
        return [t.id, cell];
      }),
    ) as Record<TradeoffId, TradeoffCell>;
    const count = (status: RunReport["status"]): number => runs.filter((r) => r.status === status).length;
    return {
      strategy: strategy.name,
      taxonomy: strategy.taxonomy,
      pass: count("pass"),
      expected: count("expected"),
      fail: count("fail"),
      error: count("error"),
      downtimeMs: max(ran.map((r) => r.metrics.downtimeMs)),
      conflicts: sum(ran.map((r) => r.metrics.conflicts)),
      bytesPerDevice: Math.round(mean(ran.map((r) => r.metrics.replicatedBytesPerDevice))),
      serverDocs: mean(ran.map((r) => r.metrics.serverDocs)),
      deviceDocs: mean(ran.map((r) => r.metrics.deviceDocs)),
      migrationLoc: max(runs.map((r) => r.metrics.migrationLoc)),
      caveats: caveatWords(strategy.caveats),
      tradeoffs,
    };
  });
}

/** Strategies whose measured verdict on one trade-off disagrees with the article's claim in the same way. */
export interface Disagreement {
  readonly tradeoff: TradeoffId;
  /** What was measured (`yes`, or `partial`/`no`). */
  readonly measured: Verdict;
  /** What the article expects. */
  readonly claim: Verdict;
  /** The strategies, with the figures behind each verdict. */
  readonly strategies: readonly { readonly name: string; readonly measured: string }[];
}

/** Where the measurement disagrees with the article: per trade-off, the strategies grouped by measured verdict and claim. */
export function disagreements(rows: readonly StrategyRow[]): Disagreement[] {
  const out: Disagreement[] = [];
  for (const t of TRADEOFFS) {
    const groups = new Map<string, { measured: Verdict; claim: Verdict; strategies: { name: string; measured: string }[] }>();
    for (const row of rows) {
      const cell = row.tradeoffs[t.id];
      if (cell.agrees !== false || cell.claim === undefined) continue;
      const key = `${cell.verdict}/${cell.claim}`;
      const group = groups.get(key) ?? { measured: cell.verdict, claim: cell.claim, strategies: [] };
      group.strategies.push({ name: row.strategy, measured: cell.measured });
      groups.set(key, group);
    }
    for (const g of groups.values()) out.push({ tradeoff: t.id, ...g });
  }
  return out;
}

/** A disagreement in one sentence: `measured yes where the article expects no: a (figures), b (figures).` */
export function disagreementText(d: Disagreement): string {
  return `measured ${d.measured} where the article expects ${d.claim}: ${d.strategies.map((s) => `${s.name} (${s.measured})`).join(", ")}.`;
}
