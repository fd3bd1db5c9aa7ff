#!/usr/bin/env node
// Soak run: starts the built exporter, scrapes /metrics every 100 ms and writes usage reports for a while,
// and checks that its resident memory at the end is within 10 % of what it was after warm-up and that
// its open file descriptors (other than sockets) did not grow. Prints one JSON summary line last; exits 0 on a pass, 1 otherwise.
//
//   node scripts/soak.mjs                         # ten minutes, one minute of warm-up
//   node scripts/soak.mjs --duration=45s --warmup=15s
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cli = path.join(root, 'dist', 'exporter', 'src', 'cli.js');
const { NODE_FLAGS } = await import(path.join(root, 'dist', 'exporter', 'src', 'node-flags.js'));

function seconds(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text} (e.g. 100ms, 45s, 10m)`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2]];
}

const options = { duration: '10m', warmup: '1m', 'scrape-interval': '100ms', 'write-interval': '200ms', 'rss-tolerance': '10', 'rss-baseline': 'after-warmup' };
for (const argument of process.argv.slice(2)) {
  const match = /^--([\w-]+)=(.*)$/.exec(argument);
  if (!match || !(match[1] in options)) {
    process.stderr.write(`usage: node scripts/soak.mjs [--duration=10m] [--warmup=1m] [--scrape-interval=100ms] [--write-interval=200ms] [--rss-tolerance=10] [--rss-baseline=after-warmup|warmup-peak]\n`);
    process.exit(2);
  }
  options[match[1]] = match[2];
}
const durationMs = seconds(options.duration) * 1000;
const warmupMs = seconds(options.warmup) * 1000;
const scrapeEveryMs = seconds(options['scrape-interval']) * 1000;
const writeEveryMs = seconds(options['write-interval']) * 1000;
const rssTolerance = Number(options['rss-tolerance']) / 100;
// after-warmup: the end is within the tolerance of the 10 s after warm-up, either way (the ten-minute criterion).
// warmup-peak: the end is at most the tolerance above the highest RSS seen until then; for short runs, which end
// before the heap's garbage-collection cycle settles (it swings by 10-15 % in the first minutes).
const rssBaseline = options['rss-baseline'];
if (!['after-warmup', 'warmup-peak'].includes(rssBaseline)) throw new Error(`--rss-baseline: after-warmup or warmup-peak, not ${rssBaseline}`);
/** Samples (one a second) whose median stands for "after warm-up" and for "at the end". */
const WINDOW = 10;
if (warmupMs + 2 * WINDOW * 1000 > durationMs) throw new Error('the run must last at least warm-up + 20 s');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

const port = await freePort();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-soak-'));
const child = spawn(process.execPath, [...NODE_FLAGS, cli, `--web.listen-address=127.0.0.1:${port}`, `--data.dir=${dataDir}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000); });
const CLIENT_SOCKETS = 4;
// An idle socket is dropped after 1 s, well before the server's keep-alive timeout (5 s) closes it: otherwise a
// request sent on a socket at the moment the server closes it meets ECONNRESET, which the hint Node takes from
// `Keep-Alive: timeout=5` (1 s of margin) does not prevent when a loaded machine delays the client's timers.
const agent = new Agent({ keepAlive: true, maxSockets: CLIENT_SOCKETS, timeout: 1000 });

function call(method, route, body) {
  return new Promise((resolve) => {
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const outgoing = request({ host: '127.0.0.1', port, method, path: route, agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
      response.on('error', () => resolve('error'));
    });
    outgoing.on('error', (error) => resolve(error.code ?? 'error'));
    outgoing.end(body);
  });
}

/** Sockets are counted apart: their number follows the client's keep-alive connections (at most CLIENT_SOCKETS). */
function sample() {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  let fds = 0;
  let sockets = 0;
  for (const fd of readdirSync(`/proc/${child.pid}/fd`)) {
    let target = '';
    try { target = readlinkSync(`/proc/${child.pid}/fd/${fd}`); } catch { continue; }
    if (target.startsWith('socket:')) sockets += 1;
    else fds += 1;
  }
  return { rssBytes: Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024, fds, sockets };
}

const median = (values) => { const sorted = [...values].sort((a, b) => a - b); return sorted[Math.floor(sorted.length / 2)]; };
const MiB = 1024 * 1024;

let exitedEarly = false;
child.once('exit', () => { exitedEarly = true; });
const startDeadline = Date.now() + 15_000;
while ((await call('GET', '/health')) === 'ECONNREFUSED' || (await call('GET', '/health')) === 'error') {
  if (exitedEarly || Date.now() > startDeadline) { process.stderr.write(`the exporter did not start:\n${stderr}\n`); process.exit(1); }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const counts = { scrapes: 0, writes: 0, reads: 0, skipped: 0 };
const unexpected = {};
const note = (what, status, expected) => { if (!expected.includes(status)) unexpected[`${what} ${status}`] = (unexpected[`${what} ${status}`] ?? 0) + 1; };
const samples = [];
const started = Date.now();
let sequence = 0;

function every(intervalMs, task) {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) { counts.skipped += 1; return; }
    busy = true;
    try { await task(); } finally { busy = false; }
  }, intervalMs);
  return () => clearInterval(timer);
}

const stops = [
  every(scrapeEveryMs, async () => { counts.scrapes += 1; note('GET /metrics', await call('GET', '/metrics'), [200]); }),
  every(writeEveryMs, async () => {
    sequence += 1;
    // One report in ten repeats the previous one: the idempotent path is soaked too.
    const id = sequence % 10 === 0 ? sequence - 1 : sequence;
    const report = { report_id: `soak-${id.toString().padStart(8, '0')}`, installation_id: `install-${id % 20}`, active_users: id % 17, app_version: '1.0.0', platform: 'linux', metrics: { requests_total: id } };
    counts.writes += 1;
    note('POST /statistics', await call('POST', '/statistics', JSON.stringify(report)), sequence % 10 === 0 ? [200] : [201]);
  }),
  every(1000, async () => { counts.reads += 1; note('GET /health', await call('GET', '/health'), [200, 503]); note('GET /statistics', await call('GET', '/statistics'), [200]); }),
  every(1000, async () => { samples.push({ atMs: Date.now() - started, ...sample() }); }),
];
const progress = setInterval(() => {
  const last = samples.at(-1);
  if (last) process.stderr.write(`soak ${Math.round(last.atMs / 1000)} s: RSS ${(last.rssBytes / MiB).toFixed(1)} MiB, fds ${last.fds} + ${last.sockets} sockets, scrapes ${counts.scrapes}, writes ${counts.writes}\n`);
}, 30_000);

await new Promise((resolve) => {
  const timer = setTimeout(resolve, durationMs);
  child.once('exit', () => { clearTimeout(timer); resolve(); });
});
for (const stop of stops) stop();
clearInterval(progress);
await new Promise((resolve) => setTimeout(resolve, 500));
const alive = child.exitCode === null && child.signalCode === null;
agent.destroy();
child.kill('SIGTERM');
const exitCode = alive ? await new Promise((resolve) => child.once('exit', (code) => resolve(code))) : child.exitCode;
rmSync(dataDir, { recursive: true, force: true });

const afterWarmup = samples.filter((entry) => entry.atMs >= warmupMs).slice(0, WINDOW);
const atEnd = samples.slice(-WINDOW);
const rssAfterWarmup = median(afterWarmup.map((entry) => entry.rssBytes));
const rssAtEnd = median(atEnd.map((entry) => entry.rssBytes));
// The fewest in each window: a scrape in progress holds a kernel file open for a moment, a leaked one stays.
const fdsAfterWarmup = Math.min(...afterWarmup.map((entry) => entry.fds));
const fdsAtEnd = Math.min(...atEnd.map((entry) => entry.fds));
const socketsMax = Math.max(...samples.map((entry) => entry.sockets));
const rssChange = (rssAtEnd - rssAfterWarmup) / rssAfterWarmup;
const rssWarmupPeak = Math.max(...samples.filter((entry) => entry.atMs <= afterWarmup.at(-1).atMs).map((entry) => entry.rssBytes));
const rssAbovePeak = (rssAtEnd - rssWarmupPeak) / rssWarmupPeak;
const failures = [];
if (!alive) failures.push(`the exporter exited during the run:\n${stderr}`);
if (exitCode !== 0) failures.push(`the exporter exited ${exitCode} on SIGTERM`);
if (Object.keys(unexpected).length > 0) failures.push(`unexpected answers: ${JSON.stringify(unexpected)}`);
if (rssBaseline === 'after-warmup' && Math.abs(rssChange) > rssTolerance) failures.push(`RSS changed by ${(rssChange * 100).toFixed(1)} % (tolerance ${rssTolerance * 100} %)`);
if (rssBaseline === 'warmup-peak' && rssAbovePeak > rssTolerance) failures.push(`RSS ended ${(rssAbovePeak * 100).toFixed(1)} % above its warm-up peak (tolerance ${rssTolerance * 100} %)`);
if (fdsAtEnd > fdsAfterWarmup) failures.push(`file descriptors (other than sockets) grew from ${fdsAfterWarmup} to ${fdsAtEnd}`);
// The listening socket plus one per client connection.
if (socketsMax > CLIENT_SOCKETS + 1) failures.push(`${socketsMax} sockets open for ${CLIENT_SOCKETS} client connections`);

const summary = {
  pass: failures.length === 0,
  duration_s: durationMs / 1000,
  warmup_s: warmupMs / 1000,
  rss_after_warmup_mib: Number((rssAfterWarmup / MiB).toFixed(1)),
  rss_at_end_mib: Number((rssAtEnd / MiB).toFixed(1)),
  rss_change_percent: Number((rssChange * 100).toFixed(2)),
  rss_baseline: rssBaseline,
  rss_warmup_peak_mib: Number((rssWarmupPeak / MiB).toFixed(1)),
  rss_above_warmup_peak_percent: Number((rssAbovePeak * 100).toFixed(2)),
  rss_max_mib: Number((Math.max(...samples.map((entry) => entry.rssBytes)) / MiB).toFixed(1)),
  fds_after_warmup: fdsAfterWarmup,
  fds_at_end: fdsAtEnd,
  fds_max: Math.max(...samples.map((entry) => entry.fds)),
  sockets_max: socketsMax,
  ...counts,
  unexpected,
  failures,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.pass ? 0 : 1);
