// A private Docker engine for tests: Debian's dockerd (Engine 20.10) with its own data root, exec root
// and socket in a fresh temporary directory, never /var/run/docker.sock. Clients are Debian's
// /usr/bin/docker (not whatever `docker` is first on PATH) and docker-compose 1.29, both pointed at it
// through DOCKER_HOST.
//
// The daemon's flags keep two engines on one host (two test runs, or a developer's own Docker) from
// undoing each other, while bridge networks, DNS between containers and ports published on 127.0.0.1 work:
//   --bridge=none      no docker0: that interface name is host-wide and every daemon would claim it.
//                      Containers started without --network get only loopback; give them a network of
//                      their own (compose does). User-defined bridges are named br-<network id>, and a new
//                      network's subnet skips the ones already routed on the host.
//   --iptables=false   dockerd deletes and re-creates the host-wide DOCKER, DOCKER-USER and
//                      DOCKER-ISOLATION-STAGE-* chains when it starts, and sets FORWARD's policy to DROP:
//                      a second daemon would break the first one's rules. Without them there is no NAT, so
//                      containers on a bridge reach nothing outside the engine: builds that download (npm,
//                      apt) run with --network=host. Published ports still work through docker-proxy.
//   --ip-forward=false  the host's net.ipv4.ip_forward stays as it was (nothing is routed out anyway; the
//                      client's "IPv4 forwarding is disabled" warning on docker run is expected).
// Swarm (see swarmInit): its listener, gossip (7946, not configurable) and VXLAN port are host-wide too,
// so each engine advertises its own loopback address and data-path port, and docker_gwbridge is created
// beforehand with a bridge name of its own. This kernel has no IPVS: a service's virtual IP does not
// answer, so services use endpoint_mode dnsrr; the ingress routing mesh needs iptables, so ports are
// published with mode=host (Swarm binds those on every address).
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { waitFor } from './processes.js';

export const DOCKERD = process.env.DOCKERD_BIN ?? '/usr/sbin/dockerd';
/** Debian's client (Engine 20.10's API); /usr/local/bin/docker may be another one, first on PATH. */
export const DOCKER_CLI = process.env.DOCKER_CLI ?? '/usr/bin/docker';
export const DOCKER_COMPOSE = process.env.DOCKER_COMPOSE_BIN ?? '/usr/bin/docker-compose';

/** The flags every engine gets besides its directories (see the comment at the top). */
export const DOCKERD_FLAGS = ['--bridge=none', '--iptables=false', '--ip-forward=false', '--log-level=warn'];

export interface CommandResult { code: number | null; stdout: string; stderr: string; ms: number }

export interface CommandOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Text written to the command's standard input. */
  input?: string;
  /** Killed (SIGKILL) after this long; the result then has code null. Default 10 minutes. */
  timeoutMs?: number;
  /** Throw when the exit code is not 0 (default true). */
  check?: boolean;
}

export interface DockerEngine {
  /** The engine's temporary directory (data root, exec root, socket). */
  dir: string;
  socket: string;
  /** unix://<socket>, for DOCKER_HOST. */
  host: string;
  /** The environment a client needs (also DOCKER_CONFIG in dir, and the classic builder). */
  env: NodeJS.ProcessEnv;
  /** Runs Debian's docker client against this engine. */
  docker(args: string[], options?: CommandOptions): Promise<CommandResult>;
  /** Runs docker-compose (1.29) against this engine. */
  compose(args: string[], options?: CommandOptions): Promise<CommandResult>;
  /** The daemon's log so far. */
  log(): string;
  /** Removes every container, network and volume, stops the daemon, unmounts what is left, removes dir. */
  stop(): Promise<void>;
}

/** Runs a command to completion; throws with its output on a non-zero exit unless check is false. */
export function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], cwd: options.cwd, env: options.env };
    const child = spawn(command, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => { stdout += chunk; });
    child.stderr?.on('data', (chunk) => { stderr += chunk; });
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr, ms: Date.now() - started };
      if (options.check !== false && code !== 0) {
        reject(new Error(`${path.basename(command)} ${args.join(' ')} exited ${code} after ${result.ms} ms\n${stdout.slice(-4000)}\n${stderr.slice(-4000)}`));
      } else resolve(result);
    });
  });
}

/** GET path on the engine's socket; resolves with the status and body. */
function engineGet(socket: string, apiPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: apiPath, method: 'GET', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * fetch() with a deadline. Node 20's fetch never settles when the server resets the connection before
 * answering, which docker-proxy does on a published port while the container is not listening yet.
 */
export async function fetchWithin(url: string, ms = 5000, init: RequestInit = {}): Promise<Response> {
  // A timer of our own: AbortSignal.timeout's does not keep the process alive, and a process with nothing
  // else pending would exit in the middle of a test.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} within ${ms} ms`)), ms);
  try {
    return await fetch(url, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** Where engine directories go: short enough for the unix sockets below them (at most 107 bytes). */
const ENGINES_BASE = os.tmpdir().length <= 40 ? os.tmpdir() : '/tmp';
const ENGINE_PREFIX = 'hd-';

/** Mount points at or below dir, deepest first (from /proc/self/mountinfo, octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const points = text.split('\n').filter(Boolean).map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  return [...new Set(points.filter((point) => point === dir || point.startsWith(`${dir}/`)))].sort((a, b) => b.length - a.length);
}

/** Pids whose command line mentions dir (the managed containerd and the shims of this engine). */
function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${dir}/`)) pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

/** The process's start time (field 22 of /proc/<pid>/stat), or undefined when it is gone or a zombie. */
function startTime(pid: number): string | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  return startTime(pid) !== undefined;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readIfThere(file: string): string | undefined {
  try { return readFileSync(file, 'utf8'); } catch { return undefined; }
}

/** The client environment for an engine directory. */
function clientEnv(dir: string): NodeJS.ProcessEnv {
  // The classic builder (BuildKit would fetch the `# syntax=` frontend image from a registry) and a client
  // configuration of the engine's own, not ~/.docker.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: `unix://${path.join(dir, 'docker.sock')}`,
    DOCKER_CONFIG: path.join(dir, 'cli'),
    DOCKER_BUILDKIT: '0',
    COMPOSE_DOCKER_CLI_BUILD: '0',
  };
  for (const key of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH']) delete env[key];
  return env;
}

/**
 * Takes an engine down and removes every trace of it on the host; synchronous, so that it also runs on
 * the way out of a test process. Through the API while the daemon answers: leaves the swarm, removes
 * containers, networks and volumes, then SIGTERM (SIGKILL after 20 s). Then kills whatever of it is left
 * (container processes, containerd, shims), unmounts everything under dir, deletes the bridges its
 * networks made and the load balancers' files of its swarm networks, and removes dir.
 * Returns what could not be done.
 */
function cleanupEngine(dir: string): string[] {
  const problems: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => { if (process.env.HEADROOM_ENGINE_DEBUG) process.stderr.write(`[docker-engine] ${what} at ${Date.now() - t0} ms\n`); };
  const env = clientEnv(dir);
  const pid = Number(readIfThere(path.join(dir, 'pid')) ?? readIfThere(path.join(dir, 'daemon-pid')) ?? NaN);
  const networkIds = new Set<string>();
  const docker = (args: string[], timeoutMs = 60_000): string | undefined => {
    const result = spawnSync(DOCKER_CLI, args, { env, encoding: 'utf8', timeout: timeoutMs });
    if (result.status !== 0) {
      problems.push(`docker ${args.join(' ')}: ${result.error?.message ?? ''}${result.stderr ?? ''}`.trim());
      return undefined;
    }
    return result.stdout;
  };
  const lines = (text: string | undefined) => (text ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
  if (Number.isFinite(pid) && alive(pid) && existsSync(path.join(dir, 'docker.sock'))) {
    for (const id of lines(docker(['network', 'ls', '--quiet', '--no-trunc']))) networkIds.add(id);
    if ((docker(['info', '--format', '{{.Swarm.LocalNodeState}}']) ?? '').trim() !== 'inactive') docker(['swarm', 'leave', '--force']);
    const containers = lines(docker(['ps', '--all', '--quiet']));
    if (containers.length > 0) docker(['rm', '--force', '--volumes', ...containers], 180_000);
    const networks = lines(docker(['network', 'ls', '--quiet', '--no-trunc', '--filter', 'type=custom']));
    if (networks.length > 0) docker(['network', 'rm', ...networks]);
    const volumes = lines(docker(['volume', 'ls', '--quiet']));
    if (volumes.length > 0) docker(['volume', 'rm', '--force', ...volumes]);
    mark('API clean-up done');
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(pid) && Date.now() < deadline) sleepSync(100);
    if (alive(pid)) {
      problems.push('dockerd did not stop within 20 s of SIGTERM: killed');
      process.kill(pid, 'SIGKILL');
    }
  }
  mark('daemon gone');
  // Containers still running (the daemon died before removing them): their cgroups name them.
  const containersDir = path.join(dir, 'root', 'containers');
  const ids = existsSync(containersDir) ? readdirSync(containersDir) : [];
  for (const id of ids) {
    for (const controller of ['pids', 'memory', 'cpu', 'cpuacct']) {
      for (const task of (readIfThere(`/sys/fs/cgroup/${controller}/docker/${id}/cgroup.procs`) ?? '').split('\n').filter(Boolean)) {
        try { process.kill(Number(task), 'SIGKILL'); } catch { /* gone */ }
      }
    }
  }
  if (Number.isFinite(pid) && alive(pid)) process.kill(pid, 'SIGKILL');
  for (const leftover of processesMentioning(dir)) {
    try { process.kill(leftover, 'SIGKILL'); } catch { /* gone */ }
  }
  const deadline = Date.now() + 5000;
  while (processesMentioning(dir).some(alive) && Date.now() < deadline) sleepSync(100);
  for (const id of ids) {
    for (const controller of readdirSync('/sys/fs/cgroup')) {
      const cgroup = `/sys/fs/cgroup/${controller}/docker/${id}`;
      if (existsSync(cgroup)) spawnSync('rmdir', [cgroup]);
    }
  }
  mark('leftover processes gone');
  for (const point of mountsUnder(dir)) spawnSync('umount', ['--lazy', point]);
  mark('unmounted');
  // The bridges of its networks: their names are in the engine's own network store (also when the daemon
  // died without removing them), br-<network id> or the name given with com.docker.network.bridge.name.
  const store = readIfThere(path.join(dir, 'root', 'network', 'files', 'local-kv.db')) ?? '';
  const bridges = new Set([...store.matchAll(/"BridgeName":"([^"]{1,15})"/g)].map((match) => match[1]!));
  for (const id of networkIds) bridges.add(`br-${id.slice(0, 12)}`);
  bridges.add(gatewayBridgeName(dir));
  for (const bridge of bridges) {
    if (/^[\w.-]+$/.test(bridge) && existsSync(`/sys/class/net/${bridge}`)) spawnSync('ip', ['link', 'delete', bridge]);
  }
  for (const id of networkIds) rmSync(`/var/lib/docker/network/files/lb_${id}`, { recursive: true, force: true });
  mark('bridges deleted');
  rmSync(dir, { recursive: true, force: true });
  mark('directory removed');
  const mounted = mountsUnder(dir);
  if (mounted.length > 0) problems.push(`still mounted: ${mounted.join(', ')}`);
  if (existsSync(dir)) problems.push(`${dir} could not be removed`);
  for (const bridge of bridges) if (existsSync(`/sys/class/net/${bridge}`)) problems.push(`bridge ${bridge} is still there`);
  return problems;
}

const engines = new Set<string>();
let handlersInstalled = false;

/** On the way out (normal exit, or a signal that would end the process) every engine still running goes. */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const cleanupAll = () => {
    for (const dir of engines) {
      engines.delete(dir);
      try { cleanupEngine(dir); } catch { /* best effort on the way out */ }
    }
  };
  process.once('exit', cleanupAll);
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.once(signal, () => {
      cleanupAll();
      process.exit(128 + number);
    });
  }
}

/**
 * Engines whose test process died without stopping them (SIGKILL, a crash): the owner file names the
 * process and its start time. They are taken down as stop() would.
 */
function sweepAbandonedEngines(): void {
  for (const entry of readdirSync(ENGINES_BASE)) {
    if (!entry.startsWith(ENGINE_PREFIX)) continue;
    const dir = path.join(ENGINES_BASE, entry);
    const owner = readIfThere(path.join(dir, 'owner'));
    if (owner === undefined) continue;
    const [pid, started] = owner.trim().split(' ');
    if (startTime(Number(pid)) === started) continue;
    process.stderr.write(`[docker-engine] taking down an engine left behind by process ${pid}: ${dir}\n`);
    const problems = cleanupEngine(dir);
    if (problems.length > 0) process.stderr.write(`[docker-engine] ${problems.join('\n')}\n`);
  }
}

export interface EngineOptions {
  /** More dockerd flags. */
  extraFlags?: string[];
  /**
   * The data root (images, containers' writable layers, volumes) on a tmpfs of this size ('8g'): loading,
   * building and above all removing it at stop() are much faster (about 1.5 s against 10 to 40 s for an
   * engine that built the exporter image, on a loaded two-core machine). But a file a container writes there
   * is shared memory charged to that container's memory cgroup, which disk-backed page cache would not be,
   * so leave it off where a test measures a container's memory.
   */
  tmpfs?: string;
  /** How long the daemon may take to answer /_ping (default 60 s). */
  readyTimeoutMs?: number;
}

/** Starts a private dockerd and waits until it answers. */
export async function startEngine(options: EngineOptions = {}): Promise<DockerEngine> {
  installExitHandlers();
  sweepAbandonedEngines();
  const dir = mkdtempSync(path.join(ENGINES_BASE, ENGINE_PREFIX));
  const socket = path.join(dir, 'docker.sock');
  if (Buffer.byteLength(path.join(dir, 'exec', 'containerd', 'containerd.sock.ttrpc')) > 107) throw new Error(`engine directory ${dir} is too long for its sockets`);
  writeFileSync(path.join(dir, 'owner'), `${process.pid} ${startTime(process.pid)}\n`);
  mkdirSync(path.join(dir, 'cli'));
  engines.add(dir);
  if (options.tmpfs !== undefined) {
    mkdirSync(path.join(dir, 'root'));
    await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${options.tmpfs},mode=0711`, 'headroom-docker', path.join(dir, 'root')]);
  }
  // The daemon logs to a file and runs in a session of its own: a Ctrl-C reaches the test process, whose
  // handler takes the engine down in order, and the daemon outlives a test process killed outright, so
  // that the next engine's sweep can still remove its containers and networks through the API.
  const logFile = path.join(dir, 'dockerd.log');
  const logFd = openSync(logFile, 'a');
  const daemon = spawn(DOCKERD, [
    `--data-root=${path.join(dir, 'root')}`,
    `--exec-root=${path.join(dir, 'exec')}`,
    `-H`, `unix://${socket}`,
    `--pidfile=${path.join(dir, 'pid')}`,
    ...DOCKERD_FLAGS,
    ...(options.extraFlags ?? []),
  ], { stdio: ['ignore', logFd, logFd], detached: true, env: { ...process.env, DOCKER_HOST: undefined } as NodeJS.ProcessEnv });
  closeSync(logFd);
  daemon.unref();
  writeFileSync(path.join(dir, 'daemon-pid'), String(daemon.pid));
  const log = () => readIfThere(logFile) ?? '';
  const env = clientEnv(dir);
  try {
    await waitFor(`dockerd in ${dir}`, async () => {
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`dockerd exited ${daemon.exitCode ?? daemon.signalCode}`);
      const { status, body } = await engineGet(socket, '/_ping');
      return status === 200 && body === 'OK';
    }, options.readyTimeoutMs ?? 60_000, 100);
  } catch (error) {
    const text = log();
    engines.delete(dir);
    cleanupEngine(dir);
    throw new Error(`${(error as Error).message}\n${text.slice(-4000)}`);
  }

  const clientOptions = (more: CommandOptions = {}): CommandOptions => ({ ...more, env: { ...env, ...more.env } });
  const docker = (args: string[], more?: CommandOptions) => runCommand(DOCKER_CLI, args, clientOptions(more));
  const compose = (args: string[], more?: CommandOptions) => runCommand(DOCKER_COMPOSE, args, clientOptions(more));

  const stop = async (): Promise<void> => {
    if (!engines.has(dir)) return;
    engines.delete(dir);
    const text = log();
    const problems = cleanupEngine(dir);
    if (problems.length > 0) throw new Error(`stopping the engine in ${dir}:\n${problems.join('\n')}\n${text.slice(-2000)}`);
  };

  return { dir, socket, host: env.DOCKER_HOST!, env, docker, compose, log, stop };
}

/** The interface name of the engine's docker_gwbridge (at most 15 characters). */
function gatewayBridgeName(dir: string): string {
  return `hdgw${path.basename(dir).slice(3).toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 15);
}

export interface SwarmOptions {
  /** The loopback address the node advertises and listens on; distinct per engine (default from the dir name). */
  address?: string;
}

/**
 * `docker swarm init` on the engine, on a loopback address of its own: 127.0.0.1 would do for one engine,
 * but the gossip port 7946 cannot be changed, so two engines in swarm mode need two addresses.
 */
export async function swarmInit(engine: DockerEngine, options: SwarmOptions = {}): Promise<{ address: string; dataPathPort: number }> {
  // A stable pseudo-random 127.x.y.z per engine directory (mkdtemp's suffix).
  let hash = 0;
  for (const char of path.basename(engine.dir)) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  const address = options.address ?? `127.${1 + (hash % 250)}.${(hash >>> 8) % 256}.${1 + ((hash >>> 16) % 250)}`;
  const dataPathPort = 30000 + (hash % 15000);
  await engine.docker(['network', 'create', '--driver', 'bridge',
    '--opt', `com.docker.network.bridge.name=${gatewayBridgeName(engine.dir)}`,
    '--opt', 'com.docker.network.bridge.enable_ip_masquerade=false',
    'docker_gwbridge']);
  await engine.docker(['swarm', 'init', '--advertise-addr', address, '--listen-addr', `${address}:2377`, '--data-path-port', String(dataPathPort)], { timeoutMs: 60_000 });
  return { address, dataPathPort };
}

/**
 * `docker-compose build` with the host's network for every service that has a build section, so that a
 * Dockerfile's `npm ci` reaches the registry (the engine has no NAT). A later `docker-compose up --build`
 * (make up) then takes every step from the build cache. A `docker build` of the same Dockerfile does not
 * warm that cache: the classic builder keys COPY steps on the context's tar headers, which
 * docker-compose 1.29 writes differently from the docker client. composeArgs are compose's own options
 * (`-p headroom -f compose/docker-compose.yml`).
 */
export async function composeBuildOnHostNetwork(engine: DockerEngine, composeArgs: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const { stdout } = await engine.compose([...composeArgs, 'config'], options);
  const services = (parseYaml(stdout) as { services?: Record<string, { build?: unknown }> }).services ?? {};
  const built = Object.keys(services).filter((name) => services[name]!.build !== undefined);
  if (built.length === 0) throw new Error('no service has a build section');
  const override = path.join(engine.dir, 'compose-build-on-host-network.yml');
  writeFileSync(override, stringifyYaml({ services: Object.fromEntries(built.map((name) => [name, { build: { network: 'host' } }])) }));
  return await engine.compose([...composeArgs, '-f', override, 'build', ...built], { timeoutMs: 900_000, ...options });
}
