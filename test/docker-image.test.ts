// The exporter image in a real Docker engine (a private dockerd, scripts/docker-engine.ts) with the
// stand-in base image (scripts/standin-images.ts): the Dockerfile builds unchanged, the container
// runs as a non-root user, its HEALTHCHECK turns healthy within the start period, and under
// `docker run --memory=300m --cpus=0.25` the exporter watching its own cgroup reports exactly those limits.
// The engine is started by the first test that needs it and stopped after the last; a test whose engine or
// image cannot be had fails.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildArgFlags, fetchWithin, startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { parseExposition, valueOf } from './helpers/metrics-text.js';
import { REPO_ROOT, freePort, waitFor } from '../scripts/processes.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { HEALTHCHECK } from '../exporter/src/thresholds.js';

const IMAGE = 'headroom:docker-image-test';
const HEALTH_START_PERIOD_S = HEALTHCHECK.startPeriodSeconds;
/** The Dockerfile's ENTRYPOINT (exec form). */
const ENTRYPOINT = JSON.parse(DockerfileParser.parse(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).getENTRYPOINTs()[0]!.getArgumentsContent()!) as string[];

let enginePromise: Promise<DockerEngine> | undefined;
/** The engine, started (and the stand-in node image loaded) on first use. */
function engine(): Promise<DockerEngine> {
  enginePromise ??= (async () => {
    // Nothing here measures a container's memory use, so the data root may live in memory (docker-engine.ts).
    const started = await startEngine({ tmpfs: '8g' });
    try {
      await loadStandins(started, [STANDIN_TAGS.nodeSlim]);
    } catch (error) {
      await started.stop().catch(() => {});
      throw error;
    }
    return started;
  })();
  return enginePromise;
}

let imagePromise: Promise<DockerEngine> | undefined;
/** The engine once the image is built (by the first test, or by whichever test runs first). */
function withImage(): Promise<DockerEngine> {
  imagePromise ??= (async () => {
    const docker = await engine();
    // npm ci needs the registry: the engine's own network, through its download proxy (docker-engine.ts).
    const build = await docker.docker(['build', '--network=host', ...buildArgFlags(await docker.proxyBuildArgs()), '--tag', IMAGE, REPO_ROOT], { check: false, timeoutMs: 900_000 });
    if (build.code !== 0) throw new Error(`docker build exited ${build.code}:\n${build.stdout.slice(-6000)}\n${build.stderr.slice(-3000)}`);
    console.log(`docker build: ${(build.ms / 1000).toFixed(1)} s`);
    return docker;
  })();
  return imagePromise;
}

async function inspect<T>(docker: DockerEngine, target: string, format: string): Promise<T> {
  return JSON.parse((await docker.docker(['inspect', '--format', `{{json ${format}}}`, target])).stdout) as T;
}

let testStarted = 0;
test.before.each(() => { testStarted = Date.now(); });
test.after.each(() => { console.log(`  (${((Date.now() - testStarted) / 1000).toFixed(1)} s)`); });

test.after(async () => {
  const started = await enginePromise?.catch(() => undefined);
  const stopping = Date.now();
  await started?.stop();
  if (started) console.log(`engine stopped and removed in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
});

test('the Dockerfile builds unchanged on the stand-in node:22-bookworm-slim; the layers above the base', async () => {
  const docker = await withImage();
  const base = await inspect<string[]>(docker, STANDIN_TAGS.nodeSlim, '.RootFS.Layers');
  const layers = await inspect<string[]>(docker, IMAGE, '.RootFS.Layers');
  assert.equal(layers.slice(0, base.length), base, 'the image is built on node:22-bookworm-slim');
  const history = (await docker.docker(['history', '--no-trunc', '--format', '{{.Size}}\t{{.CreatedBy}}', IMAGE])).stdout.trim().split('\n');
  const size = await inspect<number>(docker, IMAGE, '.Size');
  const baseSize = await inspect<number>(docker, STANDIN_TAGS.nodeSlim, '.Size');
  // Layers above the base: history lines until the base's own top.
  const above = history.slice(0, history.length - (await docker.docker(['history', '-q', STANDIN_TAGS.nodeSlim])).stdout.trim().split('\n').length);
  console.log(`image ${(size / 1e6).toFixed(1)} MB, ${((size - baseSize) / 1e6).toFixed(1)} MB above the base, ${layers.length - base.length} file layers above it:`);
  for (const line of above.filter((entry) => !entry.startsWith('0B'))) console.log(`  ${line.replace(/\s+/g, ' ').slice(0, 140)}`);
  assert.ok(size - baseSize > 1e6 && size - baseSize <= 25e6, `at most 25 MB above the base: ${((size - baseSize) / 1e6).toFixed(1)} MB`);
  // No build leftovers, sources, declarations, source maps or tests in the image.
  const { stdout: leftovers } = await docker.docker(['run', '--rm', '--entrypoint', 'find', IMAGE, '/app', '-type', 'f', '(',
    '-name', '*.o', '-o', '-name', '*.ts', '-o', '-name', '*.map', '-o', '-name', '*.gyp', '-o', '-name', '*.c', '-o', '-path', '*/test/*.test.js', ')']);
  assert.is(leftovers.trim(), '', `files that only a build or an editor reads:\n${leftovers.split('\n').slice(0, 20).join('\n')}`);
  const config = await inspect<{ User: string; Entrypoint: string[]; Healthcheck: { Test: string[]; StartPeriod: number } }>(docker, IMAGE, '.Config');
  assert.is(config.User, 'node');
  assert.equal(config.Entrypoint, ENTRYPOINT);
  assert.is(config.Healthcheck.StartPeriod, HEALTH_START_PERIOD_S * 1e9);
});

test('the exporter runs as a non-root user', async () => {
  const docker = await withImage();
  const { stdout: id } = await docker.docker(['run', '--detach', IMAGE]);
  const container = id.trim();
  try {
    // PID 1 is the exporter (exec-form ENTRYPOINT), and every process of the container runs as node.
    const status = (await docker.docker(['exec', container, 'cat', '/proc/1/status'])).stdout;
    assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, status);
    assert.match(status, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m, status);
    const cmdline = (await docker.docker(['exec', container, 'cat', '/proc/1/cmdline'])).stdout.split('\0').filter(Boolean);
    assert.equal(cmdline.slice(0, ENTRYPOINT.length), ENTRYPOINT);
    const users = (await docker.docker(['top', container, '-o', 'pid,uid,comm'])).stdout.trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/)[1]);
    assert.ok(users.length > 0 && users.every((uid) => uid === '1000'), `process uids: ${users.join(', ')}`);
    // The data directory is writable by that user.
    await docker.docker(['exec', container, 'sh', '-c', 'touch /var/lib/headroom/.w && rm /var/lib/headroom/.w']);
  } finally {
    await docker.removeContainers([container]);
  }
});

test(`its HEALTHCHECK turns healthy within the ${HEALTH_START_PERIOD_S} s start period`, async () => {
  const docker = await withImage();
  const { stdout: id } = await docker.docker(['run', '--detach', IMAGE]);
  const container = id.trim();
  try {
    const startedAt = Date.parse(await inspect<string>(docker, container, '.State.StartedAt'));
    const health = await waitFor('the container to turn healthy', async () => {
      const state = await inspect<{ Status: string; Health?: { Status: string; FailingStreak: number; Log: { Start: string; End: string; ExitCode: number; Output: string }[] } }>(docker, container, '.State');
      if (state.Status !== 'running') throw new Error(`container ${state.Status}: ${(await docker.docker(['logs', container])).stderr}`);
      return state.Health?.Status === 'healthy' ? state.Health : undefined;
    }, (HEALTH_START_PERIOD_S + 5) * 1000, 500);
    const firstOk = health.Log.find((entry) => entry.ExitCode === 0)!;
    const seconds = (Date.parse(firstOk.End) - startedAt) / 1000;
    console.log(`healthy ${seconds.toFixed(1)} s after start (${health.Log.length} check(s))`);
    assert.ok(seconds <= HEALTH_START_PERIOD_S, `healthy after ${seconds} s`);
    assert.is(health.FailingStreak, 0);
  } finally {
    await docker.removeContainers([container]);
  }
});

test('docker run --memory=300m --cpus=0.25: /metrics of the exporter watching its own cgroup reports exactly those limits', async () => {
  const docker = await withImage();
  // A network of its own, and the port published on the engine's address, which the host reaches.
  await docker.docker(['network', 'create', 'headroom-image-test']);
  const port = await freePort();
  const { stdout: id } = await docker.docker(['run', '--detach', '--memory=300m', '--cpus=0.25', '--network=headroom-image-test', '--publish', `${docker.address}:${port}:9477`, IMAGE]);
  const container = id.trim();
  try {
    // What the engine set, read inside the container (cgroup v1 on these hosts).
    const files = (await docker.docker(['exec', container, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.cfs_period_us'])).stdout.trim().split('\n');
    assert.equal(files, ['314572800', '25000', '100000'], 'the cgroup files inside the container');
    const text = await waitFor(`/metrics on ${docker.address}:${port}`, async () => {
      const response = await fetchWithin(`http://${docker.address}:${port}/metrics`, 5000);
      return response.status === 200 ? await response.text() : undefined;
    }, 30_000, 250);
    const samples = parseExposition(text);
    const info = samples.find((sample) => sample.name === 'headroom_cgroup_info');
    const collectors = samples.filter((sample) => sample.name === 'headroom_scrape_collector_success').map((sample) => `${sample.labels.collector}=${sample.value}`);
    const context = `cgroup_info ${JSON.stringify(info?.labels)}, collectors ${collectors.join(' ')}`;
    console.log(context);
    assert.is(valueOf(samples, 'headroom_memory_limit_bytes'), 314572800, `headroom_memory_limit_bytes; ${context}`);
    assert.is(valueOf(samples, 'headroom_cpu_limit_cores'), 0.25, `headroom_cpu_limit_cores; ${context}`);
    // Neither figure is the host's (24 GiB, 2 CPUs here): they come from the container's cgroup.
    assert.ok((valueOf(samples, 'headroom_memory_usage_bytes') ?? 0) > 0, `memory usage; ${context}`);
  } finally {
    await docker.removeContainers([container]);
  }
});

test.run();
