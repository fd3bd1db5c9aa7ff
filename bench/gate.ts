// `make bench-gate`: what `headroom gate` costs host mode's traffic. The exporter holds one events stream and
// inspects a container each time one changes; the gate opens a connection to the engine for every request
// (none is shared between clients). Measured in a private engine: one container's inspection, sequentially,
// straight to the engine on one kept-alive connection (the exporter without the gate), straight to the engine
// on a connection a request, and through the gate; p50 and p99 latency, the engine's and the gate's CPU per
// request, the gate's RSS, with the image's V8 flags and with host mode's. QUICK=1 (or --quick): fewer requests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startEngine } from '../scripts/docker-engine.js';
import { CLI_COMMAND, HOST_MODE_CLI_COMMAND, start, waitFor } from '../scripts/processes.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { summarizeLatencies, ticksToSeconds } from './measure.js';
import { readCpuTicks, readRssBytes } from './proc.js';
import { formatMiB, formatNumber, markdownTable } from './report.js';

const QUICK = process.env.QUICK === '1' || process.argv.includes('--quick');
const REQUESTS = QUICK ? 300 : 2000;
const WARMUP = 50;
const IMAGE = STANDIN_TAGS.nodeAlpine;

function progress(message: string): void {
  process.stderr.write(`[bench-gate] ${message}\n`);
}

function get(socketPath: string, apiPath: string, agent: Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const outgoing = request({ socketPath, path: apiPath, agent, headers: { host: 'docker' } }, (answer) => {
      answer.resume();
      answer.once('end', () => (answer.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${apiPath}: ${answer.statusCode}`))));
    });
    outgoing.once('error', reject);
    outgoing.end();
  });
}

interface Row { way: string; p50: number; p99: number; engineCpuMs: number; gateCpuMs?: number; gateRssBytes?: number }

async function measure(way: string, socketPath: string, apiPath: string, agent: Agent | false, enginePid: number, gatePid?: number): Promise<Row> {
  for (let index = 0; index < WARMUP; index += 1) await get(socketPath, apiPath, agent);
  const engineBefore = readCpuTicks(enginePid);
  const gateBefore = gatePid === undefined ? 0 : readCpuTicks(gatePid);
  const latencies: number[] = [];
  for (let index = 0; index < REQUESTS; index += 1) latencies.push(await get(socketPath, apiPath, agent));
  const perRequestMs = (ticks: number) => (ticksToSeconds(ticks) * 1000) / REQUESTS;
  const { p50, p99 } = summarizeLatencies(latencies);
  progress(`${way}: p50 ${p50.toFixed(2)} ms`);
  return { way, p50, p99, engineCpuMs: perRequestMs(readCpuTicks(enginePid) - engineBefore), gateCpuMs: gatePid === undefined ? undefined : perRequestMs(readCpuTicks(gatePid) - gateBefore) };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'hd-bench-gate-'));
  const engine = await startEngine({ tmpfs: '2g' });
  try {
    await loadStandins(engine, [IMAGE]);
    const id = (await engine.docker(['run', '--detach', '--memory=64m', IMAGE, 'node', '-e', 'setInterval(() => {}, 1 << 30)'])).stdout.trim();
    const enginePid = Number(readFileSync(path.join(engine.dir, 'pid'), 'utf8'));
    const inspection = `/v1.41/containers/${id}/json`;
    const keptAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const rows = [
      await measure('engine, one kept-alive connection', engine.socket, inspection, keptAlive, enginePid),
      await measure('engine, a connection a request', engine.socket, inspection, false, enginePid),
    ];
    keptAlive.destroy();
    // The image's entry point's V8 flags (as the stack runs the gate), and host mode's (the compilers on).
    for (const [flags, command] of [['the image\'s V8 flags', CLI_COMMAND], ['host mode\'s V8 flags', HOST_MODE_CLI_COMMAND]] as const) {
      const gateSocket = path.join(scratch, 'gate.sock');
      const [node, ...cli] = command;
      const gate = start(node, [...cli, 'gate', `--gate.upstream=unix://${engine.socket}`, `--gate.socket=${gateSocket}`, '--log.level=warn']);
      try {
        await waitFor('the gate', async () => (await get(gateSocket, '/_ping', false).catch(() => undefined)) !== undefined, 15_000, 100);
        const row = await measure(`through the gate, ${flags} (kept alive to it; a connection a request to the engine)`, gateSocket, inspection, new Agent({ keepAlive: true, maxSockets: 1 }), enginePid, gate.child.pid!);
        rows.push({ ...row, gateRssBytes: readRssBytes(gate.child.pid!) });
      } finally {
        await gate.stop();
      }
    }
    process.stdout.write(`\n${REQUESTS} sequential inspections of one container (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, Node ${process.versions.node}, load average ${os.loadavg()[0]!.toFixed(1)})\n\n`);
    process.stdout.write(`${markdownTable(['way', 'p50 ms', 'p99 ms', 'dockerd CPU ms / request', 'gate CPU ms / request', 'gate RSS MiB'], rows.map((row) => [
      row.way, formatNumber(row.p50), formatNumber(row.p99), formatNumber(row.engineCpuMs), row.gateCpuMs === undefined ? '' : formatNumber(row.gateCpuMs), row.gateRssBytes === undefined ? '' : formatMiB(row.gateRssBytes),
    ]))}\n`);
  } finally {
    await engine.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
