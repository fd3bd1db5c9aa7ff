// The one generator (scripts/generate.ts, `make generate`): every committed generated file is current, --check
// names a stale one, and a site's own copies (runbook links, Alertmanager site) never touch the committed files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RULES_FILE } from '../../alerting-rules/files.js';
import { generatedFiles, staleFiles } from '../../scripts/generate.js';
import { REPO_ROOT, run } from '../../scripts/processes.js';

const GENERATE = path.join(REPO_ROOT, 'dist/scripts/generate.js');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-generate-'));
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }));

const generate = (args: string[], env: NodeJS.ProcessEnv = process.env) => run(process.execPath, [GENERATE, ...args], { cwd: REPO_ROOT, env });

test('every generated file is committed and current', () => {
  const files = Object.keys(generatedFiles()).sort();
  for (const expected of ['alerting-rules/headroom.rules.yml', 'alerting-rules/alertmanager.yml', 'alerting-rules/recommendation.rules.yml', 'compose/alertmanager.yml',
    'dashboards/json/overview.json', 'dashboards/json/deployment-size.json', 'dashboards/provisioning/datasources/prometheus.yml', 'dashboards/provisioning/dashboards/headroom.yml']) {
    assert.ok(files.includes(expected), `${expected} is generated`);
  }
  assert.equal(staleFiles(), [], 'run `make generate`');
});

test('--check passes on the committed files and names an edited one', async () => {
  const passed = await generate(['--check']);
  assert.is(passed.code, 0, passed.stderr);
  const rules = path.join(REPO_ROOT, RULES_FILE);
  const original = readFileSync(rules, 'utf8');
  try {
    writeFileSync(rules, original.replace('> 0.95', '> 0.9'));
    const result = await generate(['--check']);
    assert.is(result.code, 1, result.stderr);
    assert.match(result.stderr, 'alerting-rules/headroom.rules.yml differs');
  } finally {
    writeFileSync(rules, original);
  }
});

test('a site\'s runbook links go into its own copy; HEADROOM_RUNBOOK_BASE_URL in the environment changes nothing', async () => {
  const env = { ...process.env, HEADROOM_RUNBOOK_BASE_URL: 'https://wiki.example.org/headroom/runbook' };
  const out = path.join(scratch, 'site.rules.yml');
  const site = await generate(['--runbook-base-url=https://git.example.org/headroom/RUNBOOK.md', `--out=${out}`], env);
  assert.is(site.code, 0, site.stderr);
  assert.match(readFileSync(out, 'utf8'), 'runbook_url: https://git.example.org/headroom/RUNBOOK.md#headroommemoryhigh');
  const regenerated = await generate([], env);
  assert.is(regenerated.code, 0, regenerated.stderr);
  const check = await generate(['--check'], env);
  assert.is(check.code, 0, `the committed files are unchanged: ${check.stderr}`);
  assert.not.match(readFileSync(path.join(REPO_ROOT, RULES_FILE), 'utf8'), 'wiki.example.org');
});

test('an Alertmanager site from an env file of HEADROOM_ALERT_* lines; a bad value exits 2 naming it', async () => {
  const siteEnv = path.join(scratch, 'site.env');
  const out = path.join(scratch, 'alertmanager.yml');
  writeFileSync(siteEnv, [
    'HEADROOM_ALERT_SMTP_SMARTHOST=mail.internal:587', 'HEADROOM_ALERT_EMAIL_FROM=alerts@example.org', 'HEADROOM_ALERT_EMAIL_TO=ops@example.org',
    'HEADROOM_ALERT_SMTP_USERNAME=alerts', 'HEADROOM_ALERT_SMTP_PASSWORD_FILE=/run/secrets/smtp-password', 'HEADROOM_ALERT_SMS_WEBHOOK_URL=https://sms-gateway.internal/v1/alert', '',
  ].join('\n'));
  const good = await generate([`--alertmanager-site=${siteEnv}`, `--out=${out}`]);
  assert.is(good.code, 0, good.stderr);
  const text = readFileSync(out, 'utf8');
  assert.match(text, 'smtp_smarthost: mail.internal:587');
  assert.match(text, 'smtp_auth_password_file: /run/secrets/smtp-password');
  assert.match(text, 'url: https://sms-gateway.internal/v1/alert');
  const checked = await run('amtool', ['check-config', out]);
  assert.is(checked.code, 0, checked.stdout + checked.stderr);
  writeFileSync(siteEnv, 'HEADROOM_ALERT_SMTP_SMARTHOST=no-port\nHEADROOM_ALERT_SMTP_USERNAME=alerts\n');
  const bad = await generate([`--alertmanager-site=${siteEnv}`, `--out=${out}`]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, 'HEADROOM_ALERT_SMTP_SMARTHOST');
  assert.is(bad.stderr.trim().split('\n').length, 1, 'one line');
});

test('--time-scale divides every `for` and the Alertmanager timings, for a test that cannot wait minutes', async () => {
  const rules = path.join(scratch, 'fast.rules.yml');
  const fast = await generate(['--rules', '--time-scale=60', `--out=${rules}`]);
  assert.is(fast.code, 0, fast.stderr);
  assert.match(readFileSync(rules, 'utf8'), /for: 5s\n/, 'the 5m of the memory warning');
  assert.not.match(readFileSync(rules, 'utf8'), /for: 15m/);
  const alertmanager = path.join(scratch, 'fast-alertmanager.yml');
  const site = await generate([`--alertmanager-site=${path.join(REPO_ROOT, 'compose/alertmanager-site.env')}`, '--time-scale=60', `--out=${alertmanager}`]);
  assert.is(site.code, 0, site.stderr);
  assert.match(readFileSync(alertmanager, 'utf8'), /repeat_interval: 12m\n/, 'the warning route\'s 12h');
});

test('a bad option or a missing --out exits 2 with one line', async () => {
  for (const args of [['--no-such-option'], ['--runbook-base-url=https://x.example'], ['--time-scale=60'], ['--rules', '--time-scale=0.5', '--out=x']]) {
    const result = await generate(args);
    assert.is(result.code, 2, args.join(' '));
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  }
});

test.run();
