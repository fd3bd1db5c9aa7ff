// The page's rows and API answers from its own types: levels and sizes from the thresholds module, worst first,
// the recommendation and its reason, markers from the history; and the one module that knows the exporter.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LEVEL_COLORS, MIB, TIERS } from '../../exporter/src/thresholds.js';
import { UnknownRangeError } from '../../exporter/src/ui/errors.js';
import { History } from '../../exporter/src/ui/history.js';
import { METRIC, type PageSource, type Reading, type SizingDecision, type Snapshot } from '../../exporter/src/ui/model.js';
import { PageData } from '../../exporter/src/ui/page-data.js';
import { composeSnippet, levelsInfo, rowOf, sizeNow, sortRows } from '../../exporter/src/ui/view.js';
import { REPO_ROOT } from '../../scripts/processes.js';

function reading(key: string, values: Record<string, number>, status = 'running'): Reading {
  return {
    target: { kind: 'container', key, name: key, composeProject: 'shop', composeService: key },
    values: new Map(Object.entries(values)),
    engine: { status, running: status === 'running', image: 'x', lastExit: null },
  };
}

const limits = (memory: number, cpus: number) => ({ [METRIC.memoryLimit]: memory, [METRIC.memoryLimitEnforced]: 1, [METRIC.cpuLimit]: cpus, [METRIC.cpuLimitEnforced]: 1 });
const none = { recommended: null, because: 'no history' };

test('a row\'s level is the worse of memory and CPU, against the thresholds module', () => {
  const cases: Array<[number, number, string]> = [[10, 10, 'info'], [80, 10, 'info'], [80.1, 10, 'warning'], [10, 96, 'critical'], [97, 100, 'danger'], [100, 0, 'danger']];
  for (const [memory, cpu, level] of cases) {
    const row = rowOf(reading('web', { ...limits(MIB, 1), [METRIC.memoryPercent]: memory, [METRIC.cpuPercent]: cpu }), undefined, none, undefined);
    assert.is(row.level, level, `${memory} % memory, ${cpu} % CPU`);
  }
  assert.equal(levelsInfo().map((level) => level.color), [LEVEL_COLORS.info.rgb, LEVEL_COLORS.warning.rgb, LEVEL_COLORS.critical.rgb, LEVEL_COLORS.danger.rgb]);
});

test('a row\'s level counts its other limits too (descriptors, tasks), and says which it has', () => {
  const base = { ...limits(MIB, 1), [METRIC.memoryPercent]: 10, [METRIC.cpuPercent]: 10 };
  const plain = rowOf(reading('web', base), undefined, none, undefined);
  assert.equal([plain.level, plain.limits], ['info', []]);
  const row = rowOf(reading('web', { ...base, headroom_fds_percent: 97, headroom_pids_percent: 50 }), undefined, none, undefined);
  assert.is(row.level, 'critical');
  assert.equal(row.limits, [{ resource: 'fds', percent: 97, level: 'critical' }, { resource: 'pids', percent: 50, level: 'info' }]);
  assert.is(rowOf(reading('web', { ...base, headroom_nproc_percent: 100 }), undefined, none, undefined).level, 'danger');
});

test('the size now: a tier whose limits both match, custom otherwise, unlimited without limits', () => {
  for (const tier of TIERS) assert.is(sizeNow(new Map(Object.entries(limits(tier.memoryLimitBytes, tier.cpuLimitCores)))), tier.name);
  assert.is(sizeNow(new Map(Object.entries(limits(TIERS[0]!.memoryLimitBytes, 3)))), 'custom');
  assert.is(sizeNow(new Map(Object.entries({ ...limits(1, 2), [METRIC.memoryLimitEnforced]: 0 }))), 'custom', 'a CPU limit only');
  assert.is(sizeNow(new Map(Object.entries({ ...limits(1, 2), [METRIC.memoryLimitEnforced]: 0, [METRIC.cpuLimitEnforced]: 0 }))), 'unlimited');
  assert.is(sizeNow(new Map()), null, 'not running');
});

test('rows sort worst level first, then the fuller, then by name; stopped containers last', () => {
  const rows = [
    reading('b-idle', { [METRIC.memoryPercent]: 10, [METRIC.cpuPercent]: 1 }),
    reading('stopped', {}, 'exited'),
    reading('a-idle', { [METRIC.memoryPercent]: 10, [METRIC.cpuPercent]: 1 }),
    reading('warm', { [METRIC.memoryPercent]: 70, [METRIC.cpuPercent]: 1 }),
    reading('hot', { [METRIC.memoryPercent]: 96, [METRIC.cpuPercent]: 1 }),
    reading('busy', { [METRIC.memoryPercent]: 10, [METRIC.cpuPercent]: 85 }),
  ].map((entry) => rowOf(entry, undefined, none, undefined));
  assert.equal(sortRows(rows).map((row) => row.key), ['hot', 'busy', 'warm', 'a-idle', 'b-idle', 'stopped']);
});

test('the compose lines for a recommended size', () => {
  const snippet = composeSnippet('web', { size: 'small', source: 'history', confidence: 'low', reason: '', env: { MEMORY_LIMIT: '1024M', CPU_LIMIT: '1.0', MEMORY_RESERVATION: '256M', CPU_RESERVATION: '0.25' } });
  assert.is(snippet, "services:\n  web:\n    deploy:\n      resources:\n        limits:\n          cpus: '1.0'\n          memory: 1024M\n        reservations:\n          memory: 256M\n    environment:\n      CPU_RESERVATION: '0.25'\n");
  assert.is(composeSnippet('web', null), '');
});

/** The page's source over snapshots given by the test: the PageSource interface, as the exporter's adapter gives it. */
function snapshotSource(decisions: SizingDecision[] = []): PageSource & { push(snapshot: Snapshot): void } {
  let latest: Snapshot = { atMs: 0, readings: [] };
  const listeners: Array<(snapshot: Snapshot) => void> = [];
  return {
    mode: 'host',
    push(snapshot) { latest = snapshot; for (const listener of listeners) listener(snapshot); },
    current: async () => latest,
    onSnapshot: (listener) => { listeners.push(listener); },
    decisions: async (limit, container) => decisions.filter((decision) => container === undefined || decision.container === container).slice(0, limit),
  };
}

test('the API\'s answers: a recommendation once the history has ten readings, OOM kills and restarts and sizing decisions as markers', async () => {
  const decision: SizingDecision = {
    decided_at: new Date(1_700_000_100_000).toISOString(), container: 'web', compose_project: 'shop', compose_service: 'web', direction: 'up', result: 'applied',
    reason: 'critical memory', trigger: 'HeadroomMemoryHigh critical', from: { memory_bytes: 1024 * MIB, cpus: 1 }, to: { size: 'medium', memory_bytes: 2048 * MIB, cpus: 2 },
  };
  const source = snapshotSource([decision]);
  const history = new History({ spanSeconds: 3600, stepSeconds: 15 });
  source.onSnapshot((snapshot) => history.record(snapshot));
  const data = new PageData(source, history, { refreshSeconds: 15 });
  const at = (index: number) => 1_700_000_000 + 15 * index;
  const push = (index: number, kills: number, restarts: number) => source.push({
    atMs: at(index) * 1000,
    readings: [reading('web', {
      ...limits(1024 * MIB, 1), [METRIC.memoryWorkingSet]: 700 * MIB, [METRIC.memoryPercent]: (700 / 1024) * 100, [METRIC.cpuPercent]: 20,
      [METRIC.containerOomKills]: kills, [METRIC.containerRestarts]: restarts,
    })],
  });
  for (let index = 0; index < 9; index += 1) push(index, 1, 0);
  let overview = await data.overview();
  assert.is(overview.containers[0]!.size.recommended, null);
  assert.match(overview.containers[0]!.size.not_recommended_because!, 'needs 10 readings');
  push(9, 2, 1);
  overview = await data.overview();
  const row = overview.containers[0]!;
  assert.is(row.size.now, 'small');
  assert.is(row.size.recommended?.size, 'medium', row.size.recommended?.reason);
  assert.match(row.size.recommended!.reason, 'x1.2 after 1 OOM kill');
  assert.match(row.size.recommended!.reason, /low confidence/i);
  assert.equal([row.oom_kills, row.restarts], [{ total: 2, recent: 1 }, { total: 1, recent: 1 }]);
  assert.equal(row.last_decision, decision);
  const detail = (await data.detail('web', 'history'))!;
  assert.is(detail.series.t.length, 10);
  assert.equal(detail.markers.map((marker) => [marker.t, marker.kind]), [[at(6) + 10, 'sizing'], [at(9), 'oom_kill'], [at(9), 'restart']]);
  assert.match(detail.compose_snippet, 'memory: 2048M');
  assert.is(await data.detail('db', 'history'), undefined);
  try {
    await data.detail('web', '7d');
    assert.unreachable('7d needs Prometheus');
  } catch (error) {
    assert.instance(error, UnknownRangeError);
  }
});

test('only source.ts (and the extension that wires it) knows the exporter\'s internals', () => {
  const dir = path.join(REPO_ROOT, 'exporter/src/ui');
  const allowed = /^(\.\/|\.\.\/(thresholds|sizes|duration|version)\.js$|\.\.\/recommend\/|\.\.\/security\/headers\.js$)/;
  const offending: string[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts') && !['source.ts', 'extension.ts'].includes(name))) {
    for (const [, specifier] of readFileSync(path.join(dir, file), 'utf8').matchAll(/from\s+'(\.[^']+)'/g)) if (!allowed.test(specifier!)) offending.push(`${file}: ${specifier}`);
  }
  assert.equal(offending, []);
});

test.run();
