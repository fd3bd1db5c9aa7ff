// `headroom gate` in front of a real engine (a private dockerd, Go's net/http behind its socket): the attacks
// of test/gate.test.ts end to end. A GET with a body is answered 400 at once (the engine, sent one, waits for
// the body and answers nothing); a DELETE smuggled in a header or pipelined reaches nothing; a bounded update
// of an opted-in container changes its limits, and one over the bounds, written as a float or of a container
// not opted in changes nothing; the events stream, also to an HTTP/1.0 client; the exporter in host mode
// through the gate sees every container.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, start, startExporter, waitFor, type Started } from '../scripts/processes.js';
import { startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { head, holdsAnswers, parseAnswers, rawExchange, type RawAnswer } from './helpers/raw-http.js';
import { parseExposition } from './helpers/metrics-text.js';

const MiB = 1024 ** 2;
const IMAGE = STANDIN_TAGS.nodeAlpine;
const IDLE = ['node', '-e', 'setInterval(() => {}, 1 << 30)'];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'hd-gate-engine-'));
const gateSocket = path.join(scratch, 'gate.sock');
const readOnlySocket = path.join(scratch, 'gate-ro.sock');
let engine: DockerEngine | undefined;
let gate: Started | undefined;

interface Limits { Memory: number; MemorySwap: number; NanoCpus: number; CpuQuota: number; CpuPeriod: number }

async function limits(name: string): Promise<Limits> {
  return JSON.parse((await engine!.docker(['inspect', '--format', '{{json .HostConfig}}', name])).stdout) as Limits;
}

async function exists(name: string): Promise<boolean> {
  return (await engine!.docker(['inspect', name], { check: false })).code === 0;
}

async function send(parts: string[], options: { socket?: string; answers?: number; untilMs?: number } = {}): Promise<{ answers: RawAnswer[]; closed: boolean; ms: number }> {
  const exchange = await rawExchange(options.socket ?? gateSocket, parts, { untilMs: options.untilMs ?? 5000, until: (text) => holdsAnswers(text, options.answers ?? 1) });
  return { answers: parseAnswers(exchange.text), closed: exchange.closed, ms: exchange.ms };
}

function post(target: string, body: string): string {
  return `${head('POST', target, ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]).slice(0, -2)}\r\n${body}`;
}

async function update(container: string, body: string, socket = gateSocket): Promise<RawAnswer> {
  return (await send([post(`/v1.41/containers/${container}/update`, body)], { socket })).answers[0]!;
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '2g' });
  await loadStandins(engine, [IMAGE]);
  const run = (name: string, flags: string[]) => engine!.docker(['run', '--detach', '--name', name, ...flags, IMAGE, ...IDLE]);
  await run('gate-opted', ['--label', 'headroom.autosize=true', '--memory=256m', '--memory-swap=256m', '--cpus=0.5']);
  await run('gate-quota', ['--label', 'headroom.autosize=true', '--memory=256m', '--cpu-quota=50000', '--cpu-period=100000']);
  await run('gate-plain', ['--memory=256m', '--cpus=0.5']);
  await run('gate-victim', []);
  gate = start(process.execPath, [CLI, 'gate', `--gate.upstream=unix://${engine.socket}`, `--gate.socket=${gateSocket}`, `--gate.read-only-socket=${readOnlySocket}`, '--gate.updates', '--log.level=warn']);
  await waitFor(`the gate\n${gate.output()}`, async () => (await send([head('GET', '/_ping')], { untilMs: 1000 }).catch(() => undefined))?.answers[0]?.status === 200, 15_000, 100);
});

test.after(async () => {
  await gate?.stop();
  await engine?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('request smuggling: a GET with a body is answered 400 at once, a DELETE in the next client\'s header or pipelined behind a GET reaches nothing', async () => {
  const smuggled = 'DELETE /containers/gate-victim?force=1 HTTP/1.1\r\nX: ';
  const first = send([`${head('GET', '/_ping', [`Content-Length: ${smuggled.length}`]).slice(0, -2)}\r\n${smuggled}`], { answers: Number.POSITIVE_INFINITY });
  await new Promise((resolve) => setTimeout(resolve, 400));
  const second = await send([head('GET', '/_ping', ['X-Next: DELETE /containers/gate-victim?force=1 HTTP/1.1'])]);
  const refused = await first;
  assert.is(refused.answers[0]!.status, 400);
  assert.ok(refused.closed);
  assert.equal([second.answers[0]!.status, second.answers[0]!.body], [200, 'OK']);
  // The request the engine would hold open waiting for its body: answered by the gate, no hang.
  const waiting = await send([head('GET', '/_ping', ['Content-Length: 30'])], { answers: Number.POSITIVE_INFINITY });
  assert.is(waiting.answers[0]!.status, 400);
  assert.ok(waiting.closed && waiting.ms < 2000, `closed after ${waiting.ms} ms`);
  const pipelined = await send([head('GET', '/_ping') + head('DELETE', '/containers/gate-victim?force=1') + head('POST', '/containers/gate-victim/kill')], { answers: Number.POSITIVE_INFINITY });
  assert.equal(pipelined.answers.map((answer) => answer.status), [200, 403]);
  assert.ok(await exists('gate-victim'), 'the victim is still there');
  assert.is(JSON.parse((await engine!.docker(['inspect', '--format', '{{json .State.Running}}', 'gate-victim'])).stdout), true);
});

test('never upgraded; the engine\'s chunked answer reaches an HTTP/1.0 client without chunks', async () => {
  const upgrade = await send([head('GET', '/_ping', ['Connection: Upgrade', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA'])]);
  assert.equal([upgrade.answers[0]!.status, upgrade.answers[0]!.body], [200, 'OK']);
  // Past events up to now: a finite stream the engine sends chunked.
  const now = Math.ceil(Date.now() / 1000);
  const old = await rawExchange(gateSocket, [`GET /v1.41/events?since=0&until=${now} HTTP/1.0\r\n\r\n`], { untilMs: 10_000 });
  assert.ok(old.closed);
  const answer = parseAnswers(old.text)[0]!;
  assert.is(answer.status, 200);
  assert.is(answer.chunked, false);
  const lines = answer.body.trim().split('\n').map((line) => JSON.parse(line) as { Action: string; Actor: { Attributes: { name?: string } } });
  assert.ok(lines.some((event) => event.Action === 'start' && event.Actor.Attributes.name === 'gate-victim'), answer.body.slice(0, 500));
});

test('the events stream passes: a container started after subscribing is seen', async () => {
  const connection = createConnection(gateSocket);
  let text = '';
  connection.on('data', (data: Buffer) => { text += data.toString('latin1'); });
  connection.write(head('GET', `/v1.41/events?filters=${encodeURIComponent('{"type":["container"]}')}`));
  try {
    await waitFor('the stream\'s head', async () => text.includes('\r\n\r\n'), 10_000, 50);
    assert.match(text, /^HTTP\/1\.1 200 /);
    await engine!.docker(['run', '--detach', '--name', 'gate-late', IMAGE, ...IDLE]);
    await waitFor('gate-late\'s start event', async () => /"status":"start".*"name":"gate-late"/.test(text), 15_000, 100);
  } finally {
    connection.destroy();
  }
});

test('60 event streams at once: the 8 the gate serves (--gate.max-streams) stream, 52 are answered 503, others are answered', async () => {
  const connections: Array<ReturnType<typeof createConnection>> = [];
  try {
    const heads = await Promise.all(Array.from({ length: 60 }, () => new Promise<string>((resolve) => {
      const connection = createConnection(gateSocket, () => connection.write(head('GET', '/v1.41/events')));
      connections.push(connection);
      let text = '';
      connection.on('error', () => resolve(text));
      connection.on('data', (data: Buffer) => {
        text += data.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      connection.on('close', () => resolve(text));
    })));
    const statuses = heads.map((text) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0));
    assert.is(statuses.filter((status) => status === 200).length, 8, JSON.stringify(statuses));
    assert.is(statuses.filter((status) => status === 503).length, 52, JSON.stringify(statuses));
    assert.equal((await send([head('GET', '/_ping')])).answers.map((answer) => [answer.status, answer.body]), [[200, 'OK']]);
  } finally {
    for (const connection of connections) connection.destroy();
  }
});

test('a bounded update of an opted-in container passes and changes its limits in place', async () => {
  const started = (await engine!.docker(['inspect', '--format', '{{.State.StartedAt}}', 'gate-opted'])).stdout;
  const passed = await update('gate-opted', JSON.stringify({ Memory: 512 * MiB, MemorySwap: 512 * MiB, NanoCpus: 1e9 }));
  assert.is(passed.status, 200, passed.body);
  const after = await limits('gate-opted');
  assert.equal([after.Memory, after.MemorySwap, after.NanoCpus], [512 * MiB, 512 * MiB, 1e9]);
  assert.is((await engine!.docker(['inspect', '--format', '{{.State.StartedAt}}', 'gate-opted'])).stdout, started, 'not restarted');
  assert.is((await update('gate-quota', '{"CpuQuota":100000}')).status, 200);
  assert.is((await limits('gate-quota')).CpuQuota, 100_000);
});

test('over the bounds, under the floor, not an integer, not a limit, not opted in, or on the read-only socket: refused, nothing changes', async () => {
  const info = JSON.parse((await engine!.docker(['info', '--format', '{{json .}}'])).stdout) as { NCPU: number; MemTotal: number };
  const before = await Promise.all(['gate-opted', 'gate-quota', 'gate-plain'].map(limits));
  for (const [container, body] of [
    ['gate-opted', '{"Memory":9007199254740991}'], ['gate-opted', `{"Memory":${info.MemTotal + 1}}`], ['gate-opted', `{"Memory":${4096 * MiB + 1}}`],
    ['gate-opted', `{"NanoCpus":${(info.NCPU + 1) * 1e9}}`], ['gate-quota', '{"CpuQuota":9007199254740991,"CpuPeriod":1000}'], ['gate-quota', '{"CpuQuota":1000,"CpuPeriod":1000000}'],
    ['gate-opted', '{"Memory":1e7}'], ['gate-opted', '{"Memory":7000000.0}'], ['gate-opted', '{"Memory":1048576}'], ['gate-opted', '{"CpuQuota":-1}'],
    ['gate-opted', '{"RestartPolicy":{"Name":"always"}}'], ['gate-opted', '{"PidsLimit":1}'], ['gate-plain', '{"Memory":536870912}'],
  ] as const) {
    const answer = await update(container, body);
    assert.is(answer.status, 403, `${container} ${body}: ${answer.body}`);
    assert.match(JSON.parse(answer.body).message, /^headroom gate: /);
  }
  assert.is((await update('gate-opted', '{"Memory":536870912}', readOnlySocket)).status, 403, 'the read-only socket');
  assert.is((await update('gate-none', '{"Memory":536870912}')).status, 404);
  assert.equal(await Promise.all(['gate-opted', 'gate-quota', 'gate-plain'].map(limits)), before);
});

test('the exporter in host mode through the gate sees every container, and their limits', async () => {
  const exporter = await startExporter([`--target.docker=unix://${gateSocket}`, `--data.dir=${path.join(scratch, 'data')}`, '--statistics.enabled=false']);
  try {
    const samples = await waitFor('the containers\' series', async () => {
      const found = parseExposition(await (await fetch(`${exporter.url}/metrics`)).text()).filter((sample) => sample.name === 'headroom_memory_limit_bytes');
      return found.some((sample) => sample.labels.container === 'gate-plain') ? found : undefined;
    }, 30_000, 500);
    assert.is(samples.find((sample) => sample.labels.container === 'gate-plain')?.value, 256 * MiB);
    assert.is(samples.find((sample) => sample.labels.container === 'gate-opted')?.value, 512 * MiB);
  } finally {
    await exporter.stop();
  }
  assert.not.match(gate!.output(), /"level":50/, 'no engine errors in the gate\'s log');
});

test.run();
