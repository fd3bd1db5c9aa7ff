// A neighbour engine for a whole test run (scripts/run-tests.mjs with HEADROOM_NEIGHBOUR_ENGINE=1, as .ci/run
// sets it): Docker as a system engine runs it, in the host's network namespace with iptables on and its
// default bridge docker0, with one container on docker0. It starts before the suites; after them, check()
// asserts that it still has its docker0, that its container kept its address and answers, and that it still
// starts a container that reaches the first one; then stop() takes it down. The private engines
// (docker-engine.ts) must work beside it and leave it as it was.
//
// It sets up the state of a machine where Docker was installed: the host's FORWARD policy DROP (dockerd sets it
// when it turns IP forwarding on; set here when forwarding was on already) and
// net.bridge.bridge-nf-call-iptables=1. Its data root, exec root and socket are in a temporary directory of
// the run, never /var/lib/docker or /var/run/docker.sock. Where the host has a docker0 already, or an engine
// runs in its network namespace, the machine is that scenario already: nothing is started, and check()
// asserts that docker0 is still the same interface.
//
// stop() restores what it changed from what it recorded before it started: the iptables tables
// (iptables-save before, iptables-restore after; a table that did not exist before is left empty, with the
// built-in chains' ACCEPT policies, which is what iptables-restore can say), the sysctls, docker0 (deleted
// only when there was none before and it is still the interface the neighbour made), its directory.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DOCKER_CLI, DOCKERD, mountsUnder, runCommand, type CommandOptions } from './docker-engine.js';
import { HOST_NODE_IMAGE, importHostNodeImage, readFrom } from './host-node-image.js';
import { interfaceIndex } from './netns.js';
import { alive, ownerGone, ownerRecord, readIfThere, sleepSync } from './ownership.js';
import { waitFor } from './processes.js';

const PREFIX = 'hdnb-';
const CONTAINER = 'neighbour-web';
const PORT = 8080;
const ANSWER = 'neighbour';
const SERVER = `require('net').createServer((socket) => socket.end('${ANSWER}')).listen(${PORT})`;
const SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/bridge/bridge-nf-call-iptables'];
/** The built-in chains of the tables dockerd 20.10 writes to. */
const TABLES: Record<string, string[]> = { filter: ['INPUT', 'FORWARD', 'OUTPUT'], nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] };

export interface Neighbour {
  /** One line: what was started, or why nothing was. */
  summary: string;
  /** What is no longer as it should be (empty when all is well). */
  check(): Promise<string[]>;
  /** Takes it down and restores the host; what could not be done. */
  stop(): Promise<string[]>;
}

interface Recorded {
  iptables: string;
  sysctls: Record<string, string>;
  /** docker0's ifindex once the neighbour made it. */
  docker0?: string;
  /** iptables -S of both tables once set up: the private engines must not change it. */
  rules?: string;
  address?: string;
}

const docker0Index = () => interfaceIndex('docker0');

function rules(): string {
  return Object.keys(TABLES).map((table) => spawnSync('iptables', ['-t', table, '-S'], { encoding: 'utf8' }).stdout).join('');
}

/** dockerd processes in this process's network namespace. */
function enginesHere(): number[] {
  const own = readlinkSync('/proc/self/ns/net');
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'dockerd' && readlinkSync(`/proc/${pid}/ns/net`) === own; } catch { return false; }
  });
}

function client(dir: string) {
  const env = { ...process.env, DOCKER_HOST: `unix://${path.join(dir, 'docker.sock')}`, DOCKER_CONFIG: path.join(dir, 'cli') };
  return (args: string[], options: CommandOptions = {}) => runCommand(DOCKER_CLI, args, { ...options, env });
}

/** Takes the neighbour in dir down and puts back what it recorded. Synchronous: it also runs on the way out. */
function restore(dir: string): string[] {
  const problems: string[] = [];
  const recorded = JSON.parse(readIfThere(path.join(dir, 'recorded.json')) ?? 'null') as Recorded | null;
  const env = { ...process.env, DOCKER_HOST: `unix://${path.join(dir, 'docker.sock')}`, DOCKER_CONFIG: path.join(dir, 'cli') };
  const pid = Number(readIfThere(path.join(dir, 'pid')) ?? readIfThere(path.join(dir, 'daemon-pid')) ?? NaN);
  if (Number.isFinite(pid) && alive(pid)) {
    const ids = spawnSync(DOCKER_CLI, ['ps', '--all', '--quiet'], { env, encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? [];
    if (ids.length > 0) spawnSync(DOCKER_CLI, ['rm', '--force', ...ids], { env, timeout: 60_000 });
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(pid) && Date.now() < deadline) sleepSync(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try { if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${dir}/`)) process.kill(Number(entry), 'SIGKILL'); } catch { /* gone */ }
  }
  for (const point of mountsUnder(dir)) spawnSync('umount', ['--lazy', point]);
  if (recorded) {
    if (recorded.docker0 !== undefined && docker0Index() === recorded.docker0) {
      if (spawnSync('ip', ['link', 'delete', 'docker0']).status !== 0) problems.push('could not delete the docker0 the neighbour made');
    }
    const saved = recorded.iptables;
    const missing = Object.entries(TABLES).filter(([table]) => !new RegExp(`^\\*${table}$`, 'm').test(saved))
      .map(([table, chains]) => [`*${table}`, ...chains.map((chain) => `:${chain} ACCEPT [0:0]`), 'COMMIT', ''].join('\n'));
    const restored = spawnSync('iptables-restore', { input: `${saved}${missing.join('')}`, encoding: 'utf8' });
    if (restored.status !== 0) problems.push(`iptables-restore: ${restored.stderr}`);
    for (const [file, value] of Object.entries(recorded.sysctls)) {
      try { if (readFileSync(file, 'utf8') !== value) writeFileSync(file, value); } catch (error) { problems.push(`${file}: ${(error as Error).message}`); }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dir)) problems.push(`${dir} could not be removed`);
  return problems;
}

/** Neighbours whose test runner died: taken down and the host restored, as their stop() would. */
function sweepAbandoned(): void {
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), entry);
    const owner = readIfThere(path.join(dir, 'owner'));
    if (owner === undefined || !ownerGone(owner)) continue;
    process.stderr.write(`[neighbour] taking down a neighbour engine left behind: ${dir}\n`);
    const problems = restore(dir);
    if (problems.length > 0) process.stderr.write(`[neighbour] ${problems.join('\n')}\n`);
  }
}

export async function startNeighbour(): Promise<Neighbour> {
  sweepAbandoned();
  const existing = docker0Index();
  const engines = enginesHere();
  if (existing !== undefined || engines.length > 0) {
    const what = existing !== undefined ? `a docker0 (ifindex ${existing})` : `an engine in its network namespace (dockerd ${engines.join(', ')})`;
    return {
      summary: `the host has ${what} already: no neighbour engine started; docker0 is checked after the suites`,
      check: async () => (existing === undefined || docker0Index() === existing ? [] : [`docker0 (ifindex ${existing}) is ${docker0Index() === undefined ? 'gone' : `now ifindex ${docker0Index()}`}`]),
      stop: async () => [],
    };
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), PREFIX));
  writeFileSync(path.join(dir, 'owner'), ownerRecord());
  const recorded: Recorded = {
    iptables: spawnSync('iptables-save', { encoding: 'utf8' }).stdout ?? '',
    sysctls: Object.fromEntries(SYSCTLS.filter(existsSync).map((file) => [file, readFileSync(file, 'utf8')])),
  };
  const save = () => writeFileSync(path.join(dir, 'recorded.json'), JSON.stringify(recorded));
  save();
  const docker = client(dir);
  try {
    const bridgeNf = SYSCTLS[1]!;
    if (!existsSync(bridgeNf)) throw new Error(`${bridgeNf} is missing (the br_netfilter module): the scenario needs it at 1`);
    writeFileSync(bridgeNf, '1');
    const configFile = path.join(dir, 'daemon.json');
    writeFileSync(configFile, JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') }));
    const logFd = openSync(path.join(dir, 'dockerd.log'), 'a');
    const daemon = spawn(DOCKERD, [`--config-file=${configFile}`, `--data-root=${path.join(dir, 'root')}`, `--exec-root=${path.join(dir, 'exec')}`,
      '-H', `unix://${path.join(dir, 'docker.sock')}`, `--pidfile=${path.join(dir, 'pid')}`, '--log-level=warn'],
    { stdio: ['ignore', logFd, logFd], detached: true, env: { ...process.env, DOCKER_HOST: undefined } as NodeJS.ProcessEnv });
    closeSync(logFd);
    daemon.unref();
    writeFileSync(path.join(dir, 'daemon-pid'), String(daemon.pid));
    // Answering, with its docker0 (which comes a moment after the API).
    recorded.docker0 = await waitFor('the neighbour engine and its docker0', async () => {
      if (daemon.exitCode !== null) throw new Error(`dockerd exited ${daemon.exitCode}: ${readIfThere(path.join(dir, 'dockerd.log'))?.slice(-2000)}`);
      return (await docker(['version'], { check: false })).code === 0 && docker0Index();
    }, 60_000, 200);
    save();
    if (!/^-P FORWARD DROP$/m.test(rules())) spawnSync('iptables', ['-P', 'FORWARD', 'DROP']);
    await importHostNodeImage(docker);
    await docker(['run', '--detach', '--name', CONTAINER, HOST_NODE_IMAGE, '-e', SERVER]);
    recorded.address = (await docker(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', CONTAINER])).stdout.trim();
    await waitFor(`${CONTAINER} answering at ${recorded.address}:${PORT}`, async () => (await readFrom(recorded.address!, PORT)) === ANSWER, 15_000, 200);
    recorded.rules = rules();
    save();
  } catch (error) {
    const problems = restore(dir);
    throw new Error(`${(error as Error).message}${problems.length > 0 ? `\n${problems.join('\n')}` : ''}`);
  }

  const check = async (): Promise<string[]> => {
    const problems: string[] = [];
    if (docker0Index() !== recorded.docker0) problems.push(`docker0 (ifindex ${recorded.docker0}) is ${docker0Index() === undefined ? 'gone' : `now ifindex ${docker0Index()}`}`);
    const state = await docker(['inspect', '--format', '{{.State.Status}} {{.NetworkSettings.IPAddress}}', CONTAINER], { check: false });
    if (state.stdout.trim() !== `running ${recorded.address}`) problems.push(`${CONTAINER}: "${state.stdout.trim()}${state.stderr.trim()}", not "running ${recorded.address}"`);
    const answer = await readFrom(recorded.address!, PORT).catch((error: Error) => error.message);
    if (answer !== ANSWER) problems.push(`${CONTAINER} at ${recorded.address}:${PORT} from the host: ${answer}`);
    const probe = `const s = require('net').connect(${PORT}, '${recorded.address}'); let t = ''; s.on('data', (c) => { t += c; }); s.on('end', () => { console.log(t); process.exit(t === '${ANSWER}' ? 0 : 1); }); s.on('error', (e) => { console.log(e.message); process.exit(1); }); setTimeout(() => { console.log('no answer in 10 s'); process.exit(1); }, 10000);`;
    const fresh = await docker(['run', '--rm', HOST_NODE_IMAGE, '-e', probe], { check: false, timeoutMs: 60_000 });
    if (fresh.code !== 0) problems.push(`a new container on docker0 reaching ${CONTAINER}: exit ${fresh.code}, ${fresh.stdout.trim()} ${fresh.stderr.trim()}`);
    const now = rules();
    if (now !== recorded.rules) problems.push(`the host's iptables changed while the suites ran:\n--- after the neighbour started\n${recorded.rules}--- now\n${now}`);
    return problems;
  };

  return {
    summary: `neighbour engine in ${dir}: docker0 (ifindex ${recorded.docker0}), iptables on, FORWARD DROP, bridge-nf-call-iptables=1, ${CONTAINER} at ${recorded.address}`,
    check,
    stop: async () => restore(dir),
  };
}
