// Opens the statistics database: SQLite under --data.dir by default, PostgreSQL for a postgres:// URL.
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import type { Logger } from 'pino';
import { FlagError } from '../flags.js';

export const SQLITE_FILE_NAME = 'statistics.sqlite';
/** How long a SQLite writer waits for a lock held by another connection or process. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** Bounds on PostgreSQL waits, so a stalled server fails requests instead of piling them up. */
const POSTGRES_CONNECT_TIMEOUT_MS = 3000;
const POSTGRES_STATEMENT_TIMEOUT_MS = 5000;

export type DatabaseLocation =
  | { client: 'sqlite'; filename: string }
  | { client: 'postgres'; url: string };

/** A flag error: the CLI prints it on one line and exits 2. */
export class DatabaseUrlError extends FlagError {}

/** Where the statistics live, from --database.url (postgres://, postgresql://, sqlite://PATH) or --data.dir. */
export function databaseLocation(databaseUrl: string | undefined, dataDir: string): DatabaseLocation {
  if (databaseUrl === undefined || databaseUrl === '') return { client: 'sqlite', filename: path.resolve(dataDir, SQLITE_FILE_NAME) };
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return { client: 'postgres', url: databaseUrl };
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/i.exec(databaseUrl);
  if (sqlite) return { client: 'sqlite', filename: path.resolve(sqlite[1]!) };
  throw new DatabaseUrlError(`--database.url: expected postgres://USER:PASS@HOST:PORT/DB or sqlite:///PATH, got ${JSON.stringify(redact(databaseUrl))}`);
}

/** The location without credentials, for logs and /health. */
export function describeLocation(location: DatabaseLocation): string {
  return location.client === 'sqlite' ? `sqlite ${location.filename}` : `postgres ${redact(location.url)}`;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

export interface FileIdentity { dev: number; ino: number }

export interface OpenDatabase {
  db: Knex;
  location: DatabaseLocation;
  /** For SQLite: the file opened, to notice it being deleted or replaced under the open connection. */
  fileIdentity?: FileIdentity;
}

// WAL lets /metrics and GET /statistics read while a report is written. synchronous=FULL syncs the WAL
// on every commit, so a report answered 201 survives the process being killed and also a power loss
// (NORMAL would survive kill -9 only).
const SQLITE_PRAGMAS = `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS};`;

interface RawSqliteConnection { exec(sql: string, callback: (error: Error | null) => void): void }

/** knex's own warnings (pool connection errors, ...) go to the exporter's log, not the console. */
function knexLog(log: Logger | undefined): Knex.Config['log'] {
  const to = (level: 'debug' | 'warn' | 'error') => (message: unknown) => log?.[level]({ knex: String((message as Error)?.message ?? message) }, 'database');
  return { debug: to('debug'), warn: to('warn'), error: to('error'), deprecate: to('debug'), enableColors: false };
}

export async function openDatabase(location: DatabaseLocation, log?: Logger): Promise<OpenDatabase> {
  if (location.client === 'postgres') {
    const db = knex({
      client: 'pg',
      log: knexLog(log),
      connection: { connectionString: location.url, connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS, statement_timeout: POSTGRES_STATEMENT_TIMEOUT_MS },
      pool: { min: 0, max: 10 },
      acquireConnectionTimeout: POSTGRES_CONNECT_TIMEOUT_MS + 1000,
    });
    return { db, location };
  }
  mkdirSync(path.dirname(location.filename), { recursive: true });
  const db = knex({
    client: 'sqlite3',
    log: knexLog(log),
    connection: { filename: location.filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (connection: RawSqliteConnection, done: (error: Error | null, connection: RawSqliteConnection) => void) => {
        connection.exec(SQLITE_PRAGMAS, (error) => done(error, connection));
      },
    },
  });
  try {
    const [mode] = (await db.raw('PRAGMA journal_mode')) as Array<{ journal_mode: string }>;
    if (mode?.journal_mode !== 'wal') throw new Error(`${location.filename}: SQLite could not switch to WAL (journal_mode is ${mode?.journal_mode})`);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const { dev, ino } = statSync(location.filename);
  return { db, location, fileIdentity: { dev, ino } };
}

/** Throws when the SQLite file the connection holds is no longer the one at its path (deleted, replaced). */
export function assertSameFile(filename: string, identity: FileIdentity): void {
  let current;
  try {
    current = statSync(filename);
  } catch {
    throw new Error(`${filename} is gone: reports would be written to a deleted file`);
  }
  if (current.dev !== identity.dev || current.ino !== identity.ino) throw new Error(`${filename} was replaced since it was opened`);
}
