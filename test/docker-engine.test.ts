// The private engines (scripts/docker-engine.ts) beside what the host already has: with an interface named
// docker0 on the host (the test makes a bridge of that name when there is none, as a developer's own Docker
// would have) and a load balancer's file of another engine in /var/lib/docker/network/files (lb_x, made by the
// test when it is not there), a plain engine, a swarm engine, an engine whose removal of a container never
// returns, and `make bench-docker` interrupted with Ctrl-C each start and stop; after each, docker0 is the same
// interface, lb_x is still there, the host's iptables rules and IP forwarding are as they were, and nothing of
// the engine is left: its network namespace and interface, its mounts, its containers' cgroups, the
// load-balancer files of its own networks, its directory.
// The test removes what it made itself, and only that.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mountsUnder, runCommand, startEngine, swarmInit, type DockerEngine } from '../scripts/docker-engine.js';
import { importHostNodeImage, readFrom } from '../scripts/host-node-image.js';
import { interfaceIndex } from '../scripts/netns.js';
import { REPO_ROOT, waitFor } from '../scripts/processes.js';

const LOAD_BALANCER_FILES = '/var/lib/docker/network/files';
const FOREIGN_FILE = path.join(LOAD_BALANCER_FILES, 'lb_x');
const SERVER = "require('net').createServer((socket) => socket.end(require('os').hostname())).listen(8080)";

/** What the test made, to remove at the end: a docker0 (its ifindex), lb_x and the directories above it. */
const made: { docker0?: string; file?: string; dirs: string[] } = { dirs: [] };

const iptablesRules = async () => (await runCommand('iptables', ['-S'])).stdout + (await runCommand('iptables', ['-t', 'nat', '-S'])).stdout;
const ipForward = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');

interface Host { docker0: string; rules: string; forward: string }
let host: Host;

test.before(async () => {
  assert.is(process.getuid?.(), 0, 'private engines need root');
  if (interfaceIndex('docker0') === undefined) {
    await runCommand('ip', ['link', 'add', 'docker0', 'type', 'bridge']);
    made.docker0 = interfaceIndex('docker0');
  }
  for (let dir = LOAD_BALANCER_FILES, missing: string[] = []; ; dir = path.dirname(dir)) {
    if (existsSync(dir)) {
      for (const created of missing.reverse()) { mkdirSync(created); made.dirs.unshift(created); }
      break;
    }
    missing.push(dir);
  }
  if (!existsSync(FOREIGN_FILE)) {
    writeFileSync(FOREIGN_FILE, 'another engine\'s load balancer\n');
    made.file = FOREIGN_FILE;
  }
  host = { docker0: interfaceIndex('docker0')!, rules: await iptablesRules(), forward: ipForward() };
});

test.after(async () => {
  if (made.file) rmSync(made.file, { force: true });
  for (const dir of made.dirs) { try { rmdirSync(dir); } catch { /* something else wrote there meanwhile: it stays */ } }
  if (made.docker0 !== undefined && interfaceIndex('docker0') === made.docker0) await runCommand('ip', ['link', 'delete', 'docker0']);
});

/** The host as the test left it before the engine: docker0, lb_x, iptables rules, IP forwarding. */
async function assertHostAsBefore(): Promise<void> {
  assert.is(interfaceIndex('docker0'), host.docker0, 'docker0 is still the same interface');
  assert.ok(existsSync(FOREIGN_FILE), `${FOREIGN_FILE} is still there`);
  assert.is(await iptablesRules(), host.rules, 'the host\'s iptables rules');
  assert.is(ipForward(), host.forward, 'net.ipv4.ip_forward');
}

interface Traces { dir: string; namespace: string; hostInterface: string; record: string; containers: string[]; loadBalancers: string[] }

/** What an engine has on the host while it runs. */
async function traces(engine: DockerEngine): Promise<Traces> {
  const containers = (await engine.docker(['ps', '--all', '--quiet', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const networks = (await engine.docker(['network', 'ls', '--quiet', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  const loadBalancers = networks.map((id) => path.join(LOAD_BALANCER_FILES, `lb_${id}`)).filter(existsSync);
  return { dir: engine.dir, namespace: engine.namespace.path, hostInterface: engine.namespace.hostInterface, record: engine.namespace.record, containers, loadBalancers };
}

function assertGone(left: Traces): void {
  assert.not.ok(existsSync(left.dir), `${left.dir} is removed`);
  assert.equal(mountsUnder(left.dir), [], 'nothing mounted under it');
  assert.not.ok(existsSync(left.namespace), `${left.namespace} is removed`);
  assert.is(interfaceIndex(left.hostInterface), undefined, `${left.hostInterface} is removed`);
  assert.not.ok(existsSync(left.record), `${left.record} is removed`);
  const cgroups = readdirSync('/sys/fs/cgroup').flatMap((controller) => left.containers.map((id) => `/sys/fs/cgroup/${controller}/docker/${id}`)).filter(existsSync);
  assert.equal(cgroups, [], 'no cgroup of its containers');
  assert.equal(left.loadBalancers.filter(existsSync), [], 'no load-balancer file of its networks');
}

test('a plain engine: containers reach each other by name and the host reaches a published port; stop() leaves the host as it was', async () => {
  const engine = await startEngine();
  let left: Traces | undefined;
  try {
    const image = await importHostNodeImage(engine.docker);
    await engine.docker(['network', 'create', 'engine-test']);
    await engine.docker(['run', '--detach', '--name', 'server', '--network=engine-test', '--publish', `${engine.address}:8080:8080`, image, '-e', SERVER]);
    const id = (await engine.docker(['inspect', '--format', '{{.Id}}', 'server'])).stdout.trim();
    assert.is(await waitFor('the published port', () => readFrom(engine.address, 8080).catch(() => undefined), 15_000, 200), id.slice(0, 12));
    const probe = "const s = require('net').connect(8080, 'server'); let t = ''; s.on('data', (c) => { t += c; }); s.on('end', () => console.log(t)); s.on('error', (e) => { console.log(e.message); process.exit(1); });";
    assert.is((await engine.docker(['run', '--rm', '--network=engine-test', image, '-e', probe])).stdout.trim(), id.slice(0, 12), 'one container reaches another by name');
    await assertHostAsBefore();
    left = await traces(engine);
    assert.is(left.containers.length, 1);
  } finally {
    await engine.stop();
  }
  assertGone(left!);
  await assertHostAsBefore();
});

test('a swarm engine: its network\'s load-balancer file, still there after the network is removed, goes at stop(); lb_x stays', async () => {
  const engine = await startEngine({ tmpfs: '2g' });
  let left: Traces | undefined;
  let loadBalancer = '';
  try {
    const image = await importHostNodeImage(engine.docker);
    await swarmInit(engine);
    const network = (await engine.docker(['network', 'create', '--driver', 'overlay', 'engine-test-overlay'])).stdout.trim();
    loadBalancer = path.join(LOAD_BALANCER_FILES, `lb_${network}`);
    await engine.docker(['service', 'create', '--detach', '--name', 'sleeper', '--network', 'engine-test-overlay', '--endpoint-mode', 'dnsrr', image, '-e', 'setInterval(() => {}, 1 << 30)']);
    await waitFor(`${loadBalancer}, which dockerd writes outside its data root`, async () => existsSync(loadBalancer), 60_000, 500);
    left = await traces(engine);
    await engine.docker(['service', 'rm', 'sleeper']);
    await waitFor('the service\'s task gone', async () => (await engine.docker(['ps', '--quiet'])).stdout.trim() === '', 60_000, 500);
    await engine.docker(['network', 'rm', 'engine-test-overlay']);
    assert.ok(existsSync(loadBalancer), 'dockerd leaves the file when the network goes');
    await assertHostAsBefore();
  } finally {
    await engine.stop();
  }
  assert.not.ok(existsSync(loadBalancer), `${loadBalancer} is removed`);
  assertGone(left!);
  await assertHostAsBefore();
});

test('a removal the engine never finishes (the shim stopped: no exit event comes): removeContainers names it and goes on, stop() kills it and leaves nothing', async () => {
  const engine = await startEngine();
  let left: Traces | undefined;
  let pid = 0;
  let shim = 0;
  try {
    const image = await importHostNodeImage(engine.docker);
    for (const name of ['stuck', 'fine']) await engine.docker(['run', '--detach', '--name', name, image, '-e', 'setInterval(() => {}, 1 << 30)']);
    pid = Number((await engine.docker(['inspect', '--format', '{{.State.Pid}}', 'stuck'])).stdout);
    shim = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    assert.match(readFileSync(`/proc/${shim}/cmdline`, 'utf8'), 'containerd-shim');
    left = await traces(engine);
    process.kill(shim, 'SIGSTOP');
    assert.equal(await engine.removeContainers(['stuck', 'fine'], 5000), ['stuck']);
    assert.is((await engine.docker(['ps', '--all', '--format', '{{.Names}}'])).stdout.trim(), 'stuck', 'the other one is removed');
  } finally {
    await engine.stop();
  }
  await waitFor('its process and its shim gone', async () => !existsSync(`/proc/${pid}`) && !existsSync(`/proc/${shim}`), 10_000, 100);
  assertGone(left!);
  await assertHostAsBefore();
});

test('make bench-docker, interrupted with Ctrl-C while it measures: its engine goes, the host stays as it was', async () => {
  const bench = spawn(process.execPath, [path.join(REPO_ROOT, 'dist/bench/docker.js'), '--quick'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  bench.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => bench.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  try {
    // Its engine: the directory whose owner record names the benchmark's process, once it has its namespace.
    const dir = await waitFor('the benchmark\'s engine', async () => readdirSync('/tmp').filter((entry) => entry.startsWith('hd-'))
      .map((entry) => path.join('/tmp', entry))
      .find((candidate) => existsSync(path.join(candidate, 'netns')) && readFileSync(path.join(candidate, 'owner'), 'utf8').startsWith(`${bench.pid} `)), 60_000, 200);
    const record = readFileSync(path.join(dir, 'netns'), 'utf8').trim();
    await waitFor('the first measurement', async () => stderr.includes('containers: p50'), 300_000, 500).catch((error: Error) => { throw new Error(`${error.message}\n${stderr}`); });
    bench.kill('SIGINT');
    assert.is(await exited, 130, `the benchmark exits as interrupted:\n${stderr}`);
    assert.not.ok(existsSync(dir), `${dir} is removed`);
    assert.equal(mountsUnder(dir), []);
    assert.not.ok(existsSync(record), `its network namespace's record ${record} is removed`);
    await assertHostAsBefore();
  } finally {
    if (bench.exitCode === null && bench.signalCode === null) {
      bench.kill('SIGINT');
      await exited;
    }
  }
});

test.run();
