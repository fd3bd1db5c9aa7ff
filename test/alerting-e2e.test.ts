// End to end with real binaries on loopback: the exporter reads a cgroup v2 fixture tree that the test rewrites,
// Prometheus scrapes it every second and evaluates the generated rules (every `for` divided by 60),
// Alertmanager routes with the generated config (timings divided by 60) to a webhook sink (the SMS gateway)
// and an SMTP sink. Memory is driven past warning, past critical, to the limit, and back down.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderAlertmanager, renderRules } from '../alerting-rules/files.js';
import { ROUTE_TIMINGS } from '../alerting-rules/alertmanager.js';
import { DEFAULT_RULE_OPTIONS } from '../alerting-rules/rules.js';
import { createFixtureRoot, FIXTURE_PID, mountinfoLine, writeV2Cgroup, type FixtureRoot } from './helpers/cgroup-fixture.js';
import { startExporter, waitFor, type RunningCli } from '../scripts/processes.js';
import { prometheusAlerts, query, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import {
  alertmanagerAlerts, silence, startAlertmanager, startSmtpSink, startWebhookSink,
  type AlertmanagerAlert, type RunningAlertmanager, type SmtpSink, type WebhookSink,
} from './helpers/alertmanager.js';

const MiB = 1024 ** 2;
const LIMIT_BYTES = 100 * MiB;
const TIME_SCALE = 60;
const SMS_TOKEN = 'sms-gateway-test-token';
const CGROUP_DIR = 'sys/fs/cgroup/app';
const ALERT = 'HeadroomMemoryHigh';
/** Long enough for every scaled `for` (5m / 60 = 5 s) and the first scrapes, short enough to bound the suite. */
const STEP_TIMEOUT_MS = 30_000;

interface Stack {
  scratch: string;
  fixture: FixtureRoot;
  exporter: RunningCli;
  prometheus: RunningPrometheus;
  alertmanager: RunningAlertmanager;
  webhook: WebhookSink;
  smtp: SmtpSink;
  instance: string;
}
let stack: Stack | undefined;
const cleanups: (() => Promise<unknown> | void)[] = [];

function setWorkingSet(bytes: number): void {
  // Write and rename, so the exporter never reads a half-written file.
  const target = path.join(stack!.fixture.root, CGROUP_DIR, 'memory.current');
  writeFileSync(`${target}.tmp`, `${bytes}\n`);
  renameSync(`${target}.tmp`, target);
}

/** The state of each severity of the memory usage alert in Prometheus. */
async function memoryAlertStates(): Promise<Record<string, string>> {
  const alerts = (await prometheusAlerts(stack!.prometheus.url)).filter((alert) => alert.labels.alertname === ALERT && alert.labels.signal === 'usage');
  return Object.fromEntries(alerts.map((alert) => [alert.labels.severity!, alert.state]));
}

async function waitForStates(what: string, expected: Record<string, string>): Promise<void> {
  let last: Record<string, string> = {};
  try {
    await waitFor(what, async () => {
      last = await memoryAlertStates();
      return JSON.stringify(Object.entries(last).sort()) === JSON.stringify(Object.entries(expected).sort());
    }, STEP_TIMEOUT_MS, 250);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last states ${JSON.stringify(last)}`);
  }
}

const subject = (status: 'FIRING' | 'RESOLVED', severity: string, alertname = ALERT) =>
  `[${status}] ${severity} on ${stack!.instance}: ${alertname}${status === 'RESOLVED' ? ' (resolved)' : ''}`;

async function waitForMail(wanted: string, since: number) {
  return waitFor(`mail "${wanted}"; got ${JSON.stringify(stack!.smtp.mails.map((mail) => mail.subject))}`,
    async () => stack!.smtp.mails.find((mail) => mail.subject === wanted && mail.receivedAt >= since), STEP_TIMEOUT_MS, 100);
}

async function amAlert(severity: string): Promise<AlertmanagerAlert | undefined> {
  const alerts = await alertmanagerAlerts(stack!.alertmanager.url, [`alertname="${ALERT}"`, `severity="${severity}"`, 'signal="usage"']);
  return alerts[0];
}

async function waitForInhibition(severity: string, by: string): Promise<AlertmanagerAlert> {
  return waitFor(`Alertmanager inhibiting ${severity} by ${by}`, async () => {
    const [target, source] = await Promise.all([amAlert(severity), amAlert(by)]);
    return target && source && target.status.state === 'suppressed' && target.status.inhibitedBy.includes(source.fingerprint) && target;
  }, STEP_TIMEOUT_MS, 200);
}

test.before(async () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-alerting-e2e-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  const fixture = createFixtureRoot();
  cleanups.push(() => fixture.cleanup());
  fixture.write(`proc/${FIXTURE_PID}/cgroup`, '0::/app\n');
  fixture.write('proc/self/mountinfo', ['22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw', mountinfoLine(30, '/', '/sys/fs/cgroup', 'cgroup2', 'rw,nsdelegate'), ''].join('\n'));
  fixture.write('sys/fs/cgroup/cgroup.controllers', 'cpu io memory pids\n');
  writeV2Cgroup(fixture, CGROUP_DIR, {
    current: LIMIT_BYTES / 2, inactiveFile: 0, anon: LIMIT_BYTES / 2, file: 0, max: LIMIT_BYTES, usageUsec: 1_000_000, cpuMax: '100000 100000',
  });

  const webhook = await startWebhookSink();
  cleanups.push(() => webhook.close());
  const smtp = await startSmtpSink();
  cleanups.push(() => smtp.close());

  const tokenFile = path.join(scratch, 'sms-token');
  writeFileSync(tokenFile, SMS_TOKEN);
  const alertmanager = await startAlertmanager({
    configYaml: renderAlertmanager({
      timeScale: TIME_SCALE,
      site: {
        smtpSmarthost: `${smtp.host}:${smtp.port}`, smtpFrom: 'headroom@test.invalid', emailTo: 'oncall@test.invalid', smtpRequireTls: false,
        smsWebhookUrl: `${webhook.url}/sms`, smsTokenFile: tokenFile,
        autosizeWebhookUrl: `${webhook.url}/autosize`, autosizeTokenFile: tokenFile,
      },
    }),
  });
  cleanups.push(() => alertmanager.stop());

  const exporter = await startExporter([`--path.procfs=${fixture.procfs}`, `--path.sysfs=${fixture.sysfs}`, `--target.pid=${FIXTURE_PID}`]);
  cleanups.push(() => exporter.stop());
  const instance = `127.0.0.1:${exporter.port}`;

  const rulesFile = path.join(scratch, 'headroom.rules.yml');
  writeFileSync(rulesFile, renderRules({ timeScale: TIME_SCALE }));
  const prometheus = await startPrometheus({
    scrapeJobs: [{ job: DEFAULT_RULE_OPTIONS.job, targets: [instance] }],
    ruleFiles: [rulesFile],
    alertmanagers: [alertmanager.address],
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    extraArgs: ['--rules.alert.resend-delay=1s'],
  });
  cleanups.push(() => prometheus.stop());
  stack = { scratch, fixture, exporter, prometheus, alertmanager, webhook, smtp, instance };

  // Driving memory from half to the limit within a minute is, rightly, a trend that reaches the limit within
  // 4 hours: silence that warning so the notifications under test are the level alerts alone.
  await silence(alertmanager.url, [{ name: 'alertname', value: 'HeadroomMemoryFillingUp' }], 'the test ramps memory on purpose');
});

test.after(async () => {
  for (const cleanup of cleanups.reverse()) {
    try { await cleanup(); } catch (error) { console.error('cleanup:', error); }
  }
});

test('Prometheus scrapes the exporter and records the working-set ratio at half the limit, with no alert', async () => {
  const ratio = await waitFor('the recorded ratio', async () => {
    const samples = await query(stack!.prometheus.url, `headroom:memory_working_set:ratio{instance="${stack!.instance}"}`);
    return samples[0]?.value;
  }, STEP_TIMEOUT_MS, 250);
  assert.is(ratio, 0.5);
  assert.equal(await memoryAlertStates(), {});
});

test('above 80 %: warning fires after its `for` and is mailed, nothing louder', async () => {
  const since = Date.now();
  setWorkingSet(85 * MiB);
  await waitForStates('warning firing', { warning: 'firing' });
  const mail = await waitForMail(subject('FIRING', 'warning'), since);
  assert.equal(mail.to, ['oncall@test.invalid']);
  assert.match(mail.body, `FIRING ${ALERT} severity=warning instance=${stack!.instance}`);
  assert.match(mail.body, `Working set 85MiB of ${stack!.instance} is 85% of its memory limit 100MiB.`);
  assert.match(mail.body, 'RUNBOOK.md#headroommemoryhigh');
  assert.is(stack!.webhook.deliveries.length, 0, 'a warning sends no SMS');
});

test('above 95 %: critical fires, is mailed, and inhibits warning', async () => {
  const since = Date.now();
  setWorkingSet(97 * MiB);
  await waitForStates('critical firing', { warning: 'firing', critical: 'firing' });
  const mail = await waitForMail(subject('FIRING', 'critical'), since);
  assert.match(mail.body, `Working set 97MiB of ${stack!.instance} is 97% of its memory limit 100MiB.`);
  await waitForInhibition('warning', 'critical');
  assert.is(stack!.webhook.deliveries.length, 0, 'critical sends no SMS');
});

test('at the limit: danger fires at once, pages through the webhook and by mail, and inhibits critical and warning', async () => {
  const since = Date.now();
  setWorkingSet(LIMIT_BYTES);
  await waitForStates('danger firing', { warning: 'firing', critical: 'firing', danger: 'firing' });
  const page = await waitFor('the SMS webhook', async () => stack!.webhook.deliveries.find((delivery) => delivery.payload.status === 'firing'), STEP_TIMEOUT_MS, 100);
  assert.is(page.path, '/sms');
  assert.is(page.authorization, `Bearer ${SMS_TOKEN}`, 'the token from the credentials file');
  assert.is(page.payload.receiver, 'page');
  assert.equal(page.payload.groupLabels, { alertname: ALERT, instance: stack!.instance });
  assert.equal(page.payload.alerts.map((alert) => alert.labels.severity), ['danger'], 'only danger reaches the pager');
  assert.match(page.payload.alerts[0]!.annotations.description!, `Working set 100MiB of ${stack!.instance} is 100% of its memory limit 100MiB.`);
  await waitForMail(subject('FIRING', 'danger'), since);
  const critical = await waitForInhibition('critical', 'danger');
  const warning = await waitForInhibition('warning', 'danger');
  assert.is(critical.status.state, 'suppressed');
  assert.is(warning.status.state, 'suppressed');
  assert.is((await amAlert('danger'))?.status.state, 'active');
});

test('back under 80 %: every level resolves, with resolved mails and a resolved page', async () => {
  const since = Date.now();
  setWorkingSet(50 * MiB);
  await waitForStates('no memory alert', {});
  const resolvedPage = await waitFor('the resolved SMS webhook', async () => stack!.webhook.deliveries.find((delivery) => delivery.payload.status === 'resolved' && delivery.receivedAt >= since), STEP_TIMEOUT_MS, 100);
  assert.equal(resolvedPage.payload.alerts.map((alert) => [alert.labels.severity, alert.status]), [['danger', 'resolved']]);
  for (const severity of ['danger', 'critical', 'warning']) await waitForMail(subject('RESOLVED', severity), since);
});

test('straight to the limit: warning and critical fire in Prometheus but are never delivered while danger fires', async () => {
  const since = Date.now();
  setWorkingSet(LIMIT_BYTES);
  await waitForStates('all levels firing', { warning: 'firing', critical: 'firing', danger: 'firing' });
  await waitFor('a new page', async () => stack!.webhook.deliveries.some((delivery) => delivery.payload.status === 'firing' && delivery.receivedAt >= since), STEP_TIMEOUT_MS, 100);
  await waitForInhibition('critical', 'danger');
  await waitForInhibition('warning', 'danger');
  // Give the warning and critical routes their group_wait and one group_interval: without inhibition they would mail now.
  const settleMs = (ROUTE_TIMINGS.warning.groupWait + ROUTE_TIMINGS.warning.groupInterval) * 1000 / TIME_SCALE + 2000;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const mailed = stack!.smtp.mails.filter((mail) => mail.receivedAt >= since).map((mail) => mail.subject);
  assert.ok(mailed.includes(subject('FIRING', 'danger')), `danger is mailed: ${JSON.stringify(mailed)}`);
  assert.not.ok(mailed.includes(subject('FIRING', 'critical')), `critical was mailed: ${JSON.stringify(mailed)}`);
  assert.not.ok(mailed.includes(subject('FIRING', 'warning')), `warning was mailed: ${JSON.stringify(mailed)}`);
});

test('the exporter stopped: HeadroomExporterDown fires and is mailed as critical', async () => {
  const since = Date.now();
  await stack!.exporter.stop();
  await waitFor('HeadroomExporterDown firing', async () => (await prometheusAlerts(stack!.prometheus.url))
    .some((alert) => alert.labels.alertname === 'HeadroomExporterDown' && alert.labels.instance === stack!.instance && alert.state === 'firing'), STEP_TIMEOUT_MS, 250);
  const mail = await waitForMail(subject('FIRING', 'critical', 'HeadroomExporterDown'), since);
  assert.match(mail.body, `Prometheus failed to scrape ${stack!.instance} (job ${DEFAULT_RULE_OPTIONS.job})`);
});

test.run();
