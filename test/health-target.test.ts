// The `target` sub-status of /health: the watched application's health URL, bounded by a timeout.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interpretTargetHealth, TARGET_CHECK_TIMEOUT_MS } from '../exporter/src/health-target.js';
import { scrape, valueOf } from './helpers/metrics-text.js';
import { freePort, startExporter, type RunningCli } from '../scripts/processes.js';

interface Health { status: string; checks: Record<string, { status: string; message: string; required: boolean; latency_ms: number; details?: Record<string, unknown> }> }

function listen(server: HttpServer | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function close(server: HttpServer | TcpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Starts headroom watching `targetUrl`, runs `body`, stops it. */
async function withExporter(targetUrl: string, body: (exporter: RunningCli) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-health-'));
  const exporter = await startExporter([`--data.dir=${dataDir}`, `--target.health-url=${targetUrl}`]);
  try {
    await body(exporter);
  } finally {
    await exporter.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function health(url: string): Promise<{ code: number; body: Health }> {
  // Bounded here too, so a /health that hangs fails the test instead of stalling it.
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(TARGET_CHECK_TIMEOUT_MS * 5) });
  return { code: response.status, body: await response.json() as Health };
}

test('a target that accepts the connection and never answers: /health answers, target failing', async () => {
  const sockets = new Set<Socket>();
  const silent = createTcpServer((socket) => { sockets.add(socket); socket.on('error', () => {}); });
  const port = await listen(silent);
  try {
    await withExporter(`http://127.0.0.1:${port}/health`, async (exporter) => {
      const { code, body } = await health(exporter.url);
      const target = body.checks.target!;
      assert.is(target.status, 'failing');
      assert.is(target.message, `no answer within ${TARGET_CHECK_TIMEOUT_MS} ms`);
      assert.is(target.required, false);
      assert.ok(sockets.size > 0, 'headroom did connect to the target');
      // The target is what headroom watches: its failure is reported, it does not fail headroom's own health.
      assert.is(code, 200, JSON.stringify(body));
      assert.is(body.checks.database?.status, 'ok');
      const samples = await scrape(`${exporter.url}/metrics`);
      assert.is(valueOf(samples, 'headroom_health_status', { component: 'target' }), 0);
      assert.is(valueOf(samples, 'headroom_health_status', { component: 'database' }), 1);
    });
  } finally {
    for (const socket of sockets) socket.destroy();
    await close(silent);
  }
});

test('a healthy target with sub-statuses: they appear under target', async () => {
  const answer = { status: 'ok', checks: { database: { status: 'ok' }, cookie_manager: 'ok' } };
  const server = createHttpServer((_request, response) => { response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)); });
  const port = await listen(server);
  try {
    await withExporter(`http://127.0.0.1:${port}/health`, async (exporter) => {
      const { code, body } = await health(exporter.url);
      assert.is(code, 200);
      const target = body.checks.target!;
      assert.is(target.status, 'ok', JSON.stringify(target));
      assert.equal(target.details?.checks, answer.checks);
      assert.is(target.details?.http_status, 200);
      const samples = await scrape(`${exporter.url}/metrics`);
      assert.is(valueOf(samples, 'headroom_health_status', { component: 'target' }), 1);
    });
  } finally {
    await close(server);
  }
});

test('a target answering 503, and one refusing connections, are failing', async () => {
  const server = createHttpServer((_request, response) => { response.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"error","services":{"database":"error"}}'); });
  const port = await listen(server);
  try {
    await withExporter(`http://127.0.0.1:${port}/health`, async (exporter) => {
      const { body } = await health(exporter.url);
      assert.is(body.checks.target?.status, 'failing');
      assert.match(body.checks.target!.message, 'HTTP 503');
      assert.equal(body.checks.target?.details?.checks, { database: 'error' });
    });
  } finally {
    await close(server);
  }
  const closedPort = await freePort();
  await withExporter(`http://127.0.0.1:${closedPort}/health`, async (exporter) => {
    const { body } = await health(exporter.url);
    assert.is(body.checks.target?.status, 'failing');
    assert.match(body.checks.target!.message, 'ECONNREFUSED');
  });
});

test('without --target.health-url there is no target sub-status', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-health-'));
  const exporter = await startExporter([`--data.dir=${dataDir}`]);
  try {
    const { body } = await health(exporter.url);
    assert.equal(Object.keys(body.checks).sort(), ['collectors', 'database', 'resources']);
  } finally {
    await exporter.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('interpreting a target answer', () => {
  assert.is(interpretTargetHealth(200, undefined).status, 'ok');
  assert.is(interpretTargetHealth(204, 'not an object').status, 'ok');
  assert.is(interpretTargetHealth(200, { status: 'unhealthy' }).status, 'degraded');
  assert.is(interpretTargetHealth(200, { status: 'UP', components: { db: { status: 'UP' } } }).details?.checks !== undefined, true);
  assert.equal(interpretTargetHealth(200, { status: 'UP', components: { db: { status: 'UP' } } }).details, { http_status: 200, status: 'UP', checks: { db: { status: 'UP' } } });
  assert.is(interpretTargetHealth(500, { status: 'ok' }).status, 'failing');
  assert.is(interpretTargetHealth(302, undefined).status, 'failing');
  assert.is(interpretTargetHealth(503, undefined).message, 'HTTP 503');
});

test.run();
