// HTTPS from --web.config.file: TLS 1.2 at least, TLS 1.3 when asked, client certificates, and basic auth over TLS.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { PAGE_CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY } from '../exporter/src/security/headers.js';
import { CLI, freePort, run, start, waitFor } from '../scripts/processes.js';
import { launchChromium } from './helpers/browser.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-tls-'));
const at = (name: string) => path.join(dir, name);

async function openssl(...args: string[]): Promise<void> {
  const result = await run('openssl', args, { cwd: dir });
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 signed by it, a client certificate signed by it, and one self-signed. */
async function makeCertificates(): Promise<void> {
  const key = (name: string) => openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`);
  await key('ca');
  await key('stranger');
  for (const [name, extension] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    writeFileSync(at(`${name}.ext`), `${extension}\n`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined>; protocol: string | null }

function get(port: number, route: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path: route, ca: readFileSync(at('ca.crt')), agent: false, ...options }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, headers: response.headers, protocol: (response.socket as import('node:tls').TLSSocket).getProtocol?.() ?? null }));
    });
    outgoing.on('error', reject);
    outgoing.setTimeout(10_000, () => outgoing.destroy(new Error('timeout')));
    outgoing.end();
  });
}

async function refused(port: number, route: string, options: RequestOptions = {}): Promise<string> {
  try {
    const answer = await get(port, route, options);
    return `answered ${answer.status}`;
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

async function withExporter(webConfig: string, body: (port: number) => Promise<void>): Promise<void> {
  const file = at(`web-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, webConfig);
  const port = await freePort();
  const exporter = start(process.execPath, [CLI, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', `--web.config.file=${file}`, `--data.dir=${at('data')}`]);
  try {
    await waitFor(`headroom over TLS on ${port}`, async () => {
      if (exporter.child.exitCode !== null) throw new Error(`exited ${exporter.child.exitCode}: ${exporter.output()}`);
      const response = await get(port, '/health', { cert: readFileSync(at('client.crt')), key: readFileSync(at('client.key')) });
      return response.status > 0;
    });
    await body(port);
  } finally {
    assert.is(await exporter.stop(), 0, exporter.output());
  }
}

const tls = (extra = '') => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n${extra}`;
const clientCert = () => ({ cert: readFileSync(at('client.crt')), key: readFileSync(at('client.key')) });
const strangerCert = () => ({ cert: readFileSync(at('stranger.crt')), key: readFileSync(at('stranger.key')) });

test.before(makeCertificates);
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('HTTPS with the default minimum of TLS 1.2; TLS 1.1 and plain HTTP are refused', async () => {
  await withExporter(tls(), async (port) => {
    const answer = await get(port, '/metrics');
    assert.is(answer.status, 200);
    assert.match(answer.body, /headroom_build_info/);
    assert.is(answer.headers['strict-transport-security'], 'max-age=31536000');
    assert.is(answer.headers['x-content-type-options'], 'nosniff');
    const tls12 = await get(port, '/health', { maxVersion: 'TLSv1.2' });
    assert.is(tls12.protocol, 'TLSv1.2');
    assert.match(await refused(port, '/metrics', { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }), /^refused/);
    const plain = await fetch(`http://127.0.0.1:${port}/metrics`).then((response) => `answered ${response.status}`, (error: Error) => `refused: ${error.message}`);
    assert.match(plain, /^refused/, plain);
    assert.match(await refused(port, '/metrics', { ca: readFileSync(at('stranger.crt')) }), /refused: .*(self.signed|unable to verify|certificate)/i, 'a client that does not trust the CA stops');
  });
});

test('min_version TLS13 refuses a TLS 1.2 client', async () => {
  await withExporter(tls('  min_version: TLS13\n'), async (port) => {
    assert.is((await get(port, '/metrics')).protocol, 'TLSv1.3');
    assert.match(await refused(port, '/metrics', { maxVersion: 'TLSv1.2' }), /^refused/);
  });
});

test('RequireAndVerifyClientCert: only clients with a certificate from client_ca_file', async () => {
  await withExporter(tls('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n'), async (port) => {
    assert.is((await get(port, '/metrics', clientCert())).status, 200);
    assert.match(await refused(port, '/metrics'), /^refused/, 'no certificate');
    assert.match(await refused(port, '/metrics', strangerCert()), /^refused/, 'a certificate from another CA');
  });
});

test('RequireAnyClientCert and VerifyClientCertIfGiven', async () => {
  await withExporter(tls('  client_auth_type: RequireAnyClientCert\n'), async (port) => {
    assert.is((await get(port, '/metrics', strangerCert())).status, 200, 'any certificate will do');
    assert.match(await refused(port, '/metrics'), /^refused/, 'but one is needed');
  });
  await withExporter(tls('  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n'), async (port) => {
    assert.is((await get(port, '/metrics')).status, 200, 'none given');
    assert.is((await get(port, '/metrics', clientCert())).status, 200, 'a valid one given');
    assert.match(await refused(port, '/metrics', strangerCert()), /^refused/, 'an unverifiable one given');
  });
});

test('basic auth over TLS', async () => {
  await withExporter(`${tls()}basic_auth_users:\n  prometheus: '${bcrypt.hashSync('pw', 6)}'\n`, async (port) => {
    assert.is((await get(port, '/metrics')).status, 401);
    assert.is((await get(port, '/metrics', { auth: 'prometheus:pw' })).status, 200);
    assert.equal(Object.keys(JSON.parse((await get(port, '/health')).body)), ['status']);
  });
});

test('the page and its API behind the same TLS and basic auth: 401 without credentials; in Chromium with them, drawn, no console error', async () => {
  await withExporter(`${tls()}basic_auth_users:\n  viewer: '${bcrypt.hashSync('pw', 6)}'\n`, async (port) => {
    const page = await get(port, '/');
    assert.is(page.status, 401);
    assert.not.match(page.body, '<html');
    for (const route of ['/api/v1/containers', '/api/v1/containers/sidecar', '/api/v1/']) assert.is((await get(port, route)).status, 401, route);
    const allowed = await get(port, '/', { auth: 'viewer:pw' });
    assert.is(allowed.status, 200);
    assert.is(allowed.headers['content-security-policy'], PAGE_CONTENT_SECURITY_POLICY);
    assert.is(allowed.headers['strict-transport-security'], STRICT_TRANSPORT_SECURITY);
    const asset = /href="(assets\/[0-9a-f]{12}\/page\.css)"/.exec(allowed.body)![1]!;
    assert.is((await get(port, `/${asset}`)).status, 401, 'assets too');
    const browser = await launchChromium();
    try {
      const { page: tab } = await browser.newPage({ httpCredentials: { username: 'viewer', password: 'pw' }, ignoreHTTPSErrors: true });
      await tab.goto(`https://127.0.0.1:${port}/`);
      await tab.waitForFunction(() => document.querySelectorAll('#rows tbody tr').length === 1, undefined, { timeout: 20_000 });
      assert.is(await tab.$eval('#rows tbody tr', (row) => row.getAttribute('data-key')), 'sidecar');
      await tab.click('#rows tbody tr a');
      await tab.waitForSelector('#memory-plot canvas');
      assert.equal(browser.problems, []);
    } finally {
      await browser.close();
    }
  });
});

test('a key that does not match the certificate stops start-up with exit code 1 and a message', async () => {
  writeFileSync(at('mismatch.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n');
  const result = await run(process.execPath, [CLI, '--web.listen-address=127.0.0.1:0', `--web.config.file=${at('mismatch.yml')}`, `--data.dir=${at('data')}`]);
  assert.is.not(result.code, 0);
  assert.match(result.stdout + result.stderr, /key values mismatch|cannot start/);
});

test.run();
