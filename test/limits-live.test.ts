// File descriptors and RLIMIT_NPROC on the real kernel: processes in a cgroup the test creates, the exporter
// watching it as a sidecar, a real Prometheus with the generated rules (every `for` divided by 60) firing the
// critical and then the danger alert; and the faults that must fail nothing else: processes that exit while
// they are read, and processes the exporter may not read (run as nobody, against a procfs mounted with hidepid).
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderRules } from '../alerting-rules/files.js';
import { CLI, REPO_ROOT, start, startExporter, waitFor, type RunningCli, type Started } from '../scripts/processes.js';
import { createLiveCgroup, type LiveCgroup } from './helpers/live-cgroup.js';
import { parseExposition, scrape, valueOf, type Sample } from './helpers/metrics-text.js';
import { prometheusAlerts, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { COLLECTOR_NAMES, type HealthBody } from './helpers/fixture-exporter.js';

const MiB = 1024 ** 2;
const TIME_SCALE = 60;
const NOBODY = 65534;
/** A uid no account uses, so that RLIMIT_NPROC counts only this test's processes. */
const LONELY_UID = 54321;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-limits-live-'));
chmodSync(scratch, 0o755); // an exporter run as nobody reaches its procfs mount and the checkout's view in here
const cleanups: Array<() => Promise<unknown> | unknown> = [];

test.after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * A Node process that opens /dev/null on request: a line `N` opens until it holds N descriptors, `max` until
 * EMFILE; it answers with the count it holds and the error, if any. It lists its descriptors once, at the first
 * request, and then counts what it opened: at the limit not even a listing of /proc/self/fd can be opened.
 */
const OPENER = `
const fs = require('fs');
if (process.argv[1]) process.title = process.argv[1];
const count = () => fs.readdirSync('/proc/self/fd').length - 1; // less the listing's own descriptor
const held = [];
let base;
let buffer = '';
process.stdin.on('data', (chunk) => {
  base ??= count(); // once reading stdin has opened what it needs
  buffer += chunk;
  for (let newline; (newline = buffer.indexOf('\\n')) !== -1; buffer = buffer.slice(newline + 1)) {
    const line = buffer.slice(0, newline).trim();
    const target = line === 'max' ? Infinity : Number(line);
    let error = '';
    try { while (base + held.length < target) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { error = e.code; }
    process.stdout.write('holds ' + (base + held.length) + ' ' + error + '\\n');
  }
});
process.stdout.write('ready\\n');
`;

interface Opener { started: Started; pid: number; ask(line: string): Promise<string> }

async function startOpener(shellPrefix: string, args: string[] = [], prefix: string[] = []): Promise<Opener> {
  const started = start(prefix[0] ?? 'sh', [...prefix.slice(1), ...(prefix.length > 0 ? ['sh'] : []), '-c', `${shellPrefix}; exec "$0" "$@"`, process.execPath, '-e', OPENER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => started.stop('SIGKILL'));
  await waitFor('the opener to start', async () => started.output().includes('ready'), 15_000);
  let answered = 0;
  return {
    started,
    pid: started.child.pid!,
    async ask(line) {
      started.child.stdin!.write(`${line}\n`);
      answered += 1;
      const answers = await waitFor(`an answer to ${line}`, async () => {
        const lines = started.output().split('\n').filter((entry) => entry.startsWith('holds '));
        return lines.length >= answered ? lines : undefined;
      });
      return answers[answered - 1]!;
    },
  };
}

/** The descriptors a process holds, as root reads them. */
const openDescriptors = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
/** A process's soft RLIMIT_NOFILE, as root reads it. */
const softNofile = (pid: number) => Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))![1]);

function cgroupFor(name: string): LiveCgroup {
  assert.is(process.getuid?.(), 0, 'creating cgroups needs root');
  const cgroup = createLiveCgroup(`headroom-limits-${name}-${process.pid}`, { memoryBytes: 512 * MiB, memoryReservationBytes: 64 * MiB, cpuCores: 1 });
  cleanups.push(() => { cgroup.killAll(); return cgroup.remove(); });
  return cgroup;
}

async function exporterFor(args: string[], prefix: string[] = [], cli = CLI): Promise<RunningCli> {
  const exporter = await startExporter(['--statistics.enabled=false', ...args], {}, prefix, cli);
  cleanups.push(() => exporter.stop());
  return exporter;
}

async function prometheusFor(exporter: RunningCli): Promise<RunningPrometheus> {
  const rulesFile = path.join(scratch, `rules-${exporter.port}.yml`);
  writeFileSync(rulesFile, renderRules({ timeScale: TIME_SCALE }));
  const prometheus = await startPrometheus({ scrapeJobs: [{ job: 'headroom', targets: [new URL(exporter.url).host] }], ruleFiles: [rulesFile] });
  cleanups.push(() => prometheus.stop());
  return prometheus;
}

async function health(exporter: RunningCli): Promise<HealthBody> {
  return await (await fetch(`${exporter.url}/health`)).json() as HealthBody;
}

/** Waits until `alertname` is firing at `severity`; returns the alert. */
async function firing(prometheus: RunningPrometheus, alertname: string, severity: string) {
  return waitFor(`${alertname} ${severity} to fire`, async () => (await prometheusAlerts(prometheus.url))
    .find((alert) => alert.labels.alertname === alertname && alert.labels.severity === severity && alert.state === 'firing'), 60_000, 250);
}

const successes = (samples: Sample[]) => Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, valueOf(samples, 'headroom_scrape_collector_success', { collector: name })]));
const allSucceeded = Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, 1]));

test('ulimit -n 256, 250 descriptors open: 250/256 and the critical alert; at the limit EMFILE and the danger alert', async () => {
  const cgroup = cgroupFor('fds');
  const opener = await startOpener('ulimit -n 256');
  cgroup.addProcess(opener.pid);
  const exporter = await exporterFor([`--target.pid=${opener.pid}`]);
  const prometheus = await prometheusFor(exporter);

  assert.match(await opener.ask('250'), /^holds 250 $/);
  const held = openDescriptors(opener.pid);
  assert.ok(held >= 250 && held <= 252, `the kernel counts ${held} descriptors`);
  const samples = await scrape(`${exporter.url}/metrics`);
  assert.is(valueOf(samples, 'headroom_fds_percent'), held / 256 * 100, `${held}/256`);
  assert.is(valueOf(samples, 'headroom_fds_limit', { command: 'node' }), 256);
  assert.ok(valueOf(samples, 'headroom_fds_open')! >= held, 'the total counts every process of the cgroup');
  const critical = await firing(prometheus, 'HeadroomFdsHigh', 'critical');
  assert.match(critical.annotations.description!, `The process node of 127.0.0.1:${exporter.port} holds`);
  assert.match(critical.annotations.description!, 'of its soft RLIMIT_NOFILE, 256 descriptors');
  assert.is((await prometheusAlerts(prometheus.url)).some((alert) => alert.labels.alertname === 'HeadroomFdsHigh' && alert.labels.severity === 'danger'), false, 'no danger below the limit');
  assert.match((await health(exporter)).checks.resources!.message, 'fds critical (node, soft limit 256)');

  assert.match(await opener.ask('max'), /^holds 256 EMFILE$/, 'the next open fails at the limit');
  assert.is(openDescriptors(opener.pid), 256);
  await waitFor('fds at 100 %', async () => valueOf(await scrape(`${exporter.url}/metrics`), 'headroom_fds_percent') === 100);
  const danger = await firing(prometheus, 'HeadroomFdsHigh', 'danger');
  assert.match(danger.annotations.summary!, 'at or above 100 %');
  assert.is((await health(exporter)).checks.resources!.status, 'failing');
});

/** Perl (Debian's perl-base is essential): one task, which forks N sleeping children for each line N and says when a fork fails. */
const FORKER = '$| = 1; print "ready\\n"; while (my $n = <STDIN>) { for (1 .. $n) { my $pid = fork(); if (!defined $pid) { print "fork failed: $!\\n"; last } if ($pid == 0) { sleep 100000; exit 0 } } print "forked\\n" }';

test('RLIMIT_NPROC counts the user\'s tasks on the whole host: one outside the cgroup and 38 in it are 39 of 40 (critical), 40 is danger and the next fork fails', async () => {
  const cgroup = cgroupFor('nproc');
  const asLonely = ['setpriv', `--reuid=${LONELY_UID}`, `--regid=${LONELY_UID}`, '--clear-groups'];
  // Outside the watched cgroup, the same user.
  const outside = start(asLonely[0]!, [...asLonely.slice(1), 'sleep', '1000']);
  cleanups.push(() => outside.stop('SIGKILL'));
  // Soft and hard RLIMIT_NPROC 40.
  const forker = start(asLonely[0]!, [...asLonely.slice(1), 'prlimit', '--nproc=40', 'perl', '-e', FORKER], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => forker.stop('SIGKILL'));
  await waitFor('the forker', async () => forker.output().includes('ready'));
  cgroup.addProcess(forker.child.pid!);
  const exporter = await exporterFor([`--target.pid=${forker.child.pid}`]);
  const prometheus = await prometheusFor(exporter);

  forker.child.stdin!.write('37\n');
  await waitFor('37 children', async () => forker.output().includes('forked'));
  const samples = await waitFor('39 tasks', async () => {
    const scraped = await scrape(`${exporter.url}/metrics`);
    return valueOf(scraped, 'headroom_nproc_percent') === 39 / 40 * 100 ? scraped : undefined;
  });
  assert.is(valueOf(samples, 'headroom_processes'), 38, 'the cgroup holds 38 of them: RLIMIT_NPROC is not per cgroup');
  assert.equal(samples.filter((sample) => sample.name === 'headroom_nproc_limit').map((sample) => [sample.labels.uid, sample.value]), [[String(LONELY_UID), 40]]);
  const critical = await firing(prometheus, 'HeadroomNprocHigh', 'critical');
  assert.match(critical.annotations.description!, `The tasks of user ${LONELY_UID} on the whole host are 97.5% of the soft RLIMIT_NPROC, 40`);

  forker.child.stdin!.write('2\n');
  await waitFor('the second fork to fail', async () => forker.output().includes('fork failed: Resource temporarily unavailable'));
  await waitFor('40 tasks', async () => valueOf(await scrape(`${exporter.url}/metrics`), 'headroom_nproc_percent') === 100);
  await firing(prometheus, 'HeadroomNprocHigh', 'danger');
});

test('processes that exit while they are read: every scrape answers, no collector fails, /health says which', async () => {
  const cgroup = cgroupFor('churn');
  // Hundreds of short-lived processes a second in the watched cgroup.
  const churn = start('sh', ['-c', 'while :; do /bin/true; done']);
  cleanups.push(() => churn.stop('SIGKILL'));
  cgroup.addProcess(churn.child.pid!);
  const exporter = await exporterFor([`--target.pid=${churn.child.pid}`]);
  let noted: string | undefined;
  for (let index = 0; index < 300 && noted === undefined; index += 1) {
    const response = await fetch(`${exporter.url}/metrics`);
    assert.is(response.status, 200);
    assert.equal(successes(parseExposition(await response.text())), allSucceeded, `scrape ${index}`);
    const body = await health(exporter);
    assert.is(body.checks.collectors!.status, 'ok', body.checks.collectors!.message);
    noted = ((body.checks.collectors!.details as { notes?: string[] } | undefined)?.notes ?? []).find((note) => note.includes('exited while'));
  }
  assert.ok(noted !== undefined, 'in 300 scrapes a process exited between the listing and the read');
  assert.match(noted!, /^(fds|nproc): \d+ process(es)? exited while (open file descriptors|limits) were read: \d+/);
  assert.equal(successes(await scrape(`${exporter.url}/metrics`)), allSucceeded);
});

test('run as nobody: another user\'s descriptors are counted (Linux 6.2+ gives the count to stat); behind a procfs mounted with hidepid they cannot be read, and only that is left out', async () => {
  const cgroup = cgroupFor('nobody');
  const rooted = await startOpener('true', ['rooted']);
  await rooted.ask('40');
  const unprivileged = await startOpener('true', ['unprivileged'], ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups']);
  await unprivileged.ask('20');
  cgroup.addProcess(rooted.pid);
  cgroup.addProcess(unprivileged.pid);
  const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  const target = `--target.cgroup=${cgroup.path}`;
  // The checkout may sit where nobody cannot pass (a home directory, a `mktemp -d`: both 0700). Each exporter
  // runs in a mount namespace of its own where the built exporter and its modules are bound into the scratch
  // directory, which nobody can reach.
  const view = path.join(scratch, 'checkout');
  for (const directory of ['dist', 'node_modules']) mkdirSync(path.join(view, directory), { recursive: true });
  copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(view, 'package.json'));
  const viewCli = path.join(view, path.relative(REPO_ROOT, CLI));
  const bind = ['dist', 'node_modules'].map((directory) => `mount --bind "${path.join(REPO_ROOT, directory)}" "${path.join(view, directory)}"`).join(' && ');
  const inOwnMounts = (setup: string, ...extra: string[]) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${setup} && exec ${asNobody.join(' ')} "$@"`, ...extra];

  const plain = await exporterFor([target], inOwnMounts(bind, 'sh'), viewCli);
  const total = openDescriptors(rooted.pid) + openDescriptors(unprivileged.pid);
  const samples = await scrape(`${plain.url}/metrics`);
  assert.equal(successes(samples), allSucceeded);
  assert.is(valueOf(samples, 'headroom_fds_open'), total, 'root\'s process counted without reading its descriptor table');
  // Both have the runner's soft limit (Node raises its soft limit to the hard one): 40 open is the larger share.
  assert.equal(samples.filter((sample) => sample.name === 'headroom_fds_limit').map((sample) => [sample.labels.command, sample.value]), [['rooted', softNofile(rooted.pid)]]);
  assert.is((await health(plain)).checks.collectors!.status, 'ok');

  // A procfs of its own, in a mount namespace of its own, where nobody may look into root's processes.
  const hidden = path.join(scratch, 'proc-hidepid');
  const withHidepid = inOwnMounts(`${bind} && mkdir -p "$0" && mount -t proc -o hidepid=1 proc "$0"`, hidden);
  const behind = await exporterFor([target, `--path.procfs=${hidden}`], withHidepid, viewCli);
  const hiddenSamples = await scrape(`${behind.url}/metrics`);
  assert.equal(successes(hiddenSamples), allSucceeded, 'nothing fails');
  assert.is(valueOf(hiddenSamples, 'headroom_fds_open'), openDescriptors(unprivileged.pid), 'nobody\'s own process is still counted');
  assert.equal(hiddenSamples.filter((sample) => sample.name === 'headroom_fds_limit').map((sample) => sample.labels.command), ['unprivileged']);
  assert.is(valueOf(hiddenSamples, 'headroom_processes'), 2, 'the cgroup\'s own files are untouched: both processes are listed');
  const body = await health(behind);
  assert.is(body.status, 'ok');
  assert.is(body.checks.collectors!.status, 'degraded');
  assert.match(body.checks.collectors!.message, `fds: open file descriptors of 1 process cannot be read and are left out: ${rooted.pid} (EPERM`);
  assert.match(body.checks.collectors!.message, `process_group: CPU and memory figures of 1 process cannot be read and are left out: ${rooted.pid}`);
});

test.run();
