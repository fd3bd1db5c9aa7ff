// Starting and stopping real processes, for the tests, the benchmark and the soak: the exporter, Prometheus,
// Alertmanager, PostgreSQL...
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_MODE_NODE_FLAGS, NODE_FLAGS } from '../exporter/src/node-flags.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'dist/exporter/src/cli.js');
/** `node` with the exporter's V8 flags, and the CLI: how every test and the benchmark start it. */
export const CLI_COMMAND = [process.execPath, ...NODE_FLAGS, CLI] as const;
/** The same for host mode (--target.docker), with its own V8 flags. */
export const HOST_MODE_CLI_COMMAND = [process.execPath, ...HOST_MODE_NODE_FLAGS, CLI] as const;

/** A free TCP port on loopback (the kernel picks it; there is a small window before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Started {
  child: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => { for (const child of running) child.kill('SIGKILL'); });

export function start(command: string, args: string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => { output += chunk; });
  child.stderr?.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { running.delete(child); resolve(code); }));
  return {
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export interface RunningCli extends Started { url: string; port: number }

/**
 * Starts `headroom` (the built CLI) on a free loopback port and waits until /health answers. `prefix` runs it
 * under another command that ends by exec'ing it (`setpriv --reuid=...`, `unshare ...`); `cli` is where that
 * command finds the built CLI, when not at its path in the checkout.
 */
export async function startExporter(args: string[] = [], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = [], cli: string = CLI): Promise<RunningCli> {
  const port = await freePort();
  const command = [...prefix, ...(args.some((arg) => arg.startsWith('--target.docker=')) ? HOST_MODE_CLI_COMMAND : CLI_COMMAND).slice(0, -1), cli];
  const started = start(command[0]!, [...command.slice(1), `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...args], { env: { ...process.env, ...env } });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`headroom on ${url}\n${started.output()}`, async () => {
    if (started.child.exitCode !== null) throw new Error(`exited ${started.child.exitCode}: ${started.output()}`);
    const response = await fetch(`${url}/health`);
    return response.status > 0;
  });
  return { ...started, url, port };
}

/** Runs a command to completion. */
export function run(command: string, args: string[], options: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => { stdout += chunk; });
    child.stderr?.on('data', (chunk) => { stderr += chunk; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
