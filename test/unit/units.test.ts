import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { levelOf, tierForUsers, TIERS } from '../../exporter/src/thresholds.js';
import { formatCpus, formatMemorySize, parseCpus, parseMemorySize } from '../../exporter/src/sizes.js';
import { parseDuration, formatDuration } from '../../exporter/src/duration.js';
import { environmentVariable, listenAddress } from '../../exporter/src/flags.js';
import { parseEnd } from '../../exporter/src/report/command.js';
import { RateWindow } from '../../exporter/src/collectors/rate-window.js';
import { groupProcesses } from '../../exporter/src/collectors/process-grouping.js';

test('levels follow the seed: warning above 80, critical above 95, danger at or above 100', () => {
  assert.is(levelOf(80), 'info');
  assert.is(levelOf(80.01), 'warning');
  assert.is(levelOf(95), 'warning');
  assert.is(levelOf(95.5), 'critical');
  assert.is(levelOf(99.99), 'critical');
  assert.is(levelOf(100), 'danger');
  assert.is(levelOf(130), 'danger');
  assert.is(levelOf(Number.NaN), 'info');
});

test('tiers hold the seed numbers and user ranges', () => {
  assert.equal(TIERS.map((tier) => [tier.name, tier.memoryLimitBytes / 2 ** 20, tier.cpuLimitCores, tier.memoryReservationBytes / 2 ** 20, tier.cpuReservationCores]), [
    ['small', 1024, 1, 256, 0.25], ['medium', 2048, 2, 512, 0.5], ['large', 4096, 4, 1024, 1],
  ]);
  assert.is(tierForUsers(1).name, 'small');
  assert.is(tierForUsers(5).name, 'small');
  assert.is(tierForUsers(6).name, 'medium');
  assert.is(tierForUsers(20).name, 'medium');
  assert.is(tierForUsers(21).name, 'large');
});

test('compose sizes parse and format', () => {
  assert.is(parseMemorySize('2048M'), 2 * 2 ** 30);
  assert.is(parseMemorySize('2g'), 2 * 2 ** 30);
  assert.is(parseMemorySize('512mb'), 512 * 2 ** 20);
  assert.is(parseMemorySize('1048576'), 2 ** 20);
  assert.is(parseMemorySize('lots'), null);
  assert.is(parseMemorySize('-5M'), null);
  assert.is(parseCpus('2.0'), 2);
  assert.is(parseCpus('0.25'), 0.25);
  assert.is(parseCpus('two'), null);
  assert.is(parseCpus('0'), null);
  assert.is(formatMemorySize(1024 * 2 ** 20), '1024M');
  assert.is(formatCpus(2), '2.0');
  assert.is(formatCpus(0.25), '0.25');
});

test('environment variables follow one rule from the flag name', () => {
  assert.is(environmentVariable('data.dir'), 'HEADROOM_DATA_DIR');
  assert.is(environmentVariable('target.health-url'), 'HEADROOM_TARGET_HEALTH_URL');
  assert.is(environmentVariable('collector.process_group.top'), 'HEADROOM_COLLECTOR_PROCESS_GROUP_TOP');
});

test('flag values: durations, listen addresses and moments', () => {
  assert.is(parseDuration('90d'), 90 * 86400);
  assert.is(parseDuration('1h30m'), 5400);
  assert.is(parseDuration('soon'), null);
  assert.is(formatDuration(7 * 86400), '7d');
  assert.is(formatDuration(36 * 3600), '36h');
  assert.is(formatDuration(90), '90s');
  assert.is(formatDuration(0), '0s');
  assert.is(parseDuration(formatDuration(5400)), 5400);
  assert.equal(listenAddress('127.0.0.1:9477'), { host: '127.0.0.1', port: 9477 });
  assert.equal(listenAddress(':9477'), { host: '0.0.0.0', port: 9477 });
  assert.equal(listenAddress('[::1]:9477'), { host: '::1', port: 9477 });
  assert.is(listenAddress('9477'), null);
  assert.is(listenAddress('host:99999'), null);
  assert.is(parseEnd(''), undefined);
  assert.is(parseEnd('1796342400')?.toISOString(), '2026-12-04T00:00:00.000Z');
  assert.is(parseEnd('2026-12-04T01:00:00+01:00')?.toISOString(), '2026-12-04T00:00:00.000Z');
  assert.is(parseEnd('2026-02-30T00:00:00Z'), null);
  assert.is(parseEnd('2028-02-29T23:59:59Z')?.toISOString(), '2028-02-29T23:59:59.000Z');
  assert.is(parseEnd('2026-12-04T24:00:00Z'), null);
  assert.is(parseEnd('2026-12-04'), null);
  assert.is(parseEnd('yesterday'), null);
});

test('the CPU rate window averages over its window whatever the scrape frequency', () => {
  const fast = new RateWindow(60);
  const slow = new RateWindow(60);
  // 0.5 cores for 60 s, then 1.5 cores for 60 s.
  const usageAt = (t: number) => (t <= 60 ? 0.5 * t : 30 + 1.5 * (t - 60));
  let fastRate: number | undefined;
  let slowRate: number | undefined;
  for (let t = 0; t <= 120; t += 1) fastRate = fast.observe({ atSeconds: t, value: usageAt(t) });
  for (let t = 0; t <= 120; t += 15) slowRate = slow.observe({ atSeconds: t, value: usageAt(t) });
  assert.is(fastRate, 1.5);
  assert.is(slowRate, 1.5);
  const first = new RateWindow(60);
  assert.is(first.observe({ atSeconds: 0, value: 10 }), undefined);
  assert.is(first.observe({ atSeconds: 2, value: 11 }), 0.5);
  assert.is(first.observe({ atSeconds: 3, value: 1 }), undefined, 'a counter reset starts over');
});

test('process groups: top N by CPU, the rest summed as other', () => {
  const groups = groupProcesses([
    { name: 'app', cpuSeconds: 5, residentBytes: 100 },
    { name: 'app', cpuSeconds: 1, residentBytes: 50 },
    { name: 'worker', cpuSeconds: 3, residentBytes: 10 },
    { name: 'cron', cpuSeconds: 0.5, residentBytes: 1 },
    { name: 'other', cpuSeconds: 0.1, residentBytes: 1 },
  ], 2);
  assert.equal(groups, [
    { groupname: 'app', cpuSeconds: 6, residentBytes: 150, processes: 2 },
    { groupname: 'worker', cpuSeconds: 3, residentBytes: 10, processes: 1 },
    { groupname: 'other', cpuSeconds: 0.6, residentBytes: 2, processes: 2 },
  ]);
});

test('process groups: a command named "other" busy enough for the top N is folded into other, and the next name takes its place', () => {
  const groups = groupProcesses([
    { name: 'other', cpuSeconds: 9, residentBytes: 7 },
    { name: 'app', cpuSeconds: 5, residentBytes: 100 },
    { name: 'worker', cpuSeconds: 3, residentBytes: 10 },
    { name: 'cron', cpuSeconds: 0.5, residentBytes: 1 },
  ], 2);
  assert.equal(groups, [
    { groupname: 'app', cpuSeconds: 5, residentBytes: 100, processes: 1 },
    { groupname: 'worker', cpuSeconds: 3, residentBytes: 10, processes: 1 },
    { groupname: 'other', cpuSeconds: 9.5, residentBytes: 8, processes: 2 },
  ]);
  assert.equal(groupProcesses([{ name: 'other', cpuSeconds: 1, residentBytes: 1 }], 5), [{ groupname: 'other', cpuSeconds: 1, residentBytes: 1, processes: 1 }], 'alone, it is the other group');
});

test.run();
