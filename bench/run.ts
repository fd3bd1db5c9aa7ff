// `make bench`: what it costs to watch a container, headroom side by side with node_exporter and
// process-exporter, on loopback. Prints a Markdown report, writes bench/results.json, and exits non-zero only
// when the benchmark itself broke. QUICK=1 (or --quick) runs a shorter version (bench/results.quick.json).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, start } from '../scripts/processes.js';
import { createBenchCgroup, type BenchCgroup } from './cgroup.js';
import { spawnSleepers } from './children.js';
import { startHeadroom, startIngestHeadroom, startNodeExporter, startProcessExporter, type RunningExporter } from './exporters.js';
import { measureRssAfterScrapes, scrapesWhileDatabaseLocked, scrapesWhileTargetHangs, startSilentServer } from './endurance.js';
import { runIngest } from './ingest.js';
import { ticksToSeconds } from './measure.js';
import { readCpuTicks, readRssBytes } from './proc.js';
import { renderReport, type EnduranceRecord, type IdleRecord, type Machine, type Results, type ScrapeRecord, type WaitingRecord } from './report.js';
import { measureScrapes } from './scrapes.js';

const QUICK = process.env.QUICK === '1' || process.argv.includes('--quick');
const PLAN = QUICK
  ? { processCounts: [0, 10, 200, 2000], scrapes: 40, minScrapes: 10, stepSeconds: 2.5, warmup: 3, idleSeconds: 5, ingestConnections: [10], ingestSeconds: 3, enduranceScrapes: 1000, waitingSeconds: 2 }
  : { processCounts: [0, 10, 200, 2000], scrapes: 500, minScrapes: 50, stepSeconds: 20, warmup: 20, idleSeconds: 60, ingestConnections: [1, 10, 50, 100], ingestSeconds: 10, enduranceScrapes: 10_000, waitingSeconds: 4 };
const OUTPUT = path.join(REPO_ROOT, 'bench', QUICK ? 'results.quick.json' : 'results.json');

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeMachine(): Machine {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return {
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    cpu_model: cpuModel.trim(),
    node: process.version,
    kernel: os.release(),
  };
}

/** RSS of an empty Node process: the floor under any Node exporter. */
async function nodeFloorRss(): Promise<number> {
  const empty = start(process.execPath, ['-e', 'setInterval(()=>{},1e9)']);
  try {
    await sleep(1000);
    return readRssBytes(empty.child.pid!);
  } finally {
    await empty.stop('SIGKILL');
  }
}

function watchedProcesses(exposition: string): number {
  const match = /^headroom_processes (\d+)$/m.exec(exposition);
  if (!match) throw new Error('headroom exported no headroom_processes sample');
  return Number(match[1]);
}

async function measureIdle(exporters: readonly RunningExporter[]): Promise<IdleRecord[]> {
  const before = exporters.map((exporter) => readCpuTicks(exporter.pid));
  await sleep(PLAN.idleSeconds * 1000);
  return exporters.map((exporter, index) => ({
    exporter: exporter.name,
    seconds: PLAN.idleSeconds,
    cpu_seconds: ticksToSeconds(readCpuTicks(exporter.pid) - before[index]!),
  }));
}

async function main(): Promise<void> {
  const startedAt = new Date();
  progress(`${QUICK ? 'QUICK run' : 'full run'}: up to ${PLAN.scrapes} scrapes per exporter and step (at least ${PLAN.minScrapes}, else at most ${PLAN.stepSeconds} s), idle window ${PLAN.idleSeconds} s`);
  const machine = describeMachine();
  const floor = await nodeFloorRss();
  let cgroup: BenchCgroup | undefined;
  const exporters: RunningExporter[] = [];
  try {
    cgroup = await createBenchCgroup(`headroom-bench-${process.pid}`);
    progress(`benchmark cgroup: ${cgroup.dirs.join(', ')}`);
    const headroom = await startHeadroom(cgroup.dirs);
    exporters.push(headroom, await startNodeExporter(), await startProcessExporter());

    const scrapes: ScrapeRecord[] = [];
    for (const processes of PLAN.processCounts) {
      const sleepers = await spawnSleepers(processes);
      try {
        cgroup.move(sleepers.pids);
        progress(`${processes} extra processes in the cgroup`);
        for (const exporter of exporters) {
          const { record, lastBody } = await measureScrapes(exporter, processes, PLAN);
          if (exporter === headroom) {
            // headroom itself plus the children; anything else means it is not watching the benchmark cgroup.
            const seen = watchedProcesses(lastBody);
            if (seen < processes + 1 || seen > processes + 3) throw new Error(`headroom sees ${seen} processes in its cgroup, expected ${processes + 1}`);
          }
          scrapes.push(record);
          progress(`  ${exporter.name}: ${record.scrapes} scrapes, p50 ${record.p50_ms.toFixed(2)} ms, p99 ${record.p99_ms.toFixed(2)} ms, ${record.cpu_seconds_per_1000_scrapes.toFixed(2)} CPU s/1000, ${record.series} series`);
        }
      } finally {
        await sleepers.reap();
      }
    }

    progress(`idle for ${PLAN.idleSeconds} s${QUICK ? ' (QUICK: shorter than the full run\'s 60 s)' : ''}`);
    const idle = await measureIdle(exporters);

    progress('statistics ingest (a second headroom, --statistics.rate-limit=0)');
    const ingestHeadroom = await startIngestHeadroom();
    exporters.push(ingestHeadroom);
    const ingest = await runIngest(ingestHeadroom, PLAN.ingestConnections, PLAN.ingestSeconds, progress);
    // /metrics reads the statistics gauges from the database: what a scrape costs once reports are stored.
    const storedReports = ingest.records.reduce((sum, record) => sum + record.rows_stored, 0);
    const { record: scrapeAfterIngest } = await measureScrapes(ingestHeadroom, 0, PLAN);
    progress(`  headroom /metrics with ${storedReports} stored reports: p50 ${scrapeAfterIngest.p50_ms.toFixed(2)} ms, ${scrapeAfterIngest.cpu_seconds_per_1000_scrapes.toFixed(2)} CPU s/1000`);

    // Memory after many scrapes: each exporter fresh, headroom with and without its statistics store.
    const endurance: EnduranceRecord[] = [];
    const enduranceRuns: Array<[string, () => Promise<RunningExporter>]> = [
      ['default (statistics store on, SQLite)', () => startHeadroom(cgroup!.dirs)],
      ['--statistics.enabled=false', () => startHeadroom(cgroup!.dirs, ['--statistics.enabled=false'])],
      ['default', startNodeExporter],
      ['default', startProcessExporter],
    ];
    for (const [configuration, startOne] of enduranceRuns) {
      const exporter = await startOne();
      try {
        const record = await measureRssAfterScrapes(exporter, configuration, PLAN.enduranceScrapes);
        endurance.push(record);
        progress(`  ${exporter.name} ${configuration}: RSS ${(record.rss_start_bytes / 2 ** 20).toFixed(1)} MiB at start, ${(record.rss_after_bytes / 2 ** 20).toFixed(1)} MiB after ${record.scrapes} scrapes`);
      } finally {
        await exporter.stop();
      }
    }

    // Scrapes never wait on a probe or the database.
    const waiting: WaitingRecord[] = [];
    const silent = await startSilentServer();
    const hanging = await startHeadroom(cgroup.dirs, [`--target.health-url=${silent.url}`, '--statistics.enabled=false']);
    try {
      waiting.push(await scrapesWhileTargetHangs(hanging, PLAN.waitingSeconds));
    } finally {
      await hanging.stop();
      silent.close();
    }
    const locked = await startHeadroom(cgroup.dirs, ['--statistics.rate-limit=0']);
    try {
      waiting.push(await scrapesWhileDatabaseLocked(locked, locked.dataDir, PLAN.waitingSeconds));
    } finally {
      await locked.stop();
    }
    for (const record of waiting) progress(`  while ${record.situation}: p50 ${record.p50_ms.toFixed(2)} ms, p99 ${record.p99_ms.toFixed(2)} ms over ${record.scrapes} scrapes`);

    const headroomRss = Math.max(...scrapes.filter((record) => record.exporter === 'headroom').map((record) => record.rss_bytes));
    const results: Results = {
      machine,
      quick: QUICK,
      started_at: startedAt.toISOString(),
      scrapes_per_step: PLAN.scrapes,
      min_scrapes_per_step: PLAN.minScrapes,
      seconds_per_step: PLAN.stepSeconds,
      warmup_scrapes: PLAN.warmup,
      scrapes,
      idle,
      node_floor_rss_bytes: floor,
      headroom_rss_bytes: headroomRss,
      headroom_rss_over_floor_bytes: headroomRss - floor,
      ingest: ingest.records,
      endurance,
      waiting,
      scrape_after_ingest: { stored_reports: storedReports, p50_ms: scrapeAfterIngest.p50_ms, p99_ms: scrapeAfterIngest.p99_ms, cpu_seconds_per_1000_scrapes: scrapeAfterIngest.cpu_seconds_per_1000_scrapes },
      ...(ingest.error === undefined ? {} : { ingest_error: ingest.error }),
    };
    writeFileSync(OUTPUT, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${renderReport(results)}\n`);
    progress(`wrote ${path.relative(process.cwd(), OUTPUT)} in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`);
  } finally {
    for (const exporter of exporters) await exporter.stop();
    await cgroup?.remove();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] broke: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
