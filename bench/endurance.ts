// Memory after many scrapes, per configuration, and scrapes while a health probe hangs or the database
// is locked.
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import type { RunningExporter } from './exporters.js';
import { summarizeLatencies } from './measure.js';
import { readRssBytes } from './proc.js';
import type { EnduranceRecord, WaitingRecord } from './report.js';
import { ScrapeClient } from './scrape-client.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** RSS one second after start, then after `scrapes` sequential scrapes on one keep-alive connection. */
export async function measureRssAfterScrapes(exporter: RunningExporter, configuration: string, scrapes: number): Promise<EnduranceRecord> {
  await sleep(1000);
  const startBytes = readRssBytes(exporter.pid);
  const client = new ScrapeClient(exporter.metricsUrl);
  try {
    for (let index = 0; index < scrapes; index += 1) await client.get();
  } finally {
    client.close();
  }
  return { exporter: exporter.name, configuration, scrapes, rss_start_bytes: startBytes, rss_after_bytes: readRssBytes(exporter.pid) };
}

async function scrapeFor(exporter: RunningExporter, seconds: number): Promise<number[]> {
  const client = new ScrapeClient(exporter.metricsUrl);
  const latencies: number[] = [];
  try {
    for (const end = performance.now() + seconds * 1000; performance.now() < end;) latencies.push((await client.get()).ms);
  } finally {
    client.close();
  }
  return latencies;
}

function waitingRecord(situation: string, latencies: number[]): WaitingRecord {
  const { p50, p99 } = summarizeLatencies(latencies);
  return { situation, scrapes: latencies.length, p50_ms: p50, p99_ms: p99, max_ms: Math.max(...latencies) };
}

/** A TCP server that accepts and never answers: a target whose health URL hangs. */
export async function startSilentServer(): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => { sockets.add(socket); socket.on('error', () => {}); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/health`, close: () => { for (const socket of sockets) socket.destroy(); server.close(); } };
}

/** Scrapes for `seconds` while /health waits on a probe of a target that never answers (one round after another). */
export async function scrapesWhileTargetHangs(exporter: RunningExporter, seconds: number): Promise<WaitingRecord> {
  let probing = true;
  const rounds = (async () => { while (probing) await fetch(`${exporter.baseUrl}/health`).then((response) => response.arrayBuffer()); })();
  await sleep(200);
  const latencies = await scrapeFor(exporter, seconds);
  probing = false;
  await rounds;
  return waitingRecord('target health URL never answers', latencies);
}

/** Scrapes for `seconds` while another writer holds the SQLite file's write lock and a report waits behind it. */
export async function scrapesWhileDatabaseLocked(exporter: RunningExporter, dataDir: string, seconds: number): Promise<WaitingRecord> {
  const report = (id: string) => fetch(`${exporter.baseUrl}/statistics`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ report_id: `bench-locked-${id}`, installation_id: 'bench', active_users: 1, app_version: '1', platform: 'linux' }),
  });
  if ((await report('first')).status !== 201) throw new Error('the locked-database step could not store its first report');
  const other = new sqlite3.Database(path.join(dataDir, 'statistics.sqlite'));
  const exec = (sql: string) => new Promise<void>((resolve, reject) => other.exec(sql, (error) => (error ? reject(error) : resolve())));
  try {
    await exec('PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE; DELETE FROM usage_reports WHERE id < 0;');
    const stuck = report('stuck');
    await sleep(200);
    // The busy timeout is 5 s: stay inside it.
    const latencies = await scrapeFor(exporter, Math.min(seconds, 4));
    await exec('ROLLBACK');
    await stuck;
    return waitingRecord('SQLite file locked by another writer, a report waiting', latencies);
  } finally {
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
}
