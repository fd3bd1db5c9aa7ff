// Starting the three exporters on free loopback ports, each with its defaults.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NODE_FLAGS } from '../exporter/src/node-flags.js';
import { CLI, freePort, start, waitFor, type Started } from '../scripts/processes.js';
import { enterCgroupScript } from './cgroup.js';
import type { ExporterName } from './report.js';

export interface RunningExporter {
  name: ExporterName;
  pid: number;
  baseUrl: string;
  metricsUrl: string;
  stop: () => Promise<void>;
}

// process-exporter's common setup: every process, grouped by its command name.
export const PROCESS_EXPORTER_CONFIG = `process_names:
  - name: "{{.Comm}}"
    cmdline:
      - '.+'
`;

async function whenReady(name: ExporterName, started: Started, baseUrl: string, metricsUrl: string, cleanup: () => void = () => {}): Promise<RunningExporter> {
  try {
    await waitFor(`${name} on ${baseUrl}`, async () => {
      if (started.child.exitCode !== null) throw new Error(`exited ${started.child.exitCode}: ${started.output()}`);
      return (await fetch(metricsUrl)).status === 200;
    }, 30_000);
  } catch (error) {
    await started.stop('SIGKILL');
    cleanup();
    throw error;
  }
  return {
    name,
    pid: started.child.pid!,
    baseUrl,
    metricsUrl,
    stop: async () => { await started.stop(); cleanup(); },
  };
}

async function startHeadroomProcess(wrap: (args: string[]) => [string, string[]], extraFlags: readonly string[], nodeFlags: readonly string[] = NODE_FLAGS): Promise<RunningExporter & { dataDir: string }> {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-data-'));
  const [command, args] = wrap([process.execPath, ...nodeFlags, CLI, `--web.listen-address=127.0.0.1:${port}`, `--data.dir=${dataDir}`, ...extraFlags]);
  const started = start(command, args);
  const baseUrl = `http://127.0.0.1:${port}`;
  const running = await whenReady('headroom', started, baseUrl, `${baseUrl}/metrics`, () => rmSync(dataDir, { recursive: true, force: true }));
  return Object.assign(running, { dataDir });
}

/** headroom (default flags, or these; the sidecar's V8 flags, or these), inside the benchmark cgroup, so it watches that cgroup as its own. */
export function startHeadroom(cgroupDirs: readonly string[], extraFlags: readonly string[] = [], nodeFlags?: readonly string[]): Promise<RunningExporter & { dataDir: string }> {
  return startHeadroomProcess((args) => ['sh', ['-c', enterCgroupScript(cgroupDirs), 'headroom', ...args]], extraFlags, nodeFlags);
}

/**
 * headroom for the ingest test: reports arrive from many installations, each under the per-client rate
 * limit, while the load generator is one client, so the limit is off here.
 */
export function startIngestHeadroom(): Promise<RunningExporter & { dataDir: string }> {
  return startHeadroomProcess((args) => [args[0]!, args.slice(1)], ['--statistics.rate-limit=0']);
}

export async function startNodeExporter(): Promise<RunningExporter> {
  const port = await freePort();
  const started = start('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${port}`]);
  const baseUrl = `http://127.0.0.1:${port}`;
  return whenReady('node_exporter', started, baseUrl, `${baseUrl}/metrics`);
}

export async function startProcessExporter(): Promise<RunningExporter> {
  const port = await freePort();
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-process-exporter-'));
  const configPath = path.join(configDir, 'process-exporter.yml');
  writeFileSync(configPath, PROCESS_EXPORTER_CONFIG);
  const started = start('prometheus-process-exporter', ['-config.path', configPath, '-web.listen-address', `127.0.0.1:${port}`]);
  const baseUrl = `http://127.0.0.1:${port}`;
  return whenReady('process-exporter', started, baseUrl, `${baseUrl}/metrics`, () => rmSync(configDir, { recursive: true, force: true }));
}
