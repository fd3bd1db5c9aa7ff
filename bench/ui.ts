// `make bench-ui`: the page at 200 containers in host mode on a private engine. A page view's bytes over the
// wire (the document, every asset, the API's first answer, as a browser asks for them: brotli, else gzip);
// the exporter's CPU per refresh of the API beside a scrape's (a refresh that finds a scrape no older than the
// refresh interval, as when Prometheus scrapes; and one that must scrape itself); the history's bytes.
// QUICK=1 (or --quick) takes fewer samples.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startEngine } from '../scripts/docker-engine.js';
import { REPO_ROOT, waitFor, type Started } from '../scripts/processes.js';
import { loadStandins } from '../scripts/standin-images.js';
import { BENCH_IMAGE, BENCH_NETWORK, containersSeen, createContainers, startHostMode } from './host-mode.js';
import { ticksToSeconds } from './measure.js';
import { readCpuTicks, readRssBytes } from './proc.js';
import { formatNumber, markdownTable } from './report.js';

const QUICK = process.env.QUICK === '1' || process.argv.includes('--quick');
const CONTAINERS = 200;
const PLAN = QUICK ? { rounds: 40, scrapingRounds: 15 } : { rounds: 200, scrapingRounds: 60 };
const OUTPUT = path.join(REPO_ROOT, 'bench', QUICK ? 'results-ui.quick.json' : 'results-ui.json');
/** The goals of issue 23. */
const GOALS = { pageViewBytes: 150 * 1000, historyBytes: 4 * 1024 ** 2 };

function progress(message: string): void {
  process.stderr.write(`[bench-ui] ${message}\n`);
}

interface Transfer { path: string; encoding: string; wireBytes: number; bytes: number }

/** GETs a path as a browser does (compressed where the server can) and counts the body's bytes as sent. */
function transfer(base: string, route: string, acceptEncoding: string): Promise<Transfer> {
  const url = new URL(route, base);
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { headers: { 'accept-encoding': acceptEncoding } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) { reject(new Error(`${route}: ${response.statusCode}`)); return; }
        const body = Buffer.concat(chunks);
        resolve({ path: url.pathname, encoding: String(response.headers['content-encoding'] ?? 'identity'), wireBytes: body.length, bytes: 0 });
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function plainBytes(base: string, route: string): Promise<number> {
  return (await (await fetch(new URL(route, base), { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()).byteLength;
}

/** The document, the assets it names and the API's answer the page asks for first. */
async function pageView(base: string, acceptEncoding: string): Promise<Transfer[]> {
  const html = await (await fetch(base)).text();
  const assets = [...html.matchAll(/(?:href|src)="(assets\/[^"]+)"/g)].map((match) => match[1]!);
  const routes = ['', ...new Set(assets), 'api/v1/containers'];
  return Promise.all(routes.map(async (route) => ({ ...await transfer(base, route, acceptEncoding), bytes: await plainBytes(base, route) })));
}

/**
 * CPU milliseconds of `pid` per round, counting only `measured` (after `before`, which is not counted). Each
 * reading is whole clock ticks; summed over many rounds the rounding evens out.
 */
async function cpuPerRound(pid: number, rounds: number, measured: () => Promise<void>, before: () => Promise<void> = async () => {}): Promise<number> {
  for (let index = 0; index < 5; index += 1) { await before(); await measured(); }
  let ticks = 0;
  for (let index = 0; index < rounds; index += 1) {
    await before();
    const start = readCpuTicks(pid);
    await measured();
    ticks += readCpuTicks(pid) - start;
  }
  return (ticksToSeconds(ticks) * 1000) / rounds;
}

const get = async (url: string, headers: Record<string, string> = {}) => { await (await fetch(url, { headers })).arrayBuffer(); };
const BROWSER_ENCODING = 'gzip, deflate, br, zstd';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const startedAt = Date.now();
  const engine = await startEngine({ tmpfs: '8g' });
  const exporters: Array<Started & { url: string }> = [];
  try {
    await loadStandins(engine, [BENCH_IMAGE]);
    await engine.docker(['network', 'create', BENCH_NETWORK]);
    await createContainers(engine, Array.from({ length: CONTAINERS }, (_, index) => `sleeper-${index}`));
    // The default refresh interval (15 s): a refresh right after a scrape takes that scrape.
    const exporter = await startHostMode(engine);
    exporters.push(exporter);
    await waitFor(`${CONTAINERS} containers seen`, async () => (await containersSeen(exporter.url)) === CONTAINERS, 120_000, 500);
    const base = `${exporter.url}/`;

    const brotli = await pageView(base, BROWSER_ENCODING);
    const gzip = await pageView(base, 'gzip');
    const sum = (transfers: Transfer[], key: 'wireBytes' | 'bytes') => transfers.reduce((total, entry) => total + entry[key], 0);
    progress(`page view: ${sum(brotli, 'wireBytes')} bytes with brotli, ${sum(gzip, 'wireBytes')} with gzip, ${sum(brotli, 'bytes')} uncompressed`);

    const pid = exporter.child.pid!;
    const scrapeMs = await cpuPerRound(pid, PLAN.rounds, () => get(`${exporter.url}/metrics`));
    const apiAfterScrapeMs = await cpuPerRound(pid, PLAN.rounds, () => get(`${base}api/v1/containers`, { 'accept-encoding': BROWSER_ENCODING }), () => get(`${exporter.url}/metrics`));
    const overview = await (await fetch(`${base}api/v1/containers`)).json() as { history: { bytes: number; span_seconds: number; step_seconds: number; targets: number } };
    progress(`CPU: a scrape ${scrapeMs.toFixed(1)} ms, a refresh after one ${apiAfterScrapeMs.toFixed(1)} ms`);

    // Nothing else scrapes: every refresh scrapes (a 1 s refresh interval, asked every 1.1 s).
    const alone = await startHostMode(engine, ['--ui.refresh-interval=1s']);
    exporters.push(alone);
    await waitFor(`${CONTAINERS} containers seen`, async () => (await containersSeen(alone.url)) === CONTAINERS, 120_000, 500);
    const aloneMs = await cpuPerRound(alone.child.pid!, PLAN.scrapingRounds, () => get(`${alone.url}/api/v1/containers`, { 'accept-encoding': BROWSER_ENCODING }), () => sleep(1100));
    progress(`CPU: a refresh that scrapes ${aloneMs.toFixed(1)} ms`);

    // The same scrape with the page off: what feeding the history costs a scrape.
    const off = await startHostMode(engine, ['--no-ui.enabled']);
    exporters.push(off);
    await waitFor(`${CONTAINERS} containers seen`, async () => (await containersSeen(off.url)) === CONTAINERS, 120_000, 500);
    const scrapeOffMs = await cpuPerRound(off.child.pid!, PLAN.rounds, () => get(`${off.url}/metrics`));
    progress(`CPU: a scrape with the page off ${scrapeOffMs.toFixed(1)} ms`);

    const results = {
      quick: QUICK,
      machine: { nproc: os.cpus().length, node: process.version, kernel: os.release() },
      started_at: new Date(startedAt).toISOString(),
      containers: CONTAINERS,
      page_view: { brotli, gzip, brotli_wire_bytes: sum(brotli, 'wireBytes'), gzip_wire_bytes: sum(gzip, 'wireBytes'), uncompressed_bytes: sum(brotli, 'bytes'), goal_bytes: GOALS.pageViewBytes },
      cpu_ms: { scrape: scrapeMs, scrape_page_off: scrapeOffMs, refresh_after_a_scrape: apiAfterScrapeMs, refresh_that_scrapes: aloneMs, rounds: PLAN.rounds, scraping_rounds: PLAN.scrapingRounds },
      history: { ...overview.history, goal_bytes: GOALS.historyBytes },
      rss_bytes: readRssBytes(pid),
    };
    writeFileSync(OUTPUT, `${JSON.stringify(results, null, 2)}\n`);
    const kB = (bytes: number) => formatNumber(bytes / 1000);
    process.stdout.write(`${markdownTable(['resource', 'uncompressed (kB)', 'brotli (kB)', 'gzip (kB)'], brotli.map((entry, index) => [entry.path.replace(/^\/assets\/[0-9a-f]+\//, 'assets/'), kB(entry.bytes), kB(entry.wireBytes), kB(gzip[index]!.wireBytes)]).concat([['**a page view**', kB(sum(brotli, 'bytes')), `**${kB(sum(brotli, 'wireBytes'))}**`, kB(sum(gzip, 'wireBytes'))]]))}\n\n`);
    process.stdout.write(`${markdownTable(['figure', `${CONTAINERS} containers`, 'goal'], [
      ['page view over the wire (brotli)', `${kB(sum(brotli, 'wireBytes'))} kB`, `at most ${kB(GOALS.pageViewBytes)} kB`],
      ['CPU of a /metrics scrape', `${formatNumber(scrapeMs)} ms`, ''],
      ['CPU of a /metrics scrape with the page off (`--no-ui.enabled`)', `${formatNumber(scrapeOffMs)} ms`, ''],
      ['CPU of a refresh of the page (API answer, brotli) after a scrape', `${formatNumber(apiAfterScrapeMs)} ms`, 'at most a scrape\'s'],
      ['CPU of a refresh of the page that scrapes itself', `${formatNumber(aloneMs)} ms`, ''],
      [`history (${overview.history.span_seconds / 3600} h at ${overview.history.step_seconds} s, ${overview.history.targets} targets)`, `${formatNumber(overview.history.bytes / 1024 ** 2)} MiB`, `at most ${formatNumber(GOALS.historyBytes / 1024 ** 2)} MiB`],
    ])}\n`);
    progress(`wrote ${path.relative(process.cwd(), OUTPUT)} in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  } finally {
    for (const exporter of exporters) await exporter.stop();
    await engine.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench-ui] broke: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
