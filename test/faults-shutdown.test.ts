// SIGTERM under load: requests in flight finish, new connections are refused, the process exits 0 within a bound.
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHUTDOWN_GRACE_MS } from '../exporter/src/serve.js';
import { startExporter } from '../scripts/processes.js';

/** Exit must come well before Docker's SIGKILL; the grace period plus start-up slack of the slowest machine. */
const EXIT_BOUND_MS = SHUTDOWN_GRACE_MS + 5000;

const report = (id: string) => JSON.stringify({ report_id: `shutdown-${id}`, installation_id: 'install-1', active_users: 3, app_version: '1.2.3', platform: 'linux' });

interface Outcome { status?: number; error?: string; connection?: string }

function send(agent: Agent, port: number, method: 'GET' | 'POST', route: string, body?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path: route, agent, headers: body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {} }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode!, connection: response.headers.connection }));
      response.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    outgoing.end(body);
  });
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

test('SIGTERM under load', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-shutdown-'));
  const dataArgs = [`--data.dir=${dir}`, '--statistics.rate-limit=0'];
  const exporter = await startExporter(dataArgs);
  try {
    // A write whose body is half sent when SIGTERM arrives: in flight by any definition.
    const slowBody = report('slow');
    const slow = connect(exporter.port, '127.0.0.1');
    let slowAnswer = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk) => { slowAnswer += chunk; });
    const slowClosed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write(`POST /statistics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${slowBody.length}\r\n\r\n${slowBody.slice(0, 20)}`);

    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const outcomes: Outcome[] = [];
    const created: string[] = [];
    let loading = true;
    let sequence = 0;
    const worker = async (index: number) => {
      while (loading) {
        const id = `${index}-${(sequence += 1)}`;
        const outcome = index % 2 === 0 ? await send(agent, exporter.port, 'GET', '/metrics') : await send(agent, exporter.port, 'POST', '/statistics', report(id));
        outcomes.push(outcome);
        if (outcome.status === 201) created.push(id);
        if (outcome.error === 'ECONNREFUSED') return;
      }
    };
    const workers = Array.from({ length: 16 }, (_, index) => worker(index));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const answeredBefore = outcomes.filter((outcome) => outcome.status !== undefined).length;

    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => exporter.child.once('exit', (code, signal) => resolve({ code, signal })));
    const signalled = performance.now();
    exporter.child.kill('SIGTERM');
    let refusing = false;
    for (let attempt = 0; attempt < 100 && !refusing; attempt += 1) {
      refusing = await refusesConnections(exporter.port);
      if (!refusing) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(refusing, 'new connections are refused after SIGTERM');
    slow.write(slowBody.slice(20)); // not end(): a half-closed request is an aborted one to Node's server
    let giveUp: NodeJS.Timeout | undefined;
    const stillRunning = new Promise<{ code: null; signal: string }>((resolve) => { giveUp = setTimeout(() => resolve({ code: null, signal: 'none: still running' }), 2 * EXIT_BOUND_MS); });
    const { code, signal } = await Promise.race([exited, stillRunning]);
    clearTimeout(giveUp);
    const exitMs = performance.now() - signalled;
    loading = false;
    await Promise.all(workers);
    agent.destroy();
    await slowClosed; // closed by the server: the test never ends this socket

    assert.is(code, 0, `exit code (signal ${signal}): ${exporter.output()}`);
    assert.ok(exitMs < EXIT_BOUND_MS, `exited after ${Math.round(exitMs)} ms`);
    assert.match(slowAnswer, /^HTTP\/1\.1 201 /, `the write in flight finished: ${JSON.stringify(slowAnswer.slice(0, 200))}`);
    assert.ok(answeredBefore > 20, `load was running (${answeredBefore} answers before SIGTERM)`);
    const statuses = new Set(outcomes.flatMap((outcome) => (outcome.status === undefined ? [] : [outcome.status])));
    assert.equal([...statuses].sort(), [200, 201], 'every answer was a success: none cut short with a 5xx');
    const errors = new Set(outcomes.flatMap((outcome) => (outcome.error === undefined ? [] : [outcome.error])));
    for (const error of errors) assert.ok(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up'].includes(error), `connection-level refusals only: ${[...errors].join(', ')}`);

    // Every write answered 201 before or during shutdown is in the database.
    const restarted = await startExporter(dataArgs);
    try {
      const summary = await (await fetch(`${restarted.url}/statistics`)).json() as { reports_stored: number };
      assert.is(summary.reports_stored, created.length + 1, 'the load\'s 201s and the slow one');
    } finally {
      assert.is(await restarted.stop(), 0);
    }
  } finally {
    await exporter.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
