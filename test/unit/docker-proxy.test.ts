// The stack's read-only gate in front of the engine's socket (compose/docker-proxy/proxy.mjs): what passes.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../../scripts/processes.js';

const { allowed, allowedUpdateBody, UPDATE_PATH } = await import(pathToFileURL(path.join(REPO_ROOT, 'compose/docker-proxy/proxy.mjs')).href) as { allowed(method: string, url: string, swarm?: boolean): boolean; allowedUpdateBody(text: string): boolean; UPDATE_PATH: RegExp };

test('GET on the container list, one container, the events, version and info passes, with or without an API version', () => {
  for (const url of ['/v1.41/containers/json?all=true', '/containers/json', `/v1.41/containers/${'a'.repeat(64)}/json`, '/containers/headroom_demo_1/json',
    '/v1.41/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D', '/v1.41/version', '/_ping', '/info']) {
    assert.ok(allowed('GET', url), url);
  }
});

test('every other method, and GET on anything else (logs, exec, images, secrets, a path that climbs), is refused', () => {
  for (const [method, url] of [
    ['POST', '/v1.41/containers/abc/update'], ['POST', '/containers/create'], ['DELETE', '/containers/abc'], ['PUT', '/containers/abc/archive'],
    ['POST', '/v1.41/containers/abc/exec'], ['GET', '/v1.41/containers/abc/logs'], ['GET', '/v1.41/containers/abc/archive?path=/etc'],
    ['GET', '/v1.41/images/json'], ['GET', '/v1.41/secrets'], ['GET', '/containers/../secrets/json'], ['GET', '/v1.41/containers/abc/json/../../secrets'],
    ['GET', '/containers/%2e%2e/json'], ['POST', '/v1.41/events'],
  ] as const) {
    assert.not.ok(allowed(method, url), `${method} ${url}`);
  }
});

test('with swarm discovery on, GET on nodes, services, tasks and networks passes too; off, it is refused; writes never pass', () => {
  const reads = ['/v1.41/nodes', '/v1.41/services?status=true', '/tasks?filters=%7B%7D', '/v1.41/networks', `/v1.41/services/${'b'.repeat(25)}`, '/networks/headroom'];
  for (const url of reads) {
    assert.ok(allowed('GET', url, true), url);
    assert.not.ok(allowed('GET', url), `${url} without swarm discovery`);
  }
  for (const [method, url] of [['POST', '/v1.41/services/create'], ['POST', '/v1.41/services/abc/update'], ['DELETE', '/v1.41/nodes/abc'], ['POST', '/v1.41/networks/create'],
    ['GET', '/v1.41/services/abc/logs'], ['GET', '/v1.41/tasks/abc/logs'], ['GET', '/v1.41/secrets'], ['GET', '/v1.41/configs'], ['GET', '/v1.41/nodes/../secrets']] as const) {
    assert.not.ok(allowed(method, url, true), `${method} ${url}`);
  }
});

test('with updates on, a container update passes only when its body sets memory and CPU limits, as integers', () => {
  for (const url of ['/v1.41/containers/abc/update', `/containers/${'c'.repeat(64)}/update`]) assert.ok(UPDATE_PATH.test(url), url);
  for (const url of ['/v1.41/containers/abc/update/../../secrets', '/v1.41/containers/abc/kill', '/v1.41/services/abc/update', '/containers/abc/update?x=1']) assert.not.ok(UPDATE_PATH.test(url), url);
  assert.ok(allowedUpdateBody('{"Memory":2147483648,"MemorySwap":2147483648,"MemoryReservation":536870912,"NanoCpus":2000000000}'));
  assert.ok(allowedUpdateBody('{"CpuQuota":150000}'));
  assert.ok(allowedUpdateBody('{"Memory":1073741824,"MemorySwap":-1}'));
  for (const body of ['{}', '[]', 'null', 'not json', '{"Memory":1.5}', '{"Memory":"1g"}', '{"RestartPolicy":{"Name":"always"}}', '{"Memory":1073741824,"Devices":[]}', '{"PidsLimit":10}',
    '{"Memory":0}', '{"Memory":1048576}', '{"NanoCpus":1000}', '{"CpuQuota":-1}', '{"CpuPeriod":10}', '{"MemorySwap":0}']) {
    assert.not.ok(allowedUpdateBody(body), body);
  }
});

test.run();
