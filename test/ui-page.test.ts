// The page at / in Debian's Chromium, against a real exporter in host mode on a private engine: twenty running
// containers (some from compose, some unlimited, one the demo service that holds what it is told) and one that
// was OOM-killed until it gave up. The rows show what /metrics shows; the demo pushed to 97 % of its memory
// turns critical within one refresh without a reload; the charts are drawn, the limit line where the limit is;
// axe-core finds nothing serious; every row is reached and opened with the keyboard; the page works behind a
// reverse proxy under a sub-path; no console error anywhere. Screenshots go to docs/images/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import type { Page } from 'playwright-core';
import { PAGE_CONTENT_SECURITY_POLICY } from '../exporter/src/security/headers.js';
import { levelOf, LEVEL_COLORS, worstLevel } from '../exporter/src/thresholds.js';
import { startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { REPO_ROOT, startExporter, waitFor, type RunningCli } from '../scripts/processes.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { chartPixels, describeViolations, launchChromium, screenshot, seriousViolations, type RunningBrowser } from './helpers/browser.js';
import { parseExposition, type Sample } from './helpers/metrics-text.js';
import { mixedLimitArgs } from './helpers/mixed-limits.js';

const IMAGE = STANDIN_TAGS.nodeAlpine;
const NETWORK = 'ui-page-test';
const REFRESH_SECONDS = 2;
const DEMO = 'demo';
const DEMO_LIMIT_BYTES = 256 * 1024 ** 2;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-ui-page-'));
let engine: DockerEngine | undefined;
let exporter: RunningCli | undefined;
let browser: RunningBrowser | undefined;
let page: Page | undefined;
/** Names of the containers started: 20 running, and one that stopped after its OOM kills. */
const running: string[] = [];

async function run(args: string[]): Promise<void> {
  await engine!.docker(['run', '--detach', `--network=${NETWORK}`, ...args]);
}

async function metrics(): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${exporter!.url}/metrics`)).text());
}

const valueOf = (samples: Sample[], name: string, container: string) => samples.find((sample) => sample.name === name && sample.labels.container === container && sample.labels.reason === undefined)?.value;

/** Asks the demo (inside its container: no published port) to hold what brings it to `percent` of its limit. */
async function pushDemo(percent: number): Promise<void> {
  // busybox's wget: a second Node process in the container would take memory the demo counts on.
  await engine!.docker(['exec', DEMO, 'wget', '-q', '-O-', '--post-data=', `http://127.0.0.1:8080/memory?percent=${percent}`], { timeoutMs: 60_000 });
}

/** Each row as the page shows it: the figures' exact values from its data attributes. */
interface ShownRow { key: string; level: string; workingSet: string; memoryLimit: string; memoryPercent: string; cpuPercent: string; cpuLimit: string; oom: string; restarts: string; sizeNow: string }

function shownRows(on: Page): Promise<ShownRow[]> {
  return on.$$eval('#rows tbody tr', (rows) => rows.map((row) => {
    const cell = (selector: string) => row.querySelector(selector) as HTMLElement;
    return {
      key: row.getAttribute('data-key')!,
      level: cell('.badge').textContent!,
      workingSet: cell('td.memory span').dataset.value!,
      memoryLimit: cell('td.memory span').dataset.limit!,
      memoryPercent: cell('td.memory span').dataset.percent!,
      cpuPercent: cell('td.cpu span').dataset.value!,
      cpuLimit: cell('td.cpu span').dataset.limit!,
      oom: (row.children[4] as HTMLElement).dataset.value!,
      restarts: (row.children[5] as HTMLElement).dataset.value!,
      sizeNow: cell('td.size span').dataset.now!,
    };
  }));
}

/** Waits for the page's next refresh and gives the time of the scrape it shows. */
async function nextRefresh(on: Page): Promise<string> {
  const before = await on.evaluate(() => Number(document.body.dataset.refreshes ?? 0));
  await on.waitForFunction((count) => Number(document.body.dataset.refreshes ?? 0) > count, before, { timeout: 20_000 });
  return on.evaluate(() => document.body.dataset.scrapedAt!);
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '8g' });
  await loadStandins(engine, [IMAGE]);
  await engine.docker(['network', 'create', NETWORK]);
  for (let index = 0; index < 15; index += 1) {
    running.push(`plain-${index}`);
    await run(['--name', `plain-${index}`, ...mixedLimitArgs(index, ['64m', '128m', '200m', '1024m', '512m', '']), IMAGE, 'sleep', 'infinity']);
  }
  // Small's limits exactly: its size now is small; no limit at all: unlimited.
  await run(['--name', 'sized-small', '--memory=1024m', '--cpus=1', IMAGE, 'sleep', 'infinity']);
  await run(['--name', 'unlimited', IMAGE, 'sleep', 'infinity']);
  running.push('sized-small', 'unlimited');
  await run(['--name', DEMO, '--memory=256m', '--memory-swap=256m', '--cpus=1', '--label', 'com.docker.compose.project=shop', '--label', 'com.docker.compose.service=demo',
    '--env', 'DEMO_PORT=8080', '--env', 'MEMORY_LIMIT=256M', '--env', 'CPU_LIMIT=1',
    '--volume', `${path.join(REPO_ROOT, 'compose/demo/server.mjs')}:/app/server.mjs:ro`, IMAGE, 'node', '/app/server.mjs']);
  running.push(DEMO);
  const composeFile = path.join(scratch, 'compose.yml');
  writeFileSync(composeFile, stringify({
    services: {
      web: { image: IMAGE, command: ['sleep', 'infinity'], deploy: { resources: { limits: { memory: '300M', cpus: '0.75' }, reservations: { memory: '100M' } } } },
      worker: { image: IMAGE, command: ['sleep', 'infinity'], deploy: { resources: { limits: { memory: '150M' } } } },
    },
    networks: { default: { name: NETWORK, external: true } },
  }));
  await engine.compose(['-p', 'shop', '-f', composeFile, 'up', '-d']);
  running.push('shop_web_1', 'shop_worker_1');
  // A PID 1 that outgrows its limit: OOM-killed, restarted three times, then left exited.
  await run(['--name', 'hungry', '--memory=64m', '--memory-swap=64m', '--restart=on-failure:3', IMAGE, 'node', '-e', 'const held = []; setInterval(() => held.push(Buffer.alloc(8 * 1024 * 1024, 1)), 50)']);
  exporter = await startExporter([`--target.docker=unix://${engine.socket}`, '--statistics.enabled=false', `--ui.refresh-interval=${REFRESH_SECONDS}s`]);
  await waitFor('the demo answering inside its container', async () => (await engine!.docker(['exec', DEMO, 'wget', '-q', '-O-', 'http://127.0.0.1:8080/health'], { check: false })).code === 0, 30_000, 500);
  await waitFor('hungry to give up', async () => JSON.parse((await engine!.docker(['inspect', '--format', '{{json .State.Status}}', 'hungry'])).stdout) === 'exited', 90_000, 500);
  await waitFor('every container seen', async () => (await metrics()).filter((sample) => sample.name === 'headroom_container_info').length === running.length + 1, 30_000, 500);
  browser = await launchChromium();
  page = (await browser.newPage()).page;
});

test.after(async () => {
  await browser?.close();
  await exporter?.stop();
  await engine?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

test('the page: its policy has no unsafe-inline, its assets come from the package, every row is drawn', async () => {
  const response = await fetch(`${exporter!.url}/`, { headers: { 'accept-encoding': 'br' } });
  assert.is(response.headers.get('content-security-policy'), PAGE_CONTENT_SECURITY_POLICY);
  assert.not.match(PAGE_CONTENT_SECURITY_POLICY, 'unsafe-inline');
  assert.is(response.headers.get('content-encoding'), 'br');
  const requested: string[] = [];
  page!.on('request', (outgoing) => requested.push(outgoing.url()));
  await page!.goto(`${exporter!.url}/`);
  await page!.waitForFunction((count) => document.querySelectorAll('#rows tbody tr').length === count, running.length + 1, { timeout: 20_000 });
  assert.ok(requested.every((url) => url.startsWith(`${exporter!.url}/`)), requested.join('\n'));
  assert.ok(requested.some((url) => /\/assets\/[0-9a-f]{12}\/uPlot\.iife\.min\.js$/.test(url)), 'uPlot from the exporter');
});

test('every row shows what /metrics shows, from the same scrape', async () => {
  // /metrics scrapes; the page's next refresh takes that scrape when it is no older than the refresh interval.
  let compared = false;
  for (let attempt = 0; attempt < 5 && !compared; attempt += 1) {
    const started = new Date().toISOString();
    const samples = await metrics();
    const ended = new Date().toISOString();
    const scrapedAt = await nextRefresh(page!);
    if (scrapedAt < started || scrapedAt > ended) continue; // another scrape: try again
    const rows = await shownRows(page!);
    for (const name of [...running, 'hungry']) {
      const row = rows.find((candidate) => candidate.key === name);
      assert.ok(row, `a row for ${name}`);
      const value = (metric: string) => valueOf(samples, metric, name);
      const shown = (text: string) => (text === '' ? undefined : Number(text));
      assert.is(shown(row!.oom), value('headroom_container_oom_kills_total'), `OOM kills of ${name}`);
      assert.is(shown(row!.restarts), value('headroom_container_restarts_total'), `restarts of ${name}`);
      if (name === 'hungry') {
        assert.ok(value('headroom_container_oom_kills_total')! >= 1, 'hungry was OOM-killed');
        assert.is(row!.workingSet, '', 'a stopped container has no figures');
        continue;
      }
      assert.is(shown(row!.workingSet), value('headroom_memory_working_set_bytes'), `working set of ${name}`);
      assert.is(shown(row!.memoryLimit), value('headroom_memory_limit_bytes'), `memory limit of ${name}`);
      assert.is(shown(row!.memoryPercent), value('headroom_memory_percent'), `memory percent of ${name}`);
      assert.is(shown(row!.cpuPercent), value('headroom_cpu_percent'), `CPU percent of ${name}`);
      assert.is(shown(row!.cpuLimit), value('headroom_cpu_limit_cores'), `CPU limit of ${name}`);
      const level = worstLevel([levelOf(value('headroom_memory_percent') ?? Number.NaN), levelOf(value('headroom_cpu_percent') ?? Number.NaN)]);
      assert.is(row!.level, level, `level of ${name}`);
    }
    assert.is(rows.find((row) => row.key === 'sized-small')!.sizeNow, 'small');
    assert.is(rows.find((row) => row.key === 'unlimited')!.sizeNow, 'unlimited');
    assert.is(rows.find((row) => row.key === 'plain-5')!.sizeNow, 'custom', 'a CPU limit only');
    compared = true;
  }
  assert.ok(compared, 'a refresh that showed the scrape of /metrics');
});

test('the demo pushed to 97 % of its memory turns critical within one refresh, without a reload, and goes to the top', async () => {
  await page!.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  await pushDemo(97);
  const { percent, started } = await waitFor('the demo above 95 % in /metrics', async () => {
    const at = new Date().toISOString();
    const value = valueOf(await metrics(), 'headroom_memory_percent', DEMO)!;
    return value > 95 && value < 100 ? { percent: value, started: at } : undefined;
  }, 60_000, 250);
  // The first refresh that shows a scrape no older than that one shows it critical.
  let scrapedAt = await nextRefresh(page!);
  while (scrapedAt < started) scrapedAt = await nextRefresh(page!);
  const rows = await shownRows(page!);
  const demo = rows.find((row) => row.key === DEMO)!;
  assert.is(demo.level, 'critical', `${percent} % in /metrics; the page shows ${demo.memoryPercent} %`);
  assert.is(rows[0]!.key, DEMO, 'worst level first');
  assert.ok(await page!.evaluate(() => (window as unknown as { stayed?: boolean }).stayed === true && performance.getEntriesByType('navigation').length === 1), 'no reload');
  const color = await page!.$eval(`#rows tr[data-key="${DEMO}"] .badge`, (badge) => getComputedStyle(badge).backgroundColor);
  const hex = LEVEL_COLORS.critical.rgb;
  assert.is(color, `rgb(${[1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)).join(', ')})`, 'the critical colour of the thresholds module');
  await screenshot(page!, 'page-overview.png');
});

test('the filter box keeps the rows that match', async () => {
  await page!.fill('#filter', 'shop');
  const visible = await page!.$$eval('#rows tbody tr:not([hidden])', (rows) => rows.map((row) => row.getAttribute('data-key')).sort());
  assert.equal(visible, [DEMO, 'shop_web_1', 'shop_worker_1']);
  await page!.fill('#filter', 'critical');
  assert.equal(await page!.$$eval('#rows tbody tr:not([hidden])', (rows) => rows.map((row) => row.getAttribute('data-key'))), [DEMO]);
  await page!.fill('#filter', '');
  assert.is(await page!.$$eval('#rows tbody tr:not([hidden])', (rows) => rows.length), running.length + 1);
});

test('every row is reached with Tab and opened with Enter; going back gives the row its focus again', async () => {
  await page!.focus('#filter');
  const reached = new Set<string>();
  for (let presses = 0; presses < 4 * (running.length + 1) && reached.size < running.length + 1; presses += 1) {
    await page!.keyboard.press('Tab');
    const key = await page!.evaluate(() => (document.activeElement?.closest('tr')?.getAttribute('data-key') ?? '') + (document.activeElement?.tagName === 'A' ? '' : '#'));
    if (key !== '' && !key.endsWith('#')) reached.add(key);
  }
  assert.is(reached.size, running.length + 1, [...reached].join(', '));
  for (const key of reached) {
    await page!.focus(`#rows tr[data-key="${key}"] a`);
    await page!.keyboard.press('Enter');
    await page!.waitForFunction((name) => document.getElementById('detail-title')?.textContent === name && document.activeElement?.id === 'detail-title', key, { timeout: 10_000 })
      .catch((error: Error) => { throw new Error(`${key} did not open: ${error.message}`); });
    await page!.keyboard.press('Shift+Tab');
    assert.is(await page!.evaluate(() => document.activeElement?.textContent), '← All containers');
    await page!.keyboard.press('Enter');
    await page!.waitForFunction((name) => document.activeElement?.closest('tr')?.getAttribute('data-key') === name, key, { timeout: 10_000 });
  }
  // Arrow keys move from row to row.
  await page!.focus('#rows tbody tr:first-child a');
  await page!.keyboard.press('ArrowDown');
  assert.is(await page!.evaluate(() => document.activeElement?.closest('tr')?.previousElementSibling === document.querySelector('#rows tbody tr:first-child')), true);
});

test('axe-core finds no serious or critical violation on the overview or a detail', async () => {
  await page!.evaluate(() => { location.hash = ''; });
  await page!.waitForSelector('#overview:not([hidden])');
  let violations = await seriousViolations(page!);
  assert.equal(violations, [], describeViolations(violations));
  await page!.evaluate((name) => { location.hash = `#/container/${name}`; }, DEMO);
  await page!.waitForSelector('#memory-plot canvas');
  violations = await seriousViolations(page!);
  assert.equal(violations, [], describeViolations(violations));
});

test('the detail\'s charts are drawn, the limit line at the height of the limit; an OOM kill is marked', async () => {
  await page!.evaluate((name) => { location.hash = `#/container/${name}`; }, DEMO);
  await page!.waitForSelector('#memory-plot canvas');
  // Beyond 100 %: the demo's memory hog is OOM-killed (the demo lives on), counted by the engine.
  await pushDemo(110);
  await waitFor('the OOM kill in /metrics', async () => (valueOf(await metrics(), 'headroom_container_oom_kills_total', DEMO) ?? 0) >= 1, 60_000, 250);
  await page!.waitForSelector('#events td.event-oom_kill', { timeout: 20_000 });
  await nextRefresh(page!);
  const danger = LEVEL_COLORS.danger.rgb;
  const memory = await chartPixels(page!, '#memory-plot', [danger, '#c4162a']);
  assert.ok(memory.inked > memory.area * 0.05, `${memory.inked} of ${memory.area} pixels drawn`);
  const limitY = memory.plot.top + memory.plot.height * (1 - (DEMO_LIMIT_BYTES - memory.yMin) / (memory.yMax - memory.yMin));
  assert.ok(memory.rowsOf[danger]!.some((y) => Math.abs(y - limitY) <= 2), `the limit line at ${limitY.toFixed(1)}: ${memory.rowsOf[danger]!.join(',')}`);
  assert.ok(memory.rowsOf['#c4162a']!.length > 0.8 * memory.plot.height, 'the OOM kill marker crosses the chart');
  const cpu = await chartPixels(page!, '#cpu-plot', [danger]);
  assert.ok(cpu.inked > cpu.area * 0.01, `${cpu.inked} of ${cpu.area} CPU pixels drawn`);
  const cpuLimitY = cpu.plot.top + cpu.plot.height * (1 - (1 - cpu.yMin) / (cpu.yMax - cpu.yMin));
  assert.ok(cpu.rowsOf[danger]!.some((y) => Math.abs(y - cpuLimitY) <= 2), `the CPU limit line at ${cpuLimitY.toFixed(1)}: ${cpu.rowsOf[danger]!.join(',')}`);
  // Ten readings of history: a recommendation, with its reason and the compose lines for it.
  await page!.waitForFunction(() => document.querySelector('#detail .reason')?.textContent?.startsWith('Recommended: ') && document.querySelector('#detail pre.snippet code')?.textContent?.includes('memory:'), undefined, { timeout: 60_000 });
  await screenshot(page!, 'page-detail.png');
});

test('behind a reverse proxy under a sub-path: the page, its API and its assets, every request under the prefix', async () => {
  const seen: string[] = [];
  const proxy: Server = createServer((incoming, answer) => {
    seen.push(incoming.url ?? '');
    if (!incoming.url?.startsWith('/headroom/')) { answer.writeHead(404).end(); return; }
    const upstream = new URL(exporter!.url);
    const outgoing = request({ host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url.slice('/headroom'.length), headers: incoming.headers }, (response) => {
      answer.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(answer);
    });
    outgoing.on('error', () => answer.writeHead(502).end());
    incoming.pipe(outgoing);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/headroom/`;
    const { context, page: proxied } = await browser!.newPage();
    await proxied.goto(base);
    await proxied.waitForFunction((count) => document.querySelectorAll('#rows tbody tr').length === count, running.length + 1, { timeout: 20_000 });
    await proxied.click(`#rows tr[data-key="${DEMO}"] a`);
    await proxied.waitForSelector('#memory-plot canvas');
    assert.ok((await chartPixels(proxied, '#memory-plot', [])).inked > 0);
    await proxied.click('text=Metrics');
    await proxied.waitForURL(`${base}metrics`);
    await context.close();
    assert.ok(seen.length > 5, seen.join('\n'));
    assert.equal(seen.filter((url) => !url.startsWith('/headroom/')), []);
  } finally {
    proxy.close();
  }
});

test('the API: an unknown container is a 404, a bad range a 400, both JSON', async () => {
  const missing = await fetch(`${exporter!.url}/api/v1/containers/nothing-here`);
  assert.is(missing.status, 404);
  assert.equal(await missing.json(), { error: 'no watched container "nothing-here"' });
  const badRange = await fetch(`${exporter!.url}/api/v1/containers/${DEMO}?range=30d`);
  assert.is(badRange.status, 400);
  assert.equal(await badRange.json(), { error: 'range is one of history' });
  const index = await (await fetch(`${exporter!.url}/api/v1/`)).json() as { api_version: number };
  assert.is(index.api_version, 1);
});

test('no console error or warning anywhere', () => {
  assert.equal(browser!.problems, []);
});

test.run();
