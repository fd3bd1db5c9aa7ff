// Host mode's pure parts: engine addresses, container facts and cgroup paths, restart and OOM history.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { composeIdentity, containerCgroupPath, containerFacts, declaredCpuReservation, inspectSchema, slicePath } from '../../exporter/src/docker/containers.js';
import { parseEngineAddress } from '../../exporter/src/docker-host.js';
import { historyFromInspection, onDie, onOom, onStart } from '../../exporter/src/docker/lifecycle.js';

const ID = 'a'.repeat(64);

test('engine addresses: a unix socket or HTTPS; plain TCP is refused', () => {
  assert.equal(parseEngineAddress('unix:///var/run/docker.sock'), { kind: 'unix', socketPath: '/var/run/docker.sock' });
  assert.is(parseEngineAddress('https://engine.internal:2376')?.kind, 'https');
  for (const refused of ['tcp://engine.internal:2375', 'http://engine.internal:2375', 'unix://relative.sock', '/var/run/docker.sock', 'https://engine/path']) {
    assert.is(parseEngineAddress(refused), null, refused);
  }
});

test('cgroup paths by driver: cgroupfs /docker/<id>, systemd system.slice/docker-<id>.scope, and cgroup parents', () => {
  assert.is(containerCgroupPath(ID, 'cgroupfs', ''), `/docker/${ID}`);
  assert.is(containerCgroupPath(ID, 'cgroupfs', '/custom/parent'), `/custom/parent/${ID}`);
  assert.is(containerCgroupPath(ID, 'systemd', ''), `/system.slice/docker-${ID}.scope`);
  assert.is(containerCgroupPath(ID, 'systemd', 'apps-web.slice'), `/apps.slice/apps-web.slice/docker-${ID}.scope`);
  assert.is(slicePath('system.slice'), '/system.slice');
  assert.is(slicePath('-.slice'), '');
});

test('the CPU reservation: the headroom.cpu-reservation label first, then CPU_RESERVATION; nonsense is none', () => {
  assert.is(declaredCpuReservation(['A=1', 'CPU_RESERVATION=0.5'], {}), 0.5);
  assert.is(declaredCpuReservation(['CPU_RESERVATION=0.5'], { 'headroom.cpu-reservation': '0.25' }), 0.25);
  assert.is(declaredCpuReservation(['CPU_RESERVATION=lots'], null), undefined);
  assert.is(declaredCpuReservation(null, null), undefined);
});

const inspect = (overrides: Record<string, unknown> = {}) => inspectSchema.parse({
  Id: ID,
  Name: '/shop-web-1',
  Config: { Image: 'shop/web:1.2', Env: ['SECRET=hunter2', 'CPU_RESERVATION=0.5'], Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', 'com.example.team': 'payments' } },
  HostConfig: { RestartPolicy: { Name: 'on-failure' }, CgroupParent: '' },
  State: { Status: 'running', Running: true, Pid: 4242, OOMKilled: false, ExitCode: 0, StartedAt: '2026-11-30T10:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
  RestartCount: 0,
  ...overrides,
});

test('container facts: name and compose labels only; no other label and no environment', () => {
  const facts = containerFacts(inspect(), 'cgroupfs');
  assert.equal(facts.labels, { container: 'shop-web-1', compose_project: 'shop', compose_service: 'web' });
  assert.is(facts.cpuReservationCores, 0.5);
  assert.is(facts.restartPolicy, 'on-failure');
  assert.is(facts.cgroupPath, `/docker/${ID}`);
  assert.not.match(JSON.stringify(facts), 'hunter2');
  assert.not.match(JSON.stringify(facts), 'payments');
  assert.equal(containerFacts(inspect({ Config: { Image: 'x', Env: null, Labels: null } }), 'systemd').labels, { container: 'shop-web-1', compose_project: '', compose_service: '' });
});

test('on a swarm the stack is the project and the swarm service, without the stack\'s prefix, the service; compose\'s labels win', () => {
  const task = { 'com.docker.stack.namespace': 'headroom', 'com.docker.swarm.service.name': 'headroom_demo', 'com.docker.swarm.task.name': 'headroom_demo.1.abc' };
  assert.equal(composeIdentity(task), { compose_project: 'headroom', compose_service: 'demo' });
  assert.equal(composeIdentity({ 'com.docker.stack.namespace': 'shop', 'com.docker.swarm.service.name': 'web' }), { compose_project: 'shop', compose_service: 'web' });
  assert.equal(composeIdentity({ 'com.docker.swarm.service.name': 'lonely' }), { compose_project: '', compose_service: '' }, 'a service created without a stack');
  assert.equal(composeIdentity({ ...task, 'com.docker.compose.project': 'p', 'com.docker.compose.service': 's' }), { compose_project: 'p', compose_service: 's' });
  // The swarm service's full name, for automatic sizing's record: its spec holds the next task's limits.
  assert.is(containerFacts(inspect({ Config: { Image: 'x', Env: null, Labels: task } }), 'cgroupfs').swarmService, 'headroom_demo');
  assert.is(containerFacts(inspect(), 'cgroupfs').swarmService, undefined);
});

test('history: a kill of PID 1 (oom event, then die with OOMKilled) counts once, and survives the restart', () => {
  const history = historyFromInspection(0, 'running', false, 0);
  onOom(history);
  onDie(history, 137, true);
  assert.is(history.oomKills, 1);
  assert.equal(history.lastExit, { code: 137, reason: 'oom_killed' });
  onStart(history, 1);
  assert.is(history.restarts, 1);
  onDie(history, 137, true); // no oom event this time: the die alone tells
  onStart(history, 2);
  assert.equal([history.oomKills, history.restarts], [2, 2]);
});

test('history: a child killed by the OOM killer counts; a later clean exit is completed, a failure error', () => {
  const history = historyFromInspection(0, 'running', false, 0);
  onOom(history);
  assert.is(history.oomKills, 1);
  onDie(history, 0, false);
  assert.equal(history.lastExit, { code: 0, reason: 'completed' });
  onStart(history, 0);
  onDie(history, 2, false);
  assert.equal(history.lastExit, { code: 2, reason: 'error' });
  assert.is(history.restarts, 1, 'the start after a die');
});

test('history from a first inspection: the engine\'s restart count and a past OOM kill', () => {
  const restarted = historyFromInspection(3, 'running', true, 0);
  assert.equal([restarted.restarts, restarted.oomKills, restarted.lastExit?.reason], [3, 1, 'oom_killed']);
  onDie(restarted, 137, true);
  assert.is(restarted.oomKills, 2, 'a new kill after the first sight counts');
  const exited = historyFromInspection(0, 'exited', false, 1);
  assert.equal(exited.lastExit, { code: 1, reason: 'error' });
  onStart(exited, 0);
  assert.is(exited.restarts, 1, 'started again after it was seen exited');
  const created = historyFromInspection(0, 'created', false, 0);
  assert.is(created.lastExit, undefined, 'a created container has not exited');
  onStart(created, 0);
  assert.is(created.restarts, 0, 'its first start is no restart');
});

test.run();
