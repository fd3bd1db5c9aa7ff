// Bytes a scrape allocates on the JavaScript heap: the exporter in this process, each scrape one GET of
// /metrics on loopback (server and a raw node:http client), measured as the growth of the used heap between
// two scrapes with garbage collection forced before each and a young generation too large to collect during
// one (a scrape during which V8 collected anyway is not counted). Run it with V8's collector exposed:
//   node --expose-gc --max-semi-space-size=256 dist/bench/allocation.js [--dist=DIR] [--scrapes=N] [-- exporter flags]
// --dist points at another build's dist/ (the same measure of an earlier version: before and after).
import { get } from 'node:http';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { REPO_ROOT } from '../scripts/processes.js';
import { percentile } from './measure.js';

interface Exporter { address: { port: number }; close(): Promise<void> }

function fetchBody(port: number, telemetryPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: telemetryPath, agent: false }, (response) => {
      let length = 0;
      response.on('data', (chunk: Buffer) => { length += chunk.length; });
      response.on('end', () => resolve(length));
    }).on('error', reject);
  });
}

export interface AllocationFigures { scrapes: number; counted: number; p50_bytes: number; p90_bytes: number; exposition_bytes: number }

export async function measureAllocation(dist: string, exporterArgs: string[], scrapes: number, warmup = 50): Promise<AllocationFigures> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const { parseServeCommandLine } = await import(pathToFileURL(path.join(dist, 'exporter/src/config.js')).href) as { parseServeCommandLine(argv: string[], env: object): { config: { telemetryPath: string } } };
  const { startExporter } = await import(pathToFileURL(path.join(dist, 'exporter/src/serve.js')).href) as { startExporter(config: unknown, extensions: unknown[], log: unknown): Promise<Exporter> };
  const pino = (await import('pino')).default;
  const { config } = parseServeCommandLine(['--web.listen-address=127.0.0.1:0', '--log.level=silent', '--statistics.enabled=false', ...exporterArgs], {});
  const exporter = await startExporter(config, [], pino({ level: 'silent' }));
  const collections: number[] = [];
  const observer = new PerformanceObserver((list) => { for (const entry of list.getEntries()) collections.push(entry.startTime); });
  observer.observe({ entryTypes: ['gc'] });
  try {
    let exposition = 0;
    for (let index = 0; index < warmup; index += 1) exposition = await fetchBody(exporter.address.port, config.telemetryPath);
    const allocated: number[] = [];
    for (let index = 0; index < scrapes; index += 1) {
      gc();
      const started = performance.now();
      const before = getHeapStatistics().used_heap_size;
      await fetchBody(exporter.address.port, config.telemetryPath);
      const after = getHeapStatistics().used_heap_size;
      const ended = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 0)); // the gc entries of the scrape are delivered
      if (!collections.some((at) => at >= started && at <= ended)) allocated.push(after - before);
    }
    return { scrapes, counted: allocated.length, p50_bytes: percentile(allocated, 50), p90_bytes: percentile(allocated, 90), exposition_bytes: exposition };
  } finally {
    observer.disconnect();
    await exporter.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const split = process.argv.indexOf('--');
  const own = split === -1 ? process.argv.slice(2) : process.argv.slice(2, split);
  const exporterArgs = split === -1 ? [] : process.argv.slice(split + 1);
  const option = (name: string) => own.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const dist = path.resolve(option('dist') ?? path.join(REPO_ROOT, 'dist'));
  const figures = await measureAllocation(dist, exporterArgs, Number(option('scrapes') ?? 200));
  process.stdout.write(`${JSON.stringify({ dist, exporter_args: exporterArgs, ...figures })}\n`);
  process.exit(0);
}
