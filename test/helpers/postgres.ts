// A throwaway PostgreSQL cluster from Debian's package: initdb in a temp dir, pg_ctl on a free loopback port.
// PostgreSQL refuses to run as root, so under root (CI) it runs as the `postgres` system user.
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { freePort, run } from '../../scripts/processes.js';

export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const SYSTEM_USER = 'postgres';

export interface TempPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** A URL for another database of the cluster. */
  urlFor(database: string): string;
  /** Stops the server (fast shutdown) without removing its files; start() brings it back on the same port.
   * Both do nothing when the server already is in that state. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes the cluster. */
  remove(): Promise<void>;
}

function asClusterOwner(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', SYSTEM_USER, '--', command, ...args]] : [command, args];
}

async function mustRun(command: string, args: string[]): Promise<void> {
  const [program, argv] = asClusterOwner(command, args);
  const result = await run(program, argv);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
}

export async function startPostgres(): Promise<TempPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', SYSTEM_USER]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', SYSTEM_USER]).toString().trim());
    chownSync(dir, uid, gid);
  }
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const port = await freePort();
  const pgCtl = path.join(POSTGRES_BIN, 'pg_ctl');
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off`;
  let running = false;
  const start = async () => {
    if (running) return;
    await mustRun(pgCtl, ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', options]);
    running = true;
  };
  const stop = async () => {
    if (!running) return;
    await mustRun(pgCtl, ['stop', '-w', '-m', 'fast', '-D', dataDir]);
    running = false;
  };
  try {
    await mustRun(path.join(POSTGRES_BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    port,
    urlFor,
    stop,
    start,
    remove: async () => {
      try {
        await stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
