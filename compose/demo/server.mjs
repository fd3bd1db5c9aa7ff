// The demo service of the local stack: a tiny HTTP server whose memory and CPU use a user pushes up
// and down, so headroom's gauges, alerts and dashboards can be seen moving. No dependencies: it runs
// in a stock Node image.
//
//   POST   /memory?mb=N        hold N more MiB (touched, so they count in the working set)
//   POST   /memory?percent=P   hold what brings the process to P % of MEMORY_LIMIT
//   DELETE /memory             free everything held
//   POST   /cpu?percent=P      burn P % of CPU_LIMIT (duty-cycled worker threads; over 100 saturates it)
//   POST   /cpu?workers=N      N threads spinning flat out
//   DELETE /cpu                stop burning
//   GET    /health             the demo's own health (what the container healthcheck calls)
//   POST   /sms, GET /sms      a stand-in SMS gateway: Alertmanager's page webhook lands here
// @ts-check
import { createServer } from 'node:http';
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
 * remainder spread evenly; at or over 100 % of the limit, one more thread than the limit spins flat out.
 */
export function cpuPlan(percent, limitCores) {
  if (percent >= 100) return { workers: Math.ceil(limitCores) + 1, duty: 1 };
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

export function createDemo(env = process.env) {
  const memoryLimitBytes = parseMemorySize(env.MEMORY_LIMIT ?? '') ?? null;
  const cpuLimitCores = parseCpus(env.CPU_LIMIT ?? '') ?? null;
  /** @type {Buffer[]} */
  let held = [];
  /** @type {Worker[]} */
  let burners = [];
  let burnDuty = 0;
  /** @type {unknown[]} */
  const sms = [];

  const heldBytes = () => held.reduce((sum, buffer) => sum + buffer.length, 0);

  function hold(bytes) {
    for (let left = bytes; left > 0; left -= MIB) {
      // fill() touches every page, so the kernel charges them to the cgroup now.
      held.push(Buffer.alloc(Math.min(MIB, left), 1));
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
      memory: { held_bytes: heldBytes(), rss_bytes: process.memoryUsage().rss, limit_bytes: memoryLimitBytes },
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
      if (mb !== null) hold(mb * MIB);
      else if (percent !== null) {
        if (memoryLimitBytes === null) return [400, { error: 'MEMORY_LIMIT is not set: use ?mb=N' }];
        hold(Math.max(0, Math.round((memoryLimitBytes * percent) / 100) - process.memoryUsage().rss));
      } else return [400, { error: 'give ?mb=N or ?percent=P' }];
      return [200, status()];
    }
    if (key === 'DELETE /memory') {
      held = [];
      globalThis.gc?.();
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
  return { server, close: async () => { await stopBurning(); held = []; await new Promise((resolve) => server.close(resolve)); } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const host = process.env.DEMO_HOST ?? '0.0.0.0';
  const port = Number(process.env.DEMO_PORT ?? 8080);
  const demo = createDemo();
  demo.server.listen(port, host, () => process.stdout.write(`demo listening on http://${host}:${port}\n`));
  // As PID 1 of its container, Node gets no default signal handling: exit on SIGTERM/SIGINT ourselves.
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => { demo.close().finally(() => process.exit(0)); });
}
