// Which engine socket the stack's gate mounts (`make up`): DOCKER_SOCKET, else a unix:// DOCKER_HOST, else the
// current docker context's endpoint, else /var/run/docker.sock. Prints the path; where it is not a socket,
// prints one line naming it and how to choose another, and exits 1 before anything starts.
//   node dist/scripts/docker-socket.js
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

export interface SocketSources {
  DOCKER_SOCKET?: string | undefined;
  DOCKER_HOST?: string | undefined;
  /** The current docker context's endpoint (`docker context inspect`), read only when the two above are unset. */
  contextEndpoint?: () => string | undefined;
}

export type SocketChoice = { path: string; origin: string } | { error: string };

const HOW_TO_CHOOSE = 'name the engine\'s socket with DOCKER_SOCKET=/path/to/docker.sock or DOCKER_HOST=unix:///path/to/docker.sock';

/** The socket by the precedence above: pure but for calling contextEndpoint. */
export function chooseSocket(sources: SocketSources): SocketChoice {
  if (sources.DOCKER_SOCKET) return { path: sources.DOCKER_SOCKET, origin: 'DOCKER_SOCKET' };
  if (sources.DOCKER_HOST) {
    if (!sources.DOCKER_HOST.startsWith('unix://')) {
      return { error: `DOCKER_HOST=${sources.DOCKER_HOST} is not a unix socket the stack can mount: ${HOW_TO_CHOOSE}` };
    }
    return { path: sources.DOCKER_HOST.slice('unix://'.length), origin: 'DOCKER_HOST' };
  }
  const endpoint = sources.contextEndpoint?.();
  if (endpoint?.startsWith('unix://')) return { path: endpoint.slice('unix://'.length), origin: 'the current docker context' };
  return { path: DEFAULT_SOCKET, origin: 'the default' };
}

/** The choice's line for a path that is no socket (undefined when it is one). */
export function notASocket(choice: { path: string; origin: string }, isSocket: (file: string) => boolean): string | undefined {
  if (!path.isAbsolute(choice.path)) return `${choice.path} (from ${choice.origin}) is not an absolute path: ${HOW_TO_CHOOSE}`;
  return isSocket(choice.path) ? undefined : `${choice.path} (from ${choice.origin}) is not a socket: ${HOW_TO_CHOOSE}`;
}

function contextEndpoint(): string | undefined {
  const result = spawnSync('docker', ['context', 'inspect', '--format', '{{.Endpoints.docker.Host}}'], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? result.stdout.trim() || undefined : undefined;
}

function isSocket(file: string): boolean {
  try {
    return statSync(file).isSocket();
  } catch {
    return false;
  }
}

function main(): number {
  const choice = chooseSocket({ DOCKER_SOCKET: process.env.DOCKER_SOCKET, DOCKER_HOST: process.env.DOCKER_HOST, contextEndpoint });
  const problem = 'error' in choice ? choice.error : notASocket(choice, isSocket);
  if (problem !== undefined) {
    process.stderr.write(`make up: ${problem}\n`);
    return 1;
  }
  process.stdout.write(`${(choice as { path: string }).path}\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
