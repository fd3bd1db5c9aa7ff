// A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port with a temporary directory, its
// HTTP API, and promtool's backfill; also the launcher Alertmanager's helper shares.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, run, start, waitFor, type Started } from '../../scripts/processes.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

export interface ScrapeJob {
  job: string;
  /** host:port of each target. */
  targets: string[];
  metricsPath?: string;
  scrapeInterval?: string;
}

export interface PrometheusOptions {
  /** A whole prometheus.yml without rule_files; when given, scrapeJobs, alertmanagers and the intervals are ignored. */
  configYaml?: string;
  scrapeJobs?: ScrapeJob[];
  /** Absolute paths of rule files. */
  ruleFiles?: string[];
  /** host:port of each Alertmanager to send alerts to. */
  alertmanagers?: string[];
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** An existing TSDB directory (a backfilled one), kept on stop; default: a fresh one in the temporary directory. */
  dataDir?: string;
  extraArgs?: string[];
}

export interface RunningServer extends Started { url: string; port: number; dir: string }

export interface RunningPrometheus extends RunningServer {
  dataDir: string;
}

export interface Sample { metric: Record<string, string>; value: number }
export interface PrometheusAlert { labels: Record<string, string>; annotations: Record<string, string>; state: 'pending' | 'firing'; value: string; activeAt: string }

export function prometheusConfig(options: PrometheusOptions): string {
  if (options.configYaml !== undefined) {
    const rules = options.ruleFiles?.length ? stringify({ rule_files: options.ruleFiles }) : '';
    return `${options.configYaml}\n${rules}`;
  }
  return stringify({
    global: { scrape_interval: options.scrapeInterval ?? '1s', evaluation_interval: options.evaluationInterval ?? '1s' },
    ...(options.ruleFiles?.length ? { rule_files: options.ruleFiles } : {}),
    ...(options.alertmanagers?.length ? { alerting: { alertmanagers: [{ static_configs: [{ targets: options.alertmanagers }] }] } } : {}),
    scrape_configs: (options.scrapeJobs ?? []).map((job) => ({
      job_name: job.job,
      ...(job.scrapeInterval ? { scrape_interval: job.scrapeInterval } : {}),
      ...(job.metricsPath ? { metrics_path: job.metricsPath } : {}),
      static_configs: [{ targets: job.targets }],
    })),
  });
}

/**
 * Starts a Prometheus-project server (Prometheus, Alertmanager: both answer /-/ready) on a free loopback port
 * with a fresh temporary directory, and waits until it is ready; stop() also removes the directory.
 */
export async function startReadyServer(name: string, binary: string, args: (dir: string, port: number) => string[], prepare: (dir: string) => void = () => {}): Promise<RunningServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `headroom-${name}-`));
  prepare(dir);
  const port = await freePort();
  const started = start(binary, args(dir, port));
  const url = `http://127.0.0.1:${port}`;
  const stop: Started['stop'] = async (signal) => {
    const code = await started.stop(signal);
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  try {
    await waitFor(`${name} ready`, async () => {
      if (started.child.exitCode !== null) throw new Error(`${name} exited ${started.child.exitCode}: ${started.output()}`);
      return (await fetch(`${url}/-/ready`)).status === 200;
    }, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { ...started, stop, url, port, dir };
}

/** Starts Prometheus and waits until it is ready; stop() also removes its temporary directory. */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  let dataDir = options.dataDir ?? '';
  const server = await startReadyServer('prometheus', PROMETHEUS_BIN, (dir, port) => [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${dataDir}`,
    '--storage.tsdb.retention.time=100y',
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
    '--log.level=warn',
    ...(options.extraArgs ?? []),
  ], (dir) => {
    dataDir ||= path.join(dir, 'data');
    writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(options));
  });
  return { ...server, dataDir };
}

async function api<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const body = await response.json() as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

/** An instant query (at `time`, Unix seconds, or now); each sample's value as a number. */
export async function query(prometheusUrl: string, promql: string, time?: number): Promise<Sample[]> {
  const body = new URLSearchParams({ query: promql });
  if (time !== undefined) body.set('time', String(time));
  const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(`${prometheusUrl}/api/v1/query`, { method: 'POST', body });
  if (data.resultType !== 'vector') throw new Error(`${promql}: a ${data.resultType}, not a vector`);
  return data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
}

/** Writes OpenMetrics text into TSDB blocks under `dataDir` with promtool. */
export async function backfillOpenMetrics(openMetrics: string, dataDir: string): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-backfill-'));
  try {
    const input = path.join(workDir, 'history.om.txt');
    writeFileSync(input, openMetrics);
    const result = await run(PROMTOOL_BIN, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, dataDir]);
    if (result.code !== 0) throw new Error(`promtool failed (${result.code}): ${result.stderr}${result.stdout}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The alerts Prometheus holds (pending and firing). */
export async function prometheusAlerts(prometheusUrl: string): Promise<PrometheusAlert[]> {
  return (await api<{ alerts: PrometheusAlert[] }>(`${prometheusUrl}/api/v1/alerts`)).alerts;
}
