// The local stack's demo service (compose/demo/server.mjs) and the sizes `make up` starts it with
// (compose/stack-env.mjs). The last test runs the demo in a real cgroup with the small tier's limits,
// the exporter watching it, and drives it with docs/stack.md's commands into warning, critical and an OOM kill.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROBE_MAX_AGE_MS } from '../exporter/src/health.js';
import { parseCpus, parseMemorySize } from '../exporter/src/sizes.js';
import { DEFAULT_TIER, TIERS, levelOf, tierByName, type Tier } from '../exporter/src/thresholds.js';
import { COMPOSE_DIR } from './helpers/compose-file.js';
import { createLiveCgroup } from './helpers/live-cgroup.js';
import { scrape, valueOf } from './helpers/metrics-text.js';
import { sizingVariables } from '../exporter/src/recommend/envfile.js';
import { REPO_ROOT, freePort, run, start, startExporter, waitFor, type Started } from '../scripts/processes.js';

const DEMO = path.join(COMPOSE_DIR, 'demo/server.mjs');
const STACK_ENV = path.join(COMPOSE_DIR, 'stack-env.mjs');
const MiB = 1024 ** 2;

interface DemoModule {
  parseMemorySize(text: string): number | null;
  parseCpus(text: string): number | null;
  cpuPlan(percent: number, limitCores: number): { workers: number; duty: number };
  cgroupWorkingSet(procSelfCgroup: string, read: (file: string) => string | undefined): number | null;
}
interface StackEnvModule {
  resolveStackEnv(sources: { size?: string; environment: Record<string, string | undefined>; envFile: Record<string, string> }): { tier: string; values: Record<string, string>; origins: Record<string, string> };
}
const demoModule = await import(pathToFileURL(DEMO).href) as DemoModule;
const stackEnv = await import(pathToFileURL(STACK_ENV).href) as StackEnvModule;

interface DemoStatus {
  status: string;
  memory: { held_bytes: number; rss_bytes: number; hog_pid: number | null; last_hog_death: { signal: string | null } | null };
  cpu: { workers: number; duty: number };
}

async function call(url: string, method = 'GET'): Promise<{ code: number; body: DemoStatus & { error?: string } }> {
  const response = await fetch(url, { method });
  return { code: response.status, body: await response.json() as DemoStatus & { error?: string } };
}

function processField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test('the demo parses compose sizes as the exporter does, and plans CPU burn against the limit', () => {
  for (const text of ['2048M', '1g', '512mb', '1.5G', '1073741824', '100k', '0M', 'lots', '', '2048 M', '-1M']) {
    assert.is(demoModule.parseMemorySize(text), parseMemorySize(text), `memory ${JSON.stringify(text)}`);
  }
  for (const text of ['2.0', '0.25', '4', '0', 'x', '', '-1']) assert.is(demoModule.parseCpus(text), parseCpus(text), `cpus ${JSON.stringify(text)}`);
  assert.equal(demoModule.cpuPlan(85, 2), { workers: 2, duty: 0.85 });
  assert.equal(demoModule.cpuPlan(50, 1), { workers: 1, duty: 0.5 });
  assert.equal(demoModule.cpuPlan(97, 0.5), { workers: 1, duty: 0.485 });
  assert.equal(demoModule.cpuPlan(120, 2), { workers: 4, duty: 1 }, 'over the limit: 2.4 cores\' worth of threads, plus one, spin');
  assert.equal(demoModule.cpuPlan(150, 1), { workers: 3, duty: 1 });
  // The demo's own reading of its cgroup (what its ?percent= aims at): usage minus inactive file.
  const files: Record<string, string> = {
    '/sys/fs/cgroup/memory/app/memory.usage_in_bytes': '1000\n', '/sys/fs/cgroup/memory/app/memory.stat': 'cache 9\ntotal_inactive_file 300\n',
    '/sys/fs/cgroup/memory/memory.usage_in_bytes': '5000\n', '/sys/fs/cgroup/memory/memory.stat': 'total_inactive_file 1000\n',
    '/sys/fs/cgroup/memory.current': '2000\n', '/sys/fs/cgroup/memory.stat': 'inactive_file 500\n',
  };
  const read = (file: string) => files[file];
  assert.is(demoModule.cgroupWorkingSet('12:memory:/app\n0::/\n', read), 700, 'v1, the process\'s own cgroup under the mount');
  assert.is(demoModule.cgroupWorkingSet('12:memory:/docker/abc\n', read), 4000, 'v1 in a container: the mount is the container\'s cgroup');
  assert.is(demoModule.cgroupWorkingSet('0::/\n', read), 1500, 'v2 in a private cgroup namespace');
  assert.is(demoModule.cgroupWorkingSet('0::/\n', () => undefined), null);
  for (const percent of [85, 97]) {
    const plan = demoModule.cpuPlan(percent, 4);
    assert.ok(Math.abs(plan.workers * plan.duty - (4 * percent) / 100) < 1e-9, `${percent} % of 4 cores`);
    assert.is(levelOf(percent), percent === 85 ? 'warning' : 'critical');
  }
});

test('make up sizes: environment > env file > SIZE > default tier, from the thresholds module', async () => {
  for (const tier of TIERS) {
    const resolved = stackEnv.resolveStackEnv({ size: tier.name, environment: {}, envFile: {} });
    assert.is(parseMemorySize(resolved.values.MEMORY_LIMIT!), tier.memoryLimitBytes);
    assert.is(parseCpus(resolved.values.CPU_LIMIT!), tier.cpuLimitCores);
    assert.is(parseMemorySize(resolved.values.MEMORY_RESERVATION!), tier.memoryReservationBytes);
    assert.is(parseCpus(resolved.values.CPU_RESERVATION!), tier.cpuReservationCores);
  }
  const none = stackEnv.resolveStackEnv({ environment: {}, envFile: {} });
  assert.equal(none.values, sizingVariables(DEFAULT_TIER));
  const tuned = stackEnv.resolveStackEnv({ size: 'large', environment: { CPU_LIMIT: '3.0' }, envFile: { MEMORY_LIMIT: '1536M', CPU_LIMIT: '1.5' } });
  assert.equal(tuned.values, { MEMORY_LIMIT: '1536M', CPU_LIMIT: '3.0', MEMORY_RESERVATION: '1024M', CPU_RESERVATION: '1.0' });
  assert.equal(tuned.origins, { MEMORY_LIMIT: 'env file', CPU_LIMIT: 'environment', MEMORY_RESERVATION: 'SIZE=large', CPU_RESERVATION: 'SIZE=large' });
  assert.throws(() => stackEnv.resolveStackEnv({ size: 'huge', environment: {}, envFile: {} }), /SIZE must be one of small, medium, large/);

  // The script `make up` runs, with an env file like the one `make tune` writes (other lines kept).
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-stack-env-'));
  try {
    const envFile = path.join(scratch, '.env');
    writeFileSync(envFile, '# written by make tune\nGRAFANA_PORT=3001\nMEMORY_LIMIT=1536M\n');
    const environment = { PATH: process.env.PATH ?? '' };
    const result = await run(process.execPath, [STACK_ENV, '--size=small', `--env-path=${envFile}`], { cwd: REPO_ROOT, env: environment });
    assert.is(result.code, 0, result.stderr);
    const small = tierByName('small')!;
    assert.is(result.stdout, `MEMORY_LIMIT=1536M\nCPU_LIMIT=${sizingVariables(small).CPU_LIMIT}\nMEMORY_RESERVATION=${sizingVariables(small).MEMORY_RESERVATION}\nCPU_RESERVATION=${sizingVariables(small).CPU_RESERVATION}\n`);
    assert.match(result.stderr, /MEMORY_LIMIT=1536M from .*\.env overrides SIZE=small/);
    const missing = await run(process.execPath, [STACK_ENV, `--env-path=${path.join(scratch, "absent")}`], { cwd: REPO_ROOT, env: environment });
    assert.is(missing.stdout, Object.entries(sizingVariables(DEFAULT_TIER)).map(([name, value]) => `${name}=${value}\n`).join(''));
    const bad = await run(process.execPath, [STACK_ENV, '--size=huge'], { cwd: REPO_ROOT, env: environment });
    assert.is(bad.code, 2);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('make up hands compose the resolved sizes, the env file, the engine\'s socket and the alerts; make demo adds the demo; make down/ps/logs reach the same project', async () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-make-up-'));
  // The engine's socket as make up checks it: a listening unix socket.
  const socket = path.join(scratch, 'engine.sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    // A stand-in for `docker compose` that prints what it was given.
    const fake = path.join(scratch, 'compose.sh');
    writeFileSync(fake, '#!/bin/sh\necho "sizes $MEMORY_LIMIT $CPU_LIMIT $MEMORY_RESERVATION $CPU_RESERVATION"\necho "socket $DOCKER_SOCKET alerts $ALERTMANAGER_CONFIG"\necho "args $*"\n', { mode: 0o755 });
    const envFile = path.join(scratch, '.env');
    writeFileSync(envFile, 'CPU_LIMIT=1.5\n');
    const environment = { PATH: process.env.PATH ?? '', DOCKER_SOCKET: socket };
    const make = (args: string[], extra: Record<string, string> = {}) => run('make', ['-s', '-o', 'build', ...args, `COMPOSE=${fake}`], { cwd: REPO_ROOT, env: { ...environment, ...extra } });
    const large = tierByName('large')!;
    const up = await make(['demo', 'SIZE=large', `ENV_FILE=${envFile}`]);
    assert.is(up.code, 0, up.stderr);
    const largeEnv = sizingVariables(large);
    assert.match(up.stdout, `sizes ${largeEnv.MEMORY_LIMIT} 1.5 ${largeEnv.MEMORY_RESERVATION} ${largeEnv.CPU_RESERVATION}\n`);
    assert.match(up.stdout, `socket ${socket} alerts alertmanager.local.yml\n`);
    assert.match(up.stdout, `args -p headroom -f compose/docker-compose.yml -f compose/compose-only.yml -f compose/demo.yml -f compose/demo-compose-only.yml --env-file ${envFile} up -d --build --remove-orphans`);
    const plain = await make(['up', `ENV_FILE=${path.join(scratch, 'absent')}`, 'MEMORY_LIMIT=999M']);
    assert.match(plain.stdout, `sizes 999M ${sizingVariables(DEFAULT_TIER).CPU_LIMIT} `);
    assert.match(plain.stdout, 'args -p headroom -f compose/docker-compose.yml -f compose/compose-only.yml up -d --build --remove-orphans');
    for (const target of ['down', 'ps', 'logs']) {
      const result = await make([target, `ENV_FILE=${envFile}`]);
      assert.is(result.code, 0, result.stderr);
      assert.match(result.stdout, `args -p headroom -f compose/docker-compose.yml -f compose/compose-only.yml --env-file ${envFile} ${target}${target === 'down' ? ' --remove-orphans' : ''}`);
    }
    // make swarm-up: the same sizes, the image built by compose, pushed when HEADROOM_IMAGE says where, then
    // docker stack deploy of the stack file compose/swarm-stack.mjs writes (on its standard input).
    const fakeDocker = path.join(scratch, 'docker.sh');
    writeFileSync(fakeDocker, '#!/bin/sh\necho "docker $HEADROOM_IMAGE $MEMORY_LIMIT $CPU_LIMIT args $*"\nif [ "$1" = stack ]; then grep -c "^  headroom_" ; fi\n', { mode: 0o755 });
    const swarm = await make(['swarm-up', 'SIZE=large', `ENV_FILE=${path.join(scratch, 'absent')}`, `DOCKER=${fakeDocker}`, 'HEADROOM_IMAGE=registry.example:5000/headroom:1']);
    assert.is(swarm.code, 0, swarm.stderr);
    assert.match(swarm.stdout, 'args -p headroom -f compose/docker-compose.yml -f compose/compose-only.yml build exporter');
    assert.match(swarm.stdout, 'args tag headroom:local registry.example:5000/headroom:1\n');
    assert.match(swarm.stdout, 'args push registry.example:5000/headroom:1\n');
    assert.match(swarm.stdout, `docker registry.example:5000/headroom:1 ${largeEnv.MEMORY_LIMIT} ${largeEnv.CPU_LIMIT} args stack deploy --prune --with-registry-auth -c - headroom\n`);
    assert.ok(Number(swarm.stdout.trim().split('\n').at(-1)) > 5, `the stack file's configs and secrets reach stack deploy: ${swarm.stdout}`);
    const bad = await make(['up', 'SIZE=huge']);
    assert.is.not(bad.code, 0);
    assert.not.match(bad.stdout, 'args', 'compose is not run with a bad SIZE');
    // A path that is no socket: one line naming it and how to choose another, and compose never runs.
    const wrong = await make(['up'], { DOCKER_SOCKET: '', DOCKER_HOST: `unix://${envFile}` });
    assert.is.not(wrong.code, 0);
    assert.not.match(wrong.stdout, 'args');
    assert.match(wrong.stderr, `make up: ${envFile} (from DOCKER_HOST) is not a socket: name the engine's socket with DOCKER_SOCKET=`);
    assert.is(wrong.stderr.split('\n').filter((line) => line.startsWith('make up:')).length, 1);
    // An alert setting amtool or the site refuses stops it the same way.
    writeFileSync(envFile, 'HEADROOM_ALERT_EMAIL_TO=not-an-address\n');
    const badAlerts = await make(['up', `ENV_FILE=${envFile}`]);
    assert.is.not(badAlerts.code, 0);
    assert.not.match(badAlerts.stdout, 'args');
    assert.match(badAlerts.stderr, /make up: alerts: .*HEADROOM_ALERT_EMAIL_TO/);
  } finally {
    server.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('the demo holds and frees memory in a child, burns and stops CPU, keeps SMS pages', async () => {
  const port = await freePort();
  const demo = start(process.execPath, [DEMO], { env: { ...process.env, MEMORY_LIMIT: '512M', CPU_LIMIT: '1.0', DEMO_HOST: '127.0.0.1', DEMO_PORT: String(port) } });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`the demo\n${demo.output()}`, async () => (await fetch(`${url}/health`)).ok);
    const pid = demo.child.pid!;
    const held = await call(`${url}/memory?mb=64`, 'POST');
    assert.is(held.code, 200);
    assert.is(held.body.memory.held_bytes, 64 * MiB);
    const hogPid = held.body.memory.hog_pid!;
    assert.ok(processField(hogPid, 'VmRSS') * 1024 >= 64 * MiB, 'the hog is resident with what it holds');
    const more = await call(`${url}/memory?percent=50`, 'POST');
    // Outside a container the cgroup holds more than the demo; the demo still aims its working set at 50 %.
    const workingSet = (more.body.memory as unknown as { working_set_bytes: number }).working_set_bytes;
    assert.ok(workingSet >= 0.5 * 512 * MiB - MiB, `50 % of 512M: working set ${workingSet}`);
    const freed = await call(`${url}/memory`, 'DELETE');
    assert.is(freed.body.memory.held_bytes, 0);
    assert.is(freed.body.memory.hog_pid, null);
    assert.throws(() => readFileSync(`/proc/${hogPid}/status`), /ENOENT/, 'the hog is gone');

    const threadsBefore = processField(pid, 'Threads');
    const cpuBefore = cpuSeconds(pid);
    const burning = await call(`${url}/cpu?workers=1`, 'POST');
    assert.is(burning.body.cpu.workers, 1);
    await waitFor('CPU time to grow by 0.5 s', async () => cpuSeconds(pid) - cpuBefore >= 0.5, 30_000, 200);
    assert.ok(processField(pid, 'Threads') > threadsBefore, 'a worker thread runs');
    const stopped = await call(`${url}/cpu`, 'DELETE');
    assert.is(stopped.body.cpu.workers, 0);
    await waitFor('the worker thread to end', async () => processField(pid, 'Threads') <= threadsBefore, 10_000);
    const planned = await call(`${url}/cpu?percent=150`, 'POST');
    assert.equal(planned.body.cpu, { workers: 3, duty: 1, limit_cores: 1 } as unknown as DemoStatus['cpu']);
    await call(`${url}/cpu`, 'DELETE');

    assert.is((await call(`${url}/memory?mb=lots`, 'POST')).code, 400);
    assert.is((await call(`${url}/cpu?percent=0`, 'POST')).code, 400);
    assert.is((await call(`${url}/nowhere`)).code, 404);
    const page = await fetch(`${url}/sms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'firing', alerts: [{ labels: { severity: 'danger' } }] }) });
    assert.is(page.status, 200);
    const pages = await (await fetch(`${url}/sms`)).json() as { payload: { status: string } }[];
    assert.is(pages[0]?.payload.status, 'firing');
    assert.is((await fetch(`${url}/sms`, { method: 'POST', body: 'not json' })).status, 400);
  } finally {
    await demo.stop();
  }
  assert.is(demo.child.exitCode, 0, 'SIGTERM ends the demo cleanly (it is PID 1 in its container)');
});

test('docs/stack.md levels: in a real cgroup of the small tier, the demo reaches warning, critical and an OOM kill', async () => {
  assert.is(process.getuid?.(), 0, 'creating cgroups needs root');
  const small = tierByName('small')!;
  const sizes = sizingVariables(small);
  const cgroup = createLiveCgroup(`headroom-compose-demo-${process.pid}`, { memoryBytes: small.memoryLimitBytes, memoryReservationBytes: small.memoryReservationBytes, cpuCores: small.cpuLimitCores });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let demo: Started | undefined;
  let exporter: Awaited<ReturnType<typeof startExporter>> | undefined;
  try {
    // The shell joins the cgroup before it becomes the demo, so every page the demo touches is charged there.
    demo = start('/bin/sh', ['-c', 'for dir in "$@"; do echo $$ > "$dir/cgroup.procs"; done; exec "$NODE" --expose-gc "$DEMO"', 'sh', ...cgroup.dirs], {
      env: { ...process.env, ...sizes, NODE: process.execPath, DEMO, DEMO_HOST: '127.0.0.1', DEMO_PORT: String(port) },
    });
    await waitFor(`the demo\n${demo.output()}`, async () => (await fetch(`${url}/health`)).ok);
    exporter = await startExporter([`--target.pid=${demo.child.pid}`], sizes);
    const exporterUrl = exporter.url;
    const memoryLevel = async () => {
      const health = await (await fetch(`${exporterUrl}/health`)).json() as { memory_percent: number; checks: { resources: { details: { levels: { memory: string } } } } };
      return { percent: health.memory_percent, level: health.checks.resources.details.levels.memory };
    };
    assert.is((await memoryLevel()).level, 'info');

    // /health answers from a scrape up to PROBE_MAX_AGE_MS old (it scrapes only when the last one is older),
    // so a change shows there within that age plus the demo's own time to allocate or free.
    const levelChange = PROBE_MAX_AGE_MS + 15_000;
    for (const [percent, level] of [[85, 'warning'], [97, 'critical']] as const) {
      const pushed = await call(`${url}/memory?percent=${percent}`, 'POST');
      assert.is(pushed.code, 200);
      const reached = await waitFor(`memory at ${level}`, async () => {
        const current = await memoryLevel();
        return current.level === level ? current : undefined;
      }, levelChange, 250).catch(async (error: Error) => { throw new Error(`${error.message}: ${JSON.stringify(await memoryLevel())}`); });
      assert.ok(reached.percent > percent - 5 && reached.percent < percent + 3, `percent=${percent} gave ${reached.percent} % in the exporter`);
      assert.is((await call(`${url}/memory`, 'DELETE')).code, 200);
      await waitFor('memory back to info', async () => (await memoryLevel()).level === 'info', levelChange, 250)
        .catch(async (error: Error) => { throw new Error(`${error.message}: ${JSON.stringify(await memoryLevel())}`); });
    }

    const before = valueOf(await scrape(`${exporterUrl}/metrics`), 'headroom_memory_oom_kills_total') ?? 0;
    const danger = await call(`${url}/memory?percent=100`, 'POST');
    assert.is(danger.code, 200, 'the server answers: the OOM killer took the hog, not the server');
    assert.is(danger.body.memory.last_hog_death?.signal, 'SIGKILL');
    const after = valueOf(await scrape(`${exporterUrl}/metrics`), 'headroom_memory_oom_kills_total')!;
    assert.ok(after >= before + 1, `an OOM kill is counted in the cgroup (${before} -> ${after})`);
    assert.is((await call(`${url}/health`)).code, 200);

    // CPU over the limit: more spinning threads than the quota allows, so the cgroup is throttled.
    const throttledBefore = valueOf(await scrape(`${exporterUrl}/metrics`), 'headroom_cpu_cfs_throttled_periods_total') ?? 0;
    const burning = await call(`${url}/cpu?percent=150`, 'POST');
    assert.is(burning.body.cpu.workers, Math.ceil(small.cpuLimitCores * 1.5) + 1);
    const throttled = async () => valueOf(await scrape(`${exporterUrl}/metrics`), 'headroom_cpu_cfs_throttled_periods_total') ?? 0;
    await waitFor('CFS throttling', async () => (await throttled()) >= throttledBefore + 5, 60_000, 250)
      .catch(async (error: Error) => { throw new Error(`${error.message}: ${throttledBefore} -> ${await throttled()}`); });
    await call(`${url}/cpu`, 'DELETE');
  } finally {
    await exporter?.stop();
    await demo?.stop('SIGKILL');
    await cgroup.remove();
  }
});

test.run();
