// The stack on a single-node Docker Swarm in a private engine (stand-in images for the registry's):
// `make swarm-up SIZE=small` converges with the exporter as a global service; Prometheus finds it through the
// engine's swarm API, read through the gate, and labels its series with node, service and host; the demo's
// deploy.resources limits reach its cgroup and the exporter reads them; `make swarm-down ARGS=-v` leaves
// no service, container, network or volume. The committed files are used as they are (15 s scrapes).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tierByName } from '../exporter/src/thresholds.js';
import { freePort, REPO_ROOT, waitFor } from '../scripts/processes.js';
import { composeBuildOverride, DOCKER_CLI, DOCKER_COMPOSE, fetchWithin, runCommand, startEngine, swarmInit, type DockerEngine } from '../scripts/docker-engine.js';
import { STACK_PORT_VARIABLES, stackServices } from './helpers/compose-file.js';
import { loadStandins } from '../scripts/standin-images.js';
import { parseExposition } from './helpers/metrics-text.js';

const PORT_VARIABLES = STACK_PORT_VARIABLES;
const SERVICES = stackServices({ demo: true });
const STACK_LABEL = 'label=com.docker.stack.namespace=headroom';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-swarm-'));
let engine: DockerEngine | undefined;
let ports: Record<(typeof PORT_VARIABLES)[number], number>;
let makeEnv: NodeJS.ProcessEnv;
let makeVariables: string[];
let stackUp = false;

/** A published port of the stack: mode host publishes on every address of the node, the engine's among them. */
const url = (variable: (typeof PORT_VARIABLES)[number], pathname = '') => `http://${engine!.address}:${ports[variable]}${pathname}`;

async function make(target: string, extra: string[] = []) {
  return runCommand('make', ['--no-print-directory', target, ...makeVariables, ...extra], { cwd: REPO_ROOT, env: makeEnv, timeoutMs: 600_000 });
}

const lines = (text: string) => text.split('\n').map((line) => line.trim()).filter(Boolean);

/** The one running container of a stack service on this node. */
async function taskContainer(service: string): Promise<string> {
  const ids = lines((await engine!.docker(['ps', '--quiet', '--filter', `label=com.docker.swarm.service.name=headroom_${service}`])).stdout);
  assert.is(ids.length, 1, `one container of headroom_${service}: ${ids.join(' ')}`);
  return ids[0]!;
}

async function prometheusQuery(query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetchWithin(url('PROMETHEUS_PORT', `/api/v1/query?query=${encodeURIComponent(query)}`), 5000);
  return ((await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '8g' });
  await loadStandins(engine);
  ports = Object.fromEntries(await Promise.all(PORT_VARIABLES.map(async (variable) => [variable, await freePort()]))) as typeof ports;
  makeEnv = { ...engine.env, DOCKER_SOCKET: engine.socket };
  for (const [variable, port] of Object.entries(ports)) makeEnv[variable] = String(port);
  // The engine's namespace has no way out: make swarm-up builds the exporter's image through its download proxy.
  const build = await composeBuildOverride(engine, ['-p', 'headroom', '-f', 'compose/docker-compose.yml', '-f', 'compose/compose-only.yml'], { cwd: REPO_ROOT });
  makeVariables = [`COMPOSE=${DOCKER_COMPOSE}`, `DOCKER=${DOCKER_CLI}`, `COMPOSE_OVERRIDE=${build}`, `ENV_FILE=${path.join(scratch, 'absent.env')}`];
  await swarmInit(engine);
});

test.after(async () => {
  try {
    if (engine && stackUp) await make('swarm-down', ['ARGS=-v']).catch(() => undefined);
  } finally {
    await engine?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('make swarm-up SIZE=small converges: every service runs, the exporter and its gate as global services', async () => {
  const up = await make('swarm-up', ['SIZE=small', 'DEMO=1']);
  stackUp = true;
  assert.match(up.stdout, 'sizes: MEMORY_LIMIT=1024M CPU_LIMIT=1.0 MEMORY_RESERVATION=256M CPU_RESERVATION=0.25');
  const replicas = await waitFor('every service of the stack running', async () => {
    const listed = lines((await engine!.docker(['service', 'ls', '--filter', STACK_LABEL, '--format', '{{.Name}} {{.Mode}} {{.Replicas}}'])).stdout);
    const converged = listed.filter((line) => /^\S+ \S+ (\d+)\/\1$/.test(line) && !line.endsWith(' 0/0'));
    return converged.length === SERVICES.length ? listed : undefined;
  }, 180_000, 2000);
  assert.equal(replicas.map((line) => line.split(' ')[0]).sort(), SERVICES.map((service) => `headroom_${service}`).sort());
  for (const service of ['exporter', 'gate']) assert.ok(replicas.includes(`headroom_${service} global 1/1`), `${service}: ${replicas.join(', ')}`);
  for (const service of SERVICES) await taskContainer(service);
});

test('Prometheus finds the exporter through swarm discovery, read through the gate, and labels it with node, service and host', async () => {
  const nodeName = (await engine!.docker(['info', '--format', '{{.Name}}'])).stdout.trim();
  const target = await waitFor('the headroom target up', async () => {
    const response = await fetchWithin(url('PROMETHEUS_PORT', '/api/v1/targets'), 5000);
    const active = ((await response.json()) as { data: { activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> } }).data.activeTargets;
    return active.find((candidate) => candidate.labels.job === 'headroom' && candidate.health === 'up');
  }, 120_000, 2000);
  assert.equal(target.labels, { host: nodeName, instance: nodeName, job: 'headroom', node: nodeName, service: 'headroom_exporter' });
  const series = await waitFor('the demo\'s limit in Prometheus', async () => {
    const result = await prometheusQuery('headroom_memory_limit_bytes{compose_project="headroom",compose_service="demo"}');
    return result.length > 0 ? result : undefined;
  }, 60_000, 2000);
  assert.is(series.length, 1);
  assert.is(series[0]!.metric.node, nodeName);
  assert.is(Number(series[0]!.value[1]), tierByName('small')!.memoryLimitBytes);
  // The gate lets discovery read the swarm, and still refuses every write.
  const probe = 'const r = require(\'http\').request({ socketPath: \'/run/headroom/docker.sock\', method: \'POST\', path: \'/v1.41/services/create\', headers: { \'content-type\': \'application/json\' } }, (a) => { console.log(a.statusCode); a.resume(); }); r.end(\'{}\');';
  const refused = await engine!.docker(['exec', await taskContainer('exporter'), 'node', '-e', probe]);
  assert.is(refused.stdout.trim(), '403', 'POST through the gate');
});

test('the demo\'s deploy.resources limits reach its cgroup, and the exporter reads them as docker inspect shows them', async () => {
  const demo = await taskContainer('demo');
  const hostConfig = JSON.parse((await engine!.docker(['inspect', '--format', '{{json .HostConfig}}', demo])).stdout) as { Memory: number; MemoryReservation: number; NanoCpus: number };
  const small = tierByName('small')!;
  assert.equal([hostConfig.Memory, hostConfig.NanoCpus / 1e9], [small.memoryLimitBytes, small.cpuLimitCores]);
  const samples = parseExposition(await (await fetchWithin(url('HEADROOM_PORT', '/metrics'), 10_000)).text())
    .filter((sample) => sample.labels.compose_project === 'headroom' && sample.labels.compose_service === 'demo');
  const value = (name: string) => samples.find((sample) => sample.name === name)?.value;
  assert.is(value('headroom_memory_limit_bytes'), hostConfig.Memory);
  assert.is(value('headroom_cpu_limit_cores'), hostConfig.NanoCpus / 1e9);
  assert.is(value('headroom_cpu_reservation_cores'), small.cpuReservationCores, 'the declared CPU reservation');
  // Swarm keeps reservations for scheduling: the container gets no soft limit, and the exporter shows none.
  assert.is(hostConfig.MemoryReservation, 0);
  assert.is(value('headroom_memory_reservation_bytes'), undefined);
  assert.is(value('headroom_memory_limit_enforced'), 1);
  assert.ok(samples.find((sample) => sample.name === 'headroom_memory_limit_bytes')!.labels.container!.startsWith('headroom_demo.1.'));
});

test('make swarm-down ARGS=-v leaves no service, container, network or volume', async () => {
  await make('swarm-down', ['ARGS=-v']);
  stackUp = false;
  assert.equal(lines((await engine!.docker(['service', 'ls', '--quiet'])).stdout), []);
  assert.equal(lines((await engine!.docker(['ps', '--all', '--quiet'])).stdout), []);
  assert.equal(lines((await engine!.docker(['network', 'ls', '--quiet', '--filter', STACK_LABEL])).stdout), []);
  assert.equal(lines((await engine!.docker(['network', 'ls', '--quiet', '--filter', 'name=^headroom$'])).stdout), []);
  assert.equal(lines((await engine!.docker(['volume', 'ls', '--quiet'])).stdout), []);
});

test.run();
