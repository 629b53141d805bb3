/**
 * Writes a comparison as `report.md` (a table and every violation), `report.json` (the machine
 * form) and `report.html` (a self-contained page: the table and charts drawn by chart.js, inlined).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { resolvePeer } from "../../core/peer.js";
import type { ComparisonReport, RunReport, ServerInfo } from "./compare.js";
import { disagreements, disagreementText, summarise, TRADEOFFS, type StrategyRow, type TradeoffCell, type TradeoffId } from "./summary.js";

/** The paths written by {@link writeReports}. */
export interface WrittenReports {
  markdown: string;
  json: string;
  html: string;
}

/** `report.json`: stable key order, two-space indentation, a final newline. */
export function renderJson(report: ComparisonReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** `CouchDB 3.4.3`, or `the embedded server (CouchDB 3.4.3 API)`. */
export function serverLabel(server: ServerInfo): string {
  return server.kind === "couchdb" ? `CouchDB ${server.version}` : `the embedded server (CouchDB ${server.version} API)`;
}

/** What the figures of a report mean, and which of them are reproducible from the seed. */
function legend(report: ComparisonReport): string {
  return (
    `Seed ${report.seed} on ${serverLabel(report.server)}. Device columns show the device that stores the most; bytes are JSON bytes of the stored documents; ` +
    "replicated bytes are HTTP body bytes through the counting proxy without the server's bookkeeping (update sequences and database info answers, whose size is the server's choice); " +
    "wire bytes are every body byte. Wall ms and downtime ms are timings; wire bytes depend on the server (a CouchDB's sequences differ between two fresh databases); " +
    "every other figure is reproducible from the seed."
  );
}

function cell(text: string | number): string {
  return String(text).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function invariantsCell(run: RunReport): string {
  if (run.status === "error") return `error: ${run.error ?? "unknown"}`;
  const failed = run.invariants.filter((i) => !i.ok);
  if (failed.length === 0) return `✓ all ${run.invariants.length}`;
  return failed.map((i) => (i.expected ? `⚠ documented weakness: ${i.name}` : `✗ ${i.name}`)).join(", ");
}

/** The table columns, shared by Markdown and HTML. */
const COLUMNS: { title: string; value: (r: RunReport) => string | number }[] = [
  { title: "strategy", value: (r) => r.strategy },
  { title: "scenario", value: (r) => r.scenario },
  { title: "taxonomy", value: (r) => `${r.taxonomy.storage} / ${r.taxonomy.timing} / ${r.taxonomy.place}` },
  { title: "change", value: (r) => `${r.change.from} → ${r.change.to}` },
  { title: "status", value: (r) => r.status },
  { title: "invariants", value: invariantsCell },
  { title: "legacy", value: (r) => r.metrics.legacySupport },
  { title: "downtime ms", value: (r) => r.metrics.downtimeMs },
  { title: "lost docs", value: (r) => r.metrics.lostDocs },
  { title: "lost fields", value: (r) => r.metrics.lostFields },
  { title: "conflicts", value: (r) => r.metrics.conflicts },
  { title: "server docs", value: (r) => r.metrics.serverDocs },
  { title: "server bytes", value: (r) => r.metrics.serverBytes },
  { title: "device docs", value: (r) => r.metrics.deviceDocs },
  { title: "device bytes", value: (r) => r.metrics.deviceBytes },
  { title: "replicated bytes", value: (r) => r.metrics.replicatedBytes },
  { title: "wire bytes", value: (r) => r.metrics.wireBytes },
  { title: "wall ms", value: (r) => r.metrics.wallMs },
  { title: "migration LOC", value: (r) => r.metrics.migrationLoc },
];

/** The Markdown table alone (what the CLI prints). */
export function renderTable(report: ComparisonReport): string {
  const head = `| ${COLUMNS.map((c) => c.title).join(" | ")} |`;
  const rule = `|${COLUMNS.map(() => "---").join("|")}|`;
  const rows = report.runs.map((r) => `| ${COLUMNS.map((c) => cell(c.value(r))).join(" | ")} |`);
  return [head, rule, ...rows].join("\n");
}

function tradeoffMarkdown(c: TradeoffCell): string {
  const claim = c.claim === undefined ? "" : c.agrees === false ? ` ≠ article: ${c.claim}` : " = article";
  return `${c.verdict} (${c.measured})${claim}`;
}

/** The summary as Markdown: one row per strategy, then the article's trade-offs and where the measurement disagrees. */
export function renderSummaryMarkdown(report: ComparisonReport): string {
  const rows = summarise(report);
  const head = ["strategy", "taxonomy", "runs", ...TRADEOFFS.map((t) => t.title), "docs server / device", "bytes per device", "caveats"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const runs = `${r.pass} pass, ${r.expected} documented weakness, ${r.fail + r.error} fail`;
    const cells = [
      r.strategy,
      `${r.taxonomy.storage} / ${r.taxonomy.timing} / ${r.taxonomy.place}`,
      runs,
      ...TRADEOFFS.map((t) => tradeoffMarkdown(r.tradeoffs[t.id])),
      `${formatCount(r.serverDocs)} / ${formatCount(r.deviceDocs)}`,
      formatBytes(r.bytesPerDevice),
      r.caveats,
    ];
    lines.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  lines.push("", "### The article's trade-offs", "");
  const differs = disagreements(rows);
  for (const t of TRADEOFFS) {
    lines.push(`- **${t.title}.** The article: ${t.article} Measured by: ${t.measuredBy}`);
    const mine = differs.filter((d) => d.tradeoff === t.id);
    lines.push(mine.length === 0 ? "  The measurement agrees with the article everywhere." : `  Disagrees: ${mine.map(disagreementText).join(" ")}`);
  }
  return lines.join("\n");
}

/** `report.md`: the summary, the table, then every violation and refused action, then the strategies' caveats. */
export function renderMarkdown(report: ComparisonReport): string {
  const out: string[] = [
    "# divan compare",
    "",
    legend(report),
    "",
    "## Which strategy?",
    "",
    renderSummaryMarkdown(report),
    "",
    "## Every run",
    "",
    renderTable(report),
    "",
    "## Violations",
    "",
  ];
  let any = false;
  for (const r of report.runs) {
    const lines = r.invariants.filter((i) => !i.ok).map((i) => `- **${i.name}**${i.expected ? " (documented weakness)" : ""}: ${i.detail}`);
    if (r.error) lines.push(`- **error**: ${r.error}`);
    for (const a of r.refused) lines.push(`- refused at step ${a.step}: ${a.device} could not ${a.action}: ${a.error}`);
    if (lines.length === 0) continue;
    any = true;
    out.push(`### ${r.strategy} × ${r.scenario}`, "", `Legacy support: ${r.metrics.legacySupport} — ${r.metrics.legacySupportReason}`, "", ...lines, "");
  }
  if (!any) out.push("None.", "");
  out.push("## Strategies", "");
  for (const s of report.strategies) {
    out.push(`- **${s.name}** (${s.taxonomy.storage} / ${s.taxonomy.timing} / ${s.taxonomy.place}, ${s.change.from} → ${s.change.to}): ${s.description}`);
    for (const c of s.caveats) out.push(`  - caveat on ${c.invariant}${c.when ? ` (when ${c.when})` : ""}: ${c.reason}`);
  }
  out.push("", "## Scenarios", "");
  for (const s of report.scenarios) out.push(`- **${s.name}**: ${s.description}`);
  return `${out.join("\n")}\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Makes text safe inside a `<script>` element. */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** chart.js's UMD bundle, to inline into the page. */
export async function chartJsSource(): Promise<string> {
  const main = resolvePeer("chart.js", "the charts of report.html", import.meta.url);
  return readFile(path.join(path.dirname(main), "chart.umd.js"), "utf8");
}

const CHARTS: { id: string; title: string; metric: keyof RunReport["metrics"] }[] = [
  { id: "chart-replicated", title: "Bytes replicated", metric: "replicatedBytes" },
  { id: "chart-server", title: "Bytes stored on the server", metric: "serverBytes" },
  { id: "chart-wall", title: "Wall time (ms)", metric: "wallMs" },
];

/** `#rrggbb` of an HSL colour (hue in degrees, saturation and lightness in percent). */
export function hslToHex(hue: number, saturation: number, lightness: number): string {
  const s = saturation / 100;
  const l = lightness / 100;
  const a = s * Math.min(l, 1 - l);
  const channel = (n: number): string => {
    const k = (n + hue / 30) % 12;
    const v = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

/**
 * `n` colours, one per strategy: hues evenly spaced around the circle, lightness cycling through three
 * levels so that neighbouring hues also differ in brightness (test/harness/report.test.ts checks that
 * every pair is told apart).
 */
export function strategyColours(n: number): string[] {
  const lightness = [38, 55, 70];
  return Array.from({ length: n }, (_, i) => hslToHex((i * 360) / Math.max(1, n), 70, lightness[i % lightness.length] ?? 55));
}

const STATUS_LABEL: Record<RunReport["status"], string> = {
  pass: "✓ pass",
  expected: "⚠ documented weakness",
  fail: "✗ fail",
  error: "✗ error",
};

/** An invariant verdict as HTML: a failed-but-expected one is a documented weakness, never a success. */
function invariantsHtml(run: RunReport): string {
  if (run.status === "error") return `<span class="badge bad">error</span> ${escapeHtml(run.error ?? "unknown")}`;
  const failed = run.invariants.filter((i) => !i.ok);
  if (failed.length === 0) return `<span class="ok">✓ all ${run.invariants.length}</span>`;
  return failed
    .map((i) =>
      i.expected
        ? `<span class="badge weak" title="${escapeHtml(i.detail)}">⚠ documented weakness: ${escapeHtml(i.name)}</span>`
        : `<span class="badge bad" title="${escapeHtml(i.detail)}">✗ ${escapeHtml(i.name)}</span>`,
    )
    .join(" ");
}

function verdictHtml(cell: TradeoffCell): string {
  const claim =
    cell.claim === undefined
      ? `<span class="claim none">article: no claim</span>`
      : cell.agrees === false
        ? `<span class="claim differs" title="the measurement disagrees with the article">≠ article: ${cell.claim}</span>`
        : `<span class="claim same">= article</span>`;
  return `<span class="v v-${cell.verdict}">${cell.verdict}</span> ${escapeHtml(cell.measured)}<br>${claim}`;
}

function formatBytes(n: number): string {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function formatCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** The summary table: one row per strategy, the five trade-offs next to the article's claims. */
function summaryHtml(rows: readonly StrategyRow[], colours: readonly string[]): string {
  const t = (id: TradeoffId): string => escapeHtml(TRADEOFFS.find((x) => x.id === id)?.title ?? id);
  const head: [string, string][] = [
    ["strategy", "name and taxonomy cell: storage / timing / place"],
    ["runs", "runs per status"],
    [t("legacy"), "old-app reads right in how many scenarios with an old device"],
    [t("seamless"), "longest downtime; actions refused to new-app devices"],
    [t("simplicity"), "lines of migration code the team writes; where it runs"],
    [t("deduplication"), "documents on the server / on the fullest device, as a multiple of the leanest migrating strategy"],
    ["docs server / device", "documents on the server / on the fullest device, mean per run"],
    [t("conflicts"), "documents with conflicts at the end of every run, summed"],
    ["bytes / device", "replicated bytes per device, mean per run"],
    ["caveats", "when the strategy is documented to fall short, and how"],
  ];
  const body = rows
    .map((r, i) => {
      const runs = [
        r.pass > 0 ? `<span class="ok">${r.pass} ✓</span>` : "",
        r.expected > 0 ? `<span class="weak-text" title="runs whose only violations are documented weaknesses">${r.expected} ⚠</span>` : "",
        r.fail + r.error > 0 ? `<span class="bad-text">${r.fail + r.error} ✗</span>` : "",
      ]
        .filter((x) => x !== "")
        .join(" ");
      return `<tr data-strategy="${escapeHtml(r.strategy)}"><td class="name"><span class="swatch" style="background:${colours[i] ?? "#888"}"></span>${escapeHtml(r.strategy)}<br><span class="tax">${escapeHtml(`${r.taxonomy.storage} / ${r.taxonomy.timing} / ${r.taxonomy.place}`)}</span></td><td>${runs}</td><td>${verdictHtml(r.tradeoffs.legacy)}</td><td>${verdictHtml(r.tradeoffs.seamless)}</td><td>${verdictHtml(r.tradeoffs.simplicity)}</td><td>${verdictHtml(r.tradeoffs.deduplication)}</td><td>${formatCount(r.serverDocs)} / ${formatCount(r.deviceDocs)}</td><td>${verdictHtml(r.tradeoffs.conflicts)}</td><td>${formatBytes(r.bytesPerDevice)}</td><td class="caveats">${escapeHtml(r.caveats)}</td></tr>`;
    })
    .join("\n");
  return `<table id="summary">
<thead><tr>${head.map(([h, title]) => `<th title="${escapeHtml(title)}">${h}</th>`).join("")}</tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}

/** The trade-offs: what the article claims, how they are measured, where the measurement disagrees. */
function tradeoffsHtml(rows: readonly StrategyRow[]): string {
  const differs = disagreements(rows);
  const body = TRADEOFFS.map((t) => {
    const mine = differs.filter((d) => d.tradeoff === t.id);
    const list = mine.length === 0 ? "nowhere" : mine.map((d) => `<p>${escapeHtml(disagreementText(d))}</p>`).join("");
    return `<tr data-tradeoff="${t.id}"><th>${escapeHtml(t.title)}</th><td>${escapeHtml(t.article)}</td><td>${escapeHtml(t.measuredBy)}</td><td>${list}</td></tr>`;
  }).join("\n");
  return `<table id="tradeoffs">
<thead><tr><th>trade-off</th><th>what the article claims</th><th>how it is measured here</th><th>where the measurement disagrees</th></tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}

/** The stylesheet of report.html. */
const REPORT_CSS = `body { font: 12px/1.35 system-ui, sans-serif; margin: 10px 12px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 24px 0 6px; }
p.lead { margin: 0 0 6px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #ccc; padding: 2px 5px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
#summary td { white-space: nowrap; }
#summary td.name { font-weight: 600; }
#summary .tax, .claim { font-size: 11px; font-weight: normal; color: #666; }
#summary { width: 100%; font-size: 11.5px; }
#summary td.caveats { font-size: 11px; white-space: normal; min-width: 240px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; vertical-align: baseline; }
.v { font-weight: 600; padding: 0 3px; border-radius: 3px; }
.v-yes { background: #d9f2dd; color: #17702a; }
.v-partial { background: #fdf0cf; color: #7a5500; }
.v-no { background: #f8dcdc; color: #a0001c; }
.claim { white-space: nowrap; }
#tradeoffs p { margin: 0 0 4px; }
.claim.differs { color: #7a5500; background: #fff4d6; border: 1px solid #e0a800; border-radius: 3px; padding: 0 2px; }
.badge { display: inline-block; padding: 0 4px; border-radius: 3px; font-weight: 600; white-space: nowrap; }
.badge.good { background: #d9f2dd; color: #17702a; }
.badge.weak { background: #fff4d6; color: #7a5500; border: 1px solid #e0a800; }
.badge.bad { background: #f8dcdc; color: #a0001c; }
.ok { color: #17702a; }
.weak-text { color: #7a5500; font-weight: 600; }
.bad-text { color: #a0001c; font-weight: 600; }
dl#scenarios dt { font-weight: 600; margin-top: 4px; }
dl#scenarios dd { margin-left: 16px; }
figure { margin: 16px 0; max-width: 1140px; }
`;

/** The script of report.html that draws one bar chart per metric (strategy colours as in the summary). */
function chartScript(colours: readonly string[]): string {
  return `(function () {
  var report = JSON.parse(document.getElementById("report-data").textContent);
  var scenarios = report.scenarios.map(function (s) { return s.name; });
  var palette = ${JSON.stringify(colours)};
  var charts = ${JSON.stringify(CHARTS)};
  charts.forEach(function (c) {
    var datasets = report.strategies.map(function (s, i) {
      return {
        label: s.name,
        backgroundColor: palette[i],
        data: scenarios.map(function (name) {
          var run = report.runs.find(function (r) { return r.strategy === s.name && r.scenario === name; });
          return run ? run.metrics[c.metric] : null;
        })
      };
    });
    new Chart(document.getElementById(c.id), {
      type: "bar",
      data: { labels: scenarios, datasets: datasets },
      options: { animation: false, responsive: false, plugins: { title: { display: true, text: c.title } } }
    });
  });
})();
`;
}

/** `report.html`: self-contained (chart.js inlined, no network): the summary first, then the details. */
export function renderHtml(report: ComparisonReport, chartJs: string): string {
  const colours = strategyColours(report.strategies.length);
  const rows = summarise(report);
  const runRows = report.runs
    .map(
      (r) =>
        `<tr class="status-${r.status}">${COLUMNS.map((c) => {
          if (c.title === "status") return `<td><span class="badge ${r.status === "pass" ? "good" : r.status === "expected" ? "weak" : "bad"}">${STATUS_LABEL[r.status]}</span></td>`;
          if (c.title === "invariants") return `<td>${invariantsHtml(r)}</td>`;
          return `<td>${escapeHtml(String(c.value(r)))}</td>`;
        }).join("")}</tr>`,
    )
    .join("\n");
  const violations = report.runs
    .flatMap((r) =>
      r.invariants
        .filter((i) => !i.ok)
        .map(
          (i) =>
            `<li><b>${escapeHtml(r.strategy)} × ${escapeHtml(r.scenario)}</b> ${i.expected ? `<span class="badge weak">documented weakness</span>` : `<span class="badge bad">violation</span>`} ${escapeHtml(i.name)}: ${escapeHtml(i.detail)}</li>`,
        ),
    )
    .join("\n");
  const scenarios = report.scenarios.map((s) => `<dt>${escapeHtml(s.name)}</dt><dd>${escapeHtml(s.description)}</dd>`).join("\n");
  const strategies = report.strategies
    .map(
      (s, i) =>
        `<li><span class="swatch" style="background:${colours[i] ?? "#888"}"></span><b>${escapeHtml(s.name)}</b> (${escapeHtml(`${s.taxonomy.storage} / ${s.taxonomy.timing} / ${s.taxonomy.place}`)}, ${escapeHtml(`${s.change.from} → ${s.change.to}`)}): ${escapeHtml(s.description)}${
          s.caveats.length === 0
            ? ""
            : `<ul>${s.caveats.map((c) => `<li><span class="badge weak">documented weakness</span> ${escapeHtml(c.invariant)}${c.when ? ` (when ${escapeHtml(c.when)})` : ""}: ${escapeHtml(c.reason)}</li>`).join("")}</ul>`
        }</li>`,
    )
    .join("\n");
  const data = scriptSafe(JSON.stringify(report));
  const charts = CHARTS.map((c) => `<figure><figcaption>${escapeHtml(c.title)}</figcaption><canvas id="${c.id}" width="1100" height="340"></canvas></figure>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>divan compare — seed ${report.seed}</title>
<style>
${REPORT_CSS}</style>
</head>
<body>
<h1>divan compare: which strategy?</h1>
<p class="lead">${report.strategies.length} strategies × ${report.scenarios.length} scenarios (described below), seed ${report.seed}, ${escapeHtml(serverLabel(report.server))}. Runs: ✓ pass, <span class="weak-text">⚠ only documented weaknesses</span>, <span class="bad-text">✗ fail</span>. Trade-offs: measured verdict and figures; <span class="claim differs">≠ article</span>: the measurement disagrees with the article.</p>
${summaryHtml(rows, colours)}
<h2>The trade-offs: what the article claims, and what was measured</h2>
<p>The five trade-offs of <i>Distributed Migration Strategies</i> (Schmitz and Dumke, sync-tank.com), the article divan follows.</p>
${tradeoffsHtml(rows)}
<h2>Scenarios</h2>
<dl id="scenarios">
${scenarios}
</dl>
<h2>Strategies</h2>
<ul id="strategies">
${strategies}
</ul>
<h2>Every run</h2>
<p>${escapeHtml(legend(report))}</p>
<table id="runs">
<thead><tr>${COLUMNS.map((c) => `<th>${escapeHtml(c.title)}</th>`).join("")}</tr></thead>
<tbody>
${runRows}
</tbody>
</table>
${charts}
<h2>Violations</h2>
<ul id="violations">
${violations || "<li>None.</li>"}
</ul>
<script type="application/json" id="report-data">${data}</script>
<script>${scriptSafe(chartJs)}</script>
<script>
${chartScript(colours)}</script>
</body>
</html>
`;
}

/** Writes the three reports into `dir` (created if needed) and returns their paths. */
export async function writeReports(report: ComparisonReport, dir: string): Promise<WrittenReports> {
  await mkdir(dir, { recursive: true });
  const paths: WrittenReports = {
    markdown: path.join(dir, "report.md"),
    json: path.join(dir, "report.json"),
    html: path.join(dir, "report.html"),
  };
  await writeFile(paths.markdown, renderMarkdown(report));
  await writeFile(paths.json, renderJson(report));
  await writeFile(paths.html, renderHtml(report, await chartJsSource()));
  return paths;
}
