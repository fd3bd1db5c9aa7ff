// The demo service of the local stack: a tiny HTTP server whose memory and CPU use a user pushes up
// and down, so headroom's gauges, alerts and dashboards can be seen moving. No dependencies: it runs
// in a stock Node image.
//
//   POST   /memory?mb=N        hold N more MiB (touched, so they count in the working set)
//   POST   /memory?percent=P   hold what brings the service to P % of MEMORY_LIMIT
//   DELETE /memory             free everything held
// The memory is held by a child process, so that at 100 % the kernel's OOM killer picks the child
// and the server (PID 1 of its container) lives on to report it: the OOM kill stays visible in the
// container's cgroup instead of vanishing with a restarted container.
//   POST   /cpu?percent=P      burn P % of CPU_LIMIT (duty-cycled worker threads; 100 and over: throttled)
//   POST   /cpu?workers=N      N threads spinning flat out
//   DELETE /cpu                stop burning
//   GET    /health             the demo's own health (what the container healthcheck calls)
//   POST   /sms, GET /sms      a stand-in SMS gateway: Alertmanager's page webhook lands here
// @ts-check
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const MIB = 1024 * 1024;
const SLICE_MS = 100;
const MAX_SMS = 50;

/** Compose's memory syntax (`2048M`, `1g`, `512mb`, bytes) in bytes, or null. */
export function parseMemorySize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(String(text).trim());
  if (!match) return null;
  const power = ['', 'k', 'm', 'g', 't'].indexOf((match[2] ?? '').toLowerCase());
  const bytes = Math.round(Number(match[1]) * 1024 ** power);
  return bytes > 0 ? bytes : null;
}

/** Compose's CPU syntax (`2.0`) in cores, or null. */
export function parseCpus(text) {
  if (!/^\d+(?:\.\d+)?$/.test(String(text).trim())) return null;
  const cores = Number(text);
  return cores > 0 ? cores : null;
}

/**
 * Worker threads and duty cycle that burn `percent` of `limitCores`: whole workers at 100 %, the
 * remainder spread evenly; at or over 100 % of the limit, that many cores' worth of threads plus one
 * spin flat out, so the cgroup asks for more than its quota and is throttled.
 */
export function cpuPlan(percent, limitCores) {
  if (percent >= 100) return { workers: Math.ceil((limitCores * percent) / 100) + 1, duty: 1 };
  const cores = (limitCores * percent) / 100;
  const workers = Math.max(1, Math.ceil(cores));
  return { workers, duty: cores / workers };
}

// A worker alternates busy and idle inside each slice: busy for duty x slice, asleep for the rest.
const BURNER = `
const { workerData } = require('node:worker_threads');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  const start = Date.now();
  while (Date.now() - start < workerData.duty * workerData.sliceMs) {}
  const idle = workerData.sliceMs - (Date.now() - start);
  if (idle > 0) Atomics.wait(sleeper, 0, 0, idle);
}`;

/** A file's text, or undefined when it cannot be read. */
function readText(file) {
  try { return readFileSync(file, 'utf8'); } catch { return undefined; }
}

/**
 * The working set (usage minus inactive file) of this process's memory cgroup, as the exporter counts
 * it, or null where no cgroup memory files are readable. Inside a container /sys/fs/cgroup is the
 * container's own cgroup; outside, the path from /proc/self/cgroup is appended.
 */
export function cgroupWorkingSet(procSelfCgroup = readText('/proc/self/cgroup') ?? '', read = readText) {
  const lines = procSelfCgroup.split('\n').map((line) => line.split(':'));
  const v1 = lines.find((fields) => (fields[1] ?? '').split(',').includes('memory'));
  const v2 = lines.find((fields) => fields[0] === '0' && fields[1] === '');
  const candidates = [];
  if (v1) candidates.push([`/sys/fs/cgroup/memory${v1.slice(2).join(':')}`, 'memory.usage_in_bytes', 'total_inactive_file'], ['/sys/fs/cgroup/memory', 'memory.usage_in_bytes', 'total_inactive_file']);
  if (v2) candidates.push([`/sys/fs/cgroup${v2.slice(2).join(':')}`, 'memory.current', 'inactive_file'], ['/sys/fs/cgroup', 'memory.current', 'inactive_file']);
  for (const [dir, usageFile, inactiveKey] of candidates) {
    const usage = read(`${dir.replace(/\/+$/, '')}/${usageFile}`);
    const stat = read(`${dir.replace(/\/+$/, '')}/memory.stat`);
    if (usage === undefined || stat === undefined) continue;
    const inactive = new RegExp(`^${inactiveKey} (\\d+)$`, 'm').exec(stat);
    return Math.max(0, Number(usage.trim()) - Number(inactive?.[1] ?? 0));
  }
  return null;
}

/** The memory hog: a child process that holds what it is told and reports its resident size. */
function runHog() {
  /** @type {Buffer[]} */
  const held = [];
  process.on('message', (/** @type {{ hold: number }} */ message) => {
    // fill() touches every page, so the kernel charges them to the cgroup now.
    for (let left = message.hold; left > 0; left -= MIB) held.push(Buffer.alloc(Math.min(MIB, left), 1));
    process.send?.({ held: held.reduce((sum, buffer) => sum + buffer.length, 0), rss: process.memoryUsage().rss });
  });
  process.on('disconnect', () => process.exit(0));
}

export function createDemo(env = process.env) {
  const memoryLimitBytes = parseMemorySize(env.MEMORY_LIMIT ?? '') ?? null;
  const cpuLimitCores = parseCpus(env.CPU_LIMIT ?? '') ?? null;
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let hog;
  let hogReport = { held: 0, rss: 0 };
  /** @type {{ pid: number | undefined, signal: string | null, at: string } | null} */
  let lastHogDeath = null;
  let hogQueue = Promise.resolve();
  /** @type {Worker[]} */
  let burners = [];
  let burnDuty = 0;
  /** @type {unknown[]} */
  const sms = [];

  function startHog() {
    const child = fork(fileURLToPath(import.meta.url), ['--hog'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (/** @type {{ held: number, rss: number }} */ report) => { if (hog === child) hogReport = report; });
    child.once('exit', (code, signal) => {
      if (hog !== child) return;
      hog = undefined;
      hogReport = { held: 0, rss: 0 };
      // SIGKILL that we did not send: the kernel's OOM killer (or someone else) took the memory back.
      lastHogDeath = { pid: child.pid, signal, at: new Date().toISOString() };
      process.stdout.write(`memory hog ${child.pid} exited (code ${code}, signal ${signal})\n`);
    });
    return child;
  }

  /** Asks the hog to hold `bytes` more; resolves with its report, or when it dies trying. */
  function hold(bytes) {
    const request = hogQueue.then(() => new Promise((resolve) => {
      hog ??= startHog();
      const child = hog;
      const done = () => { child.off('message', done); child.off('exit', done); resolve(undefined); };
      child.once('message', done);
      child.once('exit', done);
      child.send({ hold: Math.max(0, Math.round(bytes)) });
    }));
    hogQueue = request;
    return request;
  }

  function freeMemory() {
    const child = hog;
    hog = undefined;
    hogReport = { held: 0, rss: 0 };
    if (!child) return Promise.resolve();
    return new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL'); });
  }

  const serviceRss = () => process.memoryUsage().rss + hogReport.rss;
  /** What the exporter will see: the cgroup's working set where readable, else the processes' RSS. */
  const workingSet = () => cgroupWorkingSet() ?? serviceRss();

  /** Holds more until the working set reaches `bytes` (a few rounds: the hog's own growth counts too). */
  async function holdUpTo(bytes) {
    // A new hog is a whole Node process: start it first, so that its own memory counts before the first round.
    if (hog === undefined) await hold(0);
    for (let round = 0; round < 8; round += 1) {
      const missing = bytes - workingSet();
      if (missing < MIB) return;
      const hogBefore = hog;
      await hold(missing);
      if (hogBefore !== undefined && hog === undefined) return; // killed trying: the limit is reached
    }
  }

  async function stopBurning() {
    const stopping = burners;
    burners = [];
    burnDuty = 0;
    await Promise.all(stopping.map((worker) => worker.terminate()));
  }

  async function burn(workers, duty) {
    await stopBurning();
    burnDuty = duty;
    burners = Array.from({ length: workers }, () => new Worker(BURNER, { eval: true, workerData: { duty, sliceMs: SLICE_MS } }));
  }

  function status() {
    return {
      status: 'ok',
      memory: { held_bytes: hogReport.held, rss_bytes: serviceRss(), working_set_bytes: workingSet(), limit_bytes: memoryLimitBytes, hog_pid: hog?.pid ?? null, last_hog_death: lastHogDeath },
      cpu: { workers: burners.length, duty: burnDuty, limit_cores: cpuLimitCores },
    };
  }

  /** @returns {Promise<[number, unknown]>} */
  async function route(method, url, body) {
    const number = (name) => {
      const raw = url.searchParams.get(name);
      const value = raw === null || raw.trim() === '' ? NaN : Number(raw);
      return Number.isFinite(value) && value >= 0 ? value : null;
    };
    const key = `${method} ${url.pathname}`;
    if (key === 'GET /health') return [200, status()];
    if (key === 'GET /') return [200, { ...status(), endpoints: ['POST /memory?mb=N|percent=P', 'DELETE /memory', 'POST /cpu?percent=P|workers=N', 'DELETE /cpu', 'GET /health', 'GET /sms'] }];
    if (key === 'POST /memory') {
      const mb = number('mb');
      const percent = number('percent');
      if (mb !== null) await hold(mb * MIB);
      else if (percent !== null) {
        if (memoryLimitBytes === null) return [400, { error: 'MEMORY_LIMIT is not set: use ?mb=N' }];
        await hold(0); // the hog's own baseline counts too
        await holdUpTo((memoryLimitBytes * percent) / 100);
      } else return [400, { error: 'give ?mb=N or ?percent=P' }];
      return [200, status()];
    }
    if (key === 'DELETE /memory') {
      await freeMemory();
      return [200, status()];
    }
    if (key === 'POST /cpu') {
      const workers = number('workers');
      const percent = number('percent');
      if (workers !== null && Number.isInteger(workers) && workers <= 64) await burn(workers, 1);
      else if (percent !== null && percent > 0) {
        if (cpuLimitCores === null) return [400, { error: 'CPU_LIMIT is not set: use ?workers=N' }];
        const plan = cpuPlan(percent, cpuLimitCores);
        await burn(plan.workers, plan.duty);
      } else return [400, { error: 'give ?percent=P (P > 0) or ?workers=N (0-64)' }];
      return [200, status()];
    }
    if (key === 'DELETE /cpu') {
      await stopBurning();
      return [200, status()];
    }
    if (key === 'POST /sms') {
      let payload;
      try { payload = JSON.parse(body); } catch { return [400, { error: 'JSON body expected' }]; }
      sms.unshift({ received_at: new Date().toISOString(), payload });
      sms.length = Math.min(sms.length, MAX_SMS);
      process.stdout.write(`sms: ${JSON.stringify(payload).slice(0, 500)}\n`);
      return [200, { stored: true }];
    }
    if (key === 'GET /sms') return [200, sms];
    return [404, { error: `no route ${key}` }];
  }

  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => { if (body.length < 1_000_000) body += chunk; });
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://demo');
      route(request.method ?? 'GET', url, body).then(([code, payload]) => {
        response.writeHead(code, { 'content-type': 'application/json' });
        response.end(`${JSON.stringify(payload)}\n`);
      }, (error) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(`${JSON.stringify({ error: String(error) })}\n`);
      });
    });
  });
  return { server, close: async () => { await stopBurning(); await freeMemory(); await new Promise((resolve) => server.close(resolve)); } };
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === '--hog') runHog();
else if (import.meta.url === `file://${process.argv[1]}`) {
  const host = process.env.DEMO_HOST ?? '0.0.0.0';
  const port = Number(process.env.DEMO_PORT ?? 8080);
  const demo = createDemo();
  demo.server.listen(port, host, () => process.stdout.write(`demo listening on http://${host}:${port}\n`));
  // As PID 1 of its container, Node gets no default signal handling: exit on SIGTERM/SIGINT ourselves.
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => { demo.close().finally(() => process.exit(0)); });
}
