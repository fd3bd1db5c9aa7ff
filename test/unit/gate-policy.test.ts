// The gate's policy (exporter/src/gate/policy.ts, update.ts): what passes, what it sends the engine, and the
// bounds of an update.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerHeaders, framingProblem, routeOf, upstreamHeaders, type GateScope } from '../../exporter/src/gate/policy.js';
import { containerOfAnswer, hostOfInfo, parseUpdateBody, updateBodyText, updateBounds, updateRefusal, type UpdateFields } from '../../exporter/src/gate/update.js';
import { MIN_MEMORY_BYTES } from '../../exporter/src/sizes.js';
import { tierByName, TIERS } from '../../exporter/src/thresholds.js';

const READS: GateScope = { swarm: false, updates: false };
const SWARM: GateScope = { swarm: true, updates: false };
const UPDATES: GateScope = { swarm: false, updates: true };
const GiB = 1024 ** 3;
const large = tierByName('large')!;

test('GET on the container list, one container, the events, version and info passes, with or without an API version; HEAD too, but not on the events', () => {
  for (const url of ['/v1.41/containers/json?all=true', '/containers/json', `/v1.41/containers/${'a'.repeat(64)}/json`, '/containers/headroom_demo_1/json',
    '/v1.41/version', '/_ping', '/info']) {
    assert.equal(routeOf('GET', url, READS), { kind: 'read', method: 'GET', path: url });
    assert.equal(routeOf('HEAD', url, READS), { kind: 'read', method: 'HEAD', path: url });
  }
  const events = '/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D';
  assert.equal(routeOf('GET', events, READS), { kind: 'stream', method: 'GET', path: events });
  assert.is(routeOf('HEAD', events, READS).kind, 'refused');
});

test('every other method, and GET on anything else (logs, exec, images, secrets, a path that climbs, a query with odd characters), is refused 403', () => {
  for (const [method, url] of [
    ['POST', '/v1.41/containers/abc/update'], ['POST', '/containers/create'], ['DELETE', '/containers/abc'], ['PUT', '/containers/abc/archive'],
    ['POST', '/v1.41/containers/abc/exec'], ['GET', '/v1.41/containers/abc/logs'], ['GET', '/v1.41/containers/abc/archive?path=/etc'],
    ['GET', '/v1.41/images/json'], ['GET', '/v1.41/secrets'], ['GET', '/containers/../secrets/json'], ['GET', '/v1.41/containers/abc/json/../../secrets'],
    ['GET', '/containers/%2e%2e/json'], ['POST', '/v1.41/events'], ['GET', 'http://docker/_ping'], ['GET', '/_ping?a=b c'], ['GET', '/_ping?a="b"'], ['GET', '/_ping#x'],
    ['CONNECT', '/_ping'], ['GET', '/v1.41/nodes'], [undefined, '/_ping'], ['GET', undefined],
  ] as const) {
    const route = routeOf(method, url, READS);
    assert.is(route.kind, 'refused', `${method} ${url}`);
    if (route.kind === 'refused') assert.equal([route.status, route.message], [403, 'headroom gate: only GET on containers, events, version and info']);
  }
});

test('with swarm discovery on, GET on nodes, services, tasks and networks passes too; writes never do', () => {
  for (const url of ['/v1.41/nodes', '/v1.41/services?status=true', '/tasks?filters=%7B%7D', '/v1.41/networks', `/v1.41/services/${'b'.repeat(25)}`, '/networks/headroom']) {
    assert.is(routeOf('GET', url, SWARM).kind, 'read', url);
    assert.is(routeOf('GET', url, READS).kind, 'refused', `${url} without swarm discovery`);
  }
  for (const [method, url] of [['POST', '/v1.41/services/create'], ['POST', '/v1.41/services/abc/update'], ['DELETE', '/v1.41/nodes/abc'], ['POST', '/v1.41/networks/create'],
    ['GET', '/v1.41/services/abc/logs'], ['GET', '/v1.41/tasks/abc/logs'], ['GET', '/v1.41/secrets'], ['GET', '/v1.41/configs'], ['GET', '/v1.41/nodes/../secrets']] as const) {
    assert.is(routeOf(method, url, { swarm: true, updates: true }).kind, 'refused', `${method} ${url}`);
  }
});

test('updates: POST /containers/{id}/update only, with updates on; the API version kept', () => {
  assert.equal(routeOf('POST', '/v1.41/containers/abc/update', UPDATES), { kind: 'update', container: 'abc', version: '/v1.41' });
  assert.equal(routeOf('POST', `/containers/${'c'.repeat(64)}/update`, UPDATES), { kind: 'update', container: 'c'.repeat(64), version: '' });
  for (const url of ['/v1.41/containers/abc/update/../../secrets', '/v1.41/containers/abc/kill', '/v1.41/services/abc/update', '/containers/abc/update?x=1']) assert.is(routeOf('POST', url, UPDATES).kind, 'refused', url);
  assert.is(routeOf('PUT', '/containers/abc/update', UPDATES).kind, 'refused');
  assert.is(routeOf('POST', '/containers/abc/update', READS).kind, 'refused');
});

test('GET and HEAD with a body, a Content-Length other than 0 or a Transfer-Encoding are refused before anything else', () => {
  assert.is(framingProblem('GET', {}), undefined);
  assert.is(framingProblem('GET', { 'content-length': '0' }), undefined);
  assert.is(framingProblem('POST', { 'content-length': '30' }), undefined);
  assert.is(framingProblem('GET', { 'content-length': '30' }), 'headroom gate: GET with a Content-Length of "30": GET has no body');
  assert.match(framingProblem('HEAD', { 'content-length': '1' })!, /HEAD has no body/);
  assert.match(framingProblem('GET', { 'transfer-encoding': 'chunked' })!, /GET with a Transfer-Encoding/);
  assert.match(framingProblem('GET', { 'transfer-encoding': 'identity' })!, /GET with a Transfer-Encoding/);
});

test('what the engine gets: a fixed set of headers, never the client\'s; what the client gets: none of the engine\'s hop-by-hop headers', () => {
  assert.equal(upstreamHeaders(), { host: 'docker', 'user-agent': 'headroom-gate', connection: 'close' });
  assert.equal(upstreamHeaders('{"Memory":1}'), { host: 'docker', 'user-agent': 'headroom-gate', connection: 'close', 'content-type': 'application/json', 'content-length': 12 });
  assert.equal(answerHeaders({
    'content-type': 'application/json', 'api-version': '1.41', 'content-length': '2', connection: 'keep-alive, X-Named', 'x-named': '1', 'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked', te: 'trailers', trailer: 'X', upgrade: 'h2c', 'proxy-authenticate': 'Basic', 'proxy-connection': 'keep-alive', 'http2-settings': 'AA',
  }), { 'content-type': 'application/json', 'api-version': '1.41', 'content-length': '2' });
});

test('an update body: a flat object of limits written as integers, each once; JSON.parse would accept more', () => {
  assert.equal(parseUpdateBody('{"Memory":2147483648,"MemorySwap":-1,"MemoryReservation":0,"NanoCpus":2000000000}'), { fields: { Memory: 2147483648, MemorySwap: -1, MemoryReservation: 0, NanoCpus: 2000000000 } });
  assert.equal(parseUpdateBody(' {\n\t"CpuQuota" : 150000 ,"CpuPeriod":100000\r\n} '), { fields: { CpuQuota: 150000, CpuPeriod: 100000 } });
  for (const [body, problem] of [
    ['{"Memory":1e7}', 'Memory: 1e7 is not written as an integer'], ['{"Memory":7000000.0}', 'Memory: 7000000.0 is not written as an integer'], ['{"Memory":1E+9}', 'Memory: 1E+9 is not written as an integer'],
    ['{"Memory":1,"Memory":2}', 'Memory is given twice'], ['{"PidsLimit":10}', 'PidsLimit is not a limit the gate passes (only Memory, MemorySwap, MemoryReservation, NanoCpus, CpuQuota, CpuPeriod)'],
    ['{"Memory":"1g"}', 'Memory: not a number'], ['{"Memory":99999999999999999999}', 'Memory: 99999999999999999999 is out of range'], ['{}', 'the body sets nothing'], ['[]', 'the body is not a JSON object'],
    ['null', 'the body is not a JSON object'], ['', 'the body is not a JSON object'], ['{"Memory":1}{}', 'something follows the object'], ['{"Mem\\u006fry":1}', 'not a field name the gate knows at offset 1'],
    ['{"Memory":01}', 'Memory: not a number'], ['{"Memory":1,}', 'not a field name the gate knows at offset 12'], ['{"Memory":[1]}', 'Memory: not a number'], ['{"Memory":1', 'Memory: not a number'],
  ] as const) {
    assert.equal(parseUpdateBody(body), { problem }, body);
  }
  // What JSON.parse makes of them: integers, and the last of two.
  assert.equal([JSON.parse('{"Memory":1e7}'), JSON.parse('{"Memory":7000000.0}'), JSON.parse('{"Memory":1,"Memory":2}')], [{ Memory: 1e7 }, { Memory: 7e6 }, { Memory: 2 }]);
  assert.ok(Number.isSafeInteger(JSON.parse('{"Memory":7000000.0}').Memory));
  assert.is(updateBodyText({ NanoCpus: 1, Memory: 2 }), '{"Memory":2,"NanoCpus":1}');
});

test('bounds: the ceiling tier and the host, whichever is lower; Docker\'s floor', () => {
  assert.equal(updateBounds(large, { memoryBytes: 24 * GiB, cpus: 2 }).maxCpus, 2);
  assert.equal(updateBounds(large, { memoryBytes: 24 * GiB, cpus: 2 }).maxMemoryBytes, large.memoryLimitBytes);
  assert.equal(updateBounds(large, { memoryBytes: 2 * GiB, cpus: 16 }).maxMemoryBytes, 2 * GiB);
  assert.equal(updateBounds(TIERS[0]!, { memoryBytes: 24 * GiB, cpus: 16 }).maxCpus, TIERS[0]!.cpuLimitCores);
  assert.is(updateBounds(large, { memoryBytes: 24 * GiB, cpus: 16 }).minMemoryBytes, MIN_MEMORY_BYTES);
  assert.is(updateBounds(large, { memoryBytes: 24 * GiB, cpus: 16 }).minCpus, 0.01);
});

test('updates within bounds pass; a limit removed, under the floor or over the ceiling is refused; quota and period judged together', () => {
  const bounds = updateBounds(large, { memoryBytes: 24 * GiB, cpus: 2 });
  const nano = { NanoCpus: 1e9, CpuQuota: 0, CpuPeriod: 0 };
  const quota = { NanoCpus: 0, CpuQuota: 50_000, CpuPeriod: 100_000 };
  const none = { NanoCpus: 0, CpuQuota: 0, CpuPeriod: 0 };
  const passes: Array<[UpdateFields, typeof nano]> = [
    [{ Memory: 4 * GiB, MemorySwap: 4 * GiB, MemoryReservation: GiB, NanoCpus: 2e9 }, nano], [{ Memory: MIN_MEMORY_BYTES }, nano], [{ MemorySwap: -1 }, nano],
    [{ NanoCpus: 1e7 }, none], [{ CpuQuota: 200_000 }, quota], [{ CpuQuota: 1000, CpuPeriod: 100_000 }, quota], [{ CpuPeriod: 50_000 }, quota], [{ CpuQuota: 20_000, CpuPeriod: 10_000 }, none],
    [{ MemorySwap: 8 * GiB, Memory: 4 * GiB }, nano],
  ];
  for (const [fields, current] of passes) assert.is(updateRefusal(fields, current, bounds), undefined, JSON.stringify(fields));
  const refused: Array<[UpdateFields, typeof nano, RegExp]> = [
    [{ Memory: 9007199254740991 }, nano, /^Memory 9007199254740991 \(\d+M\) is not between 6M and 4096M, the ceiling of the large tier \(4096M, 4\.0 CPUs; --gate\.max-tier\) and the host \(24576M, 2 CPUs\)$/],
    [{ Memory: 4 * GiB + 1 }, nano, /^Memory/], [{ Memory: MIN_MEMORY_BYTES - 1 }, nano, /^Memory/], [{ Memory: 0 }, nano, /^Memory/], [{ Memory: -1 }, nano, /^Memory/],
    [{ MemoryReservation: -1 }, nano, /^MemoryReservation/], [{ MemoryReservation: 5 * GiB }, nano, /^MemoryReservation/],
    [{ MemorySwap: 0 }, nano, /^MemorySwap/], [{ MemorySwap: 9 * GiB }, nano, /^MemorySwap/], [{ MemorySwap: GiB, Memory: 2 * GiB }, nano, /^MemorySwap .* is under Memory/],
    [{ CpuQuota: 9007199254740991, CpuPeriod: 1000 }, none, /^CpuQuota 9007199254740991 over CpuPeriod 1000/],
    [{ CpuQuota: 1000, CpuPeriod: 1_000_000 }, none, /^CpuQuota 1000 over CpuPeriod 1000000 \(0\.001 CPUs\) is not between 0\.01 and 2\.0 CPUs/],
    [{ CpuQuota: 300_000 }, quota, /\(3 CPUs\)/], [{ CpuPeriod: 10_000 }, quota, /^CpuQuota 50000 over CpuPeriod 10000 \(5 CPUs\)/], [{ CpuQuota: 999 }, quota, /under 1000/], [{ CpuQuota: -1 }, quota, /-1 would remove the limit/],
    [{ CpuPeriod: 999 }, quota, /^CpuPeriod 999 is not between 1000 and 1000000/], [{ CpuPeriod: 1_000_001 }, none, /^CpuPeriod/],
    [{ NanoCpus: 1e7 - 1 }, nano, /^NanoCpus/], [{ NanoCpus: 3e9 }, nano, /^NanoCpus 3000000000 \(3 CPUs\)/], [{ NanoCpus: 0 }, nano, /^NanoCpus/],
    [{ NanoCpus: 1e9, CpuQuota: 100_000 }, none, /NanoCpus goes with neither/], [{ NanoCpus: 1e9 }, quota, /set as CpuQuota/], [{ CpuQuota: 100_000 }, nano, /set as NanoCpus/],
  ];
  for (const [fields, current, reason] of refused) assert.match(updateRefusal(fields, current, bounds) ?? 'passed', reason, JSON.stringify(fields));
});

test('the engine\'s answers as the gate reads them: an inspection, /info', () => {
  const id = 'd'.repeat(64);
  assert.equal(containerOfAnswer({ Id: id, Config: { Labels: { 'headroom.autosize': 'true' } }, HostConfig: { NanoCpus: 0, CpuQuota: 5, CpuPeriod: 10 } }), { id, optedIn: true, cpu: { NanoCpus: 0, CpuQuota: 5, CpuPeriod: 10 } });
  assert.is(containerOfAnswer({ Id: id, Config: { Labels: null }, HostConfig: { NanoCpus: 0, CpuQuota: 0, CpuPeriod: 0 } })?.optedIn, false);
  assert.is(containerOfAnswer({ Id: id, Config: { Labels: { 'headroom.autosize': 'yes' } }, HostConfig: { NanoCpus: 0, CpuQuota: 0, CpuPeriod: 0 } })?.optedIn, false);
  for (const answer of [null, [], { Id: 'abc', Config: {}, HostConfig: { NanoCpus: 0, CpuQuota: 0, CpuPeriod: 0 } }, { Id: id, Config: {}, HostConfig: { NanoCpus: 1.5, CpuQuota: 0, CpuPeriod: 0 } }, { Id: id, HostConfig: {} }]) {
    assert.is(containerOfAnswer(answer), undefined, JSON.stringify(answer));
  }
  assert.equal(hostOfInfo({ NCPU: 2, MemTotal: 25_000_000_000, Name: 'x' }), { cpus: 2, memoryBytes: 25_000_000_000 });
  for (const answer of [{}, { NCPU: 0, MemTotal: 1 }, { NCPU: 2, MemTotal: '1' }, null]) assert.is(hostOfInfo(answer), undefined, JSON.stringify(answer));
});

test.run();
