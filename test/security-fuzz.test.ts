// POST /statistics under at least 10,000 generated bad requests: every answer a 4xx (never a 5xx), the process
// alive, the tables unchanged, the memory bounded. Then SQL-looking text in valid reports is stored verbatim.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import knex from 'knex';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SQLITE_FILE_NAME } from '../exporter/src/statistics/database.js';
import { MAX_BODY_BYTES, usageReportSchema } from '../exporter/src/statistics/schema.js';
import { startExporter, type RunningCli } from '../scripts/processes.js';

const MiB = 1024 ** 2;
const FUZZ_REQUESTS = 10_000;
const CONCURRENCY = 32;

/** Deterministic: a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BadRequest { kind: string; method?: string; contentType?: string | undefined; headers?: Record<string, string>; body: Buffer }

const VALID = { report_id: 'fuzz-valid-0001', installation_id: 'install-fuzz', active_users: 3, app_version: '1.0.0', platform: 'linux', metrics: { requests: 10 } };
const FIELDS = Object.keys(VALID) as Array<keyof typeof VALID>;
const SQL = ["'; DROP TABLE usage_reports; --", "1 OR 1=1", "x' UNION SELECT * FROM sqlite_master --", '"); DELETE FROM usage_reports; --', "Robert'); DROP TABLE headroom_migrations;--"];
/** Values of the wrong type (or out of range) for each field. */
const WRONG_VALUES: Record<keyof typeof VALID, unknown[]> = {
  report_id: [null, true, 12345678, 1.5, '', 'short', [], ['fuzz-valid-0001'], {}, { id: 'x' }],
  installation_id: [null, false, 0, -1, '', [], {}, ['install-fuzz']],
  active_users: [null, true, '3', '', 'many', -1, 1.5, 1e308, [], [3], {}, { n: 3 }],
  app_version: [null, true, 1, 1.5, '', [], ['1.0.0'], {}],
  platform: [null, false, 0, '', [], {}, { os: 'linux' }],
  metrics: [null, true, 1, 'x', [], [1, 2], { a: 'x' }, { a: null }, { a: true }, { a: [1] }, { a: {} }],
};
const HUGE_NUMBERS = ['1e999', '-1e999', '1e308', '9007199254740993', '-9007199254740993', '123456789012345678901234567890', '0.0000000000000000000001', '-1', '1.5'];

function generate(seed: number, count: number): BadRequest[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const without = (field: keyof typeof VALID) => Object.fromEntries(Object.entries(VALID).filter(([key]) => key !== field));
  const makers: Array<() => BadRequest> = [
    () => {
      const field = pick(FIELDS);
      return { kind: 'wrong type', body: json({ ...VALID, [field]: pick(WRONG_VALUES[field]) }) };
    },
    () => ({ kind: 'missing field', body: json(without(pick(FIELDS.filter((field) => field !== 'metrics')))) }),
    () => ({ kind: 'unknown field', body: json({ ...VALID, [pick(['__proto__', 'constructor', 'id', 'received_at', 'admin', 'x'.repeat(100)])]: 1 }) }),
    () => ({ kind: 'prototype pollution', body: Buffer.from(`{"__proto__":{"polluted":true},${JSON.stringify(VALID).slice(1)}`) }),
    () => ({ kind: 'huge number', body: Buffer.from(JSON.stringify({ ...VALID, active_users: 0 }).replace('"active_users":0', `"active_users":${pick(HUGE_NUMBERS)}`)) }),
    () => ({ kind: 'huge metric', body: Buffer.from(JSON.stringify({ ...VALID, metrics: { m: 0 } }).replace('"m":0', `"m":${pick(['1e999', '-1e999', 'NaN', 'Infinity', '0x10', '01'])}`)) }),
    () => {
      const depth = 2 + Math.floor(next() * 5000);
      return { kind: 'deep nesting', body: Buffer.from(`{"report_id":"fuzz-deep-0001","installation_id":"i","active_users":1,"app_version":"1","platform":"p","metrics":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`) };
    },
    () => {
      const depth = 1 + Math.floor(next() * 8000);
      return { kind: 'deep array', body: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`) };
    },
    () => ({ kind: 'long string', body: json({ ...VALID, [pick(['report_id', 'installation_id', 'app_version', 'platform'])]: 'x'.repeat(129 + Math.floor(next() * 14000)) }) }),
    () => ({ kind: 'too many metrics', body: json({ ...VALID, metrics: Object.fromEntries(Array.from({ length: 33 + Math.floor(next() * 300) }, (_, index) => [`m${index}`, index])) }) }),
    () => ({ kind: 'bad metric name', body: json({ ...VALID, metrics: { [pick(['1abc', 'a-b', 'a b', '', 'é', 'x'.repeat(65), "'; DROP TABLE x;--"])]: 1 } }) }),
    () => {
      const text = JSON.stringify({ ...VALID, app_version: 'PLACEHOLDER' });
      const [before, after] = text.split('PLACEHOLDER') as [string, string];
      const bad = pick([[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
      return { kind: 'invalid UTF-8', body: Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]) };
    },
    () => ({ kind: 'lone surrogate or control', body: Buffer.from(JSON.stringify({ ...VALID, platform: 'PH' }).replace('PH', pick(['\\ud800', 'a\\udfff', '\\udc00\\ud800', '\\u0000', '\\u001b[31m', 'a\\nb', '\\u007f']))) }),
    () => ({ kind: 'SQL in identifier', body: json({ ...VALID, [pick(['report_id', 'installation_id'])]: pick(SQL) }) }),
    () => ({ kind: 'SQL with a bad field', body: json({ ...VALID, app_version: pick(SQL), platform: pick(SQL), active_users: pick(['1; DROP TABLE usage_reports', -5, 0.5]) }) }),
    () => ({ kind: 'bad date', body: json({ ...VALID, reported_at: pick(['yesterday', '2024-13-45T00:00:00Z', "2024-01-01'; DROP TABLE usage_reports;--", 1700000000, '']) }) }),
    () => ({ kind: 'wrong content type', contentType: pick([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'json', '*/*', 'text/json']), body: json(VALID) }),
    () => ({ kind: 'unsupported charset', contentType: `application/json; charset=${pick(['latin1', 'utf-16', 'utf-32', 'ebcdic', 'x'])}`, body: Buffer.from('{"a":1}') }),
    () => ({ kind: 'oversized', body: Buffer.concat([Buffer.from('{"report_id":"'), Buffer.alloc(MAX_BODY_BYTES + 1 + Math.floor(next() * 4 * MAX_BODY_BYTES), 0x61), Buffer.from('"}')]) }),
    () => ({ kind: 'gzip bomb', headers: { 'Content-Encoding': 'gzip' }, body: gzipSync(Buffer.alloc(8 * MiB, 0x20)) }),
    () => ({ kind: 'bad encoding', headers: { 'Content-Encoding': pick(['gzip', 'deflate', 'br', 'compress', 'zstd', 'x']) }, body: json(VALID) }),
    () => {
      const text = JSON.stringify(VALID);
      return { kind: 'truncated JSON', body: Buffer.from(text.slice(0, Math.floor(next() * (text.length - 1)))) };
    },
    () => ({ kind: 'not JSON', body: Buffer.from(pick(['', 'null', '[]', '"text"', '42', 'true', 'NaN', '{a:1}', "{'a':1}", '{"a":1,}', '/* */{}', '\ufeff{}', 'undefined', '{"a":1}{"b":2}'])) }),
    () => ({ kind: 'random bytes', body: Buffer.from(Array.from({ length: Math.floor(next() * 2000) }, () => Math.floor(next() * 256))) }),
    () => ({ kind: 'wrong method', method: pick(['PUT', 'PATCH', 'DELETE']), body: json(VALID) }),
  ];
  return Array.from({ length: count }, () => pick(makers)());
}

interface Answer { status?: number; error?: string }

function send(agent: Agent, port: number, bad: BadRequest): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'Content-Length': bad.body.length, ...bad.headers };
    if (!('contentType' in bad)) headers['Content-Type'] = 'application/json';
    else if (bad.contentType !== undefined) headers['Content-Type'] = bad.contentType;
    const outgoing = request({ host: '127.0.0.1', port, method: bad.method ?? 'POST', path: '/statistics', agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode! }));
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    outgoing.end(bad.body);
  });
}

/** Raw socket requests: the HTTP client would refuse to send them. Resolves with the status line's code, or undefined when the server closed without one. */
function raw(port: number, chunks: Array<string | Buffer>, gapMs = 0, ending: 'end' | 'after a second' | 'never' = 'after a second'): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { answer += chunk; });
    socket.on('error', () => {});
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(answer) ? Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)![1]) : undefined));
    socket.once('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((wait) => setTimeout(wait, gapMs));
      }
      if (ending === 'end') socket.end();
      else if (ending === 'after a second') setTimeout(() => socket.end(), 1000);
      // 'never': the server must give up on it (request timeout).
    });
  });
}

function residentBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

async function tableSnapshot(dataDir: string): Promise<string> {
  const db = knex({ client: 'sqlite3', connection: { filename: path.join(dataDir, SQLITE_FILE_NAME) }, useNullAsDefault: true });
  try {
    const schema = await db('sqlite_master').select('type', 'name', 'sql').orderBy('name');
    const reports = await db('usage_reports').select('*').orderBy('id');
    const migrations = await db('headroom_migrations').select('*').orderBy('id');
    return JSON.stringify({ schema, reports, migrations });
  } finally {
    await db.destroy();
  }
}

const post = (url: string, body: unknown) => fetch(`${url}/statistics`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** Bodies that are bad only at the byte or code-point level; the schema alone cannot see it after decoding. */
const BAD_BELOW_THE_SCHEMA = new Set(['invalid UTF-8', 'lone surrogate or control', 'wrong content type', 'unsupported charset', 'bad encoding', 'wrong method', 'gzip bomb', 'oversized']);

test('the generator: every JSON body it makes that the schema could see is rejected by the schema', () => {
  const requests = generate(20261127, FUZZ_REQUESTS);
  assert.ok(new Set(requests.map((bad) => bad.kind)).size >= 25, 'every kind is generated');
  for (const bad of requests) {
    if (BAD_BELOW_THE_SCHEMA.has(bad.kind)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(bad.body.toString('utf8'));
    } catch {
      continue;
    }
    assert.not.ok(usageReportSchema.safeParse(parsed).success, `${bad.kind} generated a valid report: ${bad.body.subarray(0, 200).toString()}`);
  }
});

let dataDir = '';
let exporter: RunningCli | undefined;

test.before(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-fuzz-'));
  exporter = await startExporter([`--data.dir=${dataDir}`, '--statistics.rate-limit=0']);
  for (let index = 0; index < 5; index += 1) assert.is((await post(exporter.url, { ...VALID, report_id: `fuzz-seed-000${index}` })).status, 201);
});

test.after(async () => {
  await exporter?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test(`${FUZZ_REQUESTS} generated bad requests: 4xx only, process alive, tables unchanged, memory bounded`, async () => {
  const { port, child } = exporter!;
  const before = await tableSnapshot(dataDir);
  for (let index = 0; index < 200; index += 1) await fetch(`${exporter!.url}/metrics`); // warm up before measuring
  const rssBefore = residentBytes(child.pid!);

  // Slow bodies run alongside: one byte every 50 ms of an invalid body, and bodies that stall past the request timeout.
  const slowInvalid = Array.from({ length: 4 }, () => raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n', ...'{"report_id": 12345, "x": [1, 2, 3, 4]}'.padEnd(40).split('')], 50));
  const stalled = Array.from({ length: 4 }, () => raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"report_id":'], 0, 'never'));

  const requests = generate(20261127, FUZZ_REQUESTS);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const byStatus = new Map<number, number>();
  const failures: string[] = [];
  const resets = new Map<string, number>();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests.length) {
      const bad = requests[next]!;
      next += 1;
      const answer = await send(agent, port, bad);
      if (answer.status !== undefined) {
        byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
        if (answer.status < 400 || answer.status >= 500) failures.push(`${bad.kind}: ${answer.status} for ${bad.body.subarray(0, 120).toString('latin1')}`);
      } else {
        resets.set(bad.kind, (resets.get(bad.kind) ?? 0) + 1);
      }
    }
  }));
  agent.destroy();

  // Malformed at the HTTP level: the parser answers 400 or 431, or closes.
  const protocol = await Promise.all([
    raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n']),
    raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']),
    raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n']),
    raw(port, [`POST /statistics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`]),
    raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"report_id":"trunc'], 0, 'end'),
    raw(port, ['POST /statistics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"report_id":"tr'], 0, 'end'),
  ]);
  const slowAnswers = await Promise.all([...slowInvalid, ...stalled]);

  const total = [...byStatus.values()].reduce((sum, count) => sum + count, 0);
  const summary = `statuses ${JSON.stringify(Object.fromEntries(byStatus))}, resets ${JSON.stringify(Object.fromEntries(resets))}, protocol ${protocol.join(' ')}, slow ${slowAnswers.join(' ')}`;
  console.log(summary);
  assert.equal(failures.slice(0, 5), [], summary);
  assert.ok(total >= FUZZ_REQUESTS * 0.99, `answered ${total} of ${FUZZ_REQUESTS}: ${summary}`);
  for (const kind of resets.keys()) assert.ok(['oversized', 'gzip bomb'].includes(kind), `only a body the server refused unread may be cut off: ${summary}`);
  for (const status of [...protocol, ...slowAnswers]) assert.ok(status === undefined || (status >= 400 && status < 500), summary);
  assert.equal(slowAnswers.slice(0, 4), [400, 400, 400, 400], 'slow invalid bodies are read to their end and refused');
  assert.equal(slowAnswers.slice(4), [408, 408, 408, 408], 'stalled bodies time out');

  assert.is(child.exitCode, null, 'the process is alive');
  const health = await fetch(`${exporter!.url}/health`);
  assert.is((await health.json() as { checks: { database: { status: string } } }).checks.database.status, 'ok');
  assert.is(await tableSnapshot(dataDir), before, 'tables unchanged');
  const grown = residentBytes(child.pid!) - rssBefore;
  console.log(`RSS before ${Math.round(rssBefore / MiB)} MiB, after ${Math.round((rssBefore + grown) / MiB)} MiB`);
  assert.ok(grown < 100 * MiB, `RSS grew by ${Math.round(grown / MiB)} MiB`);
});

test('SQL-looking text in valid reports is stored verbatim and harms nothing', async () => {
  const { url } = exporter!;
  const before = JSON.parse(await tableSnapshot(dataDir)) as { schema: unknown; reports: unknown[] };
  for (const [index, text] of SQL.entries()) {
    const response = await post(url, { ...VALID, report_id: `fuzz-sql-000${index}`, app_version: text.slice(0, 64), platform: text.slice(0, 64), metrics: { drop_table: index } });
    assert.is(response.status, 201, text);
  }
  const after = JSON.parse(await tableSnapshot(dataDir)) as { schema: unknown; reports: Array<{ report_id: string; app_version: string }> };
  assert.equal(after.schema, before.schema, 'schema unchanged');
  assert.is(after.reports.length, before.reports.length + SQL.length);
  for (const [index, text] of SQL.entries()) assert.is(after.reports.find((row) => row.report_id === `fuzz-sql-000${index}`)?.app_version, text.slice(0, 64));
});

test.run();
