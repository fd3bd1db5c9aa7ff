// The web config file, the token file, the rate limiter and the bcrypt verifier, alone; and the CLI refusing bad files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { BasicAuthVerifier } from '../../exporter/src/security/basic-auth.js';
import { parseBasicAuthorization } from '../../exporter/src/security/basic-credentials.js';
import { parseBearerAuthorization, parseTokenFile, tokenMatches } from '../../exporter/src/security/bearer-token.js';
import { RateLimiter } from '../../exporter/src/security/rate-limit.js';
import { acceptsClientCertificate } from '../../exporter/src/security/server.js';
import { parseWebConfig, WebConfigError } from '../../exporter/src/security/web-config.js';
import { CLI, run } from '../../scripts/processes.js';

const HASH = bcrypt.hashSync('s3cret', 4);

function rejects(yaml: string, expected: RegExp): void {
  try {
    parseWebConfig(yaml, '/etc/headroom');
  } catch (error) {
    assert.instance(error, WebConfigError);
    assert.match((error as Error).message, expected);
    assert.not.match((error as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable(`accepted:\n${yaml}`);
}

test('a full exporter-toolkit file: TLS 1.2 by default, paths relative to the file', () => {
  const config = parseWebConfig(`tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\nbasic_auth_users:\n  prometheus: '${HASH}'\n`, '/etc/headroom');
  assert.equal(config.tls, { certFile: '/etc/headroom/tls/server.crt', keyFile: '/abs/server.key', clientAuthType: 'NoClientCert', minVersion: 'TLSv1.2' });
  assert.is(config.basicAuthUsers?.get('prometheus'), HASH);
});

test('client certificates and TLS 1.3', () => {
  const config = parseWebConfig('tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n', '/d');
  assert.is(config.tls?.minVersion, 'TLSv1.3');
  assert.is(config.tls?.clientAuthType, 'RequireAndVerifyClientCert');
  assert.is(config.tls?.clientCaFile, '/d/ca.crt');
});

test('an empty file turns nothing on', () => {
  assert.equal(parseWebConfig('', '/d'), {});
  assert.equal(parseWebConfig('# nothing\n', '/d'), {});
});

test('invalid files are refused with the offending key', () => {
  rejects('tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n', /tls_server_config\.min_version: TLS 1\.0 and 1\.1 are not accepted/);
  rejects('tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS99\n', /min_version/);
  rejects('tls_server_config:\n  cert_file: a\n', /tls_server_config\.key_file/);
  rejects('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n', /client_ca_file/);
  rejects('tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n', /client_auth_type/);
  rejects('tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n', /unsupported key "cipher_suites"/);
  rejects('tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n', /max_version/);
  rejects('basic_auth_users:\n  admin: plaintext-password\n', /basic_auth_users\.admin: not a bcrypt hash/);
  rejects('basic_auth_users: {}\n', /lists no user/);
  rejects('basic_auth_user:\n  admin: x\n', /unknown or unsupported key "basic_auth_user"/);
  rejects('tls_server_config: [\n', /not valid YAML/);
  rejects('- a\n- b\n', /expected object/);
});

test('basic authorization header parsing', () => {
  const encode = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
  assert.equal(parseBasicAuthorization(encode('alice:pa:ss')), { user: 'alice', password: 'pa:ss' });
  assert.equal(parseBasicAuthorization(encode('alice:')), { user: 'alice', password: '' });
  assert.is(parseBasicAuthorization(encode(':password')), undefined);
  assert.is(parseBasicAuthorization(encode('no-colon')), undefined);
  assert.is(parseBasicAuthorization('Bearer abc'), undefined);
  assert.is(parseBasicAuthorization('Basic !!!'), undefined);
  assert.is(parseBasicAuthorization(undefined), undefined);
});

test('unknown users cost one bcrypt comparison at the configured cost, like known users', async () => {
  const hash = bcrypt.hashSync('right', 5);
  const verifier = new BasicAuthVerifier(new Map([['alice', hash]]));
  const compared: string[] = [];
  const original = bcrypt.compare;
  (bcrypt as { compare: unknown }).compare = (password: string, against: string) => { compared.push(against); return original(password, against); };
  try {
    assert.is(await verifier.verify({ user: 'mallory', password: 'right' }), false);
    assert.is(await verifier.verify({ user: 'alice', password: 'wrong' }), false);
    assert.is(await verifier.verify({ user: 'alice', password: 'right' }), true);
    assert.is(compared.length, 3, 'one comparison each');
    assert.is(compared[1], hash);
    assert.is.not(compared[0], hash, 'the unknown user is compared with a dummy hash');
    assert.is(compared[0]!.slice(0, 7), hash.slice(0, 7), 'of the same version and cost');
    assert.is(await verifier.verify({ user: 'alice', password: 'right' }), true);
    assert.is(compared.length, 3, 'a successful login is remembered');
    assert.is(await verifier.verify({ user: 'alice', password: 'wrong' }), false);
    assert.is(compared.length, 4, 'a failed one is not');
  } finally {
    (bcrypt as { compare: unknown }).compare = original;
  }
});

test('bearer token file and comparison', () => {
  assert.is(parseTokenFile('0123456789abcdef0123\nsecond line\n'), '0123456789abcdef0123');
  assert.is(parseTokenFile('  0123456789abcdef  \n'), '0123456789abcdef');
  assert.is(parseTokenFile('short\n'), undefined);
  assert.is(parseTokenFile('\n0123456789abcdef0123\n'), undefined);
  assert.is(parseTokenFile('0123456789 abcdef0123\n'), undefined);
  assert.is(parseBearerAuthorization('Bearer abc.def'), 'abc.def');
  assert.is(parseBearerAuthorization('bearer   abc'), 'abc');
  assert.is(parseBearerAuthorization('Basic abc'), undefined);
  assert.ok(tokenMatches('0123456789abcdef', '0123456789abcdef'));
  assert.not.ok(tokenMatches('0123456789abcdef', '0123456789abcdeF'));
  assert.not.ok(tokenMatches('0123456789abcdef', '0123456789abcdef0'));
  assert.not.ok(tokenMatches('0123456789abcdef', undefined));
});

test('token buckets: a burst, then the refill rate, per client', () => {
  let now = 0;
  const limiter = new RateLimiter({ ratePerSecond: 2, burst: 4, maxClients: 100, now: () => now });
  for (let index = 0; index < 4; index += 1) assert.ok(limiter.take('a').allowed, `burst ${index}`);
  const refused = limiter.take('a');
  assert.equal(refused, { allowed: false, retryAfterSeconds: 1 });
  assert.ok(limiter.take('b').allowed, 'another client has its own bucket');
  now += 500;
  assert.ok(limiter.take('a').allowed, 'one token back after half a second at 2/s');
  assert.not.ok(limiter.take('a').allowed);
  now += 60_000;
  for (let index = 0; index < 4; index += 1) assert.ok(limiter.take('a').allowed, 'refilled up to the burst, no more');
  assert.not.ok(limiter.take('a').allowed);
});

test('token buckets: the map of clients is bounded, least recently seen forgotten first', () => {
  const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, maxClients: 3, now: () => 0 });
  for (const client of ['a', 'b', 'c']) limiter.take(client);
  limiter.take('a'); // refused, but now the most recently seen
  limiter.take('d'); // evicts b
  assert.is(limiter.size, 3);
  assert.not.ok(limiter.take('a').allowed, 'a is still remembered');
  assert.ok(limiter.take('b').allowed, 'b was forgotten and starts over');
  for (let index = 0; index < 10_000; index += 1) limiter.take(`client-${index}`);
  assert.is(limiter.size, 3);
});

test('client certificate rules the TLS options cannot express', () => {
  const socket = (presented: boolean, authorized: boolean) => ({ getPeerCertificate: () => (presented ? { subject: { CN: 'x' } } : {}) as never, authorized });
  assert.not.ok(acceptsClientCertificate('RequireAnyClientCert', socket(false, false)));
  assert.ok(acceptsClientCertificate('RequireAnyClientCert', socket(true, false)));
  assert.ok(acceptsClientCertificate('VerifyClientCertIfGiven', socket(false, false)));
  assert.not.ok(acceptsClientCertificate('VerifyClientCertIfGiven', socket(true, false)));
  assert.ok(acceptsClientCertificate('VerifyClientCertIfGiven', socket(true, true)));
  assert.ok(acceptsClientCertificate('RequestClientCert', socket(false, false)));
});

test('the CLI refuses an invalid web config or token file: one line, exit code 2, nothing listening', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-webconfig-'));
  try {
    const cases: Array<[string[], RegExp]> = [];
    writeFileSync(path.join(dir, 'old-tls.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS10\n');
    cases.push([[`--web.config.file=${path.join(dir, 'old-tls.yml')}`], /^headroom: web config .*old-tls\.yml: tls_server_config\.min_version: TLS 1\.0 and 1\.1 are not accepted/]);
    writeFileSync(path.join(dir, 'missing-cert.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
    cases.push([[`--web.config.file=${path.join(dir, 'missing-cert.yml')}`], /cannot read cert_file .*server\.crt: ENOENT/]);
    writeFileSync(path.join(dir, 'plain.yml'), 'basic_auth_users:\n  admin: hunter2\n');
    cases.push([[`--web.config.file=${path.join(dir, 'plain.yml')}`], /basic_auth_users\.admin: not a bcrypt hash/]);
    cases.push([[`--web.config.file=${path.join(dir, 'absent.yml')}`], /absent\.yml: cannot read: ENOENT/]);
    writeFileSync(path.join(dir, 'token'), 'short\n');
    cases.push([[`--statistics.token-file=${path.join(dir, 'token')}`], /statistics token file .*: the first line must hold a token/]);
    cases.push([['--statistics.rate-limit=fast'], /invalid value "fast" for flag --statistics\.rate-limit/]);
    for (const [args, expected] of cases) {
      const result = await run(process.execPath, [CLI, '--web.listen-address=127.0.0.1:0', `--data.dir=${path.join(dir, 'data')}`, ...args], { cwd: dir });
      assert.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, expected, `${args.join(' ')}: ${result.stderr}`);
      assert.is(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
      assert.not.match(result.stderr, /^\s+at .*:\d+:\d+/m, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
