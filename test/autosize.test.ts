// Automatic sizing end to end, in a private engine with real Prometheus and Alertmanager on loopback: the demo
// at 97 % of a 1 GiB limit fires the critical alert, Alertmanager posts it to the exporter's webhook, the
// demo's limits become medium's (2 GiB) in place (same id, same StartedAt), the exporter reports the new
// limit and the alert resolves. Then every guardrail refuses with its reason recorded, two alerts together
// give one change, and bad requests change nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderAlertmanager, renderRules } from '../alerting-rules/files.js';
import { DEFAULT_RULE_OPTIONS } from '../alerting-rules/rules.js';
import { readHostMemory } from '../exporter/src/kernel/host.js';
import { formatMemorySize } from '../exporter/src/sizes.js';
import { tierByName } from '../exporter/src/thresholds.js';
import { assertGolden } from './helpers/golden.js';
import { CLI, CLI_COMMAND, freePort, REPO_ROOT, run, start, startExporter, waitFor, type RunningCli, type Started } from '../scripts/processes.js';
import { fetchWithin, startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { startAlertmanager, startSmtpSink, type RunningAlertmanager, type SmtpSink } from './helpers/alertmanager.js';
import { parseExposition } from './helpers/metrics-text.js';
import { backfillOpenMetrics, prometheusAlerts, prometheusConfig, query, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { DAY, historyOpenMetrics } from './helpers/recommend-history.js';
import { substitute } from './helpers/dashboard-queries.js';
import { AUTOSIZE_ANNOTATION_EXPR } from '../dashboards/src/overview.js';

const TIME_SCALE = 20;
const MiB = 1024 ** 2;
const IMAGE = STANDIN_TAGS.nodeAlpine;
const NETWORK = 'autosize-test';
const TOKEN = 'autosize-test-token-0123456789';
const small = tierByName('small')!;
const medium = tierByName('medium')!;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-autosize-'));
const tokenFile = path.join(scratch, 'token');
const dataDir = path.join(scratch, 'data');
const envFile = path.join(scratch, '.env');
let engine: DockerEngine | undefined;
let exporter: RunningCli | undefined;
let prometheus: RunningPrometheus | undefined;
let alertmanager: RunningAlertmanager | undefined;
let smtp: SmtpSink | undefined;
let demoPort = 0;

interface Limits { Memory: number; MemorySwap: number; MemoryReservation: number; NanoCpus: number; CpuQuota: number; CpuPeriod: number }
interface Inspected { Id: string; State: { StartedAt: string; Pid: number; Running: boolean }; HostConfig: Limits }
interface PublicDecision { container: string; direction: string; result: string; reason: string; trigger: string; to: { size: string; memory_bytes: number } | null }

async function inspect(name: string): Promise<Inspected> {
  return JSON.parse((await engine!.docker(['inspect', '--format', '{{json .}}', name])).stdout) as Inspected;
}

/** A container of the stand-in image at small's limits, running the demo server, optionally opted in. */
async function runDemo(name: string, optedIn: boolean, limits: { memory: string; cpus: string } = { memory: '1024m', cpus: '1' }, publish?: number): Promise<void> {
  await engine!.docker(['run', '--detach', '--name', name, `--network=${NETWORK}`, '--label', 'com.docker.compose.project=headroom', '--label', `com.docker.compose.service=${name.replace(/^autosize-/, '')}`,
    `--memory=${limits.memory}`, `--memory-swap=${limits.memory}`, '--memory-reservation=256m', `--cpus=${limits.cpus}`,
    ...(optedIn ? ['--label', 'headroom.autosize=true'] : []), '--label', 'headroom.cpu-reservation=0.25',
    ...(publish ? ['--publish', `${engine!.address}:${publish}:8080`] : []),
    '--env', 'DEMO_PORT=8080', '--env', `MEMORY_LIMIT=${limits.memory.replace(/m$/, 'M')}`, '--env', `CPU_LIMIT=${limits.cpus}`,
    '--volume', `${path.join(REPO_ROOT, 'compose/demo/server.mjs')}:/app/server.mjs:ro`, IMAGE, 'node', '--expose-gc', '/app/server.mjs']);
}

/** The stack's gate (`headroom gate`) in front of the engine, with limits-only updates on, and its read-only second socket. */
const gateSocket = path.join(scratch, 'gate.sock');
const readOnlyGateSocket = path.join(scratch, 'gate-ro.sock');
let gate: Started | undefined;

function gateRequest(socketPath: string, method: string, apiPath: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ socketPath, method, path: apiPath, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (answer) => {
      answer.resume();
      answer.on('end', () => resolve(answer.statusCode ?? 0));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The exporter in host mode through the gate, as in the stack. */
async function startAutosizeExporter(extra: string[] = []): Promise<RunningCli> {
  return startExporter([`--target.docker=unix://${gateSocket}`, `--data.dir=${dataDir}`, '--autosize.enabled', `--autosize.token-file=${tokenFile}`, ...extra]);
}

function webhookPayload(container: string, alertname = 'HeadroomMemoryHigh', severity = 'critical', host?: string) {
  return {
    version: '4', groupKey: `{}:{alertname="${alertname}"}`, status: 'firing', receiver: 'autosize', truncatedAlerts: 0, externalURL: 'http://alertmanager',
    groupLabels: { alertname }, commonLabels: { alertname, severity, container }, commonAnnotations: {},
    alerts: [{ status: 'firing', labels: { alertname, severity, container, instance: 'exporter:9477', job: 'headroom', ...(host ? { host } : {}) }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f' }],
  };
}

async function postWebhook(body: unknown, token: string | null = TOKEN): Promise<{ status: number; body: { decisions?: PublicDecision[]; error?: string; enabled?: boolean } }> {
  const response = await fetchWithin(`${exporter!.url}/autosize/alertmanager`, 30_000, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() as { decisions?: PublicDecision[]; error?: string } };
}

async function decisions(container?: string): Promise<PublicDecision[]> {
  const response = await fetchWithin(`${exporter!.url}/autosize?limit=1000${container ? `&container=${container}` : ''}`, 10_000);
  return ((await response.json()) as { decisions: PublicDecision[] }).decisions;
}

async function restartExporter(extra: string[]): Promise<void> {
  await exporter?.stop();
  exporter = await startAutosizeExporter(extra);
}

test.before(async () => {
  writeFileSync(tokenFile, `${TOKEN}\n`);
  engine = await startEngine({ tmpfs: '4g' });
  await loadStandins(engine, [IMAGE]);
  await engine.docker(['network', 'create', NETWORK]);
  demoPort = await freePort();
  await runDemo('autosize-demo', true, undefined, demoPort);
  await runDemo('autosize-twin', true);
  await runDemo('autosize-plain', false, { memory: '512m', cpus: '0.5' });
  gate = start(process.execPath, [CLI, 'gate', `--gate.upstream=unix://${engine.socket}`, `--gate.socket=${gateSocket}`, `--gate.read-only-socket=${readOnlyGateSocket}`, '--gate.updates']);
  await waitFor('the gate listening', async () => existsSync(gateSocket) && existsSync(readOnlyGateSocket), 10_000, 100);
  await waitFor('the demo answering', async () => (await fetchWithin(`http://${engine!.address}:${demoPort}/health`, 2000).catch(() => undefined))?.ok, 30_000, 500);

  // Prometheus first (its URL is the recommender's); the exporter's scrape job is added once it listens.
  const rulesFile = path.join(scratch, 'headroom.rules.yml');
  writeFileSync(rulesFile, renderRules({ timeScale: TIME_SCALE }));
  smtp = await startSmtpSink();
  prometheus = await startPrometheus({ ruleFiles: [rulesFile] });
  writeFileSync(envFile, '# the stack\'s sizes\nMEMORY_LIMIT=1024M # small\nGRAFANA_PORT=3000\n');
  exporter = await startAutosizeExporter([`--autosize.prometheus-url=${prometheus.url}`, '--autosize.window=1h', `--autosize.env-file=${envFile}`, '--autosize.env-service=demo']);
  alertmanager = await startAlertmanager({
    configYaml: renderAlertmanager({
      timeScale: TIME_SCALE,
      site: {
        smtpSmarthost: `${smtp.host}:${smtp.port}`, smtpFrom: 'headroom@test.invalid', emailTo: 'oncall@test.invalid', smtpRequireTls: false,
        smsWebhookUrl: 'http://127.0.0.1:9/sms', autosizeWebhookUrl: `${exporter.url}/autosize/alertmanager`, autosizeTokenFile: tokenFile,
      },
    }),
  });
  writeFileSync(path.join(prometheus.dir, 'prometheus.yml'), prometheusConfig({
    ruleFiles: [rulesFile], alertmanagers: [alertmanager.address],
    scrapeJobs: [{ job: DEFAULT_RULE_OPTIONS.job, targets: [`127.0.0.1:${exporter.port}`] }],
  }));
  const reload = await fetch(`${prometheus.url}/-/reload`, { method: 'POST' });
  assert.is(reload.status, 200, 'Prometheus reloads its configuration');
});

test.after(async () => {
  await exporter?.stop();
  await gate?.stop();
  await alertmanager?.stop();
  await prometheus?.stop();
  await smtp?.close();
  await engine?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('the demo at 97 % of 1 GiB: critical fires, Alertmanager calls the webhook, the limit becomes 2 GiB in place, the alert resolves', async () => {
  const before = await inspect('autosize-demo');
  assert.is(before.HostConfig.Memory, small.memoryLimitBytes);
  const pushed = await fetchWithin(`http://${engine!.address}:${demoPort}/memory?percent=97`, 60_000, { method: 'POST' });
  assert.ok(pushed.ok, `the demo holds 97 %: ${pushed.status}`);
  const applied = await waitFor('the applied decision', async () => (await decisions('autosize-demo')).find((decision) => decision.result === 'applied'), 120_000, 1000);
  assert.is(applied.trigger, 'HeadroomMemoryHigh critical');
  assert.is(applied.direction, 'up');
  assert.equal(applied.to, { size: 'medium', memory_bytes: medium.memoryLimitBytes, cpus: medium.cpuLimitCores });
  assert.match(applied.reason, 'raised to medium (2048M, 2.0 CPUs) from 1024M, 1.0 CPUs');
  const after = await inspect('autosize-demo');
  assert.equal([after.HostConfig.Memory, after.HostConfig.MemorySwap, after.HostConfig.MemoryReservation, after.HostConfig.NanoCpus], [medium.memoryLimitBytes, medium.memoryLimitBytes, medium.memoryReservationBytes, medium.cpuLimitCores * 1e9]);
  assert.equal([after.Id, after.State.StartedAt, after.State.Pid, after.State.Running], [before.Id, before.State.StartedAt, before.State.Pid, true], 'the same container, not restarted');
  // The exporter reports the new limit, counts the decision, and the alert resolves with the demo still holding its memory.
  const samples = parseExposition(await (await fetchWithin(`${exporter!.url}/metrics`, 10_000)).text());
  const demoValue = (name: string, labels: Record<string, string> = {}) => samples.find((sample) => sample.name === name && sample.labels.container === 'autosize-demo' && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))?.value;
  assert.is(demoValue('headroom_memory_limit_bytes'), medium.memoryLimitBytes);
  assert.is(demoValue('headroom_autosize_decisions_total', { direction: 'up', result: 'applied' }), 1);
  assert.ok((demoValue('headroom_memory_working_set_bytes') ?? 0) > 0.8 * small.memoryLimitBytes, 'the demo kept its memory: no restart');
  await waitFor('HeadroomMemoryHigh of the demo resolved', async () => {
    const firing = (await prometheusAlerts(prometheus!.url)).filter((alert) => alert.labels.alertname === 'HeadroomMemoryHigh' && alert.labels.container === 'autosize-demo');
    return firing.length === 0;
  }, 60_000, 1000);
  // Alertmanager delivered it: its webhook notification succeeded. (The critical mail waits group_wait and is
  // not sent when the alert has resolved by then: the change was faster than the mail.)
  const amMetrics = parseExposition(await (await fetch(`${alertmanager!.url}/metrics`)).text());
  const webhookCount = (name: string) => amMetrics.find((sample) => sample.name === name && sample.labels.integration === 'webhook')?.value ?? 0;
  assert.ok(webhookCount('alertmanager_notifications_total') >= 1);
  assert.is(webhookCount('alertmanager_notifications_failed_total'), 0);
  // The compose service's sizes went into the env file, for the next make up; its other lines stay.
  assert.is(readFileSync(envFile, 'utf8'), '# the stack\'s sizes\nMEMORY_LIMIT=2048M # small\nGRAFANA_PORT=3000\nCPU_LIMIT=2.0\nMEMORY_RESERVATION=512M\nCPU_RESERVATION=0.5\n');
  // The overview dashboard's annotation finds the decision in Prometheus.
  const annotationExpr = substitute(AUTOSIZE_ANNOTATION_EXPR, { host: '.*', instance: '.+', container: '.*', __rate_interval: '1m' });
  const annotated = await waitFor('the decision as an annotation', async () => {
    const result = await query(prometheus!.url, annotationExpr);
    return result.find((sample) => sample.metric.container === 'autosize-demo');
  }, 30_000, 1000);
  assert.equal([annotated.metric.direction, annotated.metric.result], ['up', 'applied']);
  await fetchWithin(`http://${engine!.address}:${demoPort}/memory`, 30_000, { method: 'DELETE' });
});

test('host mode\'s exposition, automatic sizing on, has the golden families, help and types', async () => {
  assertGolden('host-mode.txt', await (await fetchWithin(`${exporter!.url}/metrics`, 10_000)).text());
});

test('two alerts together for one container give one change; the second is refused by the cooldown', async () => {
  const [memory, cpu] = await Promise.all([postWebhook(webhookPayload('autosize-twin')), postWebhook(webhookPayload('autosize-twin', 'HeadroomCpuHigh', 'danger'))]);
  assert.equal([memory.status, cpu.status], [200, 200]);
  const results = [memory, cpu].map((answer) => answer.body.decisions![0]!);
  assert.equal(results.map((decision) => decision.result).sort(), ['applied', 'refused']);
  assert.match(results.find((decision) => decision.result === 'refused')!.reason, /^cooldown: resized/);
  assert.is((await inspect('autosize-twin')).HostConfig.Memory, medium.memoryLimitBytes, 'raised once, to medium, not twice');
});

test('not opted in: refused and recorded, nothing changed', async () => {
  const before = await inspect('autosize-plain');
  const answer = await postWebhook(webhookPayload('autosize-plain'));
  assert.is(answer.status, 200);
  assert.is(answer.body.decisions![0]!.result, 'refused');
  assert.match(answer.body.decisions![0]!.reason, /^not opted in/);
  assert.equal((await inspect('autosize-plain')).HostConfig, before.HostConfig);
  assert.ok((await decisions('autosize-plain')).some((decision) => /^not opted in/.test(decision.reason)), 'recorded');
});

test('the gate passes a limits-only update of an opted-in container, and nothing else', async () => {
  const demo = (await inspect('autosize-demo')).Id;
  const plain = (await inspect('autosize-plain')).Id;
  const before = await Promise.all(['autosize-demo', 'autosize-plain'].map(async (name) => (await inspect(name)).HostConfig));
  const sameLimits = JSON.stringify({ Memory: before[0]!.Memory, MemorySwap: before[0]!.MemorySwap });
  assert.is(await gateRequest(gateSocket, 'POST', `/v1.41/containers/${demo}/update`, sameLimits), 200, 'an opted-in container, limits only');
  assert.is(await gateRequest(gateSocket, 'POST', `/v1.41/containers/${plain}/update`, JSON.stringify({ Memory: 1024 * MiB })), 403, 'not opted in');
  assert.is(await gateRequest(gateSocket, 'POST', `/v1.41/containers/${demo}/update`, JSON.stringify({ Memory: MiB })), 403, 'under 6 MiB');
  assert.is(await gateRequest(gateSocket, 'POST', `/v1.41/containers/${demo}/update`, JSON.stringify({ RestartPolicy: { Name: 'always' } })), 403, 'not a limit');
  assert.is(await gateRequest(gateSocket, 'POST', `/v1.41/containers/${demo}/stop`), 403);
  assert.is(await gateRequest(readOnlyGateSocket, 'POST', `/v1.41/containers/${demo}/update`, sameLimits), 403, 'the read-only socket passes no update');
  assert.is(await gateRequest(readOnlyGateSocket, 'GET', '/v1.41/containers/json'), 200);
  const after = await Promise.all(['autosize-demo', 'autosize-plain'].map(async (name) => (await inspect(name)).HostConfig));
  assert.equal(after, before);
});

test('bad requests: no or a wrong token 401, malformed 400, an unknown container 404; none changes or records anything', async () => {
  const before = await Promise.all(['autosize-demo', 'autosize-twin', 'autosize-plain'].map(async (name) => (await inspect(name)).HostConfig));
  const recorded = (await decisions()).length;
  assert.is((await postWebhook(webhookPayload('autosize-demo'), null)).status, 401);
  assert.is((await postWebhook(webhookPayload('autosize-demo'), 'wrong-token-0123456789')).status, 401);
  assert.is((await postWebhook('{"version": "4", "alerts": [')).status, 400);
  const notAlertmanager = await postWebhook({ version: '4', alerts: 'none' });
  assert.is(notAlertmanager.status, 400);
  assert.match(notAlertmanager.body.error!, 'not an Alertmanager webhook payload');
  const unknown = await postWebhook(webhookPayload('no-such-container'));
  assert.is(unknown.status, 404);
  assert.match(unknown.body.error!, 'no running container named no-such-container');
  const after = await Promise.all(['autosize-demo', 'autosize-twin', 'autosize-plain'].map(async (name) => (await inspect(name)).HostConfig));
  assert.equal(after, before);
  assert.is((await decisions()).length, recorded);
});

test('guardrails, each refusing with its reason recorded: ceiling, host memory, daily limit, unreadable usage', async () => {
  await runDemo('autosize-guarded', true);
  const refusal = async (extra: string[], pattern: RegExp, container = 'autosize-guarded') => {
    await restartExporter(extra);
    const before = (await inspect(container)).HostConfig;
    const answer = await postWebhook(webhookPayload(container));
    assert.is(answer.status, 200, JSON.stringify(answer.body));
    const decision = answer.body.decisions![0]!;
    assert.is(decision.result, 'refused', `${extra.join(' ')}: ${decision.reason}`);
    assert.match(decision.reason, pattern);
    assert.equal((await inspect(container)).HostConfig, before, 'nothing changed');
    assert.ok((await decisions(container)).some((recorded) => recorded.reason === decision.reason), 'recorded');
  };
  await refusal(['--autosize.max-tier=small'], /^ceiling: medium \(2048M, 2\.0 CPUs\) is above the ceiling tier small/);
  const hostMemory = readHostMemory('/proc').totalBytes;
  await refusal([`--autosize.host-memory-reserve=${formatMemorySize(hostMemory - 3 * 1024 * MiB)}`], /^host capacity: memory limits would sum to/);
  await refusal(['--path.sysfs=/nonexistent'], /^usage unreadable/);
  // autosize-twin was raised once today (the database is the same): a limit of one change a day refuses the next.
  await refusal(['--autosize.cooldown=1s', '--autosize.max-changes-per-day=1'], /^daily limit: 1 changes in the last 24 h/, 'autosize-twin');
  // With --autosize.host, another host's alert for a container of the same name is not this exporter's.
  await restartExporter(['--autosize.host=web-1']);
  const recorded = (await decisions()).length;
  const otherHost = await postWebhook(webhookPayload('autosize-guarded', 'HeadroomMemoryHigh', 'critical', 'web-2'));
  assert.equal([otherHost.status, otherHost.body.decisions, (otherHost.body as { ignored?: number }).ignored], [200, [], 1]);
  assert.is((await decisions()).length, recorded, 'nothing recorded');
  assert.is((await inspect('autosize-guarded')).HostConfig.Memory, small.memoryLimitBytes);
  // With the guardrails out of the way, the same container is raised.
  await restartExporter([]);
  const answer = await postWebhook(webhookPayload('autosize-guarded'));
  assert.is(answer.body.decisions![0]!.result, 'applied', answer.body.decisions![0]!.reason);
  assert.is((await inspect('autosize-guarded')).HostConfig.Memory, medium.memoryLimitBytes);
});

test('down: the periodic check lowers a container one tier after quiet days, in place, keeping its reservation', async () => {
  // Three days of a quiet autosize-twin (at medium since the test above), backfilled into a Prometheus of its own.
  const historyDir = path.join(scratch, 'history');
  const end = Math.floor(Date.now() / 1000 / 60) * 60 - 60;
  await backfillOpenMetrics(historyOpenMetrics([{
    instance: 'exporter:9477', container: 'autosize-twin', historySeconds: 3 * DAY,
    cpuCores: (_, noise) => 0.1 + 0.05 * noise, memoryBytes: (_, noise) => (200 + 50 * noise) * MiB,
    cpuLimitCores: medium.cpuLimitCores, memoryLimitBytes: medium.memoryLimitBytes,
  }], end), historyDir);
  const history = await startPrometheus({ dataDir: historyDir, configYaml: 'global:\n  evaluation_interval: 1s\n' });
  try {
    const before = await inspect('autosize-twin');
    assert.is(before.HostConfig.Memory, medium.memoryLimitBytes);
    await restartExporter([`--autosize.prometheus-url=${history.url}`, '--autosize.window=2d', '--autosize.check-interval=1s', '--autosize.cooldown=1s', '--autosize.max-changes-per-day=10']);
    const lowered = await waitFor('the scale-down decision', async () => (await decisions('autosize-twin')).find((decision) => decision.direction === 'down'), 60_000, 1000);
    assert.equal([lowered.result, lowered.trigger, lowered.to], ['applied', 'scale-down check', { size: 'small', memory_bytes: small.memoryLimitBytes, cpus: small.cpuLimitCores }], lowered.reason);
    const after = await inspect('autosize-twin');
    assert.equal([after.HostConfig.Memory, after.HostConfig.NanoCpus], [small.memoryLimitBytes, small.cpuLimitCores * 1e9]);
    assert.is(after.HostConfig.MemoryReservation, before.HostConfig.MemoryReservation, 'the reservation stays');
    assert.equal([after.Id, after.State.StartedAt], [before.Id, before.State.StartedAt]);
    // At small, the smallest tier, the next checks decide nothing more.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.is((await decisions('autosize-twin')).filter((decision) => decision.direction === 'down').length, 1);
  } finally {
    await history.stop();
  }
});

test('off (the default) in host mode: the webhook is acknowledged and nothing changes; on needs host mode and a token file', async () => {
  await exporter?.stop();
  exporter = await startExporter([`--target.docker=${engine!.host}`, `--data.dir=${dataDir}`]);
  const before = (await inspect('autosize-plain')).HostConfig;
  const answer = await postWebhook(webhookPayload('autosize-demo'), null);
  assert.equal([answer.status, answer.body.enabled], [200, false]);
  assert.equal((await inspect('autosize-plain')).HostConfig, before);
  for (const [args, pattern] of [
    [['--autosize.enabled', `--autosize.token-file=${tokenFile}`], /needs host mode \(--target\.docker\)/],
    [['--autosize.enabled', `--target.docker=${engine!.host}`], /needs --autosize\.token-file/],
    [['--autosize.enabled', `--target.docker=${engine!.host}`, `--autosize.token-file=${tokenFile}`, '--no-statistics.enabled'], /needs --statistics\.enabled/],
    [['--autosize.max-tier=huge'], /invalid value "huge" for flag --autosize\.max-tier/],
  ] as const) {
    const result = await run(CLI_COMMAND[0], [...CLI_COMMAND.slice(1), ...args]);
    assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
});

test.run();
