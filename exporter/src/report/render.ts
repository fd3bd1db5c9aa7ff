// The usage report in its four forms: JSON and CSV for scripts, Markdown for a ticket or a wiki, and one HTML
// file with the charts that opens from disk with the network off (everything inlined: uPlot, the page's chart
// module and style sheet, the data).
import { formatDuration } from '../duration.js';
import { humanDuration } from '../recommend/decide.js';
import { sizingVariables } from '../recommend/envfile.js';
import { reasonOf } from '../recommend/report.js';
import { LEVELS, type Level } from '../thresholds.js';
import { uplotFile, webModule } from '../ui/assets.js';
import { pageStyles } from '../ui/styles.js';
import { composeSnippet, levelsInfo } from '../ui/view.js';
import type { ReportCharts } from '../ui/web/charts.js';
import { formatBytes, formatCores, formatPercent } from '../ui/web/charts.js';
import { VERSION } from '../version.js';
import type { ReportEntry, Spread } from './collect.js';

export const FORMATS = ['html', 'json', 'csv', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

export interface ReportMeta { generatedAt: Date; /** The window's end: now, or --end. */ end: Date; windowSeconds: number; prometheusUrl: string }

const nameOf = (entry: ReportEntry) => entry.usage.container ?? entry.usage.instance;

function recommendedJson(entry: ReportEntry) {
  const { recommendation, usage } = entry;
  return {
    size: recommendation.size,
    confidence: recommendation.confidence,
    reason: reasonOf(usage, recommendation),
    notes: recommendation.notes,
    env: sizingVariables(recommendation.sizing),
  };
}

export function reportJson(entries: ReportEntry[], meta: ReportMeta) {
  return {
    report_version: 1,
    generated_at: meta.generatedAt.toISOString(),
    window: formatDuration(meta.windowSeconds),
    window_end: meta.end.toISOString(),
    containers: entries.map((entry) => ({
      instance: entry.usage.instance,
      container: entry.usage.container ?? null,
      compose_project: entry.labels.compose_project ?? null,
      compose_service: entry.labels.compose_service ?? null,
      history_seconds: Math.round(entry.usage.historySeconds),
      memory_working_set_bytes: entry.memoryBytes,
      cpu_cores: entry.cpuCores,
      level_shares: entry.levelShares,
      oom_kills: entry.usage.oomKills,
      restarts: entry.restarts,
      throttled_seconds: entry.usage.throttledSeconds,
      throttled_periods_ratio: entry.usage.throttledPeriodsRatio,
      limits: { memory_bytes: entry.usage.memoryLimitBytes, cpu_cores: entry.usage.cpuLimitCores },
      size_now: entry.recommendation.currentSize,
      recommended: recommendedJson(entry),
    })),
  };
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function csvField(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const SPREAD_KEYS = ['p50', 'p95', 'p99', 'max'] as const;

export function reportCsv(entries: ReportEntry[]): string {
  const header = [
    'instance', 'container', 'compose_project', 'compose_service', 'history_seconds',
    ...SPREAD_KEYS.map((key) => `memory_working_set_${key}_bytes`), ...SPREAD_KEYS.map((key) => `cpu_${key}_cores`),
    ...LEVELS.map((level) => `share_${level}`),
    'oom_kills', 'restarts', 'throttled_seconds', 'throttled_periods_ratio', 'memory_limit_bytes', 'cpu_limit_cores', 'size_now', 'size_recommended', 'confidence', 'reason',
  ];
  const rows = entries.map((entry) => [
    entry.usage.instance, entry.usage.container ?? '', entry.labels.compose_project ?? '', entry.labels.compose_service ?? '', Math.round(entry.usage.historySeconds),
    ...SPREAD_KEYS.map((key) => entry.memoryBytes[key]), ...SPREAD_KEYS.map((key) => entry.cpuCores[key]),
    ...LEVELS.map((level) => entry.levelShares[level]),
    entry.usage.oomKills, entry.restarts, entry.usage.throttledSeconds, entry.usage.throttledPeriodsRatio, entry.usage.memoryLimitBytes, entry.usage.cpuLimitCores,
    entry.recommendation.currentSize, entry.recommendation.size, entry.recommendation.confidence, reasonOf(entry.usage, entry.recommendation),
  ]);
  return `${[header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n')}\r\n`;
}

const spreadText = (spread: Spread, format: (value: number | null) => string) => SPREAD_KEYS.map((key) => format(spread[key])).join(' / ');
const sharesText = (shares: Record<Level, number>) => LEVELS.map((level) => `${level} ${formatPercent(shares[level] * 100, 1)}`).join(', ');
const markdownCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function throttledText(entry: ReportEntry): string {
  const ratio = entry.usage.throttledPeriodsRatio;
  return ratio === null ? 'no CPU limit' : `${entry.usage.throttledSeconds.toFixed(1)} s, ${formatPercent(ratio * 100)} of periods`;
}

const sizeText = (entry: ReportEntry) => `${entry.recommendation.currentSize ?? 'unknown'} → ${entry.recommendation.size}`;

export function reportMarkdown(entries: ReportEntry[], meta: ReportMeta): string {
  const lines = [
    `# headroom usage report`,
    '',
    `Window ${formatDuration(meta.windowSeconds)} up to ${meta.end.toISOString()}, from ${meta.prometheusUrl}. Figures: P50 / P95 / P99 / max.`,
    '',
    '| container | size now → recommended | memory working set | CPU (cores) | time at each level | OOM kills | restarts | throttled |',
    '|---|---|---|---|---|---|---|---|',
    ...entries.map((entry) => `| ${markdownCell(nameOf(entry))} | ${sizeText(entry)} | ${spreadText(entry.memoryBytes, formatBytes)} | ${spreadText(entry.cpuCores, formatCores)} | ${sharesText(entry.levelShares)} | ${entry.usage.oomKills} | ${entry.restarts ?? '–'} | ${throttledText(entry)} |`),
    '',
  ];
  for (const entry of entries) {
    lines.push(`## ${nameOf(entry)}`, '', `Instance ${entry.usage.instance}${entry.labels.compose_service ? `, compose ${entry.labels.compose_project ?? ''} / ${entry.labels.compose_service}` : ''}.`, '');
    lines.push(`**${entry.recommendation.size}** (${entry.recommendation.confidence} confidence): ${reasonOf(entry.usage, entry.recommendation)}`, '');
    lines.push('```', ...Object.entries(sizingVariables(entry.recommendation.sizing)).map(([key, value]) => `${key}=${value}`), '```', '');
  }
  return lines.join('\n');
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
/** Text inside a <script> or <style> element: nothing may close it early. */
const inlined = (text: string) => text.replace(/<\/(script|style)/gi, '<\\/$1');

function htmlEntry(entry: ReportEntry, index: number): string {
  const id = `c${index}`;
  const name = escapeHtml(nameOf(entry));
  const recommended = recommendedJson(entry);
  const shares = LEVELS.map((level) => `<span class="level-${level}" data-level="${level}" data-share="${entry.levelShares[level]}" title="${level} ${formatPercent(entry.levelShares[level] * 100)}"></span>`).join('');
  const figure = (what: string, spread: Spread, format: (value: number | null) => string) => `<tr><th scope="row">${what}</th>${SPREAD_KEYS.map((key) => `<td>${format(spread[key])}</td>`).join('')}</tr>`;
  return `<section class="container" id="${id}" aria-labelledby="${id}-title">
<h2 id="${id}-title">${name}</h2>
<p class="sub">instance ${escapeHtml(entry.usage.instance)}${entry.labels.compose_service ? ` · compose ${escapeHtml(entry.labels.compose_project ?? '')} / ${escapeHtml(entry.labels.compose_service)}` : ''} · ${escapeHtml(humanDuration(entry.usage.historySeconds))} of history</p>
<table class="figures"><thead><tr><th scope="col">figure</th>${SPREAD_KEYS.map((key) => `<th scope="col">${key}</th>`).join('')}</tr></thead><tbody>
${figure('memory working set', entry.memoryBytes, formatBytes)}
${figure('CPU (cores)', entry.cpuCores, formatCores)}
</tbody></table>
<p>Time at each level: ${escapeHtml(sharesText(entry.levelShares))}</p>
<div class="shares" aria-hidden="true">${shares}</div>
<p>OOM kills ${entry.usage.oomKills} · restarts ${entry.restarts ?? '–'} · throttled ${escapeHtml(throttledText(entry))}</p>
<p><strong>Size now ${escapeHtml(entry.recommendation.currentSize ?? 'unknown')}, recommended ${escapeHtml(recommended.size)}</strong> (${recommended.confidence} confidence). ${escapeHtml(recommended.reason)}</p>
<figure class="chart"><figcaption><h3>Memory</h3></figcaption><div class="plot" id="memory-${id}" role="img" aria-label="Memory of ${name} over the window"></div></figure>
<figure class="chart"><figcaption><h3>CPU</h3></figcaption><div class="plot" id="cpu-${id}" role="img" aria-label="CPU of ${name} over the window"></div></figure>
<pre class="snippet">${escapeHtml(composeSnippet(entry.labels.compose_service || nameOf(entry), { ...recommended, source: 'prometheus' }))}</pre>
</section>`;
}

export function reportHtml(entries: ReportEntry[], meta: ReportMeta): string {
  const levels = levelsInfo();
  const charts: ReportCharts = {
    containers: entries.flatMap((entry, index) => (entry.chart ? [{ id: `c${index}`, chart: { series: entry.chart.series, markers: entry.chart.markers, levels } }] : [])),
  };
  const summaryRows = entries.map((entry, index) => `<tr><td><a href="#c${index}">${escapeHtml(nameOf(entry))}</a></td><td>${escapeHtml(sizeText(entry))}</td><td>${formatBytes(entry.memoryBytes.p95)}</td><td>${formatCores(entry.cpuCores.p95)}</td><td>${formatPercent((entry.levelShares.critical + entry.levelShares.danger) * 100)}</td><td>${entry.usage.oomKills}</td></tr>`).join('\n');
  // The share bars' widths: the only styles that depend on the data, kept in the style sheet (no style attributes).
  const widths = entries.flatMap((entry, index) => LEVELS.map((level) => `#c${index} .shares .level-${level}{width:${(entry.levelShares[level] * 100).toFixed(2)}%}`)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>headroom usage report, ${escapeHtml(formatDuration(meta.windowSeconds))} to ${escapeHtml(meta.end.toISOString())}</title>
<style>${inlined(uplotFile('uPlot.min.css'))}
${inlined(pageStyles())}
${widths}</style>
</head>
<body class="report">
<header class="top"><h1>headroom usage report</h1><p class="status">window ${escapeHtml(formatDuration(meta.windowSeconds))} up to ${escapeHtml(meta.end.toISOString())} · ${entries.length} container${entries.length === 1 ? '' : 's'} · headroom ${escapeHtml(VERSION)}</p></header>
<main>
<table class="rows"><caption>Every container: the size it has and the size it needs</caption>
<thead><tr><th scope="col">Container</th><th scope="col">Size now → recommended</th><th scope="col">Memory P95</th><th scope="col">CPU P95 (cores)</th><th scope="col">Time critical or worse</th><th scope="col">OOM kills</th></tr></thead>
<tbody>
${summaryRows}
</tbody></table>
${entries.map(htmlEntry).join('\n')}
</main>
<script type="application/json" id="report-data">${inlined(JSON.stringify(charts).replace(/</g, '\\u003c'))}</script>
<script>${inlined(uplotFile('uPlot.iife.min.js'))}</script>
<script type="module">${inlined(webModule('charts.js'))}
drawReport(JSON.parse(document.getElementById('report-data').textContent));
document.body.dataset.drawn = 'true';
</script>
</body>
</html>
`;
}

export function renderReport(format: Format, entries: ReportEntry[], meta: ReportMeta): string {
  switch (format) {
    case 'json': return `${JSON.stringify(reportJson(entries, meta), null, 2)}\n`;
    case 'csv': return reportCsv(entries);
    case 'markdown': return reportMarkdown(entries, meta);
    case 'html': return reportHtml(entries, meta);
  }
}
