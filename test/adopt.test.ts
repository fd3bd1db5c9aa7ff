// headroom adopted on a user's own services, in a private Docker engine as the other Docker suites: a
// compose project of the user's in its own directory (a limited service, an unlimited one) and a plain
// `docker run` container, started first; then `make up` (no demo) through the Makefile with the engine named
// only by DOCKER_HOST (its socket is not the default one). All three appear by name in /metrics; a wrong
// socket path stops make up with one line before anything starts; `make test-alert` reaches the mail sink
// and a webhook configured through the stack's .env alone; `make tune SERVICE=web ENV_FILE=<project>/.env`
// writes the project's env file and the project's own `docker-compose up -d` applies it, which the exporter
// reports; `headroom recommend` prints every container in one table. Last, every shell block the README
// marks runnable (```sh runnable) runs as written, in order, against the same engine.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { parseMemorySize } from '../exporter/src/sizes.js';
import { REPO_ROOT, waitFor } from '../scripts/processes.js';
import { composeBuildOverride, DOCKER_COMPOSE, fetchWithin, runCommand, startEngine, type DockerEngine } from '../scripts/docker-engine.js';
import { loadStandins, STANDIN_TAGS } from '../scripts/standin-images.js';
import { parseExposition, type Sample } from './helpers/metrics-text.js';
import { COMPOSE_FILE } from './helpers/compose-file.js';
import { runnableBlocks } from './helpers/readme-blocks.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-adopt-'));
/** The user's compose project, in a directory of its own. */
const project = path.join(scratch, 'shop');
const projectEnv = path.join(project, '.env');
/** The stack's .env: the alerts' settings, nothing else. */
const stackEnv = path.join(scratch, 'stack.env');
const smtpPassword = path.join(scratch, 'smtp-password');
const webhookToken = path.join(scratch, 'webhook-token');
const USER_CONTAINERS = ['shop_web_1', 'shop_worker_1', 'loner'];

let engine: DockerEngine | undefined;
let makeEnv: NodeJS.ProcessEnv;
let webhook: Server | undefined;
const hooks: Array<{ authorization: string | undefined; body: { receiver: string; alerts: Array<{ labels: Record<string, string> }> } }> = [];

const url = (port: number, pathname = '') => `http://${engine!.address}:${port}${pathname}`;

function make(args: string[], env: NodeJS.ProcessEnv = makeEnv) {
  return runCommand('make', ['--no-print-directory', ...args], { cwd: REPO_ROOT, env, timeoutMs: 900_000, check: false });
}

async function metrics(): Promise<Sample[]> {
  const response = await fetchWithin(url(9477, '/metrics'), 10_000);
  return parseExposition(await response.text());
}

function limitOf(samples: Sample[], container: string): number | undefined {
  return samples.find((sample) => sample.name === 'headroom_memory_limit_bytes' && sample.labels.container === container)?.value;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return body;
}

test.before(async () => {
  engine = await startEngine({ tmpfs: '8g' });
  await loadStandins(engine);

  // The user's project: `web` with limits from its .env (the variables make tune writes), `worker` without any.
  mkdirSync(project);
  writeFileSync(path.join(project, 'docker-compose.yml'), stringify({
    version: '3.8',
    services: {
      web: {
        image: STANDIN_TAGS.nodeAlpine,
        // A little CPU and 40 MB held: history for the recommender.
        command: ['node', '-e', 'const held = Buffer.alloc(40 * 1024 * 1024, 1); setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 100); setInterval(() => held.length, 1000);'],
        deploy: { resources: { limits: { memory: '${MEMORY_LIMIT:-256M}', cpus: '${CPU_LIMIT:-0.5}' }, reservations: { memory: '${MEMORY_RESERVATION:-64M}' } } },
      },
      worker: { image: STANDIN_TAGS.nodeAlpine, command: ['sleep', '100000'] },
    },
  }));
  writeFileSync(projectEnv, '# the shop\'s sizes\nMEMORY_LIMIT=256M\nCPU_LIMIT=0.5\n');
  await engine.compose(['up', '-d'], { cwd: project });
  await engine.docker(['run', '-d', '--name', 'loner', '--memory', '64m', STANDIN_TAGS.nodeAlpine, 'sleep', '100000']);

  // The webhook the alerts go to, on the host's end of the engine's link (the stack's containers reach it).
  webhook = createServer((request, response) => {
    void readBody(request).then((body) => {
      hooks.push({ authorization: request.headers.authorization, body: JSON.parse(body) as (typeof hooks)[number]['body'] });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => webhook!.listen(0, engine!.namespace.hostAddress, resolve));
  const webhookUrl = `http://${engine.namespace.hostAddress}:${(webhook.address() as { port: number }).port}/page`;
  writeFileSync(smtpPassword, 'not-a-real-password\n');
  writeFileSync(webhookToken, 'token-of-the-shop\n');
  writeFileSync(stackEnv, [
    '# The alerts of the shop: mail through the stack\'s mail catcher, the page also to a webhook.',
    'HEADROOM_ALERT_SMTP_SMARTHOST=mailpit:1025',
    'HEADROOM_ALERT_SMTP_REQUIRE_TLS=false',
    'HEADROOM_ALERT_SMTP_USERNAME=alerts',
    `HEADROOM_ALERT_SMTP_PASSWORD_FILE=${smtpPassword}`,
    'HEADROOM_ALERT_EMAIL_FROM=headroom@shop.example',
    'HEADROOM_ALERT_EMAIL_TO=ops@shop.example',
    `HEADROOM_ALERT_SMS_WEBHOOK_URL=${webhookUrl}`,
    `HEADROOM_ALERT_SMS_TOKEN_FILE=${webhookToken}`,
    '',
  ].join('\n'));

  // Prometheus scrapes every 2 s (history for make tune within a minute): an override, as a site's own would be.
  const prometheusConfig = readFileSync(path.join(REPO_ROOT, 'compose/prometheus.yml'), 'utf8').replace(/scrape_interval: 15s/, 'scrape_interval: 2s');
  writeFileSync(path.join(scratch, 'prometheus.yml'), prometheusConfig);
  const override = path.join(scratch, 'faster.yml');
  writeFileSync(override, stringify({ version: '3.8', services: { prometheus: { volumes: [`${path.join(scratch, 'prometheus.yml')}:/etc/headroom/compose/prometheus.yml:ro`] } } }));
  const build = await composeBuildOverride(engine, ['-p', 'headroom', '-f', COMPOSE_FILE, '-f', override], { cwd: REPO_ROOT });
  // The engine is named by DOCKER_HOST alone (engine.env): no DOCKER_SOCKET, no docker context.
  makeEnv = { ...engine.env, PUBLISH_ADDRESS: engine.address, COMPOSE: DOCKER_COMPOSE, COMPOSE_OVERRIDE: `${override} ${build}`, ENV_FILE: stackEnv };
  delete makeEnv.DOCKER_SOCKET;
  delete makeEnv.DOCKER_CONTEXT;
});

test.after(async () => {
  try {
    if (engine) await make(['down', 'ARGS=-v']);
  } finally {
    webhook?.close();
    await engine?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('a socket path that is not one: make up prints one line naming it and how to choose another, exits non-zero, starts nothing', async () => {
  const wrong = path.join(scratch, 'no-engine.sock');
  const before = (await engine!.docker(['ps', '--all', '--format', '{{.Names}}'])).stdout.trim().split('\n').sort();
  const result = await make(['up'], { ...makeEnv, DOCKER_HOST: `unix://${wrong}` });
  assert.is.not(result.code, 0);
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('make up:'));
  assert.equal(lines, [`make up: ${wrong} (from DOCKER_HOST) is not a socket: name the engine's socket with DOCKER_SOCKET=/path/to/docker.sock or DOCKER_HOST=unix:///path/to/docker.sock`]);
  assert.equal((await engine!.docker(['ps', '--all', '--format', '{{.Names}}'])).stdout.trim().split('\n').sort(), before, 'no container was created');
  assert.equal(before, [...USER_CONTAINERS].sort());
});

test('make up, the engine named by DOCKER_HOST alone: headroom\'s services without the demo, and the user\'s three containers by name in /metrics', async () => {
  const up = await make(['up']);
  assert.is(up.code, 0, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stdout, `engine socket: ${engine!.socket}`);
  const names = (await engine!.docker(['ps', '--format', '{{.Names}}'])).stdout.trim().split('\n');
  assert.ok(!names.some((name) => name.includes('demo')), `no demo: ${names.join(', ')}`);
  for (const service of ['gate', 'exporter', 'prometheus', 'alertmanager', 'mailpit', 'grafana']) assert.ok(names.includes(`headroom_${service}_1`), `${service} runs: ${names.join(', ')}`);
  const gateMounts = JSON.parse((await engine!.docker(['inspect', '--format', '{{json .Mounts}}', 'headroom_gate_1'])).stdout) as Array<{ Type: string; Source: string }>;
  assert.equal(gateMounts.filter((mount) => mount.Type === 'bind').map((mount) => mount.Source), [engine!.socket], 'the gate mounts the socket DOCKER_HOST names');
  const samples = await waitFor('the user\'s containers in /metrics', async () => {
    const scraped = await metrics().catch(() => undefined);
    return scraped && USER_CONTAINERS.every((name) => limitOf(scraped, name) !== undefined) ? scraped : undefined;
  }, 120_000, 1000);
  assert.is(limitOf(samples, 'shop_web_1'), parseMemorySize('256M'));
  assert.is(limitOf(samples, 'loner'), 64 * 1024 ** 2);
  const worker = samples.find((sample) => sample.name === 'headroom_memory_working_set_bytes' && sample.labels.container === 'shop_worker_1');
  assert.ok(worker, 'the unlimited worker has its series');
  assert.equal([worker.labels.compose_project, worker.labels.compose_service], ['shop', 'worker']);
});

test('make test-alert: one synthetic alert, delivered to the mail sink and the webhook that .env names, and it says where', async () => {
  const result = await make(['test-alert']);
  assert.is(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, 'routed to receiver "page"');
  assert.match(result.stdout, 'mail to ops@shop.example via mailpit:1025: delivered');
  assert.match(result.stdout, /webhook http:\/\/[\d.]+:\d+\/page: delivered/);
  const hook = await waitFor('the webhook', async () => hooks.find((entry) => entry.body.alerts.some((alert) => alert.labels.alertname === 'HeadroomTestAlert')), 30_000, 500);
  assert.is(hook.authorization, 'Bearer token-of-the-shop', 'the token file .env names, mounted');
  assert.is(hook.body.receiver, 'page');
  const mail = await waitFor('the mail', async () => {
    const response = await fetchWithin(url(8025, '/api/v1/messages'), 5000);
    const { messages } = (await response.json()) as { messages: Array<{ Subject: string; To: Array<{ Address: string }> }> };
    return messages.find((message) => message.Subject.includes('HeadroomTestAlert'));
  }, 30_000, 500);
  assert.equal(mail.To.map((to) => to.Address), ['ops@shop.example']);
  const password = await engine!.docker(['exec', 'headroom_alertmanager_1', 'cat', '/etc/alertmanager/secrets/smtp-password']);
  assert.is(password.stdout, 'not-a-real-password\n', 'the SMTP password file .env names, mounted where the configuration reads it');
});

test('headroom recommend without a selector: one table of every container; csv and a bad format', async () => {
  const cli = (args: string[]) => runCommand(process.execPath, [path.join(REPO_ROOT, 'dist/exporter/src/cli.js'), 'recommend', `--prometheus.url=${url(9090)}`, ...args], { cwd: REPO_ROOT, check: false });
  const table = await waitFor('history of the user\'s containers', async () => {
    const result = await cli([]);
    return result.code === 0 && USER_CONTAINERS.every((name) => result.stdout.includes(name)) ? result : undefined;
  }, 180_000, 3000);
  const [header, ...rows] = table.stdout.trim().split('\n');
  assert.match(header!, /^CONTAINER\s+COMPOSE\s+CPU NOW\s+CPU P95\s+CPU REC\s+MEM NOW\s+MEM PEAK\s+MEM REC\s+SIZE\s+WHY$/);
  const web = rows.find((row) => row.startsWith('shop_web_1 '))!;
  assert.ok(/^shop_web_1\s+shop\/web\s+0\.5\s+[\d.]+\s+[\d.]+\s+256M\s+\d+M\s+\d+M\s+(small|medium|large|custom)\s+\(low confidence\) Needs /.test(web), table.stdout);
  assert.ok(/^shop_worker_1\s+shop\/worker\s+none\s+[\d.]+\s+[\d.]+\s+none\s/.test(rows.find((row) => row.startsWith('shop_worker_1 '))!), table.stdout);
  assert.ok(/^loner\s+-\s+none\s+[\d.]+\s+[\d.]+\s+64M\s/.test(rows.find((row) => row.startsWith('loner '))!), table.stdout);
  const csv = await cli(['--format=csv']);
  assert.is(csv.code, 0, csv.stderr);
  assert.match(csv.stdout.split('\r\n')[0]!, /^name,instance,compose,cpuLimit,/);
  assert.ok(csv.stdout.includes('\r\nloner,'), csv.stdout);
  const bad = await cli(['--format=html']);
  assert.is(bad.code, 2);
  assert.is(bad.stderr.trim().split('\n').length, 1, bad.stderr);
});

test('make tune SERVICE=web ENV_FILE=<project>/.env writes the project\'s env file; its own docker-compose up -d applies it; the exporter reports it', async () => {
  const tune = await make(['tune', 'SERVICE=web', `ENV_FILE=${projectEnv}`]);
  assert.is(tune.code, 0, `${tune.stdout}\n${tune.stderr}`);
  assert.match(tune.stdout, 'container shop_web_1 on instance exporter:9477');
  const written = parseEnv(readFileSync(projectEnv, 'utf8'));
  assert.match(readFileSync(projectEnv, 'utf8'), /^# the shop's sizes$/m, 'the project\'s other lines stay');
  const memory = parseMemorySize(written.MEMORY_LIMIT ?? '')!;
  assert.ok(memory >= 1024 ** 3, `a tier's memory: ${written.MEMORY_LIMIT}`);
  await engine!.compose(['up', '-d'], { cwd: project });
  const hostConfig = JSON.parse((await engine!.docker(['inspect', '--format', '{{json .HostConfig}}', 'shop_web_1'])).stdout) as { Memory: number; NanoCpus: number };
  assert.is(hostConfig.Memory, memory);
  assert.is(hostConfig.NanoCpus / 1e9, Number(written.CPU_LIMIT));
  await waitFor('the exporter to report the new limit', async () => {
    const scraped = await metrics().catch(() => undefined);
    return scraped && limitOf(scraped, 'shop_web_1') === memory;
  }, 90_000, 1000);
});

test('every runnable block of README.md runs as written against the engine', async () => {
  const blocks = runnableBlocks(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'));
  assert.ok(blocks.length >= 4, `runnable blocks: ${blocks.length}`);
  // What the README says a reader sets: the project's directory (PROJECT_DIR); the engine's address stands for
  // 127.0.0.1 (PUBLISH_ADDRESS), and Compose v1 for v2 (COMPOSE).
  const env = { ...makeEnv, PROJECT_DIR: project, PROMETHEUS_URL: url(9090) };
  for (const block of blocks) {
    const result = await runCommand('bash', ['-e', '-o', 'pipefail', '-c', block], { cwd: REPO_ROOT, env, timeoutMs: 900_000, check: false });
    assert.is(result.code, 0, `README block:\n${block}\nexited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  }
  assert.is((await engine!.docker(['ps', '--all', '--quiet', '--filter', 'label=com.docker.compose.project=headroom'])).stdout.trim(), '', 'the README ends with make down');
});

test.run();
