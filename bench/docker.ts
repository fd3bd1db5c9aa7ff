// `make bench-docker`: host mode in a private engine with 10, 50 and 200 sleeping containers with limits,
// against what Docker itself offers for the same figures: `docker stats --no-stream`, timed as a whole
// command, and the Engine API's /containers/{id}/stats?stream=false for every container. Then containers
// created and removed by the hundred: the exporter's RSS and series before and after.
// QUICK=1 (or --quick) runs 10 and 50 containers and 100 created and removed.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { REPO_ROOT, waitFor, type Started } from '../scripts/processes.js';
import { loadStandins } from '../scripts/standin-images.js';
import { BENCH_IMAGE, BENCH_NETWORK, containersSeen, createContainers, pool, startHostMode } from './host-mode.js';
import { countSeries, cpuSecondsPer1000, percentile, summarizeLatencies, ticksToSeconds } from './measure.js';
import { readCpuTicks, readRssBytes } from './proc.js';
import { formatMiB, formatNumber, markdownTable } from './report.js';
import { ScrapeClient } from './scrape-client.js';

const QUICK = process.env.QUICK === '1' || process.argv.includes('--quick');
const PLAN = QUICK
  ? { counts: [10, 50], scrapes: 100, warmup: 5, idleSeconds: 10, churn: 100, statsRuns: 1 }
  : { counts: [10, 50, 200], scrapes: 300, warmup: 20, idleSeconds: 30, churn: 1000, statsRuns: 3 };
const OUTPUT = path.join(REPO_ROOT, 'bench', QUICK ? 'results-docker.quick.json' : 'results-docker.json');

export interface HostModeRecord {
  containers: number;
  scrapes: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms_per_scrape: number;
  rss_bytes: number;
  series: number;
  series_per_container: number;
  docker_stats_ms: number;
  api_stats_ms: number;
  api_stats_dockerd_cpu_ms: number;
  idle_cpu_seconds: number;
  idle_seconds: number;
}

export interface ChurnRecord { created_and_removed: number; rss_before_bytes: number; rss_after_bytes: number; series_before: number; series_after: number }

function progress(message: string): void {
  process.stderr.write(`[bench-docker] ${message}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


function engineGet(socket: string, apiPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: apiPath, method: 'GET' }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end();
  });
}




async function measure(engine: DockerEngine, exporter: Started & { url: string }, containers: number): Promise<HostModeRecord> {
  const pid = exporter.child.pid!;
  const client = new ScrapeClient(`${exporter.url}/metrics`);
  let body = '';
  const latencies: number[] = [];
  let ticks = 0;
  try {
    for (let index = 0; index < PLAN.warmup; index += 1) await client.get();
    const before = readCpuTicks(pid);
    for (let index = 0; index < PLAN.scrapes; index += 1) {
      const scrape = await client.get();
      latencies.push(scrape.ms);
      body = scrape.body;
    }
    ticks = readCpuTicks(pid) - before;
  } finally {
    client.close();
  }
  const { p50, p99 } = summarizeLatencies(latencies);
  const series = countSeries(body);
  const perContainer = body.split('\n').filter((line) => /container="/.test(line) && !line.startsWith('#')).length / containers;

  const statsTimes: number[] = [];
  for (let run = 0; run < PLAN.statsRuns; run += 1) statsTimes.push((await engine.docker(['stats', '--no-stream'])).ms);
  const ids = (await engine.docker(['ps', '--quiet', '--no-trunc'])).stdout.trim().split('\n');
  const dockerdPid = Number(readFileSync(path.join(engine.dir, 'pid'), 'utf8'));
  const dockerdBefore = readCpuTicks(dockerdPid);
  const apiStarted = performance.now();
  // As `docker stats` asks: every container at once.
  await Promise.all(ids.map((id) => engineGet(engine.socket, `/v1.41/containers/${id}/stats?stream=false`)));
  const apiMs = performance.now() - apiStarted;
  const dockerdCpuMs = ticksToSeconds(readCpuTicks(dockerdPid) - dockerdBefore) * 1000;

  const idleBefore = readCpuTicks(pid);
  await sleep(PLAN.idleSeconds * 1000);
  const idleCpu = ticksToSeconds(readCpuTicks(pid) - idleBefore);
  return {
    containers,
    scrapes: latencies.length,
    p50_ms: p50,
    p99_ms: p99,
    cpu_ms_per_scrape: cpuSecondsPer1000(ticks, latencies.length),
    rss_bytes: readRssBytes(pid),
    series,
    series_per_container: perContainer,
    docker_stats_ms: percentile(statsTimes, 50),
    api_stats_ms: apiMs,
    api_stats_dockerd_cpu_ms: dockerdCpuMs,
    idle_cpu_seconds: idleCpu,
    idle_seconds: PLAN.idleSeconds,
  };
}

export function hostModeTable(records: readonly HostModeRecord[]): string {
  return markdownTable(
    ['containers', 'scrape p50 (ms)', 'scrape p99 (ms)', 'CPU ms / scrape', 'RSS (MiB)', 'series', 'series / container', '`docker stats --no-stream` (ms)', 'API stats, every container (ms)', 'dockerd CPU for them (ms)', 'API stats / scrape p50', 'idle CPU s'],
    records.map((record) => [
      String(record.containers), formatNumber(record.p50_ms), formatNumber(record.p99_ms), formatNumber(record.cpu_ms_per_scrape), formatMiB(record.rss_bytes),
      String(record.series), formatNumber(record.series_per_container), formatNumber(record.docker_stats_ms), formatNumber(record.api_stats_ms),
      formatNumber(record.api_stats_dockerd_cpu_ms), formatNumber(record.api_stats_ms / record.p50_ms), `${formatNumber(record.idle_cpu_seconds)} over ${record.idle_seconds} s`,
    ]),
  );
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const engine = await startEngine({ tmpfs: '8g' });
  let exporter: (Started & { url: string }) | undefined;
  try {
    await loadStandins(engine, [BENCH_IMAGE]);
    await engine.docker(['network', 'create', BENCH_NETWORK]);
    exporter = await startHostMode(engine);
    const records: HostModeRecord[] = [];
    let running = 0;
    for (const count of PLAN.counts) {
      await createContainers(engine, Array.from({ length: count - running }, (_, index) => `sleeper-${running + index}`));
      running = count;
      await waitFor(`${count} containers seen`, async () => (await containersSeen(exporter!.url)) === count, 120_000, 500);
      const record = await measure(engine, exporter, count);
      records.push(record);
      progress(`${count} containers: p50 ${record.p50_ms.toFixed(2)} ms, p99 ${record.p99_ms.toFixed(2)} ms, ${record.cpu_ms_per_scrape.toFixed(2)} CPU ms/scrape, ${(record.rss_bytes / 2 ** 20).toFixed(1)} MiB, ${record.series_per_container.toFixed(1)} series/container; docker stats ${record.docker_stats_ms.toFixed(0)} ms, API stats ${record.api_stats_ms.toFixed(0)} ms`);
    }
    // Churn: back to the first count, then containers created and removed by the hundred.
    const first = PLAN.counts[0]!;
    const extra = Array.from({ length: running - first }, (_, index) => `sleeper-${first + index}`);
    await pool(extra.map((_, index) => extra.slice(index * 50, index * 50 + 50)).filter((batch) => batch.length > 0), 2, async (batch) => { await engine.docker(['rm', '--force', ...batch]); });
    await waitFor('back to the first count', async () => (await containersSeen(exporter!.url)) === first, 120_000, 500);
    const scrapeOnce = async () => countSeries(await (await fetch(`${exporter!.url}/metrics`)).text());
    for (let index = 0; index < 20; index += 1) await scrapeOnce();
    const rssBefore = readRssBytes(exporter.child.pid!);
    const seriesBefore = await scrapeOnce();
    for (let done = 0; done < PLAN.churn; done += 50) {
      const batch = Array.from({ length: Math.min(50, PLAN.churn - done) }, (_, index) => `churn-${done + index}`);
      await createContainers(engine, batch);
      await scrapeOnce();
      await engine.docker(['rm', '--force', ...batch]);
      await scrapeOnce();
      progress(`churn: ${done + batch.length} created and removed`);
    }
    await waitFor('back to the first count after the churn', async () => (await containersSeen(exporter!.url)) === first, 120_000, 500);
    for (let index = 0; index < 20; index += 1) await scrapeOnce();
    const churn: ChurnRecord = { created_and_removed: PLAN.churn, rss_before_bytes: rssBefore, rss_after_bytes: readRssBytes(exporter.child.pid!), series_before: seriesBefore, series_after: await scrapeOnce() };
    const results = { quick: QUICK, machine: { nproc: os.cpus().length, node: process.version, kernel: os.release() }, started_at: new Date(startedAt).toISOString(), scrapes_per_step: PLAN.scrapes, records, churn };
    writeFileSync(OUTPUT, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${hostModeTable(records)}\n\nChurn: ${churn.created_and_removed} containers created and removed (50 at a time, scraped between): RSS ${formatMiB(churn.rss_before_bytes)} -> ${formatMiB(churn.rss_after_bytes)} MiB, series ${churn.series_before} -> ${churn.series_after}.\n`);
    progress(`wrote ${path.relative(process.cwd(), OUTPUT)} in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  } finally {
    await exporter?.stop();
    await engine.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench-docker] broke: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
