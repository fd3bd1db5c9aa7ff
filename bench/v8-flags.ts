// `make bench-flags`: what each V8 flag set costs the sidecar and buys it. For every set, headroom (with its
// statistics store, in the benchmark cgroup) is scraped at 0, 10 and 200 extra processes, CPU per scrape
// beside node_exporter's in the same steps, then its RSS after 10,000 scrapes (QUICK=1: 1,000). Prints a
// Markdown table and writes bench/results-flags.json.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { NODE_FLAGS } from '../exporter/src/node-flags.js';
import { REPO_ROOT } from '../scripts/processes.js';
import { createBenchCgroup } from './cgroup.js';
import { spawnSleepers } from './children.js';
import { measureRssAfterScrapes } from './endurance.js';
import { startHeadroom, startNodeExporter, type RunningExporter } from './exporters.js';
import { formatMiB, formatNumber, markdownTable } from './report.js';
import { measureScrapes } from './scrapes.js';

const QUICK = process.env.QUICK === '1' || process.argv.includes('--quick');
const PLAN = QUICK
  ? { processCounts: [0, 10, 200], scrapes: 60, minScrapes: 20, stepSeconds: 5, warmup: 10, enduranceScrapes: 1000 }
  : { processCounts: [0, 10, 200], scrapes: 400, minScrapes: 100, stepSeconds: 20, warmup: 50, enduranceScrapes: 10_000 };
const OUTPUT = path.join(REPO_ROOT, 'bench', QUICK ? 'results-flags.quick.json' : 'results-flags.json');

/** The flag sets measured: V8's defaults, each flag of the sidecar's set alone and in combination. */
export const FLAG_SETS: ReadonlyArray<{ name: string; flags: readonly string[] }> = [
  { name: 'V8 defaults', flags: [] },
  { name: '1 MiB young generation', flags: ['--max-semi-space-size=1'] },
  { name: '+ optimize for size', flags: ['--max-semi-space-size=1', '--optimize-for-size'] },
  { name: '+ no optimizing compiler', flags: ['--max-semi-space-size=1', '--no-turbofan'] },
  { name: '+ no baseline compiler', flags: ['--max-semi-space-size=1', '--no-sparkplug'] },
  { name: '+ neither compiler', flags: ['--max-semi-space-size=1', '--no-turbofan', '--no-sparkplug'] },
  { name: '+ size, no optimizing compiler', flags: ['--max-semi-space-size=1', '--optimize-for-size', '--no-turbofan'] },
  { name: '+ size, neither compiler', flags: ['--max-semi-space-size=1', '--optimize-for-size', '--no-turbofan', '--no-sparkplug'] },
  { name: '+ size, single-threaded', flags: ['--max-semi-space-size=1', '--optimize-for-size', '--single-threaded'] },
  { name: '+ size, 32 MiB old generation', flags: ['--max-semi-space-size=1', '--optimize-for-size', '--max-old-space-size=32'] },
  { name: 'no JIT at all', flags: ['--max-semi-space-size=1', '--jitless'] },
];

export interface FlagRecord {
  name: string;
  flags: string[];
  current: boolean;
  cpu_seconds_per_1000: Record<string, number>;
  node_exporter_cpu_seconds_per_1000: Record<string, number>;
  rss_after_bytes: number;
  scrapes_for_rss: number;
}

function progress(message: string): void {
  process.stderr.write(`[bench-flags] ${message}\n`);
}

export function flagsTable(records: readonly FlagRecord[], processCounts: readonly number[]): string {
  return markdownTable(
    ['flags', ...processCounts.map((count) => `CPU ms / scrape, ${count} processes (node_exporter)`), 'RSS after scrapes (MiB)'],
    records.map((record) => [
      `${record.name}${record.current ? ' (the sidecar\'s)' : ''}: \`${record.flags.join(' ') || '(none)'}\``,
      ...processCounts.map((count) => `${formatNumber(record.cpu_seconds_per_1000[count]!)} (${formatNumber(record.node_exporter_cpu_seconds_per_1000[count]!)})`),
      formatMiB(record.rss_after_bytes),
    ]),
  );
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const cgroup = await createBenchCgroup(`headroom-bench-flags-${process.pid}`);
  const records: FlagRecord[] = [];
  try {
    for (const set of FLAG_SETS) {
      const cpu: Record<string, number> = {};
      const peer: Record<string, number> = {};
      const headroom = await startHeadroom(cgroup.dirs, [], set.flags);
      const nodeExporter = await startNodeExporter();
      try {
        for (const processes of PLAN.processCounts) {
          const sleepers = await spawnSleepers(processes);
          try {
            cgroup.move(sleepers.pids);
            // Measured in turns, so that both see the same moment of the machine.
            const exporters: RunningExporter[] = [headroom, nodeExporter];
            for (const exporter of exporters) {
              const { record } = await measureScrapes(exporter, processes, PLAN);
              (exporter === headroom ? cpu : peer)[processes] = record.cpu_seconds_per_1000_scrapes;
            }
          } finally {
            await sleepers.reap();
          }
        }
      } finally {
        await headroom.stop();
        await nodeExporter.stop();
      }
      const fresh = await startHeadroom(cgroup.dirs, [], set.flags);
      let rss;
      try {
        rss = await measureRssAfterScrapes(fresh, set.name, PLAN.enduranceScrapes);
      } finally {
        await fresh.stop();
      }
      const record: FlagRecord = {
        name: set.name, flags: [...set.flags], current: set.flags.join(' ') === NODE_FLAGS.join(' '),
        cpu_seconds_per_1000: cpu, node_exporter_cpu_seconds_per_1000: peer, rss_after_bytes: rss.rss_after_bytes, scrapes_for_rss: PLAN.enduranceScrapes,
      };
      records.push(record);
      progress(`${set.name}: CPU s/1000 ${PLAN.processCounts.map((count) => `${count}: ${cpu[count]!.toFixed(2)} (node_exporter ${peer[count]!.toFixed(2)})`).join(', ')}; RSS ${formatMiB(rss.rss_after_bytes)} MiB after ${PLAN.enduranceScrapes} scrapes`);
    }
  } finally {
    await cgroup.remove();
  }
  writeFileSync(OUTPUT, `${JSON.stringify({ quick: QUICK, started_at: new Date(startedAt).toISOString(), plan: PLAN, records }, null, 2)}\n`);
  process.stdout.write(`${flagsTable(records, PLAN.processCounts)}\n`);
  progress(`wrote ${path.relative(process.cwd(), OUTPUT)} in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench-flags] broke: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
