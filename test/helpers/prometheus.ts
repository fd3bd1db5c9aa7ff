// A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port with a temporary data directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort, start, waitFor, type Started } from './processes.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface ScrapeJob {
  job: string;
  /** host:port of each target. */
  targets: string[];
  metricsPath?: string;
  scrapeInterval?: string;
}

export interface PrometheusOptions {
  /** A whole prometheus.yml; when given, scrapeJobs, ruleFiles, alertmanagers and the intervals are ignored. */
  configYaml?: string;
  scrapeJobs?: ScrapeJob[];
  /** Absolute paths of rule files. */
  ruleFiles?: string[];
  /** host:port of each Alertmanager to send alerts to. */
  alertmanagers?: string[];
  scrapeInterval?: string;
  evaluationInterval?: string;
  extraArgs?: string[];
}

export interface RunningServer extends Started { url: string; port: number; dir: string }

export interface RunningPrometheus extends RunningServer {
  dataDir: string;
}

export interface Sample { metric: Record<string, string>; value: number }
export interface PrometheusAlert { labels: Record<string, string>; annotations: Record<string, string>; state: 'pending' | 'firing'; value: string; activeAt: string }

export function prometheusConfig(options: PrometheusOptions): string {
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

/** Starts Prometheus and waits until it is ready; stop() also removes its data directory. */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const server = await startReadyServer('prometheus', PROMETHEUS_BIN, (dir, port) => [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
    '--log.level=warn',
    ...(options.extraArgs ?? []),
  ], (dir) => writeFileSync(path.join(dir, 'prometheus.yml'), options.configYaml ?? prometheusConfig(options)));
  return { ...server, dataDir: server.dir };
}

async function api<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = await response.json() as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? response.status}`);
  return body.data;
}

/** An instant query; each sample's value as a number. */
export async function query(prometheusUrl: string, promql: string): Promise<Sample[]> {
  const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(
    `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`,
  );
  if (data.resultType !== 'vector') throw new Error(`${promql}: a ${data.resultType}, not a vector`);
  return data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
}

/** The alerts Prometheus holds (pending and firing). */
export async function prometheusAlerts(prometheusUrl: string): Promise<PrometheusAlert[]> {
  return (await api<{ alerts: PrometheusAlert[] }>(`${prometheusUrl}/api/v1/alerts`)).alerts;
}

/** The scrape targets and their health. */
export async function targets(prometheusUrl: string): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]> {
  return (await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>(`${prometheusUrl}/api/v1/targets`)).activeTargets;
}
