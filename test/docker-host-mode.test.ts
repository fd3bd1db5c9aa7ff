// Host mode against a real engine (a private dockerd): one exporter, started natively as root with
// --target.docker, watches every container. Twenty containers with assorted limits and reservations,
// some from compose, some unlimited, against docker inspect and the kernel's files; a container whose PID 1
// outgrows its limit under a restart policy, counted across its restarts and alerted by a real
// Prometheus; containers created and removed while scraped; nothing but GET reaches the engine; an engine
// that stops answering fails the docker sub-status and not the scrape.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { renderRules } from '../alerting-rules/files.js';
import { startExporter, waitFor, type RunningCli } from '../scripts/processes.js';
import { startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { parseExposition, valueOf, type Sample } from './helpers/metrics-text.js';
import { prometheusAlerts, startPrometheus } from './helpers/prometheus.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { mixedLimitArgs } from './helpers/mixed-limits.js';

const MiB = 1024 ** 2;
const IMAGE = STANDIN_TAGS.nodeAlpine;
const NETWORK = 'host-mode-test';
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-host-mode-'));
const proxySocket = path.join(scratch, 'engine.sock');
let engine: DockerEngine | undefined;
let exporter: RunningCli | undefined;

/** A unix socket in front of the engine's that records every request line the exporter sends, and can stop answering. */
interface RecordingProxy { requests: string[]; silent: boolean; close(): void }
let proxy: RecordingProxy | undefined;

function startProxy(target: string): Promise<RecordingProxy> {
  const sockets = new Set<Socket>();
  const recorder: RecordingProxy = { requests: [], silent: false, close: () => { for (const socket of sockets) socket.destroy(); server.close(); } };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    if (recorder.silent) return; // accepts, never answers
    const upstream = createConnection(target);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      // Requests carry no body (a GET has none, and anything else is what this looks for): every line that
      // looks like a request line is one.
      pending += chunk.toString('latin1');
      let newline: number;
      while ((newline = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 2);
        if (/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(line)) recorder.requests.push(line);
      }
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
  });
  if (existsSync(proxySocket)) unlinkSync(proxySocket);
  return new Promise((resolve) => server.listen(proxySocket, () => resolve(recorder)));
}

async function run(args: string[]): Promise<string> {
  return (await engine!.docker(['run', '--detach', `--network=${NETWORK}`, ...args])).stdout.trim();
}

async function inspect<T>(id: string, format: string): Promise<T> {
  return JSON.parse((await engine!.docker(['inspect', '--format', `{{json ${format}}}`, id])).stdout) as T;
}

async function scrape(): Promise<{ status: number; samples: Sample[] }> {
  const response = await fetch(`${exporter!.url}/metrics`);
  return { status: response.status, samples: parseExposition(await response.text()) };
}

const byContainer = (samples: Sample[], name: string, container: string) => samples.find((sample) => sample.name === name && sample.labels.container === container)?.value;

function hostMemoryBytes(): number {
  return Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '8g' });
  await loadStandins(engine, [IMAGE]);
  await engine.docker(['network', 'create', NETWORK]);
  proxy = await startProxy(engine.socket);
  exporter = await startExporter([`--target.docker=unix://${proxySocket}`, '--statistics.enabled=false']);
});

test.after(async () => {
  await exporter?.stop();
  proxy?.close();
  await engine?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

interface Spec { name: string; args: string[] }

/** Families only some containers have: they come on top of the 30-series budget of a plain container. */
const OPTIONAL_FAMILIES = [
  'headroom_memory_reservation_bytes', 'headroom_cpu_reservation_cores', 'headroom_container_last_exit', 'headroom_pids_limit', 'headroom_pids_percent',
  'headroom_container_ulimit_soft', 'headroom_nproc_percent', 'headroom_nproc_limit',
];

test('twenty containers, some from compose, some unlimited: every figure matches docker inspect and the kernel files', async () => {
  const specs: Spec[] = [];
  for (let index = 0; index < 17; index += 1) {
    const args = mixedLimitArgs(index, ['64m', '128m', '200m', '256m', '512m', '']);
    if (index % 4 === 1) args.push('--env', 'CPU_RESERVATION=0.125');
    if (index % 4 === 2) args.push('--label', 'headroom.cpu-reservation=0.2');
    // Neither ever becomes a metric label nor reaches the log.
    args.push('--env', 'API_TOKEN=do-not-leak-1234', '--label', 'com.example.team=payments-secret-label');
    specs.push({ name: `plain-${index}`, args });
  }
  for (const spec of specs) await run(['--name', spec.name, ...spec.args, IMAGE, 'sleep', 'infinity']);
  const composeFile = path.join(scratch, 'compose.yml');
  writeFileSync(composeFile, stringify({
    services: {
      web: { image: IMAGE, command: ['sleep', 'infinity'], environment: { CPU_RESERVATION: '0.5' }, deploy: { resources: { limits: { memory: '300M', cpus: '0.75' }, reservations: { memory: '100M' } } } },
      worker: { image: IMAGE, command: ['sleep', 'infinity'], deploy: { resources: { limits: { memory: '150M' } } } },
      db: { image: IMAGE, command: ['sleep', 'infinity'] },
    },
    networks: { default: { name: NETWORK, external: true } },
  }));
  await engine!.compose(['-p', 'shop', '-f', composeFile, 'up', '-d']);

  const ids = (await engine!.docker(['ps', '--quiet', '--no-trunc'])).stdout.trim().split('\n');
  assert.is(ids.length, 20);
  const { samples } = await waitFor('the exporter to see all twenty', async () => {
    const scraped = await scrape();
    const running = scraped.samples.filter((sample) => sample.name === 'headroom_container_info').length;
    const limits = scraped.samples.filter((sample) => sample.name === 'headroom_memory_limit_bytes').length;
    return running === 20 && limits === 20 ? scraped : undefined;
  }, 30_000, 500);
  const hostMemory = hostMemoryBytes();
  const hostCpus = os.cpus().length;
  for (const id of ids) {
    const facts = await inspect<{ Name: string; HostConfig: { Memory: number; MemoryReservation: number; NanoCpus: number; RestartPolicy: { Name: string } }; Config: { Image: string; Env: string[]; Labels: Record<string, string> } }>(id, '.');
    const name = facts.Name.replace(/^\//, '');
    const what = (figure: string) => `${figure} of ${name}`;
    const value = (metric: string) => byContainer(samples, metric, name);
    assert.is(value('headroom_memory_limit_bytes'), facts.HostConfig.Memory || hostMemory, what('memory limit'));
    assert.is(value('headroom_memory_limit_enforced'), facts.HostConfig.Memory ? 1 : 0, what('memory limit enforced'));
    assert.is(value('headroom_memory_reservation_bytes'), facts.HostConfig.MemoryReservation || undefined, what('memory reservation (the soft limit)'));
    assert.is(value('headroom_cpu_limit_cores'), facts.HostConfig.NanoCpus ? facts.HostConfig.NanoCpus / 1e9 : hostCpus, what('CPU limit'));
    const declared = facts.Config.Labels['headroom.cpu-reservation'] ?? facts.Config.Env.find((entry) => entry.startsWith('CPU_RESERVATION='))?.slice('CPU_RESERVATION='.length);
    assert.is(value('headroom_cpu_reservation_cores'), declared === undefined ? undefined : Number(declared), what('CPU reservation'));
    // The kernel's own files for the container's cgroup (cgroupfs driver: /docker/<id>).
    const cgroup = (controller: string, file: string) => Number(readFileSync(`/sys/fs/cgroup/${controller}/docker/${id}/${file}`, 'utf8'));
    const usage = cgroup('memory', 'memory.usage_in_bytes');
    assert.ok(Math.abs(value('headroom_memory_usage_bytes')! - usage) < 4 * MiB, what(`memory usage ${value('headroom_memory_usage_bytes')} against the kernel's ${usage}`));
    assert.ok(value('headroom_cpu_usage_seconds_total')! <= cgroup('cpuacct', 'cpuacct.usage') / 1e9 + 0.01, what('CPU usage'));
    assert.is(value('headroom_processes'), 1, what('processes (sleep)'));
    assert.is(value('headroom_container_restarts_total'), 0, what('restarts: its first start is none'));
    assert.not.ok(samples.some((sample) => sample.name === 'headroom_container_last_exit' && sample.labels.container === name), what('no exit yet'));
    const info = samples.find((sample) => sample.name === 'headroom_container_info' && sample.labels.container === name);
    assert.equal(info?.labels, {
      container: name, compose_project: facts.Config.Labels['com.docker.compose.project'] ?? '', compose_service: facts.Config.Labels['com.docker.compose.service'] ?? '',
      id, image: facts.Config.Image, restart_policy: facts.HostConfig.RestartPolicy.Name || 'no',
    });
    // The budget: 30 series for a plain container (27 before the three descriptor figures); what only some
    // containers have (a reservation, a pids limit, a configured ulimit, RLIMIT_NPROC, a last exit) adds its own.
    const series = samples.filter((sample) => sample.labels.container === name);
    const optional = series.filter((sample) => OPTIONAL_FAMILIES.includes(sample.name)).length;
    assert.ok(series.length - optional <= 30, what(`${series.length} series, ${optional} of them optional: ${series.map((sample) => `${sample.name}${sample.labels.resource ? `/${sample.labels.resource}` : ''}`).join(' ')}`));
    assert.is(valueOf(samples, 'headroom_fds_open', { container: name }), readdirSync(`/proc/${readFileSync(`/sys/fs/cgroup/pids/docker/${id}/cgroup.procs`, 'utf8').trim()}/fd`).length, what('open descriptors of its one process'));
  }
  const web = samples.find((sample) => sample.name === 'headroom_memory_limit_bytes' && sample.labels.compose_service === 'web');
  assert.equal([web?.labels.compose_project, web?.value], ['shop', 300 * 1024 * 1024]);
  const text = await (await fetch(`${exporter!.url}/metrics`)).text();
  for (const secret of ['do-not-leak-1234', 'payments-secret-label', 'API_TOKEN', 'com.example.team']) {
    assert.not.ok(text.includes(secret), `${secret} in /metrics`);
    assert.not.ok(exporter!.output().includes(secret), `${secret} in the log`);
  }
  const perContainer = samples.filter((sample) => sample.labels.container !== undefined).length / 20;
  console.log(`  ${perContainer.toFixed(1)} series per container`);
  await engine!.removeContainers(ids);
});

test('a PID 1 that outgrows its 64 MiB limit under on-failure:3: OOM kills and restarts counted across restarts, the danger alert fires', async () => {
  const rulesFile = path.join(scratch, 'rules.yml');
  writeFileSync(rulesFile, renderRules());
  const instance = new URL(exporter!.url).host;
  const prometheus = await startPrometheus({ scrapeJobs: [{ job: 'headroom', targets: [instance] }], ruleFiles: [rulesFile] });
  try {
    const id = await run(['--name', 'hungry', '--memory=64m', '--memory-swap=64m', '--restart=on-failure:3', IMAGE, 'node', '-e', 'const held = []; setInterval(() => held.push(Buffer.alloc(8 * 1024 * 1024, 1)), 50)']);
    const started = Date.now();
    const samples = await waitFor('an OOM kill and a restart', async () => {
      const { samples: scraped } = await scrape();
      const kills = byContainer(scraped, 'headroom_container_oom_kills_total', 'hungry') ?? 0;
      const restarts = byContainer(scraped, 'headroom_container_restarts_total', 'hungry') ?? 0;
      return kills >= 1 && restarts >= 1 ? scraped : undefined;
    }, 30_000, 250);
    console.log(`  counted within ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const state = await inspect<{ OOMKilled: boolean }>(id, '.State');
    const restartCount = await inspect<number>(id, '.RestartCount');
    assert.ok(state.OOMKilled || restartCount >= 1, 'the engine saw it too');
    const exits = samples.filter((sample) => sample.name === 'headroom_container_last_exit' && sample.labels.container === 'hungry');
    assert.equal(exits.map((sample) => [sample.labels.reason, sample.value]), [['oom_killed', 137]]);
    const alert = await waitFor('the danger alert', async () => (await prometheusAlerts(prometheus.url))
      .find((candidate) => candidate.labels.alertname === 'HeadroomMemoryHigh' && candidate.labels.signal === 'oom_kill' && candidate.labels.container === 'hungry' && candidate.state === 'firing'), 60_000, 500);
    assert.is(alert.labels.severity, 'danger');
    assert.match(alert.annotations.description ?? '', 'of container hungry on');
    // Each restart is a new cgroup: the kernel's count starts over, the engine's does not.
    const later = await waitFor('more kills than the cgroup counts', async () => {
      const { samples: scraped } = await scrape();
      const engineKills = byContainer(scraped, 'headroom_container_oom_kills_total', 'hungry') ?? 0;
      const cgroupKills = byContainer(scraped, 'headroom_memory_oom_kills_total', 'hungry') ?? 0;
      return engineKills >= 2 && engineKills > cgroupKills ? { engineKills, cgroupKills } : undefined;
    }, 30_000, 250);
    console.log(`  engine counts ${later.engineKills} kills, the current cgroup ${later.cgroupKills}`);
    await engine!.removeContainers([id]);
  } finally {
    await prometheus.stop();
  }
});

test('containers created and removed during scrapes: every scrape answers, no collector fails, removed ones vanish', async () => {
  let scraping = true;
  const failures: string[] = [];
  let scrapes = 0;
  const loop = (async () => {
    while (scraping) {
      const { status, samples } = await scrape();
      scrapes += 1;
      if (status !== 200) failures.push(`status ${status}`);
      for (const sample of samples.filter((candidate) => candidate.name === 'headroom_scrape_collector_success' && candidate.value !== 1)) failures.push(`collector ${sample.labels.collector} failed`);
    }
  })();
  try {
    for (let round = 0; round < 5; round += 1) {
      const names = Array.from({ length: 4 }, (_, index) => `churn-${round}-${index}`);
      await Promise.all(names.map((name) => run(['--name', name, '--memory=32m', IMAGE, 'sleep', 'infinity'])));
      await waitFor(`round ${round} seen`, async () => (await scrape()).samples.filter((sample) => sample.name === 'headroom_memory_limit_bytes' && names.includes(sample.labels.container ?? '')).length === names.length, 10_000, 100);
      // One the engine fails to remove (named on stderr) is still there, and still watched.
      const left = await engine!.removeContainers(names);
      const removed = names.filter((name) => !left.includes(name));
      await waitFor(`round ${round} gone`, async () => !(await scrape()).samples.some((sample) => removed.includes(sample.labels.container ?? '')), 2000, 50);
    }
  } finally {
    scraping = false;
    await loop;
  }
  const logged = exporter!.output().split('\n').filter((line) => line.includes('collector failed')).slice(-5).join('\n');
  assert.equal(failures, [], `over ${scrapes} scrapes:\n${logged}`);
  assert.ok(scrapes > 20, `${scrapes} scrapes`);
});

test('nothing but GET reaches the engine', () => {
  const methods = new Set(proxy!.requests.map((line) => line.split(' ')[0]));
  assert.equal([...methods], ['GET'], proxy!.requests.filter((line) => !line.startsWith('GET ')).join('\n'));
  const paths = proxy!.requests.map((line) => line.split(' ')[1]!.replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}/, 'ID').replace(/\?.*$/, ''));
  for (const expected of ['/info', '/containers/json', '/containers/ID/json', '/events', '/version']) assert.ok(paths.includes(expected), `${expected} in ${[...new Set(paths)].join(', ')}`);
});

test('an engine that stops answering fails the required docker sub-status; /metrics still answers, and it recovers', async () => {
  proxy!.silent = true;
  // Connections already open keep working: drop them, so that the next ones meet the silent proxy.
  proxy!.close();
  proxy = await startProxy(engine!.socket);
  proxy.silent = true;
  const health = await waitFor('the docker sub-status failing', async () => {
    const response = await fetch(`${exporter!.url}/health`);
    const body = await response.json() as { checks: Record<string, { status: string; required: boolean; message: string }> };
    return response.status === 503 && body.checks.docker?.status === 'failing' ? body : undefined;
  }, 30_000, 500);
  assert.is(health.checks.docker?.required, true);
  const { status, samples } = await scrape();
  assert.is(status, 200);
  assert.is(valueOf(samples, 'headroom_health_status', { component: 'docker' }), 0);
  proxy.silent = false;
  await waitFor('/health back to 200', async () => (await fetch(`${exporter!.url}/health`)).status === 200, 60_000, 500);
});

test.run();
