// The stack on a swarm of three nodes: three private engines, each in a namespace of its own on one LAN the
// test makes (scripts/netns.ts createLan), each with a host name of its own, joined as one manager and two
// workers; a private registry (Debian's docker-registry) on the host's end of the LAN, which the engines
// trust over plain HTTP (--insecure-registry). From the manager, `make swarm-up HEADROOM_IMAGE=...` pushes the
// exporter's image there and deploys; the workers pull it. Then: no file of the checkout is mounted on any
// node; Prometheus on the manager scrapes the three exporters, each reporting its own node's containers; a
// container OOM-killed on a worker fires the danger alert naming node and container; automatic sizing on a
// worker raises the task's container in place and records that the service's spec still holds the old
// limits (a new task brings them back, measured); a worker's engine killed: its exporter's target goes, an
// alert names the node, nothing else stops, and the engine back brings its exporter back; `make swarm-down`
// leaves nothing on any node, and the test nothing on the host.
//
// The engines share the machine's file system: their sockets are at different paths, so the stack's
// DOCKER_SOCKET is a Swarm template, <scratch>/sockets/{{.Node.Hostname}}.sock, a link to each node's own.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tierByName } from '../exporter/src/thresholds.js';
import { freePort, REPO_ROOT, waitFor } from '../scripts/processes.js';
import { composeBuildOverride, DOCKER_CLI, DOCKER_COMPOSE, fetchWithin, mountsUnder, runCommand, startEngine, swarmInit, type DockerEngine } from '../scripts/docker-engine.js';
import { createLan, interfaceIndex, removeLan, type Lan } from '../scripts/netns.js';
import { startRegistry, type Registry } from '../scripts/registry.js';
import { STACK_PORT_VARIABLES, stackServices } from './helpers/compose-file.js';
import { STANDIN_TAGS, loadStandins } from '../scripts/standin-images.js';

const PORT_VARIABLES = STACK_PORT_VARIABLES;
const SERVICES = stackServices({ demo: false });
const STACK_LABEL = 'label=com.docker.stack.namespace=headroom';
const HOSTNAMES = ['hd-manager', 'hd-worker1', 'hd-worker2'] as const;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-swarm-nodes-'));
let lan: Lan | undefined;
let registry: Registry | undefined;
const engines: DockerEngine[] = [];
let ports: Record<(typeof PORT_VARIABLES)[number], number>;
let makeEnv: NodeJS.ProcessEnv;
let makeVariables: string[];
let image: string;
let stackUp = false;
const timings: Array<[string, number]> = [];

async function timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings.push([phase, Date.now() - started]);
    process.stdout.write(`[swarm-nodes] ${phase}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
}

const manager = () => engines[0]!;
const worker = (index: 1 | 2) => engines[index]!;
const url = (variable: (typeof PORT_VARIABLES)[number], pathname = '', engine = manager()) => `http://${engine.address}:${ports[variable]}${pathname}`;
const lines = (text: string) => text.split('\n').map((line) => line.trim()).filter(Boolean);

async function make(target: string, extra: string[] = []) {
  return runCommand('make', ['--no-print-directory', target, ...makeVariables, ...extra], { cwd: REPO_ROOT, env: makeEnv, timeoutMs: 600_000 });
}

type Alert = { labels: Record<string, string>; state: string };
type Target = { labels: Record<string, string>; health: string; lastError: string };

async function prometheus<T>(pathname: string): Promise<T> {
  const response = await fetchWithin(url('PROMETHEUS_PORT', pathname), 5000);
  return ((await response.json()) as { data: T }).data;
}
const query = async (expression: string) => prometheus<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expression)}`).then((data) => data.result);
const targets = async () => (await prometheus<{ activeTargets: Target[] }>('/api/v1/targets')).activeTargets.filter((target) => target.labels.job === 'headroom');
const alerts = async () => (await prometheus<{ alerts: Alert[] }>('/api/v1/alerts')).alerts;

/** The running containers of an engine, by name. */
async function runningNames(engine: DockerEngine): Promise<string[]> {
  return lines((await engine.docker(['ps', '--format', '{{.Names}}'])).stdout).sort();
}

test.before(async () => {
  await timed('LAN, registry, three engines', async () => {
    lan = createLan(3);
    registry = await startRegistry(lan.hostAddress, await freePort());
    image = `${registry.host}/headroom:swarm-nodes`;
    engines.push(...await Promise.all(lan.nodes.map((namespace, index) => startEngine({
      namespace, hostname: HOSTNAMES[index], tmpfs: '4g', extraFlags: [`--insecure-registry=${registry!.host}`],
    }))));
  });
  await timed('stand-in images on the manager', () => loadStandins(manager(), [STANDIN_TAGS.nodeAlpine, STANDIN_TAGS.prometheus, STANDIN_TAGS.alertmanager, STANDIN_TAGS.mailpit, STANDIN_TAGS.grafana]));
  await timed('swarm init and join', async () => {
    await swarmInit(manager());
    const token = (await manager().docker(['swarm', 'join-token', '--quiet', 'worker'])).stdout.trim();
    for (const index of [1, 2] as const) {
      const node = worker(index);
      await node.docker(['swarm', 'join', '--token', token, '--advertise-addr', node.address, '--listen-addr', `${node.address}:2377`, `${manager().address}:2377`], { timeoutMs: 60_000 });
    }
  });
  ports = Object.fromEntries(await Promise.all(PORT_VARIABLES.map(async (variable) => [variable, await freePort()]))) as typeof ports;
  const sockets = path.join(scratch, 'sockets');
  mkdirSync(sockets);
  engines.forEach((engine, index) => symlinkSync(engine.socket, path.join(sockets, `${HOSTNAMES[index]}.sock`)));
  makeEnv = { ...manager().env, DOCKER_SOCKET: path.join(sockets, '{{.Node.Hostname}}.sock'), HEADROOM_AUTOSIZE_ENABLED: 'true' };
  for (const [variable, port] of Object.entries(ports)) makeEnv[variable] = String(port);
  const build = await composeBuildOverride(manager(), ['-p', 'headroom', '-f', 'compose/docker-compose.yml', '-f', 'compose/compose-only.yml'], { cwd: REPO_ROOT });
  makeVariables = [`COMPOSE=${DOCKER_COMPOSE}`, `DOCKER=${DOCKER_CLI}`, `COMPOSE_OVERRIDE=${build}`, `ENV_FILE=${path.join(scratch, 'absent.env')}`, `HEADROOM_IMAGE=${image}`];
});

test.after(async () => {
  try {
    if (stackUp) await make('swarm-down', ['ARGS=-v']).catch(() => undefined);
  } finally {
    for (const engine of [...engines].reverse()) await engine.stop().catch((error: Error) => process.stderr.write(`${error.message}\n`));
    await registry?.stop();
    if (lan) removeLan(lan);
    rmSync(scratch, { recursive: true, force: true });
    process.stdout.write(`[swarm-nodes] phases: ${timings.map(([phase, ms]) => `${phase} ${(ms / 1000).toFixed(1)} s`).join('; ')}\n`);
  }
});

test('make swarm-up from the manager converges: the exporter and its gate on all three nodes, pulled from the registry', async () => {
  const up = await timed('make swarm-up', () => make('swarm-up', ['SIZE=small']));
  stackUp = true;
  assert.match(up.stdout, `The push refers to repository [${registry!.host}/headroom]`);
  const replicas = await timed('convergence', () => waitFor('every service of the stack running', async () => {
    const listed = lines((await manager().docker(['service', 'ls', '--filter', STACK_LABEL, '--format', '{{.Name}} {{.Mode}} {{.Replicas}}'])).stdout);
    const converged = listed.filter((line) => /^\S+ \S+ (\d+)\/\1$/.test(line) && !line.endsWith(' 0/0'));
    return converged.length === SERVICES.length ? listed : undefined;
  }, 300_000, 2000));
  for (const service of ['exporter', 'gate']) assert.ok(replicas.includes(`headroom_${service} global 3/3`), `${service}: ${replicas.join(', ')}`);
  for (const index of [1, 2] as const) {
    // docker stack deploy pins the image by the digest the registry gave: the node keeps it untagged.
    const images = lines((await worker(index).docker(['image', 'ls', '--format', '{{.Repository}}'])).stdout);
    assert.ok(images.includes(`${registry!.host}/headroom`), `worker ${index} pulled ${image}: ${images.join(' ')}`);
    assert.not.ok(images.includes('headroom'), 'nothing built on a worker');
  }
});

test('no file of the checkout is mounted in any task\'s container, on any node', async () => {
  for (const [index, engine] of engines.entries()) {
    const ids = lines((await engine.docker(['ps', '--quiet', '--filter', STACK_LABEL])).stdout);
    assert.ok(ids.length > 0, `${HOSTNAMES[index]} runs tasks`);
    const mounts = lines((await engine.docker(['inspect', '--format', '{{json .Mounts}}', ...ids])).stdout).flatMap((line) => JSON.parse(line) as Array<{ Type: string; Source: string; Destination: string }>);
    assert.ok(mounts.some((mount) => mount.Destination === '/var/run/docker.sock'), `${HOSTNAMES[index]}: the mounts are read`);
    const fromCheckout = mounts.filter((mount) => mount.Source.startsWith(`${REPO_ROOT}/`) || mount.Source === REPO_ROOT);
    assert.equal(fromCheckout, [], `${HOSTNAMES[index]}`);
  }
  // The files arrive as configs and secrets.
  const exporter = lines((await worker(1).docker(['ps', '--quiet', '--filter', 'label=com.docker.swarm.service.name=headroom_exporter'])).stdout)[0]!;
  const token = (await worker(1).docker(['exec', exporter, 'cat', '/etc/headroom/autosize-token'])).stdout;
  assert.is(token, readFileSync(path.join(REPO_ROOT, 'compose', 'autosize-token'), 'utf8'));
});

test('Prometheus on the manager scrapes the three exporters; each reports its own node\'s containers, labelled with its node', async () => {
  const up = await timed('three targets up', () => waitFor('three headroom targets up', async () => {
    const found = (await targets()).filter((target) => target.health === 'up');
    return found.length === 3 ? found : undefined;
  }, 180_000, 2000));
  assert.equal(up.map((target) => target.labels.node).sort(), [...HOSTNAMES].sort());
  for (const [index, engine] of engines.entries()) {
    const node = HOSTNAMES[index];
    const expected = await runningNames(engine);
    const reported = await waitFor(`${node}'s containers in Prometheus`, async () => {
      const names = (await query(`headroom_container_info{node="${node}"}`)).map((series) => series.metric.container!).sort();
      return expected.every((name) => names.includes(name)) ? names : undefined;
    }, 60_000, 2000);
    const others = (await Promise.all(engines.filter((other) => other !== engine).map(runningNames))).flat();
    assert.equal(reported.filter((name) => others.includes(name)), [], `${node} reports no other node's container`);
    assert.ok(reported.some((name) => name.startsWith('headroom_exporter.')), `${node}: its exporter`);
  }
});

test('a container on a worker OOM-killed at its limit fires the danger alert naming the node and the container', async () => {
  // PID 1 stays; the child that fills the memory is killed at the limit, again and again.
  const filler = 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));';
  await worker(1).docker(['run', '--detach', '--name', 'hungry', '--memory', '96m', '--memory-swap', '96m', '--entrypoint', 'sh', image, '-c', `while true; do node -e '${filler}'; sleep 2; done`]);
  const alert = await timed('OOM danger alert', () => waitFor('the danger alert of hungry on hd-worker1', async () => {
    return (await alerts()).find((candidate) => candidate.labels.alertname === 'HeadroomMemoryHigh' && candidate.labels.severity === 'danger' && candidate.labels.container === 'hungry' && candidate.state === 'firing');
  }, 180_000, 3000));
  assert.is(alert.labels.node, 'hd-worker1');
  await worker(1).removeContainers(['hungry']);
});

test('automatic sizing on a worker: the task\'s container raised in place, the drift from the service\'s spec recorded; a new task has the spec\'s limits again', async () => {
  const small = tierByName('small')!;
  await manager().docker(['service', 'create', '--detach', '--name', 'sized', '--no-healthcheck', '--constraint', 'node.hostname==hd-worker2', '--limit-memory', String(small.memoryLimitBytes), '--limit-cpu', String(small.cpuLimitCores),
    '--container-label', 'headroom.autosize=true', '--entrypoint', 'sleep', image, 'infinity']);
  const container = async () => waitFor('the task of sized running on hd-worker2', async () => lines((await worker(2).docker(['ps', '--quiet', '--filter', 'label=com.docker.swarm.service.name=sized'])).stdout)[0], 120_000, 1000);
  const first = await container();
  const name = (await worker(2).docker(['inspect', '--format', '{{.Name}}', first])).stdout.trim().replace(/^\//, '');
  const memory = async (id: string) => Number((await worker(2).docker(['inspect', '--format', '{{.HostConfig.Memory}}', id])).stdout.trim());
  assert.is(await memory(first), small.memoryLimitBytes);
  // Alertmanager's webhook, as it would post the critical alert: to the exporter on the manager, which does not
  // run the container and passes the alert on to the other nodes' exporters (--autosize.peers).
  const token = readFileSync(path.join(REPO_ROOT, 'compose', 'autosize-token'), 'utf8').trim();
  const payload = { version: '4', status: 'firing', receiver: 'autosize', groupLabels: {}, commonLabels: {}, alerts: [{ status: 'firing', labels: { alertname: 'HeadroomMemoryHigh', severity: 'critical', container: name, node: 'hd-worker2' }, startsAt: new Date().toISOString() }] };
  const answer = await waitFor('the exporter on the manager passing the webhook on', async () => {
    const response = await fetchWithin(url('HEADROOM_PORT', '/autosize/alertmanager', manager()), 60_000, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    return response.status === 200 ? response.json() : undefined;
  }, 60_000, 2000) as { decisions: Array<{ container: string; result: string }> };
  assert.equal(answer.decisions.map((decision) => [decision.container, decision.result]), [[name, 'applied']], 'the decision of hd-worker2\'s exporter, answered back');
  // Recorded where it was made: hd-worker2's exporter.
  const decisions = await (await fetchWithin(url('HEADROOM_PORT', `/autosize?container=${encodeURIComponent(name)}`, worker(2)), 10_000)).json() as { decisions: Array<{ result: string; reason: string; to: { memory_bytes: number } | null }> };
  const decision = decisions.decisions[0];
  assert.ok(decision, `a decision for ${name} on hd-worker2: ${JSON.stringify(answer)}`);
  assert.is(decision!.result, 'applied', decision!.reason);
  assert.match(decision!.reason, 'swarm service sized', 'the record names the service whose spec still holds the old limits');
  const raised = decision!.to!.memory_bytes;
  assert.ok(raised > small.memoryLimitBytes, `raised: ${raised}`);
  assert.is(await memory(first), raised, 'raised in place');
  process.stdout.write(`[swarm-nodes] in place: ${name} ${small.memoryLimitBytes} -> ${raised} bytes; ${decision!.reason}\n`);
  const spec = JSON.parse((await manager().docker(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.Resources.Limits}}', 'sized'])).stdout) as { MemoryBytes: number };
  assert.is(spec.MemoryBytes, small.memoryLimitBytes, 'the service\'s spec is unchanged');
  // A new task (here forced; a reschedule or a node failure does the same) gets the spec's limits.
  await manager().docker(['service', 'update', '--force', '--detach', 'sized']);
  const second = await waitFor('a new task of sized', async () => {
    const id = await container();
    return id !== first ? id : undefined;
  }, 120_000, 1000);
  assert.is(await memory(second), small.memoryLimitBytes, 'the new task has the spec\'s limit again');
  process.stdout.write(`[swarm-nodes] the next task of sized: ${await memory(second)} bytes (the spec's)\n`);
});

test('a worker\'s engine killed: its target goes down and an alert names the node; nothing else stops; back, its exporter is scheduled and scraped again', async () => {
  const before = await Promise.all([manager(), worker(1)].map(runningNames));
  worker(2).kill();
  const alert = await timed('node-down alert', () => waitFor('HeadroomExporterGone naming hd-worker2', async () => {
    return (await alerts()).find((candidate) => candidate.labels.node === 'hd-worker2' && candidate.state === 'firing' && candidate.labels.alertname === 'HeadroomExporterGone');
  }, 420_000, 5000));
  assert.is(alert.labels.node, 'hd-worker2');
  const live = (await targets()).filter((target) => target.health === 'up').map((target) => target.labels.node).sort();
  assert.equal(live, ['hd-manager', 'hd-worker1'], 'the other exporters are still scraped');
  assert.equal(await Promise.all([manager(), worker(1)].map(runningNames)), before, 'nothing else stopped');
  await timed('engine back, target up again', async () => {
    await worker(2).restart();
    await waitFor('hd-worker2\'s target up again', async () => (await targets()).find((target) => target.labels.node === 'hd-worker2' && target.health === 'up'), 300_000, 3000);
  });
  const tasks = lines((await worker(2).docker(['ps', '--format', '{{.Names}}', '--filter', 'label=com.docker.swarm.service.name=headroom_exporter'])).stdout);
  assert.is(tasks.length, 1, tasks.join(' '));
});

test('make swarm-down leaves nothing on any node; stopping the engines leaves no namespace, interface or mount', async () => {
  await manager().docker(['service', 'rm', 'sized'], { check: false });
  await timed('make swarm-down', () => make('swarm-down', ['ARGS=-v']));
  stackUp = false;
  assert.equal(lines((await manager().docker(['service', 'ls', '--quiet'])).stdout), []);
  assert.equal(lines((await manager().docker(['config', 'ls', '--quiet'])).stdout), []);
  assert.equal(lines((await manager().docker(['secret', 'ls', '--quiet'])).stdout), []);
  for (const engine of engines) {
    // A worker removes its tasks' containers a moment after the manager has forgotten them.
    await waitFor(`no container of the stack on ${engine.dir}`, async () => lines((await engine.docker(['ps', '--all', '--quiet', '--filter', STACK_LABEL])).stdout).length === 0, 60_000, 1000);
    assert.equal(lines((await engine.docker(['network', 'ls', '--quiet', '--filter', 'name=^headroom$'])).stdout), []);
  }
  const dirs = engines.map((engine) => engine.dir);
  await timed('engines stopped', async () => { for (const engine of [...engines].reverse()) await engine.stop(); });
  await registry!.stop();
  assert.equal(removeLan(lan!), []);
  const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  for (const name of [lan!.switchNamespace, ...lan!.nodes.map((node) => node.name)]) assert.not.match(namespaces, new RegExp(`^${name}\\b`, 'm'), name);
  assert.is(interfaceIndex(lan!.hostInterface), undefined, lan!.hostInterface);
  for (const dir of dirs) assert.equal(mountsUnder(dir), [], dir);
  lan = undefined;
  registry = undefined;
});

test.run();
