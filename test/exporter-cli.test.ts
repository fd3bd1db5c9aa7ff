// The `headroom` command as a user meets it: flags, help, endpoints, lint of /metrics, SIGTERM.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, REPO_ROOT, run, startExporter } from '../scripts/processes.js';
import { parseExposition } from './helpers/metrics-text.js';

const headroom = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });

test('--help lists every flag with its default and exits 0', async () => {
  const { code, stdout } = await headroom(['--help']);
  assert.is(code, 0);
  for (const flag of ['--web.listen-address', '--web.telemetry-path', '--web.config.file', '--path.procfs', '--path.sysfs', '--target.pid', '[$HEADROOM_TARGET_PID]', '--data.dir', '[$HEADROOM_DATA_DIR]', '--declared.memory-limit', '[$MEMORY_LIMIT]']) {
    assert.ok(stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.ok(stdout.includes('"127.0.0.1:9477"'), 'the default listen address');
});

test('the package bin: `npx headroom --help` and --version', async () => {
  const help = await run('npx', ['--no-install', 'headroom', '--help'], { cwd: REPO_ROOT });
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: headroom/);
  const version = await headroom(['--version']);
  assert.match(version.stdout, /^headroom \d+\.\d+\.\d+\n$/);
});

test('bad flags and variables: one line naming them, exit 2', async () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--no-such-flag'], {}, /unknown flag --no-such-flag/],
    [['--web.listen-address=nowhere'], {}, /--web\.listen-address.*HOST:PORT/],
    [['--target.pid=-3'], {}, /--target\.pid/],
    [['--web.listen-address'], {}, /--web\.listen-address needs a value/],
    [['--log.level=loud'], {}, /--log\.level/],
    [[], { MEMORY_LIMIT: 'plenty' }, /environment variable MEMORY_LIMIT.*SIZE/],
    [[], { CPU_LIMIT: '-1' }, /CPU_LIMIT/],
    [['surprise'], {}, /unknown command "surprise"/],
    // Names every JavaScript object inherits are not commands either.
    [['constructor'], {}, /unknown command "constructor"/],
    [['toString'], {}, /unknown command "toString"/],
    [['__proto__'], {}, /unknown command "__proto__"/],
    [[], { HEADROOM_LOG_LEVEL: 'loud' }, /environment variable HEADROOM_LOG_LEVEL/],
    // The engine's API is root on its host: plain TCP is refused, TLS or a unix socket only.
    [['--target.docker=tcp://127.0.0.1:2375'], {}, /--target\.docker.*unix:\/\/\/PATH or https:\/\/HOST:PORT/],
    [['--target.docker=http://127.0.0.1:2375'], {}, /--target\.docker/],
    [['--target.docker=unix:///var/run/docker.sock', '--target.pid=3'], {}, /--target\.docker watches every container/],
    [['--ui.refresh-interval=0s'], {}, /--ui\.refresh-interval.*DURATION/],
    [['--ui.history=2d'], {}, /--ui\.history/],
    [['--ui.refresh-interval=60s', '--ui.history=90s'], {}, /--ui\.history must hold at least two steps/],
    [['--ui.prometheus-url=ftp://x'], {}, /--ui\.prometheus-url/],
  ];
  for (const [args, env, pattern] of cases) {
    const { code, stderr, stdout } = await headroom(args, env);
    assert.is(code, 2, `${args.join(' ')} ${JSON.stringify(env)} exits 2`);
    assert.is(stdout, '');
    assert.is(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
    assert.match(stderr, pattern);
  }
});

test('the page, metrics, health, 404 as JSON; with the page off, a list of links at /', async () => {
  const exporter = await startExporter();
  try {
    const landing = await fetch(`${exporter.url}/`);
    const html = await landing.text();
    assert.is(landing.status, 200);
    assert.match(html, /headroom \d+\.\d+\.\d+/);
    // Relative: the page works under a reverse proxy's sub-path.
    assert.match(html, /href="metrics"/);
    assert.match(html, /href="health"/);
    assert.match(html, /src="assets\/[0-9a-f]{12}\/app\.js"/);
    const metrics = await fetch(`${exporter.url}/metrics`);
    assert.is(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    const names = new Set(parseExposition(await metrics.text()).map((sample) => sample.name));
    for (const name of ['headroom_cpu_percent', 'headroom_memory_percent', 'headroom_memory_available_bytes', 'headroom_build_info', 'headroom_scrape_collector_success', 'process_resident_memory_bytes']) assert.ok(names.has(name), name);
    const health = await fetch(`${exporter.url}/health`);
    const body = await health.json() as { status: string; checks: Record<string, unknown>; cpu_percent: unknown };
    assert.is(health.status, 200);
    assert.is(body.status, 'ok');
    assert.ok('collectors' in body.checks && 'resources' in body.checks);
    assert.type(body.cpu_percent, 'number');
    const missing = await fetch(`${exporter.url}/nothing-here`);
    assert.is(missing.status, 404);
    assert.equal(await missing.json(), { error: 'not found' });
  } finally {
    await exporter.stop();
  }
  const off = await startExporter(['--no-ui.enabled', '--statistics.enabled=false']);
  try {
    const html = await (await fetch(`${off.url}/`)).text();
    assert.match(html, /href="\/metrics"/);
    assert.match(html, /href="\/health"/);
    assert.is((await fetch(`${off.url}/api/v1/containers`)).status, 404);
  } finally {
    await off.stop();
  }
});

test('promtool check metrics finds nothing wrong with a live /metrics', async () => {
  const exporter = await startExporter();
  try {
    const text = await (await fetch(`${exporter.url}/metrics`)).text();
    const lint = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      import('node:child_process').then(({ spawn }) => {
        const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => { output += chunk; });
        child.stderr.on('data', (chunk) => { output += chunk; });
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, output }));
        child.stdin.end(text);
      }, reject);
    });
    // The user asked for *_percent gauges; promtool may name them, nothing else.
    const problems = lint.output.split('\n').filter((line) => line.trim() !== '' && !/^headroom_(cpu|memory)_percent /.test(line));
    assert.equal(problems, [], lint.output);
    if (problems.length === 0 && lint.output.trim() === '') assert.is(lint.code, 0);
  } finally {
    await exporter.stop();
  }
});

/** Whether a process has sqlite3's native addon mapped: the mark of the database code being loaded. */
function loadsSqlite(pid: number): boolean {
  return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('node_sqlite3.node');
}

test('collectors switch off with --no-collector.NAME, --collector.NAME=false or HEADROOM_COLLECTOR_NAME=false', async () => {
  const exporter = await startExporter(['--no-collector.process_group', '--collector.pressure=false', '--statistics.enabled=false'], { HEADROOM_COLLECTOR_PROCESSES: 'false' });
  try {
    const samples = parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
    const collectors = samples.filter((sample) => sample.name === 'headroom_scrape_collector_success').map((sample) => sample.labels.collector).sort();
    assert.equal(collectors, ['cpu', 'fds', 'memory', 'memory_oom', 'nproc', 'pids']);
    assert.equal(samples.filter((sample) => /^headroom_(process_group|pressure|processes)/.test(sample.name)).map((sample) => sample.name), []);
    assert.ok(samples.some((sample) => sample.name === 'headroom_memory_percent'), 'the rest still publish');
  } finally {
    await exporter.stop();
  }
  for (const [args, pattern] of [[['--no-collector.cpu=false'], /--no-collector\.cpu takes no value/], [['--no-collector.nothing'], /unknown flag --no-collector\.nothing/], [['--collector.cpu=maybe'], /--collector\.cpu/]] as const) {
    const { code, stderr } = await headroom([...args]);
    assert.is(code, 2, args.join(' '));
    assert.match(stderr, pattern);
  }
});

test('--statistics.enabled=false: no statistics routes, no database sub-status, no database code loaded', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-off-'));
  const on = await startExporter([`--data.dir=${dataDir}/on`]);
  try {
    assert.ok(loadsSqlite(on.child.pid!), 'with statistics on, sqlite3 is loaded (the check below can fail)');
  } finally {
    await on.stop();
  }
  const off = await startExporter([`--data.dir=${dataDir}/off`, '--statistics.enabled=false']);
  try {
    assert.not.ok(loadsSqlite(off.child.pid!), 'sqlite3 is not loaded');
    assert.not.ok(existsSync(`${dataDir}/off`), 'no data directory made');
    const health = await (await fetch(`${off.url}/health`)).json() as { checks: Record<string, unknown> };
    assert.equal(Object.keys(health.checks).sort(), ['collectors', 'resources']);
    const post = await fetch(`${off.url}/statistics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.is(post.status, 404);
    assert.not.match(await (await fetch(`${off.url}/`)).text(), '/statistics');
    const names = parseExposition(await (await fetch(`${off.url}/metrics`)).text()).map((sample) => sample.name);
    assert.not.ok(names.some((name) => name.startsWith('headroom_statistics_')), 'no statistics metrics');
  } finally {
    await off.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('SIGTERM closes the server and exits 0', async () => {
  const exporter = await startExporter(['--log.level=info']);
  const code = await exporter.stop('SIGTERM');
  assert.is(code, 0);
  assert.match(exporter.output(), /shutting down/);
});

test.run();
