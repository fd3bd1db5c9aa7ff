// The stack's own configuration files, started natively on loopback: the demo (compose/demo/server.mjs)
// with the environment compose gives it, the exporter with the compose command's flags, Prometheus on
// compose/prometheus.yml and Alertmanager on compose/alertmanager.yml. The shipped files are read and
// only rewritten at load time, into a temp copy: compose service names become 127.0.0.1 ports
// (exporter:9477, alertmanager:9093, mailpit:1025, demo:8080), relative rule paths become absolute
// (they are relative to compose/, as in the container), and container paths of mounted files become
// their repository paths. Without a Docker engine this is the closest run of the stack there is.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { DEFAULT_TIER } from '../exporter/src/thresholds.js';
import { COMPOSE_DIR, flagValue, loadStackWithDemo, parseMount, serviceCommand } from './helpers/compose-file.js';
import { query } from './helpers/prometheus.js';
import { REPO_ROOT, freePort, start, startExporter, waitFor, type RunningCli, type Started } from '../scripts/processes.js';

// The stack with the demo (make demo): the demo is the process the exporter watches here.
const compose = loadStackWithDemo();
const services = compose.services;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-compose-stack-'));

/** `host:port` of a compose service name to its loopback stand-in; a target not in the map is an error. */
function mapAddress(address: string, addresses: Map<string, string>): string {
  const mapped = addresses.get(address);
  if (!mapped) throw new Error(`no loopback stand-in for ${address}: the stack's configuration names a service this test does not start`);
  return mapped;
}

interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
}

/** compose/prometheus.yml with service addresses on loopback and rule paths absolute. */
export function prometheusForLoopback(text: string, configDir: string, addresses: Map<string, string>): string {
  const config = parse(text) as PrometheusConfig;
  config.rule_files = config.rule_files.map((pattern) => path.resolve(configDir, pattern));
  for (const job of config.scrape_configs) {
    for (const group of job.static_configs) group.targets = group.targets.map((target) => mapAddress(target, addresses));
  }
  for (const alertmanager of config.alerting.alertmanagers) {
    for (const group of alertmanager.static_configs) group.targets = group.targets.map((target) => mapAddress(target, addresses));
  }
  return stringify(config);
}

/** compose/alertmanager.yml with the mail relay and webhook on loopback and mounted files at their repository paths. */
export function alertmanagerForLoopback(text: string, addresses: Map<string, string>, files: Map<string, string>): string {
  const original = text;
  let rewritten = text;
  const config = parse(text) as { global: { smtp_smarthost: string }; receivers: { webhook_configs?: { url: string; http_config?: { authorization?: { credentials_file?: string } } }[] }[] };
  rewritten = rewritten.replace(`smtp_smarthost: ${config.global.smtp_smarthost}`, `smtp_smarthost: ${mapAddress(config.global.smtp_smarthost, addresses)}`);
  for (const webhook of config.receivers.flatMap((receiver) => receiver.webhook_configs ?? [])) {
    const url = new URL(webhook.url);
    rewritten = rewritten.replaceAll(webhook.url, `http://${mapAddress(url.host, addresses)}${url.pathname}`);
    const credentials = webhook.http_config?.authorization?.credentials_file;
    if (credentials) {
      const file = files.get(credentials);
      if (!file) throw new Error(`${credentials} is not mounted into the Alertmanager container`);
      rewritten = rewritten.replaceAll(credentials, file);
    }
  }
  if (rewritten === original) throw new Error('nothing was mapped to loopback');
  return rewritten;
}

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return await response.json() as T;
}

test('the stack\'s Prometheus and Alertmanager configs load natively and Prometheus scrapes the exporter (up == 1)', async () => {
  const started: Started[] = [];
  let exporter: RunningCli | undefined;
  try {
    const [demoPort, prometheusPort, alertmanagerPort, smtpPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);

    // The demo, with the environment compose gives it.
    const demoService = services.demo!;
    const demo = start(process.execPath, ['--expose-gc', path.join(COMPOSE_DIR, 'demo/server.mjs')], {
      env: { ...process.env, ...demoService.environment, DEMO_HOST: '127.0.0.1', DEMO_PORT: String(demoPort) },
    });
    started.push(demo);
    await waitFor('the demo', async () => (await fetch(`http://127.0.0.1:${demoPort}/health`)).ok);

    // The exporter with the compose command, but watching the demo's process as a sidecar would: host mode
    // needs an engine, and the paths of the host it reads through mounts (test/docker-stack.test.ts runs it).
    const containerDemoPort = demoService.environment!.DEMO_PORT!;
    const addresses = new Map<string, string>([[`demo:${containerDemoPort}`, `127.0.0.1:${demoPort}`]]);
    const exporterService = services.exporter!;
    const hostModeFlags = ['--target.docker=', '--path.procfs=', '--path.sysfs='];
    const composeArgs = serviceCommand(exporterService);
    assert.ok(hostModeFlags.every((flag) => composeArgs.some((arg) => arg.startsWith(flag))), 'the stack runs the exporter in host mode');
    const args = [...composeArgs.flatMap((arg): string[] => {
      if (arg.startsWith('--web.listen-address=') || hostModeFlags.some((flag) => arg.startsWith(flag))) return [];
      if (arg.startsWith('--data.dir=')) return [`--data.dir=${path.join(scratch, 'headroom-data')}`];
      return [arg];
    }), `--target.pid=${demo.child.pid}`];
    // The demo's health URL comes with compose/demo.yml, in the exporter's environment.
    const healthUrl = new URL(exporterService.environment!.HEADROOM_TARGET_HEALTH_URL!);
    exporter = await startExporter(args, { ...exporterService.environment, HEADROOM_TARGET_HEALTH_URL: `http://${mapAddress(healthUrl.host, addresses)}${healthUrl.pathname}` });
    const containerExporterPort = flagValue(serviceCommand(exporterService), 'web.listen-address')!.split(':').pop();
    addresses.set(`exporter:${containerExporterPort}`, `127.0.0.1:${exporter.port}`);
    addresses.set('localhost:9090', `127.0.0.1:${prometheusPort}`);
    addresses.set('alertmanager:9093', `127.0.0.1:${alertmanagerPort}`);
    addresses.set('mailpit:1025', `127.0.0.1:${smtpPort}`);

    // Alertmanager on compose/alertmanager.yml, its mounted token file at the repository path.
    const alertmanagerService = services.alertmanager!;
    const mountedFiles = new Map((alertmanagerService.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).filter((mount) => mount.kind === 'bind').map((mount) => [mount.target, mount.source]));
    const alertmanagerFile = mountedFiles.get(flagValue(serviceCommand(alertmanagerService), 'config.file')!)!;
    assert.is(alertmanagerFile, path.join(COMPOSE_DIR, 'alertmanager.yml'));
    const alertmanagerConfig = path.join(scratch, 'alertmanager.yml');
    writeFileSync(alertmanagerConfig, alertmanagerForLoopback(readFileSync(alertmanagerFile, 'utf8'), addresses, mountedFiles));
    const alertmanager = start('/usr/bin/prometheus-alertmanager', [
      `--config.file=${alertmanagerConfig}`,
      `--storage.path=${path.join(scratch, 'alertmanager-data')}`,
      `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ]);
    started.push(alertmanager);
    const alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;
    await waitFor(`alertmanager\n${alertmanager.output()}`, async () => {
      if (alertmanager.child.exitCode !== null) throw new Error(`exited ${alertmanager.child.exitCode}: ${alertmanager.output()}`);
      return (await fetch(`${alertmanagerUrl}/-/ready`)).ok;
    }, 30_000);
    const status = await json<{ config: { original: string } }>(`${alertmanagerUrl}/api/v2/status`);
    const loaded = parse(status.config.original) as { receivers: { name: string }[]; route: { routes: unknown[] } };
    assert.equal(loaded.receivers.map((receiver) => receiver.name).sort(), ['autosize', 'email', 'page']);
    assert.ok(loaded.route.routes.length >= 3, 'a route per severity');

    // Prometheus on compose/prometheus.yml.
    const prometheusService = services.prometheus!;
    const prometheusMounts = new Map((prometheusService.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).filter((mount) => mount.kind === 'bind').map((mount) => [mount.target, mount.source]));
    const prometheusFile = prometheusMounts.get(flagValue(serviceCommand(prometheusService), 'config.file')!)!;
    assert.is(prometheusFile, path.join(COMPOSE_DIR, 'prometheus.yml'));
    const prometheusConfig = path.join(scratch, 'prometheus.yml');
    writeFileSync(prometheusConfig, prometheusForLoopback(readFileSync(prometheusFile, 'utf8'), path.dirname(prometheusFile), addresses));
    const prometheus = start('/usr/bin/prometheus', [
      `--config.file=${prometheusConfig}`,
      `--storage.tsdb.path=${path.join(scratch, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${prometheusPort}`,
      '--log.level=warn',
    ]);
    started.push(prometheus);
    const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    await waitFor(`prometheus\n${prometheus.output()}`, async () => {
      if (prometheus.child.exitCode !== null) throw new Error(`exited ${prometheus.child.exitCode}: ${prometheus.output()}`);
      return (await fetch(`${prometheusUrl}/-/ready`)).ok;
    }, 30_000);

    // Every scrape job of the shipped file is up: the exporter, Prometheus itself, Alertmanager.
    type Targets = { data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] } };
    const targets = await waitFor('every target up', async () => {
      const active = (await json<Targets>(`${prometheusUrl}/api/v1/targets`)).data.activeTargets;
      return active.length > 0 && active.every((target) => target.health === 'up') ? active : undefined;
    }, 90_000, 500);
    assert.equal(targets.map((target) => target.labels.job).sort(), ['alertmanager', 'headroom', 'prometheus']);
    const up = await query(prometheusUrl, 'up{job="headroom"}');
    assert.is(up.length, 1);
    assert.is(up[0]!.value, 1);
    // The sizes compose declares reached the exporter, and its metrics are in Prometheus.
    const declared = await query(prometheusUrl, 'headroom_declared_memory_limit_bytes{job="headroom"}');
    assert.is(declared[0]?.value, DEFAULT_TIER.memoryLimitBytes);
    const build = await query(prometheusUrl, 'headroom_build_info{job="headroom"}');
    assert.is(build.length, 1);

    // The alert rules of alerting-rules/ are loaded, and the Alertmanager is discovered.
    const rules = await json<{ data: { groups: { file: string; rules: { type: string }[] }[] } }>(`${prometheusUrl}/api/v1/rules`);
    const ruleFiles = new Set(rules.data.groups.map((group) => path.relative(REPO_ROOT, group.file)));
    assert.ok(ruleFiles.has('alerting-rules/headroom.rules.yml'), `rule files loaded: ${[...ruleFiles].join(', ')}`);
    assert.ok(rules.data.groups.flatMap((group) => group.rules).some((rule) => rule.type === 'alerting'), 'alerting rules loaded');
    const alertmanagers = await waitFor('the Alertmanager discovered', async () => {
      const active = (await json<{ data: { activeAlertmanagers: { url: string }[] } }>(`${prometheusUrl}/api/v1/alertmanagers`)).data.activeAlertmanagers;
      return active.length > 0 ? active : undefined;
    });
    assert.equal(alertmanagers.map((entry) => new URL(entry.url).host), [`127.0.0.1:${alertmanagerPort}`]);

    // The exporter reaches the demo's own /health through HEADROOM_TARGET_HEALTH_URL (--target.health-url).
    // (Read whatever the status code: a failing required check elsewhere answers 503 with the same body.)
    const health = await (await fetch(`${exporter.url}/health`)).json() as { checks: Record<string, { status: string; message: string }> };
    assert.is(health.checks.target?.status, 'ok', JSON.stringify(health.checks.target));
  } finally {
    await exporter?.stop();
    for (const child of started.reverse()) await child.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('the loopback mapping refuses a service it has no stand-in for', () => {
  assert.throws(() => prometheusForLoopback('rule_files: []\nscrape_configs:\n  - job_name: x\n    static_configs:\n      - targets: [unknown:1]\nalerting:\n  alertmanagers: []\n', COMPOSE_DIR, new Map()), /no loopback stand-in for unknown:1/);
});

test.run();
