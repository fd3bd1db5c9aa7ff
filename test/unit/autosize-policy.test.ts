// Automatic sizing's decisions (pure): scale up and down, and every guardrail's refusal with its reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideDown, decideUp, type AutosizeSettings, type ContainerView, type HostView } from '../../exporter/src/autosize/policy.js';
import { actingAlerts, webhookSchema } from '../../exporter/src/autosize/payload.js';
import { swarmDrift } from '../../exporter/src/autosize/autosizer.js';
import { alertsOf } from '../../exporter/src/autosize/peers.js';
import { recommend, type Usage } from '../../exporter/src/recommend/decide.js';
import { tierByName } from '../../exporter/src/thresholds.js';

const MiB = 1024 ** 2;
const GiB = 1024 * MiB;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const small = tierByName('small')!;
const medium = tierByName('medium')!;
const large = tierByName('large')!;
const SETTINGS: AutosizeSettings = { maxTier: large, cooldownSeconds: 1800, maxChangesPerDay: 4, hostMemoryReserveBytes: GiB, usageMargin: 0.15 };
const HOST: HostView = { memoryBytes: 24 * GiB, cpus: 8, otherMemoryLimitsBytes: 4 * GiB };
const NONE = { lastAppliedAt: undefined, appliedInLastDay: 0 };
/** The demo at small, at 97 % of its memory limit. */
const DEMO: ContainerView = { name: 'headroom_demo_1', optedIn: true, memoryLimitBytes: small.memoryLimitBytes, cpuLimitCores: small.cpuLimitCores, memoryReservationBytes: small.memoryReservationBytes, cpuReservationCores: small.cpuReservationCores, workingSetBytes: 0.97 * GiB };

function usage(memoryPeakBytes: number, cpuP95Cores: number, historySeconds = 7 * 86400): Usage {
  return { instance: 'exporter:9477', container: DEMO.name, windowSeconds: 7 * 86400, historySeconds, cpuP95Cores, cpuPeakCores: cpuP95Cores, memoryPeakBytes, oomKills: 0, throttledSeconds: 0, throttledPeriodsRatio: 0, activeUsers: null, cpuLimitCores: 1, memoryLimitBytes: GiB, limits: [] };
}

test('up: one tier, with the tier\'s reservation; a custom size goes to the smallest tier above it', () => {
  assert.equal(decideUp(DEMO, HOST, NONE, SETTINGS, NOW), { resize: true, destination: { size: 'medium', memoryLimitBytes: medium.memoryLimitBytes, cpuLimitCores: medium.cpuLimitCores, memoryReservationBytes: medium.memoryReservationBytes, cpuReservationCores: medium.cpuReservationCores } });
  const custom = { ...DEMO, memoryLimitBytes: 1536 * MiB, cpuLimitCores: 1.5 };
  assert.is((decideUp(custom, HOST, NONE, SETTINGS, NOW) as { destination: { size: string } }).destination.size, 'medium');
  const memoryOnly = { ...DEMO, cpuLimitCores: null };
  assert.equal(decideUp(memoryOnly, HOST, NONE, SETTINGS, NOW), { resize: true, destination: { size: 'medium', memoryLimitBytes: medium.memoryLimitBytes, cpuLimitCores: null, memoryReservationBytes: medium.memoryReservationBytes } }, 'no CPU limit is given to a container that had none');
  const cpuOnly = { ...DEMO, memoryLimitBytes: 0, memoryReservationBytes: 0 };
  assert.equal(decideUp(cpuOnly, HOST, NONE, SETTINGS, NOW), { resize: true, destination: { size: 'medium', memoryLimitBytes: null, cpuLimitCores: medium.cpuLimitCores, cpuReservationCores: medium.cpuReservationCores } }, 'nor a memory cap');
  const bigReservation = { ...DEMO, memoryReservationBytes: 768 * MiB };
  assert.is((decideUp(bigReservation, HOST, NONE, SETTINGS, NOW) as { destination: { memoryReservationBytes: number } }).destination.memoryReservationBytes, 768 * MiB, 'a reservation is never lowered on the way up');
  const smallMemoryMediumCpu = { ...DEMO, cpuLimitCores: 2 };
  assert.is((decideUp(smallMemoryMediumCpu, HOST, NONE, SETTINGS, NOW) as { destination: { size: string } }).destination.size, 'medium');
});

test('up: to the recommender\'s figure when it is higher than the next tier', () => {
  const recommendation = recommend(usage(2.5 * GiB, 0.5));
  assert.is(recommendation.size, 'large');
  const verdict = decideUp(DEMO, HOST, NONE, SETTINGS, NOW, recommendation);
  assert.ok(verdict.resize && verdict.destination.size === 'large', JSON.stringify(verdict));
  const lower = recommend(usage(0.3 * GiB, 0.2));
  assert.ok((decideUp(DEMO, HOST, NONE, SETTINGS, NOW, lower) as { destination: { size: string } }).destination.size === 'medium', 'a lower figure does not hold the next tier back');
  const unsure = recommend(usage(2.5 * GiB, 0.5, 3600));
  assert.is(unsure.confidence, 'low');
  assert.is((decideUp(DEMO, HOST, NONE, SETTINGS, NOW, unsure) as { destination: { size: string } }).destination.size, 'medium', 'an hour of history does not jump two tiers');
});

test('refusals, each with its reason: opt-in, cooldown, daily limit, unreadable usage, ceiling, host memory, host CPUs, no limits', () => {
  const reason = (verdict: ReturnType<typeof decideUp>) => (verdict.resize ? 'resized' : verdict.reason);
  assert.match(reason(decideUp({ ...DEMO, optedIn: false }, HOST, NONE, SETTINGS, NOW)), /^not opted in: .*headroom\.autosize=true/);
  assert.match(reason(decideUp(DEMO, HOST, { lastAppliedAt: NOW - 60_000, appliedInLastDay: 1 }, SETTINGS, NOW)), /^cooldown: resized 1 min ago/);
  assert.ok(decideUp(DEMO, HOST, { lastAppliedAt: NOW - 1_800_001, appliedInLastDay: 1 }, SETTINGS, NOW).resize, 'the cooldown ends');
  assert.match(reason(decideUp(DEMO, HOST, { lastAppliedAt: NOW - 7_200_000, appliedInLastDay: 4 }, SETTINGS, NOW)), /^daily limit: 4 changes in the last 24 h/);
  assert.match(reason(decideUp({ ...DEMO, workingSetBytes: undefined }, HOST, NONE, SETTINGS, NOW)), /^usage unreadable/);
  assert.match(reason(decideUp(DEMO, HOST, NONE, { ...SETTINGS, maxTier: small }, NOW)), /^ceiling: medium \(2048M, 2\.0 CPUs\) is above the ceiling tier small/);
  assert.match(reason(decideUp({ ...DEMO, memoryLimitBytes: large.memoryLimitBytes, cpuLimitCores: large.cpuLimitCores }, HOST, NONE, SETTINGS, NOW)), /^ceiling: no tier is above 4096M, 4\.0 CPUs/);
  assert.match(reason(decideUp(DEMO, { ...HOST, otherMemoryLimitsBytes: 22 * GiB }, NONE, SETTINGS, NOW)), /^host capacity: memory limits would sum to 24576M, over the host's 24576M less the reserve of 1024M/);
  assert.match(reason(decideUp(DEMO, { ...HOST, cpus: 1 }, NONE, SETTINGS, NOW)), /^host capacity: a CPU limit of 2\.0 is over the host's 1 CPUs/);
  assert.match(reason(decideUp({ ...DEMO, memoryLimitBytes: 0, cpuLimitCores: null }, HOST, NONE, SETTINGS, NOW)), /^no limits/);
});

test('down: one tier when the recommender, with enough history, finds a smaller tier fits; the reservation stays', () => {
  const atMedium: ContainerView = { ...DEMO, memoryLimitBytes: medium.memoryLimitBytes, cpuLimitCores: medium.cpuLimitCores, memoryReservationBytes: small.memoryReservationBytes, workingSetBytes: 0.3 * GiB };
  const quiet = recommend(usage(0.3 * GiB, 0.2));
  assert.is(quiet.size, 'small');
  assert.equal(decideDown(atMedium, HOST, NONE, SETTINGS, NOW, quiet), { resize: true, destination: { size: 'small', memoryLimitBytes: small.memoryLimitBytes, cpuLimitCores: small.cpuLimitCores } });
  assert.is(decideDown(atMedium, HOST, NONE, SETTINGS, NOW, recommend(usage(1.2 * GiB, 0.2))), undefined, 'medium recommended: no decision');
  assert.is(decideDown(DEMO, HOST, NONE, SETTINGS, NOW, quiet), undefined, 'already the smallest tier');
  const reason = (verdict: ReturnType<typeof decideDown>) => (verdict === undefined ? 'none' : verdict.resize ? 'resized' : verdict.reason);
  assert.match(reason(decideDown(atMedium, HOST, NONE, SETTINGS, NOW, recommend(usage(0.3 * GiB, 0.2, 3600)))), /^low confidence/);
  assert.match(reason(decideDown({ ...atMedium, memoryReservationBytes: small.memoryLimitBytes }, HOST, NONE, SETTINGS, NOW, quiet)), /^reservation: small's memory limit 1024M is not above the reservation 1024M/);
  assert.match(reason(decideDown({ ...atMedium, cpuReservationCores: 1.5 }, HOST, NONE, SETTINGS, NOW, quiet)), /^reservation: small's CPU limit 1\.0 is under the reservation 1\.5/);
  assert.match(reason(decideDown({ ...atMedium, workingSetBytes: 0.95 * GiB }, HOST, NONE, SETTINGS, NOW, quiet)), /^usage: a memory limit of 1024M is under the working set 973M plus 15 %/);
  assert.match(reason(decideDown(atMedium, HOST, { lastAppliedAt: NOW - 1000, appliedInLastDay: 1 }, SETTINGS, NOW, quiet)), /^cooldown/);
});

test('on a swarm an applied decision says the service\'s spec keeps its limits, and the command that keeps the new ones', () => {
  const drift = swarmDrift('shop_web', { size: 'medium', memoryLimitBytes: 2048 * 2 ** 20, cpuLimitCores: 2 });
  assert.match(drift, 'in place only: this container is a task of swarm service shop_web, whose spec keeps its own limits');
  assert.ok(drift.endsWith('docker service update --limit-memory 2048M --limit-cpu 2.0 shop_web'), drift);
  // Only the limits the decision set: a container without a CPU limit is not given one.
  assert.ok(swarmDrift('db', { size: 'large', memoryLimitBytes: 4096 * 2 ** 20, cpuLimitCores: null }).endsWith('docker service update --limit-memory 4096M db'));
});

test('passing alerts on to the peers: only those of the containers this exporter does not run', () => {
  const alert = (container: string) => ({ status: 'firing' as const, labels: { alertname: 'HeadroomMemoryHigh', severity: 'critical', container }, startsAt: '2026-12-04T00:00:00Z' });
  const payload = { version: '4' as const, status: 'firing' as const, receiver: 'autosize', groupLabels: {}, commonLabels: {}, alerts: [alert('here'), alert('elsewhere')] };
  assert.equal(alertsOf(payload, ['elsewhere'])?.alerts.map((one) => one.labels.container), ['elsewhere']);
  assert.is(alertsOf(payload, []), undefined);
  assert.is(alertsOf(payload, ['nowhere']), undefined);
});

test('the webhook payload: critical and danger HeadroomMemoryHigh and HeadroomCpuHigh of a container act; the rest is ignored', () => {
  const alert = (labels: Record<string, string>, status = 'firing') => ({ status, labels, annotations: {}, startsAt: '2026-11-30T12:00:00Z' });
  const payload = webhookSchema.parse({
    version: '4', status: 'firing', receiver: 'autosize', groupLabels: {}, commonLabels: {}, externalURL: 'http://am', groupKey: 'k', truncatedAlerts: 0,
    alerts: [
      alert({ alertname: 'HeadroomMemoryHigh', severity: 'critical', container: 'web' }),
      alert({ alertname: 'HeadroomCpuHigh', severity: 'danger', container: 'db', instance: 'exporter:9477', host: 'web-2' }),
      alert({ alertname: 'HeadroomMemoryHigh', severity: 'warning', container: 'web' }),
      alert({ alertname: 'HeadroomMemoryHigh', severity: 'critical' }),
      alert({ alertname: 'HeadroomContainerRestarting', severity: 'critical', container: 'web' }),
      alert({ alertname: 'HeadroomMemoryHigh', severity: 'critical', container: 'web' }, 'resolved'),
    ],
  });
  assert.equal(actingAlerts(payload), { acting: [{ container: 'web', alertname: 'HeadroomMemoryHigh', severity: 'critical', instance: '', host: '' }, { container: 'db', alertname: 'HeadroomCpuHigh', severity: 'danger', instance: 'exporter:9477', host: 'web-2' }], ignored: 4 });
  for (const bad of [{}, { version: '3', status: 'firing', receiver: 'x', groupLabels: {}, commonLabels: {}, alerts: [alert({})] }, { version: '4', status: 'firing', receiver: 'x', groupLabels: {}, commonLabels: {}, alerts: [] }, { version: '4', status: 'firing', receiver: 'x', groupLabels: {}, commonLabels: {}, alerts: [{ labels: 'no' }] }]) {
    assert.not.ok(webhookSchema.safeParse(bad).success, JSON.stringify(bad));
  }
});

test.run();
