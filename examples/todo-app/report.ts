/**
 * Writes a comparison as `report.md` (a table and every violation), `report.json` (the machine
 * form) and `report.html` (a self-contained page: the table and charts drawn by chart.js, inlined).
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { resolvePeer } from "../../core/peer.js";
import type { ComparisonReport, RunReport, ServerInfo } from "./compare.js";

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
  return failed.map((i) => `✗ ${i.name}${i.expected ? " (expected)" : ""}`).join(", ");
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

/** `report.md`: the table, then every violation and refused action, then the strategies' caveats. */
export function renderMarkdown(report: ComparisonReport): string {
  const out: string[] = [
    "# divan compare",
    "",
    legend(report),
    "",
    renderTable(report),
    "",
    "## Violations",
    "",
  ];
  let any = false;
  for (const r of report.runs) {
    const lines = r.invariants.filter((i) => !i.ok).map((i) => `- **${i.name}**${i.expected ? " (expected)" : ""}: ${i.detail}`);
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

/** `report.html`: self-contained (chart.js inlined, no network), the table and one bar chart per metric. */
export function renderHtml(report: ComparisonReport, chartJs: string): string {
  const rows = report.runs
    .map((r) => `<tr class="status-${r.status}">${COLUMNS.map((c) => `<td>${escapeHtml(String(c.value(r)))}</td>`).join("")}</tr>`)
    .join("\n");
  const violations = report.runs
    .flatMap((r) =>
      r.invariants
        .filter((i) => !i.ok)
        .map((i) => `<li><b>${escapeHtml(r.strategy)} × ${escapeHtml(r.scenario)}</b> ${escapeHtml(i.name)}${i.expected ? " (expected)" : ""}: ${escapeHtml(i.detail)}</li>`),
    )
    .join("\n");
  const data = scriptSafe(JSON.stringify(report));
  const charts = CHARTS.map((c) => `<figure><figcaption>${escapeHtml(c.title)}</figcaption><canvas id="${c.id}" width="900" height="320"></canvas></figure>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>divan compare — seed ${report.seed}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
tr.status-pass td:nth-child(5) { color: #17702a; }
tr.status-expected td:nth-child(5) { color: #8a6100; }
tr.status-fail td:nth-child(5), tr.status-error td:nth-child(5) { color: #b00020; font-weight: bold; }
figure { margin: 1.5rem 0; max-width: 960px; }
</style>
</head>
<body>
<h1>divan compare</h1>
<p>${escapeHtml(legend(report))} ${report.runs.length} runs: ${report.strategies.length} strategies × ${report.scenarios.length} scenarios.</p>
<table id="runs">
<thead><tr>${COLUMNS.map((c) => `<th>${escapeHtml(c.title)}</th>`).join("")}</tr></thead>
<tbody>
${rows}
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
(function () {
  var report = JSON.parse(document.getElementById("report-data").textContent);
  var scenarios = report.scenarios.map(function (s) { return s.name; });
  var palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"];
  var charts = ${JSON.stringify(CHARTS)};
  charts.forEach(function (c) {
    var datasets = report.strategies.map(function (s, i) {
      return {
        label: s.name,
        backgroundColor: palette[i % palette.length],
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
</script>
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
