// A private Docker engine for tests: Debian's dockerd (Engine 20.10) in a network namespace of its own
// (netns.ts), with its own data root, exec root, configuration and socket in a fresh temporary directory,
// never /var/run/docker.sock. Clients are Debian's /usr/bin/docker (not whatever `docker` is first on PATH)
// and docker-compose 1.29, both pointed at it through DOCKER_HOST.
//
// Why a namespace of its own: in the host's, an engine changes what another engine on the host (a
// developer's own, or a neighbour test run) relies on, and the other way round (docs/docker-engines.md has
// the measurements):
//   - a dockerd started with --bridge=none deletes any interface named docker0 as it starts;
//   - with iptables, dockerd rewrites the host-wide DOCKER chains and sets FORWARD's policy to DROP;
//     without (--iptables=false), another engine's DROP policy drops the traffic between this one's
//     containers once net.bridge.bridge-nf-call-iptables is 1, as it is wherever Docker was installed;
//   - docker0, the swarm's gossip port 7946 and its VXLAN port are one per network namespace.
// In its own namespace each of these is the namespace's: the engine runs with Docker's defaults (a docker0,
// iptables rules, IP forwarding, all inside), and all the host gets is its end of the namespace's link for
// as long as the engine runs (an interface hdv<N> with a /30). Only the network namespace differs: dockerd
// shares the host's mount, PID and cgroup namespaces (nsenter --net; not `ip netns exec`, which remounts
// /sys), so its socket, its mounts and its containers' cgroups (/sys/fs/cgroup/<controller>/docker/<id>)
// are where host mode reads them.
//
// The host reaches the engine at engine.address, the namespace's end of its link: publish ports there
// (`docker run -p ADDRESS:PORT:PORT`; PUBLISH_ADDRESS for the stack). 127.0.0.1 inside is the namespace's
// own loopback. The namespace has no route out: a build that downloads runs with --network=host (the
// namespace) and engine.proxyBuildArgs(), through a proxy on the host's end (build-proxy.ts).
//
// What dockerd writes outside its directory all the same, and what stop() does about it:
//   /var/lib/docker/network/files/lb_<network id>  the hosts and resolv.conf files of a swarm network's load
//       balancer on this node. libnetwork puts them under a constant, defaultPrefix =
//       "/var/lib/docker/network/files" (libnetwork/sandbox_dns_unix.go), whatever --data-root says, and
//       never removes them: measured, lb_<id> stays after `docker network rm` and after `docker swarm leave`.
//       stop() removes lb_<id> for the IDs of this engine's networks (listed through the API, and every
//       network the engine announced on its event stream while it ran) that were not there before it started.
//   /run/containerd/s/<sha256>  each running container's shim socket, under containerd's constant socket
//       root; the shim removes it when it exits. After a crash, stop() removes those named after this
//       engine's containerd socket and container IDs, sha256("<exec root>/containerd/containerd.sock/moby/<id>").
//   /run/docker/plugins, /var/lib/docker/network/files, /run/containerd/s, /sys/fs/cgroup/<controller>/docker
//       directories every engine on the host shares, made by the first that needs them and left in place:
//       another engine may be writing in them.
//   /etc/docker/key.json (the daemon's identity) is kept in the directory instead, by its configuration file.
// Swarm: the kernel here has no IPVS, so a service's virtual IP does not answer and services use
// endpoint_mode dnsrr, and the ingress routing mesh is out: ports are published with mode=host.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startBuildProxy, type BuildProxy } from './build-proxy.js';
import { createNamespace, namespaceOfRecord, processesIn, removeNamespace, type NetworkNamespace } from './netns.js';
import { alive, ownerGone, ownerRecord, readIfThere, sleepSync } from './ownership.js';
import { waitFor } from './processes.js';

export const DOCKERD = process.env.DOCKERD_BIN ?? '/usr/sbin/dockerd';
/** Debian's client (Engine 20.10's API); /usr/local/bin/docker may be another one, first on PATH. */
export const DOCKER_CLI = process.env.DOCKER_CLI ?? '/usr/bin/docker';
export const DOCKER_COMPOSE = process.env.DOCKER_COMPOSE_BIN ?? '/usr/bin/docker-compose';

/** The flags every engine gets besides its directories: Docker's defaults otherwise (see the comment at the top). */
export const DOCKERD_FLAGS = ['--log-level=warn'];

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
  /** Its network namespace. */
  namespace: NetworkNamespace;
  /** Where the host reaches it: publish ports on this address. */
  address: string;
  socket: string;
  /** unix://<socket>, for DOCKER_HOST. */
  host: string;
  /** The environment a client needs (also DOCKER_CONFIG in dir, and the classic builder). */
  env: NodeJS.ProcessEnv;
  /** Runs Debian's docker client against this engine. */
  docker(args: string[], options?: CommandOptions): Promise<CommandResult>;
  /** Runs docker-compose (1.29) against this engine. */
  compose(args: string[], options?: CommandOptions): Promise<CommandResult>;
  /**
   * `docker rm --force` of these containers (names or IDs), waiting at most timeoutMs (default 60 s). Engine
   * 20.10 now and then never returns from one such kill (moby/moby#38781): then what is still there is named
   * on stderr and left for stop(), which kills it with the daemon. Returns those names.
   */
  removeContainers(names: string[], timeoutMs?: number): Promise<string[]>;
  /** The daemon's log so far. */
  log(): string;
  /**
   * Build arguments (HTTP_PROXY, HTTPS_PROXY and their lower-case twins) that let a build on the engine's own
   * network (--network=host) download from BUILD_DOWNLOADS through a proxy on the host's end of the link.
   * Docker passes these without an ARG line and keeps them out of the image's history; their values are in
   * no step's cache key, but their presence is (see composeBuildOverride).
   */
  proxyBuildArgs(): Promise<Record<string, string>>;
  /**
   * A node failing: SIGKILL to the daemon, its containerd, its containers' processes; the directory, the mounts
   * and the namespace stay for restart() (or stop()).
   */
  kill(): void;
  /** Starts the daemon again on the same directory (after kill()) and waits until it answers. */
  restart(): Promise<void>;
  /** Removes every container, network and volume, stops the daemon, removes what it left (see the top), removes dir. */
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
/** libnetwork's defaultPrefix, where swarm load balancers' files go whatever the data root (see the top). */
const LOAD_BALANCER_FILES = '/var/lib/docker/network/files';
/** containerd's socket root for shims (see the top). */
const SHIM_SOCKETS = '/run/containerd/s';
const CGROUP_ROOT = '/sys/fs/cgroup';

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

function entries(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

/** What an engine may leave outside its directory, as it was before the engine started (see the top). */
interface HostRecord {
  loadBalancerFiles: string[];
  /** Container cgroups under <controller>/docker, all controllers together. */
  containerCgroups: string[];
}

function recordHost(): HostRecord {
  const cgroups = new Set<string>();
  for (const controller of entries(CGROUP_ROOT)) for (const id of entries(path.join(CGROUP_ROOT, controller, 'docker'))) cgroups.add(id);
  return { loadBalancerFiles: entries(LOAD_BALANCER_FILES), containerCgroups: [...cgroups] };
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

/** In an engine's directory: the IDs of containers whose `docker rm --force` never returned. */
const HUNG_REMOVALS = 'hung-removals';
const lines = (text: string | undefined) => (text ?? '').split('\n').map((line) => line.trim()).filter(Boolean);

const containerCgroups = (id: string) => entries(CGROUP_ROOT).map((controller) => path.join(CGROUP_ROOT, controller, 'docker', id)).filter((cgroup) => existsSync(cgroup));

/**
 * SIGKILL to what runs of the engine in dir: the daemon, its containers' processes (by their cgroups, for
 * the containers of root/containers/ that were not there before it started), the processes in its network
 * namespace and those naming dir (its containerd, the shims). Returns those containers' IDs.
 */
function killEngineProcesses(dir: string, before: HostRecord = readHostRecord(dir), namespace = namespaceOfRecord(readIfThere(path.join(dir, 'netns'))?.trim() ?? ''), joined = readIfThere(path.join(dir, 'netns-joined'))?.trim()): string[] {
  const pid = Number(readIfThere(path.join(dir, 'pid')) ?? readIfThere(path.join(dir, 'daemon-pid')) ?? NaN);
  const ids = entries(path.join(dir, 'root', 'containers')).filter((id) => /^[0-9a-f]{64}$/.test(id) && !before.containerCgroups.includes(id));
  if (Number.isFinite(pid) && alive(pid)) process.kill(pid, 'SIGKILL');
  for (const id of ids) {
    for (const cgroup of containerCgroups(id)) {
      for (const task of lines(readIfThere(path.join(cgroup, 'cgroup.procs')))) {
        try { process.kill(Number(task), 'SIGKILL'); } catch { /* gone */ }
      }
    }
  }
  const leftovers = () => [...new Set([...processesMentioning(dir), ...(namespace ? processesIn(namespace) : []), ...(joined ? processesIn({ path: joined }) : [])])].filter(alive);
  for (const leftover of leftovers()) {
    try { process.kill(leftover, 'SIGKILL'); } catch { /* gone */ }
  }
  const deadline = Date.now() + 5000;
  while (leftovers().length > 0 && Date.now() < deadline) sleepSync(100);
  return ids;
}

function readHostRecord(dir: string): HostRecord {
  return JSON.parse(readIfThere(path.join(dir, 'host-before.json')) ?? '{"loadBalancerFiles":[],"containerCgroups":[]}') as HostRecord;
}

/**
 * Takes an engine down and removes what it made on the host, found from what its directory records;
 * synchronous, so that it also runs on the way out of a test process. Through the API while the daemon
 * answers: leaves the swarm, removes containers, networks and volumes, then SIGTERM (SIGKILL after 20 s).
 * Then kills whatever of it is left (processes in its network namespace or naming its directory, its
 * containers' processes), removes its containers' cgroups, unmounts everything under dir, removes its shims'
 * sockets and its networks' load-balancer files (see the top), its network namespace, and dir.
 * Returns what could not be done.
 */
function cleanupEngine(dir: string): string[] {
  const problems: string[] = [];
  const t0 = Date.now();
  const mark = (what: string) => { if (process.env.HEADROOM_ENGINE_DEBUG) process.stderr.write(`[docker-engine] ${what} at ${Date.now() - t0} ms\n`); };
  const env = clientEnv(dir);
  const pid = Number(readIfThere(path.join(dir, 'pid')) ?? readIfThere(path.join(dir, 'daemon-pid')) ?? NaN);
  const before = readHostRecord(dir);
  const namespace = namespaceOfRecord(readIfThere(path.join(dir, 'netns'))?.trim() ?? '');
  // A LAN's node (EngineOptions.namespace): its processes are this engine's, the namespace is the LAN's.
  const joined = readIfThere(path.join(dir, 'netns-joined'))?.trim();
  // Every network the engine announced while it ran (watchNetworks), and below, those it still has.
  const networkIds = new Set(lines(readIfThere(path.join(dir, 'networks'))));
  const docker = (args: string[], timeoutMs = 60_000): string | undefined => {
    const result = spawnSync(DOCKER_CLI, args, { env, encoding: 'utf8', timeout: timeoutMs });
    if (result.status !== 0) {
      problems.push(`docker ${args.join(' ')}: ${result.error?.message ?? ''}${result.stderr ?? ''}`.trim());
      return undefined;
    }
    return result.stdout;
  };
  // A removal that never returns (see removeContainers) is no problem of its own: what it leaves is killed below.
  const removeAll = (containers: string[]) => {
    const result = spawnSync(DOCKER_CLI, ['rm', '--force', '--volumes', ...containers], { env, encoding: 'utf8', timeout: 180_000 });
    if (result.status === 0) return;
    if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') process.stderr.write(`[docker-engine] ${dir}: docker rm --force did not return within 180 s; the containers' processes are killed with the daemon\n`);
    else problems.push(`docker rm --force --volumes: ${result.error?.message ?? ''}${result.stderr ?? ''}`.trim());
  };
  let answered = false;
  if (Number.isFinite(pid) && alive(pid) && existsSync(path.join(dir, 'docker.sock'))) {
    answered = true;
    for (const id of lines(docker(['network', 'ls', '--quiet', '--no-trunc']))) networkIds.add(id);
    if ((docker(['info', '--format', '{{.Swarm.LocalNodeState}}']) ?? '').trim() !== 'inactive') docker(['swarm', 'leave', '--force']);
    // Not those whose removal already never returned (removeContainers): they go with the daemon.
    const hung = lines(readIfThere(path.join(dir, HUNG_REMOVALS)));
    const containers = lines(docker(['ps', '--all', '--quiet', '--no-trunc'])).filter((id) => !hung.includes(id));
    if (containers.length > 0) removeAll(containers);
    // Local ones only: a swarm network still listed a moment after leaving the swarm goes with it, and removing
    // it now fails ("not a swarm manager").
    const networks = lines(docker(['network', 'ls', '--quiet', '--no-trunc', '--filter', 'type=custom', '--filter', 'scope=local']));
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
  const ids = killEngineProcesses(dir, before, namespace, joined);
  for (const id of ids) for (const cgroup of containerCgroups(id)) spawnSync('rmdir', [cgroup]);
  mark('leftover processes gone');
  for (const point of mountsUnder(dir)) spawnSync('umount', ['--lazy', point]);
  mark('unmounted');
  const containerd = path.join(dir, 'exec', 'containerd', 'containerd.sock');
  for (const id of ids) {
    const socket = path.join(SHIM_SOCKETS, createHash('sha256').update(path.join(containerd, 'moby', id)).digest('hex'));
    if (existsSync(socket)) rmSync(socket, { force: true });
  }
  const appeared = entries(LOAD_BALANCER_FILES).filter((entry) => entry.startsWith('lb_') && !before.loadBalancerFiles.includes(entry));
  for (const entry of appeared) {
    if (networkIds.has(entry.slice('lb_'.length))) rmSync(path.join(LOAD_BALANCER_FILES, entry), { recursive: true, force: true });
  }
  if (!answered && appeared.some((entry) => !networkIds.has(entry.slice('lb_'.length)))) {
    process.stderr.write(`[docker-engine] ${dir}: its daemon was gone, so load-balancer files that appeared since it started and name none of the networks it announced stay: ${appeared.join(' ')}\n`);
  }
  mark('shim sockets and load-balancer files removed');
  if (namespace) problems.push(...removeNamespace(namespace));
  rmSync(dir, { recursive: true, force: true });
  mark('directory removed');
  const mounted = mountsUnder(dir);
  if (mounted.length > 0) problems.push(`still mounted: ${mounted.join(', ')}`);
  if (existsSync(dir)) problems.push(`${dir} could not be removed`);
  return problems;
}

/**
 * Appends the ID of every network the engine creates to dir/networks, from its event stream: a swarm
 * network's load-balancer files outlive the network (see the top), so stop() needs the IDs of networks
 * already removed too.
 */
function watchNetworks(socket: string, file: string): ClientRequest {
  const filters = encodeURIComponent(JSON.stringify({ type: ['network'], event: ['create'] }));
  const watch = request({ socketPath: socket, path: `/events?filters=${filters}`, method: 'GET' }, (response) => {
    let buffer = '';
    response.on('data', (chunk) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        try {
          const id = (JSON.parse(line) as { Actor?: { ID?: string } }).Actor?.ID;
          if (id && /^\w+$/.test(id)) appendFileSync(file, `${id}\n`);
        } catch { /* a partial line: the rest comes with the next chunk */ }
      }
    });
    response.on('error', () => {});
  });
  watch.on('socket', (socket) => socket.unref());
  watch.on('error', () => {});
  watch.end();
  return watch;
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
    if (owner === undefined || !ownerGone(owner)) continue;
    process.stderr.write(`[docker-engine] taking down an engine left behind by process ${owner.trim().split(' ')[0]}: ${dir}\n`);
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
  /**
   * A namespace made by the caller, one node of a LAN (netns.ts createLan), instead of one of its own: the
   * engine runs there alone and stop() kills what runs there, but the namespace stays the LAN's.
   */
  namespace?: NetworkNamespace;
  /**
   * The daemon's host name, in a UTS namespace of its own: engines on one machine otherwise all report the
   * machine's, and a swarm's nodes would all have the same name.
   */
  hostname?: string;
}

/** Starts a private dockerd in a network namespace of its own and waits until it answers. */
export async function startEngine(options: EngineOptions = {}): Promise<DockerEngine> {
  if (options.hostname !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.hostname)) throw new Error(`not a host name: ${options.hostname}`);
  installExitHandlers();
  sweepAbandonedEngines();
  const dir = mkdtempSync(path.join(ENGINES_BASE, ENGINE_PREFIX));
  const socket = path.join(dir, 'docker.sock');
  if (Buffer.byteLength(path.join(dir, 'exec', 'containerd', 'containerd.sock.ttrpc')) > 107) throw new Error(`engine directory ${dir} is too long for its sockets`);
  writeFileSync(path.join(dir, 'owner'), ownerRecord());
  writeFileSync(path.join(dir, 'host-before.json'), JSON.stringify(recordHost()));
  mkdirSync(path.join(dir, 'cli'));
  engines.add(dir);
  let namespace: NetworkNamespace;
  try {
    if (options.tmpfs !== undefined) {
      mkdirSync(path.join(dir, 'root'));
      await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${options.tmpfs},mode=0711`, 'headroom-docker', path.join(dir, 'root')]);
    }
    if (options.namespace) {
      namespace = options.namespace;
      writeFileSync(path.join(dir, 'netns-joined'), namespace.path);
    } else {
      namespace = createNamespace();
      writeFileSync(path.join(dir, 'netns'), namespace.record);
    }
  } catch (error) {
    engines.delete(dir);
    cleanupEngine(dir);
    throw error;
  }
  // Its identity key in dir, not /etc/docker/key.json; and no /etc/docker/daemon.json of the host's.
  const configFile = path.join(dir, 'daemon.json');
  writeFileSync(configFile, JSON.stringify({ 'deprecated-key-path': path.join(dir, 'key.json') }));
  // The daemon logs to a file and runs in a session of its own: a Ctrl-C reaches the test process, whose
  // handler takes the engine down in order, and the daemon outlives a test process killed outright, so
  // that the next engine's sweep can still remove its containers and networks through the API.
  // nsenter enters the namespace and executes dockerd in its place (same pid); with a host name, unshare and
  // sh do the same (unshare without --fork, sh with exec).
  const named = options.hostname === undefined ? [] : ['unshare', '--uts', '--', 'sh', '-c', 'echo "$0" > /proc/sys/kernel/hostname && exec "$@"', options.hostname];
  const logFile = path.join(dir, 'dockerd.log');
  const log = () => readIfThere(logFile) ?? '';
  const env = clientEnv(dir);
  const launch = async (): Promise<void> => {
    const logFd = openSync(logFile, 'a');
    const daemon = spawn('nsenter', [`--net=${namespace.path}`, '--', ...named, DOCKERD,
      `--config-file=${configFile}`,
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
    await waitFor(`dockerd in ${dir}`, async () => {
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`dockerd exited ${daemon.exitCode ?? daemon.signalCode}`);
      const { status, body } = await engineGet(socket, '/_ping');
      return status === 200 && body === 'OK';
    }, options.readyTimeoutMs ?? 60_000, 100);
  };
  try {
    await launch();
  } catch (error) {
    const text = log();
    engines.delete(dir);
    cleanupEngine(dir);
    throw new Error(`${(error as Error).message}\n${text.slice(-4000)}`);
  }
  let networkWatch = watchNetworks(socket, path.join(dir, 'networks'));

  const kill = (): void => {
    networkWatch.destroy();
    killEngineProcesses(dir);
  };
  const restart = async (): Promise<void> => {
    await launch();
    networkWatch = watchNetworks(socket, path.join(dir, 'networks'));
  };

  const clientOptions = (more: CommandOptions = {}): CommandOptions => ({ ...more, env: { ...env, ...more.env } });
  const docker = (args: string[], more?: CommandOptions) => runCommand(DOCKER_CLI, args, clientOptions(more));
  const compose = (args: string[], more?: CommandOptions) => runCommand(DOCKER_COMPOSE, args, clientOptions(more));

  const removeContainers = async (names: string[], timeoutMs = 60_000): Promise<string[]> => {
    if (names.length === 0) return [];
    const removal = await docker(['rm', '--force', ...names], { timeoutMs, check: false });
    if (removal.code === 0) return [];
    const listed = lines((await docker(['ps', '--all', '--no-trunc', '--format', '{{.ID}} {{.Names}}'], { timeoutMs: 30_000, check: false })).stdout).map((line) => line.split(' '));
    const refersTo = (name: string, [id, listedName]: string[]) => listedName === name || id!.startsWith(name);
    const stuck = listed.filter((container) => names.some((name) => refersTo(name, container)));
    if (stuck.length === 0) return [];
    if (removal.code !== null) throw new Error(`docker rm --force ${names.join(' ')} exited ${removal.code}: ${removal.stderr}`);
    appendFileSync(path.join(dir, HUNG_REMOVALS), stuck.map(([id]) => `${id}\n`).join(''));
    process.stderr.write(`[docker-engine] docker rm --force did not return within ${timeoutMs / 1000} s; left for stop(): ${stuck.map(([, name]) => name).join(' ')}\n${log().split('\n').slice(-6).join('\n')}\n`);
    return names.filter((name) => stuck.some((container) => refersTo(name, container)));
  };

  let proxy: Promise<BuildProxy> | undefined;
  const proxyBuildArgs = async (): Promise<Record<string, string>> => {
    proxy ??= startBuildProxy(namespace.hostAddress);
    const { url } = await proxy;
    return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url };
  };

  const stop = async (): Promise<void> => {
    if (!engines.has(dir)) return;
    engines.delete(dir);
    networkWatch.destroy();
    (await proxy?.catch(() => undefined))?.close();
    const text = log();
    const problems = cleanupEngine(dir);
    if (problems.length > 0) throw new Error(`stopping the engine in ${dir}:\n${problems.join('\n')}\n${text.slice(-2000)}`);
  };

  return { dir, namespace, address: namespace.address, socket, host: env.DOCKER_HOST!, env, docker, compose, removeContainers, log, proxyBuildArgs, kill, restart, stop };
}

/** `--build-arg NAME=VALUE` for each argument. */
export function buildArgFlags(args: Record<string, string>): string[] {
  return Object.entries(args).flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]);
}

export interface SwarmOptions {
  /** The address the node advertises and listens on (default: the engine's). */
  address?: string;
}

/** `docker swarm init` on the engine, advertising its namespace's address. */
export async function swarmInit(engine: DockerEngine, options: SwarmOptions = {}): Promise<{ address: string }> {
  const address = options.address ?? engine.address;
  await engine.docker(['swarm', 'init', '--advertise-addr', address, '--listen-addr', `${address}:2377`], { timeoutMs: 60_000 });
  return { address };
}

/**
 * A compose file to lay over the stack's (make's COMPOSE_OVERRIDE) so that every service with a build section
 * builds on the engine's own network with engine.proxyBuildArgs(), and a Dockerfile's `npm ci` reaches the
 * registry. Every build of the stack needs it, not only the first: the proxy's address is not part of a
 * step's cache key, but whether a build had any build argument is (the classic builder records a RUN step
 * built with arguments as "|N COMMAND"), so a build without them finds nothing in the cache of one with them.
 * `docker stack deploy` ignores build sections. composeArgs are compose's own options
 * (`-p headroom -f compose/docker-compose.yml`).
 */
export async function composeBuildOverride(engine: DockerEngine, composeArgs: string[], options: CommandOptions = {}): Promise<string> {
  const { stdout } = await engine.compose([...composeArgs, 'config'], options);
  const services = (parseYaml(stdout) as { services?: Record<string, { build?: unknown }> }).services ?? {};
  const built = Object.keys(services).filter((name) => services[name]!.build !== undefined);
  if (built.length === 0) throw new Error('no service has a build section');
  const args = await engine.proxyBuildArgs();
  const override = path.join(engine.dir, 'compose-build.yml');
  // The version key: Engine 20.10's `docker stack deploy` refuses a file without one.
  writeFileSync(override, stringifyYaml({ version: '3.8', services: Object.fromEntries(built.map((name) => [name, { build: { network: 'host', args } }])) }));
  return override;
}
