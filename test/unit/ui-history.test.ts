// The page's in-process history: bounded rings of time slots, filled from snapshots, and what the rows read off them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { History, SLOT_BYTES, summarize } from '../../exporter/src/ui/history.js';
import { METRIC, type Reading, type Snapshot } from '../../exporter/src/ui/model.js';

const MiB = 1024 ** 2;

function reading(key: string, values: Record<string, number>): Reading {
  return { target: { kind: 'container', key, name: key, composeProject: '', composeService: '' }, values: new Map(Object.entries(values)) };
}

function snapshot(atSeconds: number, readings: Reading[]): Snapshot {
  return { atMs: atSeconds * 1000, readings };
}

const figures = (workingSet: number, extra: Record<string, number> = {}) => ({
  [METRIC.memoryWorkingSet]: workingSet, [METRIC.memoryLimit]: 256 * MiB, [METRIC.cpuPercent]: 50, [METRIC.cpuLimit]: 2, ...extra,
});

test('a ring holds span / step slots whatever the scrape rate: a scrape in a written slot replaces it', () => {
  const history = new History({ spanSeconds: 60, stepSeconds: 10 });
  assert.is(history.capacity, 6);
  // Twelve scrapes a slot for two minutes.
  for (let second = 1000; second < 1120; second += 1) history.record(snapshot(second, [reading('web', figures(second))]));
  const series = history.series('web', 1119)!;
  assert.equal(series.t, [1069, 1079, 1089, 1099, 1109, 1119], 'the latest scrape of each of the last six slots, oldest first');
  assert.equal(series.columns.workingSet, [1069, 1079, 1089, 1099, 1109, 1119]);
  assert.is(history.bytes(), 6 * SLOT_BYTES);
});

test('slots older than the span are not given, and a target unseen for the span is dropped', () => {
  const history = new History({ spanSeconds: 60, stepSeconds: 10 });
  history.record(snapshot(1000, [reading('web', figures(1)), reading('db', figures(2))]));
  history.record(snapshot(1030, [reading('web', figures(3))]));
  assert.equal(history.series('web', 1030)!.t, [1000, 1030]);
  assert.equal(history.series('web', 1065)!.t, [1030], 'at 1065 the slot of 1000 is out of the span');
  history.record(snapshot(1070, [reading('web', figures(4))]));
  assert.is(history.series('db', 1070), undefined, 'db not seen for more than the span');
  assert.is(history.targets(), 1);
});

test('a stopped container (no working set) is not recorded', () => {
  const history = new History({ spanSeconds: 60, stepSeconds: 10 });
  history.record(snapshot(1000, [reading('gone', { [METRIC.containerRestarts]: 3 })]));
  assert.is(history.series('gone', 1000), undefined);
});

test('counters become increases per slot; a counter that restarts from 0 (a new cgroup) counts from 0', () => {
  const history = new History({ spanSeconds: 600, stepSeconds: 10 });
  const periods = [100, 200, 300, 50, 150];
  const throttled = [10, 30, 30, 5, 55];
  periods.forEach((count, index) => history.record(snapshot(1000 + 10 * index, [reading('web', figures(1, { [METRIC.cpuPeriods]: count, [METRIC.cpuThrottledPeriods]: throttled[index]! }))])));
  const series = history.series('web', 1040)!;
  assert.equal(series.columns.periods, [0, 100, 100, 50, 100]);
  assert.equal(series.columns.throttledPeriods, [0, 20, 0, 5, 50]);
  const summary = summarize(series, 15);
  assert.is(summary.throttledShare, 55 / 150, 'the last 15 s: the slots of 1030 and 1040');
  assert.is(summary.throttledPeriodsRatio, 75 / 350, 'the whole history, from its second slot');
});

test('the summary: OOM kills and restarts over the history, P95 and peak of the cores used, the peak working set', () => {
  const history = new History({ spanSeconds: 3600, stepSeconds: 10 });
  for (let index = 0; index < 100; index += 1) {
    history.record(snapshot(1000 + 10 * index, [reading('web', {
      [METRIC.memoryWorkingSet]: (index % 10) * MiB, [METRIC.memoryLimit]: 256 * MiB, [METRIC.cpuPercent]: index + 1, [METRIC.cpuLimit]: 2,
      [METRIC.containerOomKills]: index < 50 ? 2 : 3, [METRIC.containerRestarts]: index < 80 ? 1 : 2,
    })]));
  }
  const summary = summarize(history.series('web', 1990)!, 300);
  assert.is(summary.coveredSeconds, 990);
  assert.is(summary.oomKills, 1);
  assert.is(summary.restarts, 1);
  assert.is(summary.memoryPeakBytes, 9 * MiB);
  assert.is(summary.cpuPeakCores, 2);
  // cores = percent x 2 / 100 over 1..100 %: the 95th percentile of 0.02..2.00, interpolated.
  assert.ok(Math.abs(summary.cpuP95Cores - (0.02 + 0.95 * 99 * 0.02)) < 1e-6, String(summary.cpuP95Cores));
});

test('the bytes at 200 containers: an hour at the default 15 s step and at a 10 s step stay under 4 MiB', () => {
  for (const stepSeconds of [15, 10]) {
    const history = new History({ spanSeconds: 3600, stepSeconds });
    history.record(snapshot(1000, Array.from({ length: 200 }, (_, index) => reading(`c${index}`, figures(index)))));
    assert.is(history.bytes(), 200 * Math.ceil(3600 / stepSeconds) * SLOT_BYTES);
    assert.ok(history.bytes() <= 4 * MiB, `${history.bytes()} bytes at a ${stepSeconds} s step`);
  }
});

test.run();
