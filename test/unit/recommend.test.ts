// The recommender's pure parts: the tier decision, custom sizes, confidence, the env file rewrite, the PromQL it emits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parser } from '@prometheus-io/lezer-promql';
import { customSizing, recommend, type Usage } from '../../exporter/src/recommend/decide.js';
import { updateEnvText } from '../../exporter/src/recommend/envfile.js';
import { composeSnippet } from '../../exporter/src/recommend/limits.js';
import { renderText } from '../../exporter/src/recommend/report.js';
import { seriesSelector, usageQueries } from '../../exporter/src/recommend/queries.js';
import { renderCsv, renderTable, tableRow } from '../../exporter/src/recommend/table.js';
import { currentTierIndexExpr, recommendationRuleGroup, tierIndexExpr } from '../../alerting-rules/recommendation.js';
import { MIB, THRESHOLDS, TIERS } from '../../exporter/src/thresholds.js';

const WEEK = 7 * 86400;

function usage(overrides: Partial<Usage>): Usage {
  return {
    instance: 'app:9477', windowSeconds: WEEK, historySeconds: WEEK, cpuP95Cores: 0.1, cpuPeakCores: 0.2, memoryPeakBytes: 200 * MIB,
    oomKills: 0, throttledSeconds: 0, throttledPeriodsRatio: 0, activeUsers: null, cpuLimitCores: 2, memoryLimitBytes: 2048 * MIB, limits: [], ...overrides,
  };
}

function hasErrors(expr: string): boolean {
  let error = false;
  parser.parse(expr).iterate({ enter(node) { if (node.type.isError) error = true; } });
  return error;
}

test('the smallest tier whose limits keep the needs at or under the warning threshold', () => {
  const warning = THRESHOLDS.warning.percent / 100;
  // Exactly at the warning threshold still fits (warning is strictly above); a little more does not.
  const atWarning = TIERS[0]!.cpuLimitCores * warning / 1.15;
  assert.is(recommend(usage({ cpuP95Cores: atWarning * 0.999 })).size, 'small');
  assert.is(recommend(usage({ cpuP95Cores: atWarning * 1.01 })).size, 'medium');
  assert.is(recommend(usage({ memoryPeakBytes: 2500 * MIB })).size, 'large');
  const none = recommend(usage({ cpuP95Cores: 4 }));
  assert.is(none.size, 'custom');
  assert.is(none.tierIndex, TIERS.length);
});

test('the margin is a flag: without it a tighter tier fits', () => {
  const busy = usage({ cpuP95Cores: 0.75 });
  assert.is(recommend(busy).size, 'medium');
  assert.is(recommend(busy, 0).size, 'small');
});

test('an OOM kill bumps the memory need x1.2', () => {
  const leaking = usage({ memoryPeakBytes: 1400 * MIB });
  assert.is(recommend(leaking).size, 'medium');
  const killed = recommend({ ...leaking, oomKills: 2 });
  assert.is(killed.size, 'large');
  assert.is(killed.memoryNeedBytes, 1400 * MIB * 1.15 * 1.2);
});

test('custom sizes keep the need at the warning threshold, rounded up, never under the largest tier', () => {
  const sizing = customSizing(4.6, 4200 * MIB);
  assert.is(sizing.cpuLimitCores, 6);
  assert.is(sizing.memoryLimitBytes, 5376 * MIB);
  assert.is(sizing.cpuReservationCores, 1.5);
  assert.is(sizing.memoryReservationBytes, 1344 * MIB);
  const cpuOnly = customSizing(4.6, 100 * MIB);
  assert.is(cpuOnly.memoryLimitBytes, TIERS[TIERS.length - 1]!.memoryLimitBytes);
});

test('confidence is low under a day of history, or under the whole window when it is shorter', () => {
  assert.is(recommend(usage({ historySeconds: 6 * 3600 })).confidence, 'low');
  assert.is(recommend(usage({ historySeconds: 30 * 3600 })).confidence, 'ok');
  assert.ok(recommend(usage({ historySeconds: 30 * 3600 })).notes.some((note) => note.includes('history covers 1.3 d')));
  assert.is(recommend(usage({ windowSeconds: 3600, historySeconds: 3000 })).confidence, 'low');
  assert.is(recommend(usage({ windowSeconds: 3600, historySeconds: 3600 })).confidence, 'ok');
});

test('the current size comes from the limits; users are compared with the seed\'s ranges', () => {
  assert.is(recommend(usage({})).currentSize, 'medium');
  assert.is(recommend(usage({ cpuLimitCores: 3 })).currentSize, 'custom');
  assert.is(recommend(usage({ cpuLimitCores: null })).currentSize, null);
  assert.is(recommend(usage({ activeUsers: 0 })).usersSize, null);
  const many = recommend(usage({ activeUsers: 40 }));
  assert.is(many.usersSize, 'large');
  assert.ok(many.notes.some((note) => note.includes('40 active users fall in the large range')));
});

test('the env file: values replaced in place with their comments, other lines kept, missing ones appended', () => {
  const before = '# stack\nexport MEMORY_LIMIT=2048M # by hand\nCPU_LIMIT = 2.0\n#CPU_RESERVATION=9\nOTHER="a # b"\n';
  const after = updateEnvText(before, { MEMORY_LIMIT: '1024M', CPU_LIMIT: '1.0', CPU_RESERVATION: '0.25' });
  assert.is(after, '# stack\nexport MEMORY_LIMIT=1024M # by hand\nCPU_LIMIT = 1.0\n#CPU_RESERVATION=9\nOTHER="a # b"\nCPU_RESERVATION=0.25\n');
  assert.is(updateEnvText('', { CPU_LIMIT: '1.0' }), 'CPU_LIMIT=1.0\n');
  assert.is(updateEnvText('A=1\r\nCPU_LIMIT=2.0', { CPU_LIMIT: '4.0' }), 'A=1\r\nCPU_LIMIT=4.0\r\n');
});

test('limits too low for what was used: above the warning threshold at peak, a power of two that keeps the peak plus the margin under it', () => {
  const crowded = recommend(usage({ limits: [
    { resource: 'nofile', limit: 256, peakUsed: 250, peakPercent: 250 / 256 * 100, command: 'node' },
    { resource: 'pids', limit: 64, peakUsed: 61, peakPercent: 61 / 64 * 100 },
  ] }));
  // 250 x 1.15 / 0.8 = 359.4 -> 512; 61 x 1.15 / 0.8 = 87.7 -> 128.
  assert.equal(crowded.limitChanges.map((change) => [change.resource, change.recommended]), [['nofile', 512], ['pids', 128]]);
  assert.is(composeSnippet('web', crowded.limitChanges), ['services:', '  web:', '    ulimits:', '      nofile:', '        soft: 512', '        hard: 512', '    pids_limit: 128'].join('\n'));
  // At exactly 80 % nothing is too low; a little above is; the new limit is never below the one in place.
  const atWarning = recommend(usage({ limits: [{ resource: 'pids', limit: 100, peakUsed: 80, peakPercent: 80 }] }));
  assert.equal(atWarning.limitChanges, []);
  const above = recommend(usage({ limits: [{ resource: 'nofile', limit: 65536, peakUsed: 60000, peakPercent: 60000 / 65536 * 100 }] }));
  assert.equal(above.limitChanges.map((change) => change.recommended), [131072]);
  const smallPeak = recommend(usage({ limits: [{ resource: 'nofile', limit: 10, peakUsed: 9, peakPercent: 90 }] }), 0);
  assert.equal(smallPeak.limitChanges.map((change) => change.recommended), [16]);
  const text = renderText(usage({ container: 'web', composeService: 'web', limits: crowded.limitChanges }), crowded);
  assert.match(text, 'nofile: the process nearest its soft limit (node now) held 250 of 256 descriptors (97.7 %) at peak; raise the soft limit to 512');
  assert.match(text, 'pids: 61 tasks of pids.max 64 (95.3 %) at peak; raise it to 128');
  assert.match(text, '      web:\n        ulimits:');
});

test('every expression the recommender and its rules send parses', () => {
  const expressions = [
    ...Object.values(usageQueries({ instance: 'app:9477' }, '7d')),
    ...Object.values(usageQueries({ instance: 'host:9477', container: 'web' }, '7d')),
    ...Object.values(usageQueries({}, '14d')),
    ...recommendationRuleGroup().rules.map((rule) => rule.expr),
    tierIndexExpr('a', 'b'),
    currentTierIndexExpr('instance="x"'),
  ];
  for (const expr of expressions) assert.not.ok(hasErrors(expr), expr);
  assert.ok(hasErrors('quantile_over_time(0.95, rate(x[5m])[7d:1m]'));
});

test('every container in one table: now, recommended, why; the same rows as CSV', () => {
  const web = usage({ container: 'shop_web_1', composeProject: 'shop', composeService: 'web', cpuLimitCores: 0.5, memoryLimitBytes: 256 * MIB, cpuP95Cores: 0.12, memoryPeakBytes: 41 * MIB });
  // Unlimited: the host's CPUs and memory stand in for the limits (headroom_*_limit_enforced 0).
  const loner = usage({ container: 'loner', cpuLimitCores: 2, memoryLimitBytes: 24105 * MIB, limitsEnforced: { cpu: false, memory: false }, historySeconds: 3600, cpuP95Cores: 1.9, memoryPeakBytes: 900 * MIB });
  const rows = [tableRow(web, recommend(web)), tableRow(loner, recommend(loner))];
  const lines = renderTable(rows).split('\n');
  assert.is(lines.length, 3);
  assert.match(lines[0]!, /^CONTAINER {2,}COMPOSE {2,}CPU NOW {2,}CPU P95 {2,}CPU REC {2,}MEM NOW {2,}MEM PEAK {2,}MEM REC {2,}SIZE {2,}WHY$/);
  assert.match(lines[1]!, /^shop_web_1 +shop\/web +0\.5 +0\.12 +1\.0 +256M +41M +1024M +small +Needs 0\.14 cores /);
  assert.match(lines[2]!, /^loner +- +none +1\.90 +4\.0 +none +900M +4096M +large +\(low confidence\) Needs /);
  // Columns line up: every row's SIZE starts where the header's does.
  const sizeAt = lines[0]!.indexOf('SIZE');
  for (const line of lines.slice(1)) assert.match(line.slice(sizeAt), /^(small|large) /);
  const csv = renderCsv(rows).split('\r\n');
  assert.is(csv[0], 'name,instance,compose,cpuLimit,cpuP95,cpuRecommended,memoryLimit,memoryPeak,memoryRecommended,size,confidence,why');
  assert.match(csv[1]!, /^shop_web_1,app:9477,shop\/web,0\.5,0\.12,1\.0,256M,41M,1024M,small,ok,"Needs 0\.14 cores/);
  assert.is(csv[3], '', 'ends with CRLF');
  // A field with a quote or a comma is quoted, its quotes doubled.
  assert.match(renderCsv([{ ...rows[0]!, why: 'a "b", c' }]), ',"a ""b"", c"\r\n');
});

test('--compose-project narrows a compose service to one project', () => {
  assert.is(seriesSelector({ composeService: 'web', composeProject: 'shop' }), 'compose_service="web",compose_project="shop"');
});

test.run();
