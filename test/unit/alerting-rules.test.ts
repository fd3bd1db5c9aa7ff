// The generated alert rules and Alertmanager config: promtool checks and unit-tests every alert (one uvu test per promtool test group), amtool checks the routing.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { ALERTMANAGER_FILE as ALERTMANAGER_PATH, RULES_FILE as RULES_PATH, renderAlertmanager, renderRules } from '../../alerting-rules/files.js';
import { alertingRules, DEFAULT_RULE_OPTIONS, SEVERITIES } from '../../alerting-rules/rules.js';
import { RECEIVERS } from '../../alerting-rules/alertmanager.js';
import { REPO_ROOT, run } from '../../scripts/processes.js';

const RULES_DIR = path.join(REPO_ROOT, 'alerting-rules');
const RULES_FILE = path.join(REPO_ROOT, RULES_PATH);
const ALERTMANAGER_FILE = path.join(REPO_ROOT, ALERTMANAGER_PATH);
const TESTS_DIR = path.join(RULES_DIR, 'tests');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-alerting-rules-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));

interface PromtoolTestGroup { name: string; alert_rule_test?: { alertname: string; exp_alerts: { exp_labels: Record<string, string> }[] }[] }
interface PromtoolTestFile { rule_files: string[]; evaluation_interval?: string; tests: PromtoolTestGroup[] }

const testFiles = readdirSync(TESTS_DIR).filter((name) => name.endsWith('.test.yml')).sort();
const parsedTestFiles = testFiles.map((name) => ({ name, content: parse(readFileSync(path.join(TESTS_DIR, name), 'utf8')) as PromtoolTestFile }));

/** Runs a command that must exit 0; returns stdout followed by stderr. */
async function mustSucceed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, stream: 'stdout' | 'both' = 'both'): Promise<string> {
  const result = await run(command, args, { cwd: REPO_ROOT, env });
  assert.is(result.code, 0, `${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
  return stream === 'stdout' ? result.stdout : result.stdout + result.stderr;
}

test('promtool check rules accepts the committed rules and the faster end-to-end variant', async () => {
  assert.match(await mustSucceed('promtool', ['check', 'rules', RULES_FILE]), 'SUCCESS: 34 rules found');
  const fast = path.join(scratch, 'fast.rules.yml');
  writeFileSync(fast, renderRules({ timeScale: 60 }));
  await mustSucceed('promtool', ['check', 'rules', fast]);
  assert.match(readFileSync(fast, 'utf8'), 'for: 5s', 'the 5m warning for is scaled to 5s');
});

test('every alerting rule (alertname, severity, signal) is expected to fire somewhere in the promtool tests', () => {
  const fired = new Set<string>();
  for (const { content } of parsedTestFiles) {
    for (const group of content.tests) {
      for (const check of group.alert_rule_test ?? []) {
        for (const expected of check.exp_alerts) fired.add(`${check.alertname}/${expected.exp_labels.severity}/${expected.exp_labels.signal ?? ''}`);
      }
    }
  }
  const rules = alertingRules(DEFAULT_RULE_OPTIONS);
  assert.ok(rules.length >= 12);
  for (const rule of rules) {
    const key = `${rule.alert}/${rule.labels.severity}/${rule.labels.signal ?? ''}`;
    assert.ok(fired.has(key), `no promtool test expects ${key} to fire`);
  }
  for (const severity of SEVERITIES) assert.ok(rules.some((rule) => rule.labels.severity === severity), severity);
});

test('every runbook_url points at a section of RUNBOOK.md', () => {
  const runbook = readFileSync(path.join(RULES_DIR, 'RUNBOOK.md'), 'utf8');
  const anchors = new Set([...runbook.matchAll(/^## (.+)$/gm)].map((match) => match[1]!.trim().toLowerCase()));
  for (const rule of alertingRules(DEFAULT_RULE_OPTIONS)) {
    const anchor = rule.annotations.runbook_url.split('#')[1];
    assert.ok(anchor && anchors.has(anchor), `RUNBOOK.md has no "## ${rule.alert}" section`);
  }
});

// One uvu test per promtool test group: each group runs alone from a temporary file.
for (const { name, content } of parsedTestFiles) {
  content.tests.forEach((group, index) => {
    test(`promtool ${name} #${index + 1}: ${group.name}`, async () => {
      const single: PromtoolTestFile = { ...content, rule_files: content.rule_files.map((file) => path.resolve(TESTS_DIR, file)), tests: [group] };
      const file = path.join(scratch, `${name.replace(/\.yml$/, '')}-${index + 1}.yml`);
      writeFileSync(file, stringify(single));
      assert.match(await mustSucceed('promtool', ['test', 'rules', file]), 'SUCCESS');
    });
  });
}

test('promtool test rules fails when an expectation is wrong (the runner sees failures)', async () => {
  const { content } = parsedTestFiles.find((entry) => entry.name === 'memory.test.yml')!;
  const broken = structuredClone(content);
  broken.rule_files = broken.rule_files.map((file) => path.resolve(TESTS_DIR, file));
  broken.tests = [broken.tests[0]!];
  broken.tests[0]!.alert_rule_test![0]!.exp_alerts = [{ exp_labels: { severity: 'warning' } }];
  const file = path.join(scratch, 'broken.yml');
  writeFileSync(file, stringify(broken));
  const result = await run('promtool', ['test', 'rules', file]);
  assert.is.not(result.code, 0);
});

test('amtool check-config accepts the committed Alertmanager config and a fast variant', async () => {
  const output = await mustSucceed('amtool', ['check-config', ALERTMANAGER_FILE]);
  assert.match(output, '2 inhibit rules');
  assert.match(output, '3 receivers');
  const fast = path.join(scratch, 'alertmanager-fast.yml');
  writeFileSync(fast, renderAlertmanager({ timeScale: 60 }));
  await mustSucceed('amtool', ['check-config', fast]);
});

test('the committed Alertmanager config holds no secret, only paths to secret files', () => {
  const text = readFileSync(ALERTMANAGER_FILE, 'utf8');
  assert.not.match(text, /smtp_auth_password:|credentials:|password:/);
  assert.match(text, 'credentials_file: /etc/alertmanager/secrets/');
});

const ROUTE_CASES = [
  { severity: 'danger', receiver: RECEIVERS.page },
  { severity: 'critical', receiver: RECEIVERS.email },
  { severity: 'warning', receiver: RECEIVERS.email },
];
for (const { severity, receiver } of ROUTE_CASES) {
  test(`amtool config routes test: severity=${severity} goes to ${receiver}`, async () => {
    const output = await mustSucceed('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`, `--verify.receivers=${receiver}`, 'alertname=HeadroomMemoryHigh', 'instance=app:9477', `severity=${severity}`], process.env, 'stdout');
    assert.is(output.trim(), receiver);
  });
}

const AUTOSIZE_CASES = [
  { labels: ['alertname=HeadroomMemoryHigh', 'severity=critical', 'container=web'], receivers: `${RECEIVERS.autosize},${RECEIVERS.email}` },
  { labels: ['alertname=HeadroomCpuHigh', 'severity=danger', 'container=web'], receivers: `${RECEIVERS.autosize},${RECEIVERS.page}` },
  { labels: ['alertname=HeadroomMemoryHigh', 'severity=warning', 'container=web'], receivers: RECEIVERS.email },
  { labels: ['alertname=HeadroomMemoryHigh', 'severity=critical'], receivers: RECEIVERS.email },
  { labels: ['alertname=HeadroomContainerRestarting', 'severity=critical', 'container=web'], receivers: RECEIVERS.email },
  // Descriptors and tasks route by severity alone: more memory or CPU would not help them.
  { labels: ['alertname=HeadroomFdsHigh', 'severity=danger', 'container=web'], receivers: RECEIVERS.page },
  { labels: ['alertname=HeadroomPidsHigh', 'severity=critical', 'container=web'], receivers: RECEIVERS.email },
  { labels: ['alertname=HeadroomNprocHigh', 'severity=warning', 'container=web'], receivers: RECEIVERS.email },
];
for (const { labels, receivers } of AUTOSIZE_CASES) {
  test(`amtool config routes test: ${labels.join(' ')} goes to ${receivers}`, async () => {
    const output = await mustSucceed('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`, `--verify.receivers=${receivers}`, 'instance=exporter:9477', ...labels], process.env, 'stdout');
    assert.is(output.trim(), receivers);
  });
}

test('the autosize webhook carries its bearer token from a file, and no resolved notifications', () => {
  const config = parse(readFileSync(ALERTMANAGER_FILE, 'utf8')) as { receivers: Array<{ name: string; webhook_configs?: Array<Record<string, unknown>> }> };
  const webhook = config.receivers.find((receiver) => receiver.name === RECEIVERS.autosize)!.webhook_configs![0]!;
  assert.equal(webhook, { url: 'http://127.0.0.1:9477/autosize/alertmanager', send_resolved: false, http_config: { authorization: { type: 'Bearer', credentials_file: '/etc/alertmanager/secrets/autosize-token' } } });
});

test('amtool config routes test: a wrong receiver is reported', async () => {
  const result = await run('amtool', ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`, `--verify.receivers=${RECEIVERS.email}`, 'alertname=HeadroomMemoryHigh', 'severity=danger']);
  assert.is.not(result.code, 0);
});

test('the routing tree: danger pages at once, critical mails quickly, warning is grouped per instance and slower', async () => {
  const output = await mustSucceed('amtool', ['config', 'routes', 'show', `--config.file=${ALERTMANAGER_FILE}`]);
  assert.match(output, /\{severity="danger"\}\s+receiver: page/);
  const config = parse(readFileSync(ALERTMANAGER_FILE, 'utf8')) as { route: { routes: Record<string, unknown>[] } };
  const bySeverity = Object.fromEntries(config.route.routes.map((route) => [String((route.matchers as string[])[0]), route]));
  assert.is(bySeverity['severity="danger"']!.group_wait, '0s');
  assert.is(bySeverity['severity="critical"']!.group_wait, '10s');
  assert.is(bySeverity['severity="warning"']!.group_wait, '2m');
  assert.equal(bySeverity['severity="warning"']!.group_by, ['instance']);
});

test.run();
