// The local stack in a real Docker engine (a private dockerd, stand-in images for the registry's): `make demo
// SIZE=small` through the Makefile's own target with Debian's docker-compose 1.29; every service running and
// healthy; the exporter's limits and reservations equal `docker inspect` of the demo; the demo pushed to 85,
// 97 and 100 % of its memory and over its CPU limit gives the warning, critical and danger mails and the SMS
// page; `make tune` writes .env and `make demo` applies it; `make down ARGS=-v` leaves nothing.
// The `for:` durations and Alertmanager's timings are divided by TIME_SCALE through the generator, and
// Prometheus scrapes every 2 s: a compose override (COMPOSE_OVERRIDE) mounts those files instead of the
// committed ones, which stay as they are.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { formatCpus, parseCpus, parseMemorySize } from '../exporter/src/sizes.js';
import { tierByName } from '../exporter/src/thresholds.js';
import { freePort, REPO_ROOT, waitFor } from '../scripts/processes.js';
import { composeBuildOverride, DOCKER_COMPOSE, fetchWithin, runCommand, startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { parseExposition, valueOf } from './helpers/metrics-text.js';
import { COMPOSE_FILE, STACK_PORT_VARIABLES, stackServices } from './helpers/compose-file.js';
import { loadStandins } from '../scripts/standin-images.js';

const TIME_SCALE = 20;
const MiB = 1024 ** 2;
const PORT_VARIABLES = STACK_PORT_VARIABLES;
const SERVICES = stackServices({ demo: true });

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-stack-'));
const envFile = path.join(scratch, '.env');
let engine: DockerEngine | undefined;
let ports: Record<(typeof PORT_VARIABLES)[number], number>;
let makeEnv: NodeJS.ProcessEnv;
let makeVariables: string[];

/** A published port of the stack, on the engine's address (PUBLISH_ADDRESS). */
const url = (variable: (typeof PORT_VARIABLES)[number], pathname = '') => `http://${engine!.address}:${ports[variable]}${pathname}`;

async function make(target: string, extra: string[] = []) {
  return runCommand('make', ['--no-print-directory', target, ...makeVariables, ...extra], { cwd: REPO_ROOT, env: makeEnv, timeoutMs: 600_000 });
}

async function inspect<T>(container: string, format: string): Promise<T> {
  return JSON.parse((await engine!.docker(['inspect', '--format', `{{json ${format}}}`, container])).stdout) as T;
}

const container = (service: string) => `headroom_${service}_1`;

/** The demo's series: the exporter watches every container of the stack (host mode). */
async function metrics(): Promise<ReturnType<typeof parseExposition>> {
  const response = await fetchWithin(url('HEADROOM_PORT', '/metrics'), 10_000);
  return parseExposition(await response.text()).filter((sample) => sample.labels.compose_service === undefined || sample.labels.compose_service === 'demo');
}

interface MailSummary { ID: string; Subject: string; Created: string }
async function mails(): Promise<MailSummary[]> {
  const response = await fetchWithin(url('MAILPIT_PORT', '/api/v1/messages'), 5000);
  return ((await response.json()) as { messages: MailSummary[] }).messages;
}
async function waitForMail(pattern: RegExp, what: string, timeoutMs = 120_000): Promise<MailSummary> {
  try {
    return await waitFor(what, async () => (await mails()).find((mail) => pattern.test(mail.Subject)), timeoutMs, 1000);
  } catch (error) {
    const subjects = (await mails().catch(() => [])).map((mail) => mail.Subject);
    const alerts = await fetchWithin(url('PROMETHEUS_PORT', '/api/v1/alerts'), 5000).then((response) => response.text()).catch((failure: Error) => failure.message);
    const samples = await metrics().catch(() => []);
    throw new Error(`${(error as Error).message}\nmails: ${JSON.stringify(subjects)}\nmemory ${valueOf(samples, 'headroom_memory_percent')} %, cpu ${valueOf(samples, 'headroom_cpu_percent')} %\nPrometheus alerts: ${alerts.slice(0, 3000)}`);
  }
}

async function demo(method: string, pathname: string): Promise<unknown> {
  const response = await fetchWithin(url('DEMO_PORT', pathname), 60_000, { method });
  return response.json();
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '8g' });
  await loadStandins(engine);
  ports = Object.fromEntries(await Promise.all(PORT_VARIABLES.map(async (variable) => [variable, await freePort()]))) as typeof ports;

  // The faster rules and Alertmanager timings, written by the generator; Prometheus's own file with a 2 s interval.
  const rulesDir = path.join(scratch, 'alerting-rules');
  mkdirSync(rulesDir);
  const generate = (args: string[]) => runCommand(process.execPath, [path.join(REPO_ROOT, 'dist/scripts/generate.js'), ...args], { cwd: REPO_ROOT });
  await generate(['--rules', `--time-scale=${TIME_SCALE}`, `--out=${path.join(rulesDir, 'headroom.rules.yml')}`]);
  copyFileSync(path.join(REPO_ROOT, 'alerting-rules/recommendation.rules.yml'), path.join(rulesDir, 'recommendation.rules.yml'));
  await generate([`--alertmanager-site=${path.join(REPO_ROOT, 'compose/alertmanager-site.env')}`, `--alertmanager-site=${path.join(REPO_ROOT, 'compose/alertmanager-demo.env')}`, `--time-scale=${TIME_SCALE}`, `--out=${path.join(scratch, 'alertmanager.yml')}`]);
  const prometheusConfig = parse(readFileSync(path.join(REPO_ROOT, 'compose/prometheus.yml'), 'utf8')) as { global: Record<string, string> };
  prometheusConfig.global.scrape_interval = '2s';
  prometheusConfig.global.evaluation_interval = '2s';
  writeFileSync(path.join(scratch, 'prometheus.yml'), stringify(prometheusConfig));
  const override = path.join(scratch, 'faster.yml');
  writeFileSync(override, stringify({
    services: {
      prometheus: { volumes: [`${path.join(scratch, 'prometheus.yml')}:/etc/headroom/compose/prometheus.yml:ro`, `${rulesDir}:/etc/headroom/alerting-rules:ro`] },
      alertmanager: { volumes: [`${path.join(scratch, 'alertmanager.yml')}:/etc/headroom/compose/alertmanager.yml:ro`] },
    },
  }));

  // The stack's gate mounts the engine's socket: this engine's. Its ports are published on the engine's
  // address, which the host reaches (its 127.0.0.1 is the engine's namespace's own).
  makeEnv = { ...engine.env, DOCKER_SOCKET: engine.socket, PUBLISH_ADDRESS: engine.address };
  for (const [variable, port] of Object.entries(ports)) makeEnv[variable] = String(port);
  // The engine's namespace has no way out: the exporter's image builds through its download proxy.
  const build = await composeBuildOverride(engine, ['-p', 'headroom', '-f', COMPOSE_FILE, '-f', override], { cwd: REPO_ROOT });
  makeVariables = [`COMPOSE=${DOCKER_COMPOSE}`, `COMPOSE_OVERRIDE=${override} ${build}`, `ENV_FILE=${envFile}`];
});

test.after(async () => {
  try {
    if (engine) await make('down', ['ARGS=-v']).catch(() => undefined);
  } finally {
    await engine?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('make demo SIZE=small: every service runs, the demo and the exporter turn healthy', async () => {
  const up = await make('demo', ['SIZE=small']);
  assert.match(up.stdout, 'demo sizes: MEMORY_LIMIT=1024M CPU_LIMIT=1.0 MEMORY_RESERVATION=256M CPU_RESERVATION=0.25');
  for (const service of SERVICES) assert.is(await inspect<string>(container(service), '.State.Status'), 'running', service);
  const healthy = await waitFor('the demo, the exporter and the gate healthy', async () => {
    const states = await Promise.all(['demo', 'exporter', 'gate'].map((service) => inspect<{ Status: string }>(container(service), '.State.Health')));
    if (states.some((state) => state.Status === 'unhealthy')) throw new Error(`unhealthy: ${JSON.stringify(states)}`);
    return states.every((state) => state.Status === 'healthy') ? states : undefined;
  }, 90_000, 1000);
  assert.is(healthy.length, 3);
  // The gate is `headroom gate` of the exporter's image, and mounts nothing of the checkout.
  assert.is(await inspect<string>(container('gate'), '.Config.Image'), await inspect<string>(container('exporter'), '.Config.Image'));
  const gateMounts = await inspect<Array<{ Type: string; Source: string }>>(container('gate'), '.Mounts');
  assert.equal(gateMounts.filter((mount) => mount.Type === 'bind').map((mount) => mount.Source), [engine!.socket]);
  // The gate passes reads and refuses the rest: an update of the demo through it answers 403.
  const probe = `const r = require('http').request({ socketPath: '/run/headroom/docker.sock', method: 'POST', path: '/v1.41/containers/${container('demo')}/update', headers: { 'content-type': 'application/json' } }, (a) => { console.log(a.statusCode); a.resume(); }); r.end('{"Memory":1}');`;
  const refused = await engine!.docker(['exec', container('exporter'), 'node', '-e', probe]);
  assert.is(refused.stdout.trim(), '403', 'POST through the gate');
  const ps = await make('ps', ['DEMO=1']);
  for (const service of SERVICES) assert.match(ps.stdout, container(service));
});

test('host mode: the exporter reports every service of the stack, and the demo\'s limits and reservations as docker inspect shows them', async () => {
  const all = parseExposition(await (await fetchWithin(url('HEADROOM_PORT', '/metrics'), 10_000)).text());
  const services = new Set(all.filter((sample) => sample.name === 'headroom_memory_limit_bytes').map((sample) => sample.labels.compose_service));
  for (const service of SERVICES) assert.ok(services.has(service), `${service} has its own series: ${[...services].join(', ')}`);
  const hostConfig = await inspect<{ Memory: number; MemoryReservation: number; NanoCpus: number }>(container('demo'), '.HostConfig');
  const small = tierByName('small')!;
  assert.equal([hostConfig.Memory, hostConfig.MemoryReservation, hostConfig.NanoCpus / 1e9], [small.memoryLimitBytes, small.memoryReservationBytes, small.cpuLimitCores]);
  const samples = await metrics();
  assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), hostConfig.Memory);
  assert.is(valueOf(samples, 'headroom_memory_reservation_bytes'), hostConfig.MemoryReservation, 'the soft limit Docker set from reservations.memory');
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), hostConfig.NanoCpus / 1e9);
  assert.is(valueOf(samples, 'headroom_cpu_reservation_cores'), small.cpuReservationCores, 'compose keeps reservations.cpus in no cgroup: the declared CPU_RESERVATION');
  assert.is(valueOf(samples, 'headroom_memory_limit_enforced'), 1);
});

test('the demo at 85 %, 97 % and 100 % of its memory: the warning, critical and danger mails, and the SMS page', async () => {
  await demo('POST', '/memory?percent=85');
  await waitForMail(/^\[FIRING\] warning on \S*demo\S* on exporter:9477: HeadroomMemoryHigh/, 'the warning mail');
  await demo('DELETE', '/memory');
  await demo('POST', '/memory?percent=97');
  await waitForMail(/^\[FIRING\] critical on \S*demo\S* on exporter:9477: HeadroomMemoryHigh/, 'the critical mail');
  await demo('DELETE', '/memory');
  await demo('POST', '/memory?percent=100');
  await waitForMail(/^\[FIRING\] danger on \S*demo\S* on exporter:9477: HeadroomMemoryHigh/, 'the danger mail');
  const pages = await waitFor('the SMS page', async () => {
    const sms = await demo('GET', '/sms') as Array<{ payload: { receiver: string; alerts?: Array<{ labels: Record<string, string> }> } }>;
    return sms.find(({ payload }) => payload.receiver === 'page' && payload.alerts?.some((alert) => alert.labels.severity === 'danger' && alert.labels.alertname === 'HeadroomMemoryHigh' && alert.labels.compose_service === 'demo'));
  }, 60_000, 1000);
  assert.ok(pages);
  const samples = await metrics();
  assert.ok((valueOf(samples, 'headroom_memory_oom_kills_total') ?? 0) >= 1, 'at 100 % the kernel OOM-killed the demo\'s memory child');
  await demo('DELETE', '/memory');
});

test('an OOM kill the first sample already counts fires the danger alert: a Prometheus started after the kill', async () => {
  assert.ok((valueOf(await metrics(), 'headroom_memory_oom_kills_total') ?? 0) >= 1, 'the demo\'s cgroup has counted a kill');
  // A second Prometheus on the stack's network, with no history: its first scrape already counts the kill.
  const config = parse(readFileSync(path.join(scratch, 'prometheus.yml'), 'utf8')) as { alerting?: unknown; scrape_configs: Array<{ job_name: string }> };
  delete config.alerting;
  config.scrape_configs = config.scrape_configs.filter((job) => job.job_name === 'headroom');
  const configFile = path.join(scratch, 'fresh-prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const { stdout } = await engine!.docker(['run', '--detach', '--network=headroom', '--publish', `${engine!.address}:${port}:9090`,
    '--volume', `${configFile}:/etc/headroom/compose/prometheus.yml:ro`, '--volume', `${path.join(scratch, 'alerting-rules')}:/etc/headroom/alerting-rules:ro`,
    'prom/prometheus:v2.53.2', '--config.file=/etc/headroom/compose/prometheus.yml', '--storage.tsdb.path=/prometheus']);
  const fresh = stdout.trim();
  try {
    const alert = await waitFor('the OOM danger alert in a fresh Prometheus', async () => {
      const response = await fetchWithin(`http://${engine!.address}:${port}/api/v1/alerts`, 5000).catch(() => undefined);
      if (!response?.ok) return undefined;
      const { data } = await response.json() as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      return data.alerts.find((candidate) => candidate.labels.signal === 'oom_kill' && candidate.labels.compose_service === 'demo' && candidate.state === 'firing');
    }, 60_000, 1000);
    assert.is(alert.labels.severity, 'danger');
  } finally {
    await engine!.docker(['rm', '--force', '--volumes', fresh], { check: false });
  }
});

test('the demo over its CPU limit: throttled, and the CPU danger mail', async () => {
  await demo('POST', '/cpu?percent=150');
  await waitForMail(/^\[FIRING\] danger on \S*demo\S* on exporter:9477: .*HeadroomCpuHigh/, 'the CPU danger mail', 180_000);
  const samples = await metrics();
  assert.ok((valueOf(samples, 'headroom_cpu_cfs_throttled_periods_total') ?? 0) > 0);
  await demo('DELETE', '/cpu');
});

test('make tune writes .env from the history; make demo applies it to the demo', async () => {
  const tune = await make('tune', [`PROMETHEUS_URL=${url('PROMETHEUS_PORT')}`]);
  assert.match(tune.stdout, 'recommended:');
  assert.ok(existsSync(envFile), tune.stderr);
  const written = parseEnv(readFileSync(envFile, 'utf8'));
  const memory = parseMemorySize(written.MEMORY_LIMIT ?? '')!;
  const cpus = parseCpus(written.CPU_LIMIT ?? '')!;
  assert.ok(memory > tierByName('small')!.memoryLimitBytes, `the demo was pushed to its limit and OOM-killed: more memory than small (${written.MEMORY_LIMIT})`);
  // The same container by its name, as JSON: host mode sizes one container among the stack's.
  const byName = await runCommand(process.execPath, [path.join(REPO_ROOT, 'dist/exporter/src/cli.js'), 'recommend', `--prometheus.url=${url('PROMETHEUS_PORT')}`, `--container=${container('demo')}`, '--format=json'], { cwd: REPO_ROOT });
  const [sized] = JSON.parse(byName.stdout) as Array<{ usage: { container: string; oomKills: number }; recommendation: { env: Record<string, string> } }>;
  assert.is(sized!.usage.container, container('demo'));
  assert.ok(sized!.usage.oomKills >= 1, 'the demo\'s OOM kill is in its history');
  assert.equal(sized!.recommendation.env, { MEMORY_LIMIT: written.MEMORY_LIMIT, CPU_LIMIT: written.CPU_LIMIT, MEMORY_RESERVATION: written.MEMORY_RESERVATION, CPU_RESERVATION: written.CPU_RESERVATION });
  const up = await make('demo');
  assert.match(up.stdout, `MEMORY_LIMIT=${written.MEMORY_LIMIT}`);
  const hostConfig = await waitFor('the demo recreated with the new sizes', async () => {
    const config = await inspect<{ Memory: number; NanoCpus: number; MemoryReservation: number }>(container('demo'), '.HostConfig');
    return config.Memory === memory ? config : undefined;
  }, 60_000, 1000);
  assert.is(formatCpus(hostConfig.NanoCpus / 1e9), formatCpus(cpus));
  assert.is(hostConfig.MemoryReservation, parseMemorySize(written.MEMORY_RESERVATION ?? ''));
  const samples = await waitFor('the exporter to report the new limit', async () => {
    const scraped = await metrics().catch(() => undefined);
    return scraped && valueOf(scraped, 'headroom_memory_limit_bytes') === memory ? scraped : undefined;
  }, 90_000, 1000);
  assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), hostConfig.NanoCpus / 1e9);
});

test('make down ARGS=-v leaves no container, network or volume', async () => {
  await make('down', ['ARGS=-v']);
  const left = async (args: string[]) => (await engine!.docker(args)).stdout.trim();
  assert.is(await left(['ps', '--all', '--quiet']), '');
  assert.is(await left(['network', 'ls', '--quiet', '--filter', 'type=custom']), '');
  assert.is(await left(['volume', 'ls', '--quiet']), '');
});

test.run();
