// The stack's read-only gate in front of the engine's socket (compose/docker-proxy/proxy.mjs): what passes.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../../scripts/processes.js';

const { allowed } = await import(pathToFileURL(path.join(REPO_ROOT, 'compose/docker-proxy/proxy.mjs')).href) as { allowed(method: string, url: string): boolean };

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

test.run();
