// Every panel query of both dashboards returns data from a real Prometheus that scrapes the real exporter, which
// watches a real cgroup sized as the small tier (with a pids.max) with a busy process in it, run as nobody so
// that RLIMIT_NPROC applies to it, and loads the alert and recommendation rules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, REPO_ROOT, start, startExporter, waitFor, type RunningCli, type Started } from '../scripts/processes.js';
import { query, startPrometheus, type RunningPrometheus } from './helpers/prometheus.js';
import { ALLOCATE_AND_SPIN, createLiveCgroup, type LiveCgroup } from './helpers/live-cgroup.js';
import { annotationQueries, panelQueries, substitute } from './helpers/dashboard-queries.js';
import { PROVISIONED_DATASOURCE } from '../dashboards/src/common.js';
import { TIERS } from '../exporter/src/thresholds.js';
import { currentTierIndexExpr } from '../alerting-rules/recommendation.js';

const SMALL = TIERS[0]!;
/** The user the busy process runs as: RLIMIT_NPROC does not apply to root. */
const NOBODY = 65534;
const ACTIVE_USERS = 7;

let workDir = '';
let cgroup: LiveCgroup | undefined;
let busy: Started | undefined;
let exporter: RunningCli | undefined;
let prometheus: RunningPrometheus | undefined;
let instance = '';

test.before(async () => {
  assert.is(process.getuid?.(), 0, 'creating a cgroup needs root');
  workDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-dashboards-'));
  cgroup = createLiveCgroup(`headroom-dashboards-${process.pid}`, { memoryBytes: SMALL.memoryLimitBytes, memoryReservationBytes: SMALL.memoryReservationBytes, cpuCores: SMALL.cpuLimitCores, pidsMax: 256 });
  busy = start('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', ALLOCATE_AND_SPIN], { stdio: ['pipe', 'pipe', 'pipe'] });
  cgroup.addProcess(busy.child.pid!);
  busy.child.stdin!.write('64\n');
  await waitFor('the busy process to allocate', async () => busy!.output().includes('ready'));

  // Nothing listens on the target's health port: the "target" sub-status fails.
  const closedPort = await freePort();
  exporter = await startExporter([`--target.pid=${busy.child.pid}`, `--data.dir=${path.join(workDir, 'data')}`, `--target.health-url=http://127.0.0.1:${closedPort}/health`]);
  instance = `127.0.0.1:${exporter.port}`;
  // Active users only exist once an installation has reported them.
  const report = await fetch(`${exporter.url}/statistics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ report_id: 'dashboards-test-1', installation_id: 'dashboards-test', active_users: ACTIVE_USERS, app_version: '1.0.0', platform: 'linux' }),
  });
  assert.ok(report.status < 300, `POST /statistics answered ${report.status}: ${await report.text()}`);

  // The committed recommendation rules, every second, and the committed alert rules: ALERTS only has series
  // while an alert fires, and the unreachable target health URL above fires HeadroomHealthCheckFailing.
  const rules = parse(readFileSync(path.join(REPO_ROOT, 'alerting-rules/recommendation.rules.yml'), 'utf8')) as { groups: { interval: string }[] };
  for (const group of rules.groups) group.interval = '1s';
  const rulesFile = path.join(workDir, 'recommendation.rules.yml');
  writeFileSync(rulesFile, stringify(rules));
  const alertFile = path.join(REPO_ROOT, 'alerting-rules/headroom.rules.yml');
  prometheus = await startPrometheus({
    ruleFiles: [rulesFile, alertFile],
    configYaml: `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: headroom\n    static_configs:\n      - targets: ["${instance}"]\n`,
  });
  await waitFor('five scrapes of the exporter', async () => {
    const samples = await query(prometheus!.url, 'count_over_time(headroom_build_info[1m])');
    return (samples[0]?.value ?? 0) >= 5;
  }, 60_000, 500);
});

test.after(async () => {
  await prometheus?.stop();
  await exporter?.stop();
  await busy?.stop('SIGKILL');
  await cgroup?.remove();
  rmSync(workDir, { recursive: true, force: true });
});

function macros() {
  // As Grafana substitutes them for a one-second scrape interval and a multi-value instance variable.
  return { __rate_interval: '4s', __interval: '1s', __range: '1m', window: '1h', instance: instance.replace(/\./g, '\\\\.'), container: '.*', host: '.*', datasource: PROVISIONED_DATASOURCE.uid };
}

test('the instance variable lists the exporter', async () => {
  const response = await fetch(`${prometheus!.url}/api/v1/label/instance/values?${new URLSearchParams({ 'match[]': 'headroom_build_info' })}`);
  const json = await response.json() as { data: string[] };
  assert.equal(json.data, [instance]);
});

test('every panel query returns data', async () => {
  const queries = panelQueries().map((query) => ({ ...query, expr: substitute(query.expr, macros()) }));
  assert.ok(queries.length >= 40);
  const empty = new Set(queries.map((_, index) => index));
  // The recommendation rules' subquery steps fall on whole minutes (the first may take a minute), and the
  // health alert fires after its `for` (90 s).
  await waitFor('every panel query to return data', async () => {
    await Promise.all([...empty].map(async (index) => {
      if ((await query(prometheus!.url, queries[index]!.expr)).length > 0) empty.delete(index);
    }));
    return empty.size === 0;
  }, 240_000, 1000).catch(() => undefined);
  const missing = [...empty].map((index) => `${queries[index]!.dashboard} / ${queries[index]!.panel} / ${queries[index]!.refId}: ${queries[index]!.expr}`);
  assert.equal(missing, [], `queries without data:\n${missing.join('\n')}`);
});

test('every annotation query runs (its events come with automatic sizing\'s decisions: test/autosize.test.ts)', async () => {
  const queries = annotationQueries();
  assert.ok(queries.length >= 1);
  for (const annotation of queries) await query(prometheus!.url, substitute(annotation.expr, macros()));
});

test('the current tier panel shows small for a cgroup with the small tier\'s limits; active users are the reported ones', async () => {
  const tier = await query(prometheus!.url, currentTierIndexExpr(`instance="${instance}"`));
  assert.equal(tier.map((sample) => sample.value), [0]);
  const users = await query(prometheus!.url, `headroom_statistics_active_users{instance="${instance}"}`);
  assert.equal(users.map((sample) => sample.value), [ACTIVE_USERS]);
});

test.run();
