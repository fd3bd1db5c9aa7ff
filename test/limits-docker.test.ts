// Tasks and file descriptors of containers against their limits, in host mode against a real engine (a
// private dockerd): a container started with --pids-limit=64 whose shell forks 60 children reads 61/64 and
// fires the critical alert in a real Prometheus, at 64 the next fork fails and the danger alert fires;
// processes with different soft limits in one container, the worst share the right process's, beside the
// ulimit the engine configured; and the exporter in a pid namespace of its own with the host's /proc mounted
// (as in a container without `pid: host`) reads the same figures.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderRules } from '../alerting-rules/files.js';
import { startExporter, waitFor, type RunningCli } from '../scripts/processes.js';
import { startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { parseExposition, type Sample } from './helpers/metrics-text.js';
import { prometheusAlerts, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';

const IMAGE = STANDIN_TAGS.nodeAlpine;
const NETWORK = 'limits-test';
const TIME_SCALE = 60;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-limits-docker-'));
let engine: DockerEngine | undefined;
let exporter: RunningCli | undefined;
let prometheus: RunningPrometheus | undefined;

test.before(async () => {
  engine = await startEngine({ tmpfs: '4g' });
  await loadStandins(engine, [IMAGE]);
  await engine.docker(['network', 'create', NETWORK]);
  exporter = await startExporter([`--target.docker=unix://${engine.socket}`, '--statistics.enabled=false']);
  const rulesFile = path.join(scratch, 'rules.yml');
  writeFileSync(rulesFile, renderRules({ timeScale: TIME_SCALE }));
  prometheus = await startPrometheus({ scrapeJobs: [{ job: 'headroom', targets: [new URL(exporter.url).host] }], ruleFiles: [rulesFile] });
});

test.after(async () => {
  await prometheus?.stop();
  await exporter?.stop();
  await engine?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function run(args: string[]): Promise<string> {
  return (await engine!.docker(['run', '--detach', `--network=${NETWORK}`, ...args])).stdout.trim();
}

async function scrape(of: RunningCli = exporter!): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${of.url}/metrics`)).text());
}

const ofContainer = (samples: Sample[], name: string, container: string, labels: Record<string, string> = {}) =>
  samples.find((sample) => sample.name === name && sample.labels.container === container && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));

async function firing(alertname: string, container: string, severity: string) {
  return waitFor(`${alertname} ${severity} for ${container}`, async () => (await prometheusAlerts(prometheus!.url))
    .find((alert) => alert.labels.alertname === alertname && alert.labels.container === container && alert.labels.severity === severity && alert.state === 'firing'), 60_000, 250);
}

/** The pids of a container's cgroup, as the host numbers them (cgroupfs driver: /docker/<id>). */
const containerPids = (id: string) => readFileSync(`/sys/fs/cgroup/pids/docker/${id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);

test('--pids-limit=64 and 60 children of the shell: 61/64 fires critical; at 64 the next fork fails and danger fires', async () => {
  // A shell (one task) that forks 60 sleeping children: dash's [ and $(( )) are built in, nothing else forks.
  const id = await run(['--name', 'forker', '--pids-limit=64', IMAGE, 'sh', '-c', 'i=0; while [ $i -lt 60 ]; do sleep 100000 & i=$((i+1)); done; echo forked; wait']);
  await waitFor('60 children', async () => (await engine!.docker(['logs', id])).stdout.includes('forked'), 30_000, 250);
  const samples = await waitFor('61 tasks of 64', async () => {
    const scraped = await scrape();
    return ofContainer(scraped, 'headroom_pids_percent', 'forker')?.value === 61 / 64 * 100 ? scraped : undefined;
  }, 30_000, 250);
  assert.is(ofContainer(samples, 'headroom_pids_limit', 'forker')?.value, 64, 'docker\'s --pids-limit is the cgroup\'s pids.max');
  assert.is(Number(readFileSync(`/sys/fs/cgroup/pids/docker/${id}/pids.current`, 'utf8')), 61, 'the kernel counts 61 too');
  assert.is(ofContainer(samples, 'headroom_processes', 'forker')?.value, 61);
  const critical = await firing('HeadroomPidsHigh', 'forker', 'critical');
  assert.match(critical.annotations.description!, 'Tasks (processes and threads) of container forker on');
  assert.match(critical.annotations.description!, 'are 95.31% of its pids.max, 64: at 100 % the next fork fails.');
  assert.not.ok((await prometheusAlerts(prometheus!.url)).some((alert) => alert.labels.alertname === 'HeadroomPidsHigh' && alert.labels.container === 'forker' && alert.labels.severity === 'danger'));

  // Three more tasks: a shell that forks two and becomes the third.
  await engine!.docker(['exec', '--detach', id, 'sh', '-c', 'sleep 100000 & sleep 100000 & exec sleep 100000']);
  await waitFor('64 tasks of 64', async () => ofContainer(await scrape(), 'headroom_pids_percent', 'forker')?.value === 100, 30_000, 250);
  // A process may still be moved into a full cgroup (docker exec does that), but it cannot fork there.
  const next = await engine!.docker(['exec', id, 'sh', '-c', 'sleep 1 & wait'], { check: false });
  assert.is.not(next.code, 0, 'the next fork fails at the limit');
  assert.match(next.stderr, 'Cannot fork');
  await firing('HeadroomPidsHigh', 'forker', 'danger');
  const health = await (await fetch(`${exporter!.url}/health`)).json() as { checks: { resources: { status: string; message: string } } };
  assert.match(health.checks.resources.message, 'forker: cpu info, memory info, fds info, pids danger');
  await engine!.removeContainers([id]);
});

/** A Node process that names itself, opens /dev/null until it holds N descriptors, and waits. */
const HOLDER = 'process.title = process.argv[1]; const fs = require("fs"); const n = Number(process.argv[2]); for (let held = fs.readdirSync("/proc/self/fd").length - 1; held < n; held += 1) fs.openSync("/dev/null", "r"); console.log("holding"); setInterval(() => {}, 1e9);';

/** Open descriptors and soft RLIMIT_NOFILE of a host process, as root reads them. */
function descriptorsOf(pid: number): { open: number; soft: number; command: string } {
  return {
    open: readdirSync(`/proc/${pid}/fd`).length,
    soft: Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))![1]),
    command: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
  };
}

test('processes with different soft limits in one container: the worst share is the right process\'s, beside the ulimit the engine configured', async () => {
  // The container's nofile is 4096; "tight" lowers its own to 64 and holds 40 (62.5 %), "roomy" holds 500 of 4096 (12.2 %).
  const script = `sh -c 'ulimit -n 64; exec node -e "$0" tight 40' '${HOLDER}' & node -e '${HOLDER}' roomy 500 & wait`;
  const id = await run(['--name', 'mixed', '--ulimit', 'nofile=4096:4096', IMAGE, 'sh', '-c', script]);
  await waitFor('both holding', async () => (await engine!.docker(['logs', id])).stdout.split('holding').length - 1 === 2, 30_000, 250);
  const truth = containerPids(id).map(descriptorsOf);
  const worst = truth.reduce((a, b) => (b.open / b.soft > a.open / a.soft ? b : a));
  assert.equal([worst.command, worst.soft], ['tight', 64], JSON.stringify(truth));
  const samples = await waitFor('the container\'s descriptors', async () => {
    const scraped = await scrape();
    return ofContainer(scraped, 'headroom_fds_limit', 'mixed') ? scraped : undefined;
  }, 30_000, 250);
  assert.is(ofContainer(samples, 'headroom_fds_percent', 'mixed')?.value, worst.open / worst.soft * 100);
  assert.equal(samples.filter((sample) => sample.name === 'headroom_fds_limit' && sample.labels.container === 'mixed').map((sample) => [sample.labels.command, sample.value]), [['tight', 64]]);
  assert.is(ofContainer(samples, 'headroom_fds_open', 'mixed')?.value, truth.reduce((sum, entry) => sum + entry.open, 0));
  assert.is(ofContainer(samples, 'headroom_container_ulimit_soft', 'mixed', { ulimit: 'nofile' })?.value, 4096, 'the engine configured 4096; the worst process has 64');
  assert.is(ofContainer(samples, 'headroom_container_ulimit_soft', 'forker', { ulimit: 'nofile' }), undefined);
});

test('the exporter in a pid namespace of its own with the host\'s /proc mounted (a container without pid: host) reads the same processes and descriptors', async () => {
  const hostProc = path.join(scratch, 'host-proc');
  const ownNamespace = ['unshare', '--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', 'sh', '-c',
    'mkdir -p "$0" && mount --bind /proc "$0" && mount -t proc proc /proc && exec "$@"', hostProc];
  const contained = await startExporter([`--target.docker=unix://${engine!.socket}`, '--statistics.enabled=false', `--path.procfs=${hostProc}`], {}, ownNamespace);
  try {
    const pick = (samples: Sample[]) => ['headroom_processes', 'headroom_processes_threads', 'headroom_fds_open', 'headroom_fds_percent']
      .map((name) => [name, ofContainer(samples, name, 'mixed')?.value]);
    const [native, inside] = await Promise.all([scrape(), scrape(contained)]);
    assert.equal(pick(inside), pick(native));
    assert.is(ofContainer(inside, 'headroom_processes', 'mixed')?.value, containerPids((await engine!.docker(['inspect', '--format', '{{.Id}}', 'mixed'])).stdout.trim()).length);
    assert.is(ofContainer(inside, 'headroom_fds_limit', 'mixed', { command: 'tight' })?.value, 64);
  } finally {
    await contained.stop();
  }
});

test('series per container: a plain container, and one with a pids limit and a configured ulimit', async () => {
  await run(['--name', 'plain', IMAGE, 'sleep', 'infinity']);
  await run(['--name', 'limited', '--pids-limit=100', '--ulimit', 'nofile=1024:1024', IMAGE, 'sleep', 'infinity']);
  const samples = await waitFor('both seen', async () => {
    const scraped = await scrape();
    // cpu_percent comes with a container's second scrape: then every series is there.
    return ofContainer(scraped, 'headroom_cpu_percent', 'plain') && ofContainer(scraped, 'headroom_cpu_percent', 'limited') ? scraped : undefined;
  }, 30_000, 250);
  const names = (container: string) => samples.filter((sample) => sample.labels.container === container).map((sample) => `${sample.name}${sample.labels.ulimit ? `/${sample.labels.ulimit}` : ''}${sample.labels.resource ? `/${sample.labels.resource}` : ''}`);
  const count = (container: string) => names(container).length;
  console.log(`  series per container: plain ${count('plain')}, with a pids limit and a configured nofile ${count('limited')}`);
  assert.is(count('plain'), 30, 'a plain container: 27 before, and the three descriptor figures');
  assert.equal(names('limited').filter((name) => !names('plain').includes(name)).sort(), ['headroom_container_ulimit_soft/nofile', 'headroom_pids_limit', 'headroom_pids_percent'], 'pids.max and its percent, and the configured nofile');
  assert.is(count('limited'), 33);
});

test.run();
