// `headroom gate` as a process, in front of a stand-in engine that answers before reading any body, keeps
// every connection open and records every byte (test/helpers/fake-engine.ts): each way through the old gate
// that a security review found (request smuggling with a body on GET, header injection, hop-by-hop headers,
// Upgrade, an HTTP/1.0 client of a chunked answer, unbounded and non-integer updates, 60 event streams under a
// 64-descriptor limit) is refused or made harmless, and the stand-in never receives a byte the gate did not
// compose: one request a connection, the method and path that passed, the gate's own headers, and for an
// update the body it wrote again.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseUpdateBody } from '../exporter/src/gate/update.js';
import { CLI, run, start, waitFor, type Started } from '../scripts/processes.js';
import { FAKE_CONTAINERS, startFakeEngine, type FakeEngine } from './helpers/fake-engine.js';
import { head, headerOf, holdsAnswers, parseAnswers, rawExchange, type RawAnswer } from './helpers/raw-http.js';

const MiB = 1024 ** 2;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'hd-gate-'));
const gateSocket = path.join(scratch, 'gate.sock');
const readOnlySocket = path.join(scratch, 'gate-ro.sock');
let fake: FakeEngine;
let gate: Started;

/** Starts `headroom gate` in front of the stand-in and waits for its sockets to answer. */
async function startGate(socket: string, flags: string[], shell = ''): Promise<Started> {
  const command = [process.execPath, CLI, 'gate', `--gate.upstream=unix://${fake.socket}`, `--gate.socket=${socket}`, '--log.level=warn', ...flags];
  const started = shell === '' ? start(command[0]!, command.slice(1)) : start('bash', ['-c', `${shell} && exec "$@"`, 'bash', ...command]);
  await waitFor(`the gate on ${socket}\n${started.output()}`, async () => {
    if (started.child.exitCode !== null) throw new Error(`exited ${started.child.exitCode}: ${started.output()}`);
    return (await rawExchange(socket, [head('GET', '/_ping')], { untilMs: 1000, until: (text) => text.endsWith('OK') }).catch(() => undefined))?.text.startsWith('HTTP/1.1 200');
  }, 15_000, 100);
  return started;
}

/** Read until the server closes the connection. */
const UNTIL_CLOSED = Number.POSITIVE_INFINITY;

/** One exchange on a fresh connection; its answers (by default, once one has come whole). */
async function send(parts: Array<string | Buffer>, options: { socket?: string; untilMs?: number; pauseMs?: number; answers?: number } = {}): Promise<{ answers: RawAnswer[]; closed: boolean; ms: number }> {
  const exchange = await rawExchange(options.socket ?? gateSocket, parts, { untilMs: options.untilMs ?? 3000, pauseMs: options.pauseMs, until: (text) => holdsAnswers(text, options.answers ?? 1) });
  return { answers: parseAnswers(exchange.text), closed: exchange.closed, ms: exchange.ms };
}

function post(target: string, body: string, headers: string[] = []): string {
  return `${head('POST', target, ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...headers]).slice(0, -2)}\r\n${body}`;
}

const GATE_HEADERS = { host: 'docker', 'user-agent': 'headroom-gate', connection: 'close' } as Record<string, string>;
const PATHS = [/^(\/v1\.41)?\/(_ping|version|info|events|containers\/json|containers\/[0-9a-zA-Z_.-]+\/json)(\?[A-Za-z0-9%._~=&+*!'()-]*)?$/, /^(\/v1\.41)?\/containers\/[0-9a-f]{64}\/update$/];

/** Why a connection's bytes are not one request the gate composed, or undefined when they are. */
function notComposed(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  const match = /^(GET|HEAD|POST) (\S+) HTTP\/1\.1\r\n((?:[^\r\n]+\r\n)*)\r\n/.exec(text);
  if (!match) return `not one request head: ${JSON.stringify(text.slice(0, 300))}`;
  const [whole, method, target, headerLines] = match;
  if (!PATHS[method === 'POST' ? 1 : 0]!.test(target!)) return `${method} ${target}: not a path the gate passes`;
  const headers = headerLines!.split('\r\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as const);
  const expected = method === 'POST' ? { ...GATE_HEADERS, 'content-type': 'application/json' } : GATE_HEADERS;
  const names = headers.map(([name]) => name).filter((name) => name !== 'content-length');
  if (names.sort().join() !== Object.keys(expected).sort().join()) return `${method} ${target}: headers ${JSON.stringify(headers)}`;
  for (const [name, value] of headers) if (name !== 'content-length' && expected[name] !== value) return `${method} ${target}: ${name}: ${value}`;
  const rest = text.slice(whole!.length);
  if (method !== 'POST') return rest === '' && !headers.some(([name]) => name === 'content-length') ? undefined : `${method} ${target} carries ${JSON.stringify(rest.slice(0, 200))}`;
  const length = headers.find(([name]) => name === 'content-length')?.[1];
  if (length !== String(Buffer.byteLength(rest))) return `POST ${target}: Content-Length ${length} for ${JSON.stringify(rest.slice(0, 200))}`;
  return 'fields' in parseUpdateBody(rest) ? undefined : `POST ${target}: body ${JSON.stringify(rest)}`;
}

/** Every connection the stand-in saw carried one request the gate composed, and nothing else. */
function assertOnlyComposed(): void {
  const problems = fake.connections().map(notComposed).filter((problem) => problem !== undefined);
  assert.equal(problems, []);
  for (const line of fake.requestLines()) assert.not.match(line, /^(DELETE|PUT|PATCH|OPTIONS|CONNECT)|\/(kill|images|exec|attach|start|stop|secrets)\b/, line);
}

test.before(async () => {
  fake = await startFakeEngine(path.join(scratch, 'engine.sock'));
  gate = await startGate(gateSocket, [`--gate.read-only-socket=${readOnlySocket}`, '--gate.updates', '--gate.request-timeout=2s', '--gate.max-tier=large']);
});

test.after(async () => {
  await gate?.stop();
  await fake?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('request smuggling: a GET with a body is answered 400 and never sent on; the next client\'s request is its own', async () => {
  const before = fake.connections().length;
  const smuggled = 'DELETE /containers/opted?force=1 HTTP/1.1\r\nX: ';
  assert.is(smuggled.length, 46);
  // The issue's case: connection 1 a GET with Content-Length and its body, connection 2 400 ms later a GET whose
  // header value carries a request line.
  const first = send([`${head('GET', '/_ping', [`Content-Length: ${smuggled.length}`]).slice(0, -2)}\r\n${smuggled}`], { answers: UNTIL_CLOSED });
  await new Promise((resolve) => setTimeout(resolve, 400));
  const second = await send([head('GET', '/_ping', ['X-Next: DELETE /containers/opted?force=1 HTTP/1.1'])]);
  const refused = await first;
  assert.is(refused.answers[0]!.status, 400);
  assert.match(JSON.parse(refused.answers[0]!.body).message, /^headroom gate: GET with a Content-Length of "46": GET has no body$/);
  assert.ok(refused.closed, 'the connection is closed after the refusal');
  assert.is(second.answers[0]!.status, 200);
  assert.is(second.answers[0]!.body, 'OK');
  // A Content-Length without the body (the engine would wait for it forever): answered at once.
  const waiting = await send([head('GET', '/_ping', ['Content-Length: 30'])], { answers: UNTIL_CLOSED });
  assert.is(waiting.answers[0]!.status, 400);
  assert.ok(waiting.closed && waiting.ms < 2000, `closed after ${waiting.ms} ms`);
  for (const [method, headers] of [['HEAD', ['Content-Length: 5']], ['GET', ['Transfer-Encoding: chunked']], ['GET', ['Transfer-Encoding: identity']], ['GET', ['Content-Length: 0', 'Content-Length: 7']]] as const) {
    const answer = await send([`${head(method, '/_ping', [...headers]).slice(0, -2)}\r\nhello\r\n`]);
    assert.is(answer.answers[0]!.status, 400, `${method} ${headers.join(', ')}`);
  }
  // The read-only socket too.
  const readOnly = await send([`${head('GET', '/_ping', [`Content-Length: ${smuggled.length}`]).slice(0, -2)}\r\n${smuggled}`], { socket: readOnlySocket, answers: UNTIL_CLOSED });
  assert.ok(readOnly.answers[0]!.status === 400 && readOnly.closed);
  // Content-Length: 0 is no body.
  assert.is((await send([head('GET', '/_ping', ['Content-Length: 0'])])).answers[0]!.status, 200);
  // The refused requests reached nothing: the two answered GETs are the only new connections.
  assert.is(fake.connections().length - before, 2);
  assertOnlyComposed();
});

test('framing tricks are refused by the HTTP parser: Content-Length with Transfer-Encoding, obs-fold, a bare LF, an absolute URL', async () => {
  const cases = [
    'GET /_ping HTTP/1.1\r\nHost: docker\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /containers/opted/update HTTP/1.1\r\nHost: docker\r\nContent-Length: 17\r\nTransfer-Encoding: chunked\r\n\r\n{"Memory":1}',
    'GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Folded: a\r\n DELETE /containers/opted HTTP/1.1\r\n\r\n',
    'GET /_ping HTTP/1.1\nHost: docker\nContent-Length: 5\n\nhello',
  ];
  for (const raw of cases) {
    const answer = await send([raw]);
    assert.ok([400].includes(answer.answers[0]?.status ?? 0), `${JSON.stringify(raw)}: ${answer.answers[0]?.status}`);
  }
  assert.is((await send([head('GET', 'http://docker/_ping')])).answers[0]!.status, 403, 'absolute form');
  assertOnlyComposed();
});

test('the client\'s headers never reach the engine: injected request lines, encodings, credentials, hop-by-hop headers, Upgrade', async () => {
  const injected = await send([head('GET', '/_ping', ['X-Injected: x\r\nDELETE /containers/opted HTTP/1.1'])]);
  assert.is(injected.answers[0]!.status, 400, 'a header line without a colon');
  const answer = await send([head('GET', '/v1.41/containers/json?all=true', [
    'Content-Encoding: gzip', 'Authorization: Bearer stolen', 'X-Registry-Auth: e30=', 'Cookie: a=b', 'X-Forwarded-Host: evil',
    'Connection: Upgrade, HTTP2-Settings, Keep-Alive, TE', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'TE: trailers', 'Keep-Alive: timeout=600',
    'Proxy-Authorization: Basic eDp5',
  ])]);
  assert.is(answer.answers[0]!.status, 200);
  // Never upgraded, whatever the client asks.
  const upgrade = await send([head('GET', '/_ping', ['Connection: Upgrade', 'Upgrade: tcp'])]);
  assert.is(upgrade.answers[0]!.status, 200);
  assert.is(upgrade.answers[0]!.body, 'OK');
  assert.is(headerOf(upgrade.answers[0]!, 'upgrade'), undefined);
  assertOnlyComposed();
  for (const connection of fake.connections()) assert.not.match(connection.toString('latin1'), /gzip|stolen|e30=|Cookie|Upgrade|HTTP2|TE:|Keep-Alive|Proxy|evil|X-Injected/i);
});

test('the engine\'s hop-by-hop headers stay on its side: the answer is framed for the client, also for an HTTP/1.0 client', async () => {
  const answer = (await send([head('GET', '/v1.41/version')])).answers[0]!;
  assert.is(answer.status, 200);
  assert.equal(JSON.parse(answer.body), { Version: '20.10.0', ApiVersion: '1.41' });
  for (const name of ['x-hop', 'proxy-authenticate', 'upgrade', 'trailer']) assert.is(headerOf(answer, name), undefined, name);
  // Node's own Keep-Alive for the client's hop, not the engine's.
  assert.is(headerOf(answer, 'keep-alive'), 'timeout=5');
  assert.not.match(headerOf(answer, 'connection') ?? '', /x-hop/i);
  // HTTP/1.0 has no chunked encoding: the answer ends with the connection instead.
  const old = await send([`GET /v1.41/version HTTP/1.0\r\n\r\n`]);
  assert.ok(old.closed);
  const oldAnswer = old.answers[0]!;
  assert.is(oldAnswer.status, 200);
  assert.is(headerOf(oldAnswer, 'transfer-encoding'), undefined);
  assert.is(oldAnswer.chunked, false);
  assert.equal(JSON.parse(oldAnswer.body), { Version: '20.10.0', ApiVersion: '1.41' });
  // An event stream to an HTTP/1.0 client: its lines as they are.
  const events = await rawExchange(gateSocket, ['GET /events HTTP/1.0\r\n\r\n'], { untilMs: 3000, until: (text) => text.includes('"start"') });
  assert.not.match(events.text, /transfer-encoding/i);
  assert.match(events.text, /\r\n\r\n\{"Type":"container","Action":"start"/);
  assertOnlyComposed();
});

test('pipelined requests: each answered in turn on its own engine connection; a refused one ends the connection', async () => {
  const before = fake.connections().length;
  const both = await send([head('GET', '/_ping') + head('GET', '/v1.41/info')], { answers: 2 });
  assert.equal(both.answers.map((answer) => answer.status), [200, 200]);
  assert.is(fake.connections().length - before, 2, 'two requests, two engine connections');
  const refused = await send([head('GET', '/_ping') + head('DELETE', '/containers/opted') + head('GET', '/info')], { answers: UNTIL_CLOSED });
  assert.equal(refused.answers.map((answer) => answer.status), [200, 403]);
  assert.ok(refused.closed);
  assertOnlyComposed();
});

test('methods and paths outside the allow-list are refused 403; the read-only socket passes no update', async () => {
  for (const [method, target] of [['DELETE', '/containers/opted?force=1'], ['POST', '/containers/opted/kill'], ['POST', '/images/create?fromImage=evil'], ['POST', '/containers/create'],
    ['GET', '/v1.41/containers/opted/logs'], ['GET', '/containers/%2e%2e/json'], ['GET', '/v1.41/containers/opted/json/../../secrets'], ['HEAD', '/events'], ['PUT', '/containers/opted/archive'],
    ['GET', '/v1.41/nodes'], ['OPTIONS', '/_ping'], ['GET', '/_ping?x="'], ['POST', '/containers/opted/update?x=1']] as const) {
    const answer = (await send([head(method, target)])).answers[0]!;
    assert.is(answer.status, 403, `${method} ${target}`);
    if (method !== 'HEAD') assert.match(answer.body, /headroom gate: only GET on containers, events, version and info/);
  }
  const readOnly = (await send([post('/v1.41/containers/opted/update', '{"Memory":1073741824}')], { socket: readOnlySocket })).answers[0]!;
  assert.is(readOnly.status, 403);
  assert.is((await send([head('GET', '/v1.41/containers/json')], { socket: readOnlySocket })).answers[0]!.status, 200);
  assertOnlyComposed();
});

test('updates: limits only, integers only, within the floor and the ceiling (the large tier and the host\'s 8 GiB and 4 CPUs); an opted-in container only', async () => {
  const update = async (container: string, body: string) => (await send([post(`/v1.41/containers/${container}/update`, body)])).answers[0]!;
  for (const body of ['{"Memory":9007199254740991}', '{"CpuQuota":9007199254740991,"CpuPeriod":1000}', '{"CpuQuota":1000,"CpuPeriod":1000000}', '{"Memory":10000000000}',
    '{"Memory":1e7}', '{"Memory":7000000.0}', '{"Memory":5242880}', '{"NanoCpus":1000}', '{"NanoCpus":5000000000}', '{"MemorySwap":0}', '{"CpuQuota":-1}',
    '{"Memory":1073741824,"Memory":2147483648}', '{"Memory":1073741824,"Devices":[]}', '{"RestartPolicy":{"Name":"always"}}', '{}', '[]', 'null', '{"Memory":"1g"}',
    '{"Memory":99999999999999999999}', '{"Memory":1073741824}x', '{"Mem\\u006fry":1073741824}', '{"Memory":2147483648,"MemorySwap":1073741824}']) {
    const answer = await update('opted', body);
    assert.is(answer.status, 403, body);
    assert.match(JSON.parse(answer.body).message, /^headroom gate: /, body);
  }
  // A quota-set container: CPUs from the quota over its period (100000); NanoCpus would conflict.
  assert.is((await update('quota', '{"CpuQuota":500}')).status, 403, 'under 0.01 CPU');
  assert.is((await update('quota', '{"CpuQuota":500000}')).status, 403, '5 CPUs, over the host\'s 4');
  assert.is((await update('quota', '{"CpuPeriod":10000}')).status, 403, 'the quota of 100000 over a period of 10000: 10 CPUs');
  assert.is((await update('quota', '{"NanoCpus":1000000000}')).status, 403);
  assert.is((await update('plain', '{"Memory":1073741824}')).status, 403, 'not opted in');
  assert.is((await update('missing', '{"Memory":1073741824}')).status, 404);
  const tooLarge = await send([post('/v1.41/containers/opted/update', `{"Memory":1073741824${' '.repeat(5000)}}`)]);
  assert.is(tooLarge.answers[0]!.status, 413);
  assert.equal(fake.requestLines().filter((line) => line.startsWith('POST')), [], 'nothing refused reached the engine');

  // Within bounds: passed to the container by its full id, the body as the gate writes it.
  const passed = await update('opted', '{ "MemorySwap": 2147483648,\n "Memory" : 2147483648, "MemoryReservation":536870912, "NanoCpus":2000000000 }');
  assert.is(passed.status, 200);
  const quota = await update('quota', '{"CpuQuota":150000}');
  assert.is(quota.status, 200);
  const posts = fake.connections().map((bytes) => bytes.toString('latin1')).filter((text) => text.startsWith('POST'));
  assert.is(posts.length, 2);
  assert.match(posts[0]!, `POST /v1.41/containers/${FAKE_CONTAINERS.opted!.Id}/update HTTP/1.1\r\n`);
  assert.ok(posts[0]!.endsWith('\r\n\r\n{"Memory":2147483648,"MemorySwap":2147483648,"MemoryReservation":536870912,"NanoCpus":2000000000}'), posts[0]);
  assert.ok(posts[1]!.endsWith(`\r\n\r\n{"CpuQuota":150000}`));
  assertOnlyComposed();
});

test('a slow client is cut off after --gate.request-timeout', async () => {
  const slow = await rawExchange(gateSocket, ['GET /_ping HTTP/1.1\r\nHost: docker\r\n'], { untilMs: 8000 });
  assert.ok(slow.closed, 'closed by the gate');
  assert.ok(slow.ms >= 1500 && slow.ms < 5000, `after ${slow.ms} ms (timeout 2 s, checked every second)`);
});

test('bad flags exit 2 with one line; caps that need more descriptors than the process may open are refused', async () => {
  for (const [args, message] of [
    [['--gate.max-connections=0'], /invalid value "0" for flag --gate.max-connections/],
    [['--gate.upstream=tcp://127.0.0.1:2375'], /--gate.upstream: expected unix:\/\/\/PATH/],
    [['--gate.max-tier=huge'], /--gate.max-tier/],
    [['--gate.socket=relative.sock'], /--gate.socket/],
    [['--gate.max-streams=100'], /--gate.max-streams=100 is over --gate.max-connections=64/],
    [['--no-such-flag'], /unknown flag --no-such-flag/],
  ] as const) {
    const result = await run(process.execPath, [CLI, 'gate', ...args]);
    assert.is(result.code, 2, args.join(' '));
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^headroom gate: /);
    assert.match(result.stderr, message);
  }
  const limited = await run('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${CLI}" gate --gate.socket=${path.join(scratch, 'never.sock')}`]);
  assert.is(limited.code, 2);
  assert.match(limited.stderr, /^headroom gate: --gate.max-connections=64 needs up to 168 open files, over this process's limit of 64: lower it to 12 or less/);
});

/** An event stream asked for and held open: the status it was answered with (0: closed unanswered, -1: no answer in 5 s), and the connection. */
function openStream(socket: string): Promise<{ status: number; text: string; connection: Socket }> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket, () => connection.write(head('GET', '/v1.41/events')));
    let text = '';
    const done = (status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)) => { clearTimeout(timer); resolve({ status, text, connection }); };
    const timer = setTimeout(() => done(-1), 5000);
    // A connection over the cap may be answered and closed before its request is read: writing it then fails.
    connection.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    connection.on('data', (data: Buffer) => {
      text += data.toString('latin1');
      // A stream's head and first event, or a refusal whole.
      if (text.includes('"start"') || holdsAnswers(text, 1)) done();
    });
    connection.on('close', () => done());
  });
}

test('with the default caps (64 connections), 60 event streams at once: 8 served, 52 answered 503, the rest answered', async () => {
  const held: Socket[] = [];
  try {
    const streams = await Promise.all(Array.from({ length: 60 }, () => openStream(gateSocket)));
    held.push(...streams.map((stream) => stream.connection));
    assert.is(streams.filter((stream) => stream.status === 200).length, 8);
    assert.is(streams.filter((stream) => stream.status === 503).length, 52);
    assert.is((await send([head('GET', '/_ping')])).answers[0]!.status, 200);
  } finally {
    for (const connection of held) connection.destroy();
  }
  await waitFor('the streams closed on the engine\'s side', async () => fake.open() === 0, 5000, 50);
  assertOnlyComposed();
});

test('caps: 60 event streams at once under a 64-descriptor limit: 4 streams, the rest refused, other clients still answered', async () => {
  const socket = path.join(scratch, 'capped.sock');
  const capped = await startGate(socket, ['--gate.max-connections=12', '--gate.max-streams=4'], 'ulimit -n 64');
  const held: Socket[] = [];
  try {
    const streams = await Promise.all(Array.from({ length: 60 }, () => openStream(socket)));
    held.push(...streams.map((stream) => stream.connection));
    const statuses = streams.map((stream) => stream.status);
    assert.is(statuses.filter((status) => status === 200).length, 4, JSON.stringify(statuses));
    // Refused: answered 503, or, beyond what the descriptors allow to keep a moment, closed before the
    // client's request could be read (its write then fails). None hangs, none gets a stream.
    assert.ok(statuses.every((status) => status === 200 || status === 503 || status === 0), JSON.stringify(statuses));
    const answered = statuses.filter((status) => status === 503).length;
    console.log(`60 streams at once: 4 served, ${answered} answered 503, ${56 - answered} closed unanswered`);
    for (const stream of streams.filter((candidate) => candidate.status === 503)) {
      assert.match(JSON.parse(parseAnswers(stream.text)[0]!.body).message, /^headroom gate: \d+ (event streams|connections) are open, the most it serves \(--gate.max-(streams|connections)\); try again later$/);
    }
    assert.is(fake.open(), 4, 'four engine connections, one a stream');
    // While the four streams stay open: a fifth is refused, other requests are answered.
    assert.is((await send([head('GET', '/v1.41/events')], { socket })).answers[0]!.status, 503, 'a fifth stream');
    assert.is((await send([head('GET', '/_ping')], { socket })).answers[0]!.status, 200, 'others are answered');
    // Idle connections up to the cap (4 streams and 8 more), then the next is told so.
    const idle = await Promise.all(Array.from({ length: 8 }, () => new Promise<Socket>((resolve) => {
      const connection = createConnection(socket, () => resolve(connection));
    })));
    held.push(...idle);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const over = await send([head('GET', '/_ping')], { socket });
    assert.is(over.answers[0]!.status, 503);
    assert.match(JSON.parse(over.answers[0]!.body).message, /^headroom gate: 12 connections are open, the most it serves \(--gate.max-connections\)/);
    for (const connection of idle) connection.destroy();
    await waitFor('room again', async () => (await send([head('GET', '/_ping')], { socket })).answers[0]?.status === 200, 5000, 100);
    assert.is(capped.child.exitCode, null, 'the gate is still running');
  } finally {
    for (const connection of held) connection.destroy();
    await capped.stop();
  }
  assertOnlyComposed();
});

test.run();
