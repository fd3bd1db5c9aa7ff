// Many hosts' metrics in one store: two Prometheus servers in agent mode, each naming its host in
// external_labels, scrape an exporter and remote-write to a central Prometheus with the remote-write
// receiver on (all Debian's, native, on loopback). The central one evaluates the rules and answers the
// dashboards' queries, every series with its host; remote write's bytes per sample are measured.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { RECOMMENDATION_RULES_FILE, RULES_FILE } from '../alerting-rules/files.js';
import { REPO_ROOT, startExporter, waitFor, type RunningCli } from '../scripts/processes.js';
import { panelQueries, substitute } from './helpers/dashboard-queries.js';
import { parseExposition } from './helpers/metrics-text.js';
import { PROMETHEUS_BIN, query, startPrometheus, startReadyServer, type RunningPrometheus, type RunningServer } from './helpers/prometheus.js';

const HOSTS = ['host-a', 'host-b'];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-remote-write-'));
let exporter: RunningCli | undefined;
let central: RunningPrometheus | undefined;
const agents: RunningServer[] = [];

test.before(async () => {
  exporter = await startExporter([`--data.dir=${path.join(scratch, 'data')}`]);
  central = await startPrometheus({
    configYaml: stringify({ global: { evaluation_interval: '1s' } }),
    ruleFiles: [path.join(REPO_ROOT, RULES_FILE), path.join(REPO_ROOT, RECOMMENDATION_RULES_FILE)],
    extraArgs: ['--web.enable-remote-write-receiver'],
  });
  for (const host of HOSTS) {
    agents.push(await startReadyServer(`agent-${host}`, PROMETHEUS_BIN, (dir, port) => [
      '--enable-feature=agent', `--config.file=${path.join(dir, 'agent.yml')}`, `--storage.agent.path=${path.join(dir, 'wal')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ], (dir) => writeFileSync(path.join(dir, 'agent.yml'), stringify({
      global: { scrape_interval: '1s', external_labels: { host } },
      scrape_configs: [{ job_name: 'headroom', static_configs: [{ targets: [`127.0.0.1:${exporter!.port}`] }] }],
      remote_write: [{ url: `${central!.url}/api/v1/write`, queue_config: { batch_send_deadline: '1s' } }],
    }))));
  }
  await waitFor('both hosts\' series in the central store', async () => {
    const hosts = new Set((await query(central!.url, 'count_over_time(headroom_build_info[1m]) >= 5')).map((sample) => sample.metric.host));
    return HOSTS.every((host) => hosts.has(host));
  }, 60_000, 500);
});

test.after(async () => {
  for (const agent of agents) await agent.stop();
  await central?.stop();
  await exporter?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('the central store answers every dashboard query that has data, with each host apart', async () => {
  const macros = { __rate_interval: '4s', __interval: '1s', __range: '1m', window: '1h', host: '.*', instance: '.+', container: '.*', datasource: 'x' };
  const queries = panelQueries().filter((entry) => !entry.expr.startsWith('ALERTS')).map((entry) => ({ ...entry, expr: substitute(entry.expr, macros) }));
  // The usage and limit panels: data within seconds (the recommendation panels need whole minutes of history).
  const usage = queries.filter((entry) => /headroom_(cpu|memory)_(percent|limit|usage|working_set|available)/.test(entry.expr) && !entry.expr.includes('_over_time'));
  assert.ok(usage.length >= 8, `${usage.length} usage panels`);
  for (const entry of usage) {
    const samples = await waitFor(`${entry.dashboard} / ${entry.panel}`, async () => {
      const result = await query(central!.url, entry.expr);
      return HOSTS.every((host) => result.some((sample) => sample.metric.host === host)) ? result : undefined;
    }, 30_000, 500);
    assert.ok(samples.length >= HOSTS.length, `${entry.panel}: one series per host at least`);
  }
  // Every other query is valid there too.
  for (const entry of queries) await query(central!.url, entry.expr);
});

test('the rules evaluate per host in the central store', async () => {
  const ratios = await waitFor('the recorded memory ratio of each host', async () => {
    const samples = await query(central!.url, 'headroom:memory_working_set:ratio');
    return HOSTS.every((host) => samples.some((sample) => sample.metric.host === host)) ? samples : undefined;
  }, 30_000, 500);
  assert.is(ratios.length, HOSTS.length, 'the same instance on two hosts stays two series');
});

test('remote write: bytes per sample on the wire', async () => {
  for (const agent of agents) {
    const samples = parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
    const total = (name: string) => samples.filter((sample) => sample.name === name).reduce((sum, sample) => sum + sample.value, 0);
    const sent = total('prometheus_remote_storage_samples_total');
    const bytes = total('prometheus_remote_storage_bytes_total');
    assert.ok(sent > 0 && bytes > 0, `${agent.url}: ${sent} samples, ${bytes} bytes`);
    console.log(`  ${agent.url}: ${sent} samples in ${bytes} bytes, ${(bytes / sent).toFixed(2)} bytes per sample (snappy-compressed protobuf)`);
  }
});

test.run();
