// Basic auth, the statistics bearer token, the write rate limit and the security headers, on a running exporter.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import pino from 'pino';
import type { Express } from 'express';
import { parseServeCommandLine } from '../../exporter/src/config.js';
import { startExporter, type ExtensionFactory, type RunningExporter } from '../../exporter/src/serve.js';
import { securityExtension } from '../../exporter/src/security/extension.js';
import { SECURITY_HEADERS } from '../../exporter/src/security/headers.js';

const TOKEN = 'test-token-0123456789abcdef';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const PROMETHEUS = basic('prometheus', 'scrape-secret');

/** Stands in for the statistics store: answers 201 to every write that reaches it. */
const writesReached: string[] = [];
const stubRoutes: ExtensionFactory = {
  name: 'stub routes',
  start: async () => ({
    mount: (app: Express) => {
      app.post('/statistics', (request, response) => { writesReached.push(request.path); response.status(201).json({ id: writesReached.length }); });
      app.get('/boom', () => { throw new Error(`ENOENT: no such file or directory, open '${process.cwd()}/data/headroom.sqlite'`); });
    },
  }),
};

interface Setup { exporter: RunningExporter; url: string; dir: string }

async function setup(webConfig: string | undefined, extraArgs: string[] = []): Promise<Setup> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-access-'));
  const args = ['--web.listen-address=127.0.0.1:0', '--log.level=silent', ...extraArgs];
  if (webConfig !== undefined) {
    writeFileSync(path.join(dir, 'web.yml'), webConfig);
    args.push(`--web.config.file=${path.join(dir, 'web.yml')}`);
  }
  writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
  const config = parseServeCommandLine(args.map((arg) => arg.replace('TOKEN_FILE', path.join(dir, 'token'))), {}).config;
  const exporter = await startExporter(config, [securityExtension, stubRoutes], pino({ level: 'silent' }));
  return { exporter, url: `http://127.0.0.1:${exporter.address.port}`, dir };
}

async function teardown(setup: Setup): Promise<void> {
  await setup.exporter.close();
  rmSync(setup.dir, { recursive: true, force: true });
}

const users = `basic_auth_users:\n  prometheus: '${bcrypt.hashSync('scrape-secret', 4)}'\n  operator: '${bcrypt.hashSync('other', 4)}'\n`;
const post = (url: string, headers: Record<string, string> = {}) => fetch(`${url}/statistics`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{}' });

test('basic auth: every route but /health needs credentials; 401 with a Basic challenge', async () => {
  const s = await setup(users);
  try {
    for (const route of ['/metrics', '/', '/statistics', '/no-such-page']) {
      const response = await fetch(`${s.url}${route}`);
      assert.is(response.status, 401, route);
      assert.is(response.headers.get('www-authenticate'), 'Basic realm="headroom", charset="UTF-8"', route);
      assert.equal(await response.json(), { error: 'unauthorized' });
    }
    for (const wrong of [basic('prometheus', 'scrape-secreT'), basic('nobody', 'scrape-secret'), basic('operator', 'scrape-secret'), 'Basic ???', `Bearer ${TOKEN}`]) {
      assert.is((await fetch(`${s.url}/metrics`, { headers: { Authorization: wrong } })).status, 401, wrong);
    }
    const metrics = await fetch(`${s.url}/metrics`, { headers: { Authorization: PROMETHEUS } });
    assert.is(metrics.status, 200);
    assert.match(await metrics.text(), /headroom_build_info/);
    assert.is((await post(s.url)).status, 401, 'writes need credentials too');
    assert.is((await post(s.url, { Authorization: basic('operator', 'other') })).status, 201);
  } finally {
    await teardown(s);
  }
});

test('basic auth: /health without credentials answers its overall status only; with them, the details', async () => {
  const s = await setup(users);
  try {
    const anonymous = await fetch(`${s.url}/health`);
    const body = await anonymous.json() as Record<string, unknown>;
    assert.equal(Object.keys(body), ['status'], JSON.stringify(body));
    assert.ok(body.status === 'ok' || body.status === 'failing');
    assert.ok(anonymous.status === 200 || anonymous.status === 503, 'the status code still tells a container healthcheck');
    const detailed = await (await fetch(`${s.url}/health`, { headers: { Authorization: PROMETHEUS } })).json() as Record<string, unknown>;
    assert.ok('checks' in detailed && 'memory_percent' in detailed, JSON.stringify(detailed));
    assert.is((await fetch(`${s.url}/health`, { headers: { Authorization: basic('prometheus', 'wrong') } })).status, 401, 'wrong credentials are refused, not downgraded');
    const variant = await (await fetch(`${s.url}/HEALTH/`)).json() as Record<string, unknown>;
    assert.equal(Object.keys(variant), ['status'], 'the same under the spellings Express routes alike');
  } finally {
    await teardown(s);
  }
});

test('bearer token: POST /statistics needs it, under every spelling of the path; reads stay open without basic auth', async () => {
  writesReached.length = 0;
  const s = await setup(undefined, ['--statistics.token-file=TOKEN_FILE']);
  try {
    const missing = await post(s.url);
    assert.is(missing.status, 401);
    assert.is(missing.headers.get('www-authenticate'), 'Bearer realm="headroom"');
    assert.is((await post(s.url, { Authorization: `Bearer ${TOKEN}x` })).status, 401);
    assert.is((await post(s.url, { Authorization: `Bearer ${TOKEN.slice(1)}` })).status, 401);
    assert.is((await post(s.url, { Authorization: basic('x', TOKEN) })).status, 401);
    for (const spelling of ['/STATISTICS', '/statistics/', '/Statistic%73']) {
      const response = await fetch(`${s.url}${spelling}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      assert.is(response.status, 401, spelling);
    }
    assert.is(writesReached.length, 0, 'no unauthorised write reached the route');
    assert.is((await post(s.url, { Authorization: `Bearer ${TOKEN}` })).status, 201);
    assert.is((await post(s.url, { Authorization: `bearer ${TOKEN}` })).status, 201, 'the scheme is case-insensitive');
    assert.is(writesReached.length, 2);
    assert.is((await fetch(`${s.url}/metrics`)).status, 200, 'reads need no token');
  } finally {
    await teardown(s);
  }
});

test('bearer token and basic auth together: either is accepted for a write, only basic auth for reads', async () => {
  const s = await setup(users, ['--statistics.token-file=TOKEN_FILE']);
  try {
    const refused = await post(s.url);
    assert.is(refused.headers.get('www-authenticate'), 'Basic realm="headroom", charset="UTF-8", Bearer realm="headroom"');
    assert.is((await post(s.url, { Authorization: `Bearer ${TOKEN}` })).status, 201);
    assert.is((await post(s.url, { Authorization: PROMETHEUS })).status, 201);
    assert.is((await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 401, 'the write token does not open reads');
  } finally {
    await teardown(s);
  }
});

test('writes are rate-limited per client: 429 with Retry-After once the burst is spent; reads are not', async () => {
  writesReached.length = 0;
  const s = await setup(undefined, ['--statistics.rate-limit=1']);
  try {
    const statuses: number[] = [];
    for (let index = 0; index < 6; index += 1) statuses.push((await post(s.url)).status);
    assert.equal(statuses.slice(0, 2), [201, 201], 'a burst of twice the rate');
    assert.ok(statuses.slice(2).includes(429), statuses.join(' '));
    const limited = await post(s.url);
    assert.is(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(await limited.json(), { error: 'too many requests' });
    for (let index = 0; index < 10; index += 1) assert.is((await fetch(`${s.url}/metrics`)).status, 200);
  } finally {
    await teardown(s);
  }
  const unlimited = await setup(undefined, ['--statistics.rate-limit=0']);
  try {
    for (let index = 0; index < 50; index += 1) assert.is((await post(unlimited.url)).status, 201, 'rate 0 turns the limit off');
  } finally {
    await teardown(unlimited);
  }
});

test('security headers on every answer: 200, 401, 404, 429, 500, HTML and JSON', async () => {
  const s = await setup(users, ['--statistics.rate-limit=0.5']);
  try {
    const answers = [
      await fetch(`${s.url}/`, { headers: { Authorization: PROMETHEUS } }),
      await fetch(`${s.url}/metrics`, { headers: { Authorization: PROMETHEUS } }),
      await fetch(`${s.url}/health`),
      await fetch(`${s.url}/metrics`),
      await fetch(`${s.url}/nowhere`, { headers: { Authorization: PROMETHEUS } }),
      await fetch(`${s.url}/boom`, { headers: { Authorization: PROMETHEUS } }),
      await post(s.url),
      await post(s.url),
    ];
    assert.equal(answers.map((answer) => answer.status).sort(), [200, 200, 200, 401, 401, 404, 429, 500].map(Number).sort());
    for (const answer of answers) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.is(answer.headers.get(name), value, `${answer.url} ${answer.status} ${name}`);
      assert.is(answer.headers.get('x-powered-by'), null);
      assert.is(answer.headers.get('strict-transport-security'), null, 'no HSTS over plain HTTP');
    }
  } finally {
    await teardown(s);
  }
});

test('error answers carry no stack trace and no internal path', async () => {
  const s = await setup(undefined);
  try {
    const bodies: string[] = [];
    for (const [route, init] of [
      ['/boom', {}],
      ['/%E0%A4%A', {}],
      ['/metrics/%zz', {}],
      ['/statistics', { method: 'PUT', body: 'x' }],
    ] as Array<[string, RequestInit]>) {
      const response = await fetch(`${s.url}${route}`, init);
      assert.ok(response.status >= 400, `${route}: ${response.status}`);
      bodies.push(await response.text());
    }
    for (const body of bodies) {
      assert.not.match(body, /\bat .*:\d+:\d+/, body);
      assert.not.match(body, /\/(work|tmp|home|root|usr|data|dist|node_modules)\b/, body);
      assert.not.match(body, /ENOENT|Error:/, body);
      assert.not.match(body, /<pre>/, body);
    }
  } finally {
    await teardown(s);
  }
});

test.run();
