// `headroom gate`: the gate in front of the Docker engine's socket (server.ts), from flags and HEADROOM_GATE_*.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { parseEngineAddress } from '../docker-host.js';
import { parseDuration } from '../duration.js';
import { absolutePath, booleanValue, commandFailure, logLevelFlag, parseSubcommandLine, positiveInteger, type FlagSpec } from '../flags.js';
import { TIERS, tierByName } from '../thresholds.js';
import { VERSION } from '../version.js';
import { startGate } from './server.js';

const USAGE = `usage: headroom gate [flags]

Serves a unix socket in front of the Docker engine's that passes what headroom reads (GET on containers,
events, version and info) and refuses everything else. Each request that passes is sent to the engine as the
gate composes it, on a connection of its own: method, path and a fixed set of headers, never the client's.
With --gate.updates it also passes limits-only updates of containers labelled headroom.autosize=true, within
the ceiling tier and the host's memory and CPUs (automatic sizing's one write).`;

export const gateFlags = {
  upstream: { name: 'gate.upstream', default: 'unix:///var/run/docker.sock', form: 'unix:///PATH', help: 'The engine\'s socket.', parse: (raw: string) => { const address = parseEngineAddress(raw); return address?.kind === 'unix' ? address.socketPath : null; } },
  socket: { name: 'gate.socket', default: '/run/headroom/docker.sock', form: '/PATH', help: 'The socket the gate serves, connectable by every user: put it in a directory (a volume) only its clients mount.', parse: absolutePath },
  readOnlySocket: { name: 'gate.read-only-socket', default: '', form: '/PATH', help: 'A second socket that never passes an update (for Prometheus\'s swarm discovery), in a directory of its own.', parse: (raw: string) => (raw === '' ? undefined : absolutePath(raw)) },
  swarm: { name: 'gate.swarm', boolean: true, default: 'false', form: 'true|false', help: 'Also pass GET on nodes, services, tasks and networks (Prometheus\'s swarm discovery).', parse: booleanValue },
  updates: { name: 'gate.updates', boolean: true, default: 'false', form: 'true|false', help: 'On --gate.socket, also pass POST /containers/{id}/update of a container labelled headroom.autosize=true that sets memory and CPU limits only, as integers, within --gate.max-tier and the host\'s memory and CPUs.', parse: booleanValue },
  maxTier: { name: 'gate.max-tier', default: TIERS[TIERS.length - 1]!.name, form: TIERS.map((tier) => tier.name).join('|'), help: 'No update sets a limit above this tier\'s (as --autosize.max-tier).', parse: (raw: string) => tierByName(raw) ?? null },
  maxConnections: { name: 'gate.max-connections', default: '64', form: 'N', help: 'Connections served at once, over all sockets; more are answered 503 and closed.', parse: positiveInteger },
  maxStreams: { name: 'gate.max-streams', default: '8', form: 'N', help: 'Event streams open at once; more are answered 503.', parse: positiveInteger },
  requestTimeout: { name: 'gate.request-timeout', default: '10s', form: 'DURATION (e.g. 10s)', help: 'A client has this long to send a request\'s headers and body.', parse: parseDuration },
  logLevel: logLevelFlag,
} satisfies Record<string, FlagSpec<unknown>>;

/** Descriptors Node holds before serving anything (epoll, pipes, stdio, ...; 22 measured), with room to spare. */
const BASE_DESCRIPTORS = 32;

/** Refused connections kept a moment for their clients to read the refusal: at least this many, at most MAX. */
const MIN_LINGERING = 8;
const MAX_LINGERING = 1024;

/**
 * Descriptors the gate may need at its caps: each connection and the engine connection of its request, and
 * the refused connections it keeps a moment.
 */
export function descriptorsNeeded(maxConnections: number): number {
  return BASE_DESCRIPTORS + 2 * maxConnections + MIN_LINGERING;
}

/** The soft limit of open files (/proc/self/limits); undefined when it cannot be read or is unlimited. */
function openFilesLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function gateCommand(argv: string[]): Promise<void> {
  const fail: (message: string, code: number) => never = commandFailure('gate');
  const parsed = parseSubcommandLine('gate', USAGE, gateFlags, argv);
  if (!parsed) return;
  if (parsed.version) { process.stdout.write(`headroom ${VERSION}\n`); return; }
  const options = parsed.values;
  if (parsed.positionals.length > 0) fail(`unexpected argument ${JSON.stringify(parsed.positionals[0])} (see --help)`, 2);
  if (options.readOnlySocket === options.socket) fail('--gate.read-only-socket must differ from --gate.socket', 2);
  if (options.maxStreams > options.maxConnections) fail(`--gate.max-streams=${options.maxStreams} is over --gate.max-connections=${options.maxConnections}: each stream is a connection`, 2);
  const limit = openFilesLimit();
  const needed = descriptorsNeeded(options.maxConnections);
  if (limit !== undefined && needed > limit) {
    fail(`--gate.max-connections=${options.maxConnections} needs up to ${needed} open files, over this process's limit of ${limit}: lower it to ${Math.floor((limit - descriptorsNeeded(0)) / 2)} or less, or raise the limit`, 2);
  }
  const log = pino({ level: options.logLevel, base: { command: 'gate' } });
  const sockets = [{ path: options.socket, updates: options.updates }];
  if (options.readOnlySocket !== undefined) sockets.push({ path: options.readOnlySocket, updates: false });
  let gate;
  try {
    gate = await startGate({
      upstream: options.upstream,
      sockets,
      swarm: options.swarm,
      maxTier: options.maxTier,
      maxConnections: options.maxConnections,
      maxStreams: options.maxStreams,
      requestTimeoutMs: options.requestTimeout * 1000,
      lingeringRefusals: Math.min(MAX_LINGERING, limit === undefined ? MAX_LINGERING : MIN_LINGERING + limit - needed),
      log,
    });
  } catch (error) {
    log.fatal({ err: (error as Error).message }, 'cannot start');
    fail(`cannot serve ${sockets.map((socket) => socket.path).join(' and ')}: ${(error as Error).message}`, 1);
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    gate.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
