// `headroom report` against a week of history backfilled into a real Prometheus with promtool: the
// percentiles against the backfilled samples themselves, the time at each level of a service that ramps
// through every level, the OOM kill in the reason, the four formats agreeing, and the HTML report opened from
// file:// in Chromium with the network off, every chart drawn, no console error, nothing fetched.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LEVELS, MIB, THRESHOLDS, type Level } from '../exporter/src/thresholds.js';
import { CLI, REPO_ROOT, run } from '../scripts/processes.js';
import { chartPixels, describeViolations, launchChromium, screenshot, seriousViolations, type RunningBrowser } from './helpers/browser.js';
import { backfillOpenMetrics, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { DAY, historyOpenMetrics, type Scenario } from './helpers/recommend-history.js';

const SMALL = { cpuLimitCores: 1, memoryLimitBytes: 1024 * MIB };
const RAMP_FROM = 50;
const RAMP_TO = 110;

const SCENARIOS: (Scenario & { expected: string })[] = [
  {
    instance: 'host-a:9477', container: 'shop-web-1', labels: { compose_project: 'shop', compose_service: 'web' }, expected: 'small', historySeconds: 7 * DAY, cpuLimitCores: 2, memoryLimitBytes: 2048 * MIB,
    cpuCores: (_, noise) => 0.05 + 0.1 * noise,
    memoryBytes: (_, noise) => (300 + 50 * noise) * MIB,
  },
  {
    instance: 'host-a:9477', container: 'shop-leaky-1', labels: { compose_project: 'shop', compose_service: 'leaky' }, expected: 'large', historySeconds: 7 * DAY, cpuLimitCores: 2, memoryLimitBytes: 2048 * MIB, oomKillsAt: [0.7],
    cpuCores: (_, noise) => 0.2 + 0.1 * noise,
    memoryBytes: (progress) => (300 + 1100 * progress) * MIB,
  },
  {
    // Memory from 50 % to 110 % of its limit over the week: every level in turn.
    instance: 'host-a:9477', container: 'shop-ramp-1', labels: { compose_project: 'shop', compose_service: 'ramp' }, expected: 'medium', historySeconds: 7 * DAY, ...SMALL,
    cpuCores: (_, noise) => 0.05 + 0.05 * noise,
    memoryBytes: (progress) => ((RAMP_FROM + (RAMP_TO - RAMP_FROM) * progress) / 100) * SMALL.memoryLimitBytes,
  },
  {
    instance: 'solo:9477', expected: 'small', historySeconds: 7 * DAY, ...SMALL,
    cpuCores: (_, noise) => 0.1 + 0.1 * noise,
    memoryBytes: (_, noise) => (200 + 40 * noise) * MIB,
  },
];

interface Spread { p50: number; p95: number; p99: number; max: number }
interface JsonEntry {
  instance: string; container: string | null; compose_project: string | null; compose_service: string | null;
  memory_working_set_bytes: Spread; cpu_cores: Spread; level_shares: Record<Level, number>;
  oom_kills: number; restarts: number | null; size_now: string | null;
  recommended: { size: string; confidence: string; reason: string; env: Record<string, string> };
}

let workDir = '';
let openMetrics = '';
let prometheus: RunningPrometheus | undefined;
let browser: RunningBrowser | undefined;

/** The history's last sample, and every report's window end: two reports a minute apart read the same samples. */
let end = 0;

async function report(args: string[]) {
  return run(process.execPath, [CLI, 'report', `--prometheus.url=${prometheus!.url}`, '--window=7d', `--end=${end}`, ...args], { cwd: REPO_ROOT });
}

async function reportJson(args: string[] = []): Promise<JsonEntry[]> {
  const result = await report(['--format=json', ...args]);
  assert.is(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { containers: JsonEntry[] }).containers;
}

/** The backfilled samples of one series, from the OpenMetrics text promtool read. */
function samples(name: string, container: string): number[] {
  return openMetrics.split('\n').filter((line) => line.startsWith(`${name}{`) && line.includes(`container="${container}"`)).map((line) => Number(line.split(' ')[1]));
}

/** Prometheus's quantile_over_time: linear interpolation between the closest ranks. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const below = Math.floor(rank);
  return sorted[below]! + (sorted[Math.min(sorted.length - 1, below + 1)]! - sorted[below]!) * (rank - below);
}

const close = (actual: number, expected: number, tolerance: number) => Math.abs(actual - expected) <= tolerance * Math.abs(expected);

test.before(async () => {
  browser = await launchChromium();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-report-'));
  const dataDir = path.join(workDir, 'data');
  end = Math.floor(Date.now() / 1000 / 60) * 60 - 60;
  openMetrics = historyOpenMetrics(SCENARIOS, end);
  await backfillOpenMetrics(openMetrics, dataDir);
  prometheus = await startPrometheus({ dataDir, configYaml: 'global:\n  evaluation_interval: 1m\n' });
});

test.after(async () => {
  await browser?.close();
  await prometheus?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

test('every container with history, each sized as its usage needs, the OOM kill in the reason', async () => {
  const entries = await reportJson();
  assert.equal(entries.map((entry) => entry.container ?? entry.instance).sort(), SCENARIOS.map((scenario) => scenario.container ?? scenario.instance).sort());
  for (const scenario of SCENARIOS) {
    const entry = entries.find((candidate) => (candidate.container ?? candidate.instance) === (scenario.container ?? scenario.instance))!;
    assert.is(entry.recommended.size, scenario.expected, `${scenario.container}: ${entry.recommended.reason}`);
    assert.is(entry.oom_kills, scenario.oomKillsAt?.length ?? 0);
    assert.is(entry.restarts, scenario.container ? 0 : null);
    if (scenario.labels) assert.equal([entry.compose_project, entry.compose_service], [scenario.labels.compose_project, scenario.labels.compose_service]);
  }
  const leaky = entries.find((entry) => entry.container === 'shop-leaky-1')!;
  assert.match(leaky.recommended.reason, /x1\.2 after 1 OOM kill/);
  assert.match(leaky.recommended.reason, /1 OOM kill\(s\) in the window/);
  assert.is(leaky.size_now, 'medium');
});

test('P50, P95, P99 and max of the working set are those of the backfilled samples', async () => {
  const entries = await reportJson(['--compose-service=leaky']);
  assert.is(entries.length, 1);
  const values = samples('headroom_memory_working_set_bytes', 'shop-leaky-1');
  const spread = entries[0]!.memory_working_set_bytes;
  for (const [key, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
    assert.ok(close(spread[key], quantile(values, q), 0.005), `${key} ${spread[key]} against ${quantile(values, q)}`);
  }
  assert.is(spread.max, Math.max(...values));
  const cpu = entries[0]!.cpu_cores;
  assert.ok(cpu.p50 <= cpu.p95 && cpu.p95 <= cpu.p99 && cpu.p99 <= cpu.max, JSON.stringify(cpu));
  assert.ok(cpu.p50 > 0.2 && cpu.max < 0.31, JSON.stringify(cpu));
});

test('a service that ramps through every level: the share of time at each is where the thresholds cut the ramp', async () => {
  const [entry] = await reportJson(['--container=shop-ramp-1']);
  const span = RAMP_TO - RAMP_FROM;
  const expected: Record<Level, number> = {
    info: (THRESHOLDS.warning.percent - RAMP_FROM) / span,
    warning: (THRESHOLDS.critical.percent - THRESHOLDS.warning.percent) / span,
    critical: (THRESHOLDS.danger.percent - THRESHOLDS.critical.percent) / span,
    danger: (RAMP_TO - THRESHOLDS.danger.percent) / span,
  };
  for (const level of LEVELS) assert.ok(Math.abs(entry!.level_shares[level] - expected[level]) < 0.01, `${level}: ${entry!.level_shares[level]} against ${expected[level]}`);
  assert.ok(Math.abs(LEVELS.reduce((sum, level) => sum + entry!.level_shares[level], 0) - 1) < 0.001);
});

test('CSV and Markdown say what the JSON says', async () => {
  const entries = await reportJson();
  const csv = await report(['--format=csv']);
  assert.is(csv.code, 0, csv.stderr);
  const [header, ...rows] = csv.stdout.trimEnd().split('\r\n');
  const columns = header!.split(',');
  assert.is(rows.length, entries.length);
  // The reason is quoted (it has commas): the fields before it are plain.
  for (const row of rows) {
    const fields = row.split(',');
    const entry = entries.find((candidate) => candidate.instance === fields[0] && (candidate.container ?? '') === fields[1])!;
    assert.ok(entry, row);
    assert.is(Number(fields[columns.indexOf('memory_working_set_p95_bytes')]), entry.memory_working_set_bytes.p95);
    assert.is(Number(fields[columns.indexOf('share_info')]), entry.level_shares.info);
    assert.is(fields[columns.indexOf('size_recommended')], entry.recommended.size);
    assert.is(Number(fields[columns.indexOf('oom_kills')]), entry.oom_kills);
  }
  const markdown = await report(['--format=markdown']);
  assert.is(markdown.code, 0, markdown.stderr);
  const windowEnd = new Date(end * 1000).toISOString();
  assert.is((JSON.parse((await report(['--format=json'])).stdout) as { window_end: string }).window_end, windowEnd);
  assert.match(markdown.stdout, `Window 7d up to ${windowEnd}`);
  for (const entry of entries) {
    assert.match(markdown.stdout, `## ${entry.container ?? entry.instance}`);
    assert.ok(markdown.stdout.includes(entry.recommended.reason), entry.recommended.reason);
    assert.ok(markdown.stdout.includes(`MEMORY_LIMIT=${entry.recommended.env.MEMORY_LIMIT}`));
  }
});

test('the HTML report opens from disk with the network off: every chart drawn, no request, no console error', async () => {
  const file = path.join(workDir, 'report.html');
  const result = await report(['--format=html', `--out=${file}`]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, `wrote the html report of ${SCENARIOS.length} containers to ${file}`);
  const html = readFileSync(file, 'utf8');
  assert.not.match(html, /<(script|link|img)[^>]+(src|href)=["']?(https?:|\/\/)/i);
  const { context, page } = await browser!.newPage({ offline: true });
  const requested: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) await route.continue();
    else { requested.push(url); await route.abort(); }
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-drawn="true"]', { timeout: 15_000 });
  const plots = await page.$$eval('.plot', (elements) => elements.map((element) => element.id));
  assert.is(plots.length, 2 * SCENARIOS.length);
  for (const id of plots) {
    const pixels = await chartPixels(page, `#${id}`, ['#f2495c']);
    assert.ok(pixels.inked > pixels.area * 0.02, `${id}: ${pixels.inked} of ${pixels.area} pixels drawn`);
    assert.ok(pixels.rowsOf['#f2495c']!.length > 0, `${id}: the limit line`);
  }
  // The ramp's working set ends above its limit: the limit line sits where the scale puts 1 GiB.
  const ramp = await page.$eval('body', () => [...document.querySelectorAll('section.container')].find((section) => section.querySelector('h2')?.textContent === 'shop-ramp-1')?.id);
  const pixels = await chartPixels(page, `#memory-${ramp}`, ['#f2495c']);
  const expectedY = pixels.plot.top + pixels.plot.height * (1 - (SMALL.memoryLimitBytes - pixels.yMin) / (pixels.yMax - pixels.yMin));
  assert.ok(pixels.rowsOf['#f2495c']!.some((y) => Math.abs(y - expectedY) <= 2), `limit line at ${expectedY}: red rows ${pixels.rowsOf['#f2495c']!.join(',')}`);
  // The leaky container's OOM kill is marked on its charts.
  const leaky = await page.$eval('body', () => [...document.querySelectorAll('section.container')].find((section) => section.querySelector('h2')?.textContent === 'shop-leaky-1')?.id);
  assert.ok((await chartPixels(page, `#memory-${leaky}`, ['#c4162a'])).rowsOf['#c4162a']!.length > 0.8 * pixels.plot.height, 'an OOM kill marker across the memory chart');
  const violations = await seriousViolations(page);
  assert.equal(violations, [], describeViolations(violations));
  await screenshot(page, 'report.png', false);
  assert.equal(requested, []);
  assert.equal(browser!.problems, []);
  await context.close();
});

test('bad flags exit 2 with one line; an unreachable Prometheus exits 1 with one line', async () => {
  const bad = await report(['--format=pdf']);
  assert.is(bad.code, 2);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, 'headroom report: invalid value "pdf" for flag --format: expected html|json|csv|markdown');
  const badEnd = await report(['--end=last-week']);
  assert.is(badEnd.code, 2);
  assert.is(badEnd.stderr.trim().split('\n').length, 1, badEnd.stderr);
  assert.match(badEnd.stderr, 'headroom report: invalid value "last-week" for flag --end: expected RFC 3339 TIME or UNIX SECONDS');
  const unreachable = await run(process.execPath, [CLI, 'report', '--prometheus.url=http://127.0.0.1:1', '--format=json'], { cwd: REPO_ROOT });
  assert.is(unreachable.code, 1);
  assert.is(unreachable.stderr.trim().split('\n').length, 1, unreachable.stderr);
  assert.match(unreachable.stderr, 'cannot reach Prometheus');
  const none = await report(['--container=nothing-of-that-name', '--format=json']);
  assert.is(none.code, 1);
  assert.match(none.stderr, 'no headroom CPU and memory history for container "nothing-of-that-name"');
});

test.run();
