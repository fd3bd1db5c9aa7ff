// `headroom recommend` against history backfilled into a real Prometheus with promtool, and the recommendation's
// recording rules evaluated by that Prometheus on the same data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { parse, stringify } from 'yaml';
import { CLI, REPO_ROOT, run, waitFor } from '../scripts/processes.js';
import { backfillOpenMetrics, query, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { historyOpenMetrics, SCENARIOS } from './helpers/recommend-history.js';
import { recommendationRecords } from '../alerting-rules/recommendation.js';

interface JsonResult {
  usage: { instance: string; historySeconds: number; cpuP95Cores: number; memoryPeakBytes: number; oomKills: number; activeUsers: number | null; throttledPeriodsRatio: number | null };
  recommendation: {
    size: string; tierIndex: number; confidence: string; notes: string[]; env: Record<string, string>; currentSize: string | null;
    limitChanges: Array<{ resource: string; limit: number; peakUsed: number; peakPercent: number; recommended: number; command?: string }>; compose?: string;
  };
}

let workDir = '';
let prometheus: RunningPrometheus | undefined;

async function recommendCli(args: string[]) {
  return run(process.execPath, [CLI, 'recommend', `--prometheus.url=${prometheus!.url}`, ...args], { cwd: REPO_ROOT });
}

async function recommendJson(instance: string): Promise<JsonResult> {
  const result = await recommendCli([`--instance=${instance}`, '--format=json']);
  assert.is(result.code, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as JsonResult[];
  assert.is(parsed.length, 1);
  return parsed[0]!;
}

test.before(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-recommend-'));
  const dataDir = path.join(workDir, 'data');
  // The history ends a minute ago, so queries at Prometheus's "now" see all of it.
  const end = Math.floor(Date.now() / 1000 / 60) * 60 - 60;
  await backfillOpenMetrics(historyOpenMetrics(SCENARIOS, end), dataDir);
  // The committed rule file, evaluated every second instead of every minute so the test need not wait.
  const rules = parse(readFileSync(path.join(REPO_ROOT, 'alerting-rules/recommendation.rules.yml'), 'utf8')) as { groups: { interval: string }[] };
  for (const group of rules.groups) group.interval = '1s';
  const rulesFile = path.join(workDir, 'recommendation.rules.yml');
  writeFileSync(rulesFile, stringify(rules));
  prometheus = await startPrometheus({ dataDir, ruleFiles: [rulesFile], configYaml: 'global:\n  evaluation_interval: 1s\n' });
});

test.after(async () => {
  await prometheus?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

for (const scenario of SCENARIOS) {
  test(`${scenario.instance} is sized ${scenario.expected}`, async () => {
    const { recommendation } = await recommendJson(scenario.instance);
    assert.is(recommendation.size, scenario.expected);
  });
}

test('a quiet service with a week of history: small, with full confidence, and the limits it runs with now', async () => {
  const { usage, recommendation } = await recommendJson('quiet:9477');
  assert.is(recommendation.confidence, 'ok');
  assert.ok(usage.historySeconds > 6.9 * 86400, String(usage.historySeconds));
  assert.ok(usage.cpuP95Cores > 0.1 && usage.cpuP95Cores < 0.16, String(usage.cpuP95Cores));
  assert.is(usage.activeUsers, 3);
  assert.is(recommendation.currentSize, 'medium');
  assert.equal(recommendation.env, { MEMORY_LIMIT: '1024M', CPU_LIMIT: '1.0', MEMORY_RESERVATION: '256M', CPU_RESERVATION: '0.25' });
});

test('descriptors and tasks that went near their limits: new limits and the compose snippet for the service; far from them, none', async () => {
  const { recommendation } = await recommendJson('crowded:9477');
  const changes = recommendation.limitChanges.map(({ resource, limit, peakUsed, recommended, command }) => ({ resource, limit, peakUsed: Math.round(peakUsed), recommended, command }));
  assert.equal(changes, [
    { resource: 'nofile', limit: 256, peakUsed: 250, recommended: 512, command: 'node' },
    { resource: 'pids', limit: 64, peakUsed: 61, recommended: 128, command: undefined },
  ]);
  assert.is(recommendation.compose, ['services:', '  web:', '    ulimits:', '      nofile:', '        soft: 512', '        hard: 512', '    pids_limit: 128'].join('\n'));
  const text = await recommendCli(['--instance=crowded:9477']);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, 'limits too low for what was used');
  assert.match(text.stdout, 'held 250 of 256 descriptors (97.7 %) at peak; raise the soft limit to 512');
  assert.match(text.stdout, '        pids_limit: 128');
  assert.equal((await recommendJson('quiet:9477')).recommendation.limitChanges, []);
});

test('a busy service reports its throttling and its users', async () => {
  const { usage, recommendation } = await recommendJson('busy:9477');
  assert.ok(usage.throttledPeriodsRatio !== null && Math.abs(usage.throttledPeriodsRatio - 0.05) < 0.005, String(usage.throttledPeriodsRatio));
  assert.is(usage.activeUsers, 12);
  assert.ok(recommendation.notes.some((note) => note.includes('throttled in 5.0 %')), recommendation.notes.join('\n'));
});

test('a memory leak that was OOM-killed: the kill is counted and bumps the memory need', async () => {
  const { usage, recommendation } = await recommendJson('leak:9477');
  assert.is(usage.oomKills, 1);
  assert.ok(usage.memoryPeakBytes > 1390 * 1024 * 1024, String(usage.memoryPeakBytes));
  assert.ok(recommendation.notes.some((note) => note.includes('OOM kill')), recommendation.notes.join('\n'));
});

test('a service no tier fits gets custom limits above the largest tier', async () => {
  const { recommendation } = await recommendJson('huge:9477');
  assert.is(recommendation.tierIndex, 3);
  assert.ok(Number(recommendation.env.CPU_LIMIT) > 4, recommendation.env.CPU_LIMIT);
  assert.ok(parseInt(recommendation.env.MEMORY_LIMIT!, 10) > 4096, recommendation.env.MEMORY_LIMIT);
  const text = await recommendCli(['--instance=huge:9477']);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /recommended: custom \(no tier fits\): MEMORY_LIMIT=\d+M CPU_LIMIT=[\d.]+ /);
});

test('six hours of history gives a low-confidence recommendation that says so', async () => {
  const { usage, recommendation } = await recommendJson('new:9477');
  assert.ok(usage.historySeconds < 7 * 3600 && usage.historySeconds > 5 * 3600, String(usage.historySeconds));
  assert.is(recommendation.confidence, 'low');
  assert.ok(recommendation.notes.some((note) => note.startsWith('low confidence: only 6.')), recommendation.notes.join('\n'));
});

test('without --instance every instance is sized', async () => {
  const result = await recommendCli(['--format=json']);
  assert.is(result.code, 0, result.stderr);
  const instances = (JSON.parse(result.stdout) as JsonResult[]).map((entry) => entry.usage.instance);
  assert.equal(instances, SCENARIOS.map((scenario) => scenario.instance).sort());
});

test('without a selector the text is one table, a row per instance with its size and why; yaml and csv carry the same', async () => {
  const json = JSON.parse((await recommendCli(['--format=json'])).stdout) as JsonResult[];
  const table = await recommendCli([]);
  assert.is(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.trimEnd().split('\n');
  assert.match(header!, /^CONTAINER +COMPOSE +CPU NOW +CPU P95 +CPU REC +MEM NOW +MEM PEAK +MEM REC +SIZE +WHY$/);
  // A row is named by its container where it has one (host mode), else by its instance.
  const names = json.map((entry) => (entry.usage as { container?: string }).container ?? entry.usage.instance);
  assert.equal(rows.map((row) => row.split(/ +/)[0]), names);
  const sizeAt = header!.indexOf('SIZE');
  for (const [index, row] of rows.entries()) assert.ok(row.slice(sizeAt).startsWith(`${json[index]!.recommendation.size} `), row);
  const busy = rows[names.indexOf('busy:9477')]!;
  assert.ok(/throttled in 5\.0 %/i.test(busy), `the why carries the notes: ${busy}`);
  const huge = rows[names.indexOf('huge:9477')]!;
  assert.ok(/ custom +Needs .*\. No tier keeps both at or under 80 %/.test(huge), huge);
  const yaml = await recommendCli(['--format=yaml']);
  // The same document (each run reads at its own "now": compare what does not move with it).
  const stable = (entries: JsonResult[]) => entries.map((entry) => [entry.usage.instance, entry.recommendation.size, entry.recommendation.env]);
  assert.equal(stable(parse(yaml.stdout) as JsonResult[]), stable(json), 'yaml is the JSON document');
  const csv = (await recommendCli(['--format=csv'])).stdout.split('\r\n');
  assert.is(csv.length, json.length + 2);
  assert.equal(csv.slice(1, -1).map((line) => line.split(',')[0]), names);
  const bad = await recommendCli(['--format=table']);
  assert.is(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n'), ['headroom recommend: invalid value "table" for flag --format: expected text|json|csv|yaml']);
});

test('an instance without history is an error naming it', async () => {
  const result = await recommendCli(['--instance=absent:9477']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /no headroom CPU and memory history for instance "absent:9477"/);
});

test('--write-env rewrites the four sizes in an existing env file and keeps every other line', async () => {
  const envFile = path.join(workDir, 'compose.env');
  writeFileSync(envFile, [
    '# sizes of the stack',
    'COMPOSE_PROJECT_NAME=shop',
    'MEMORY_LIMIT=2048M  # set by hand',
    '',
    '# CPU_LIMIT=8.0',
    'CPU_LIMIT=2.0',
    'DATABASE_URL=postgres://shop@db/shop',
    '',
  ].join('\n'));
  const result = await recommendCli(['--instance=quiet:9477', `--write-env=${envFile}`]);
  assert.is(result.code, 0, result.stderr);
  assert.is(readFileSync(envFile, 'utf8'), [
    '# sizes of the stack',
    'COMPOSE_PROJECT_NAME=shop',
    'MEMORY_LIMIT=1024M  # set by hand',
    '',
    '# CPU_LIMIT=8.0',
    'CPU_LIMIT=1.0',
    'DATABASE_URL=postgres://shop@db/shop',
    'MEMORY_RESERVATION=256M',
    'CPU_RESERVATION=0.25',
    '',
  ].join('\n'));
  // The stack's size resolution (compose/stack-env.mjs) reads the file with Node's dotenv parser.
  const parsed = parseEnv(readFileSync(envFile, 'utf8'));
  assert.equal([parsed.MEMORY_LIMIT, parsed.CPU_LIMIT, parsed.MEMORY_RESERVATION, parsed.CPU_RESERVATION, parsed.COMPOSE_PROJECT_NAME], ['1024M', '1.0', '256M', '0.25', 'shop']);
});

test('the recording rules record the tier the CLI prints, for every service', async () => {
  const { tierIndex } = recommendationRecords();
  const recorded = await waitFor('the recommendation rules', async () => {
    const samples = await query(prometheus!.url, tierIndex);
    return samples.length === SCENARIOS.length ? samples : undefined;
  }, 60_000, 500);
  for (const scenario of SCENARIOS) {
    const { recommendation } = await recommendJson(scenario.instance);
    const sample = recorded.find((entry) => entry.metric.instance === scenario.instance);
    assert.ok(sample, `no recorded tier for ${scenario.instance}`);
    assert.is(sample.value, recommendation.tierIndex, scenario.instance);
  }
});

test.run();
