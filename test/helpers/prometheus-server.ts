// A real Prometheus for tests: on a free loopback port, temp storage (or a backfilled one), stopped by the caller.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, run, start, waitFor, type Started } from './processes.js';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export interface RunningPrometheus extends Started { url: string; dataDir: string; close: () => Promise<void> }

export interface PrometheusOptions {
  /** prometheus.yml contents (without rule_files); default: no scrape jobs. */
  config?: string;
  /** Rule files to load. */
  ruleFiles?: string[];
  /** An existing TSDB directory (e.g. backfilled); default: a fresh temp dir. */
  dataDir?: string;
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-prometheus-'));
  const dataDir = options.dataDir ?? path.join(workDir, 'data');
  const configFile = path.join(workDir, 'prometheus.yml');
  const ruleFiles = options.ruleFiles ?? [];
  const ruleSection = ruleFiles.length > 0 ? `rule_files:\n${ruleFiles.map((file) => `  - ${JSON.stringify(file)}`).join('\n')}\n` : '';
  writeFileSync(configFile, `${options.config ?? 'global:\n  scrape_interval: 15s\n'}\n${ruleSection}`);
  const port = await freePort();
  const started = start(PROMETHEUS, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    '--storage.tsdb.retention.time=100y',
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    await started.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`prometheus on ${url}`, async () => {
      if (started.child.exitCode !== null) throw new Error(`exited ${started.child.exitCode}: ${started.output()}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, 60_000);
  } catch (error) {
    await close();
    throw error;
  }
  return { ...started, url, dataDir, close };
}

export interface VectorSample { metric: Record<string, string>; value: [number, string] }

/** An instant query; throws on a Prometheus error. */
export async function instantQuery(url: string, expr: string, time?: number): Promise<VectorSample[]> {
  const body = new URLSearchParams({ query: expr });
  if (time !== undefined) body.set('time', String(time));
  const response = await fetch(`${url}/api/v1/query`, { method: 'POST', body });
  const json = await response.json() as { status: string; error?: string; data?: { resultType: string; result: VectorSample[] } };
  if (json.status !== 'success') throw new Error(`query ${expr} failed: ${json.error}`);
  if (json.data!.resultType !== 'vector') throw new Error(`query ${expr} returned a ${json.data!.resultType}`);
  return json.data!.result;
}

/** Writes OpenMetrics text into TSDB blocks under `dataDir` with promtool. */
export async function backfillOpenMetrics(openMetrics: string, dataDir: string): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-backfill-'));
  try {
    const input = path.join(workDir, 'history.om.txt');
    writeFileSync(input, openMetrics);
    const result = await run(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, dataDir]);
    if (result.code !== 0) throw new Error(`promtool failed (${result.code}): ${result.stderr}${result.stdout}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
