// POST /statistics under load from wrk (C, one thread, so the load generator leaves the server a core of the
// two), then the rows in headroom's SQLite file counted with knex: every 201 answer must be a stored row.
import path from 'node:path';
import knex from 'knex';
import { REPO_ROOT, run } from '../scripts/processes.js';
import type { IngestRecord } from './report.js';
import { parseWrkResult } from './wrk-result.js';

export interface IngestTarget { baseUrl: string; dataDir: string }
export interface IngestOutcome { records: IngestRecord[]; error?: string }

// Must match the statistics store's file and table (exporter/src/statistics/).
const SQLITE_FILE_NAME = 'statistics.sqlite';
const TABLE = 'usage_reports';
const WRK_SCRIPT = path.join(REPO_ROOT, 'bench', 'post-report.lua');

async function countRows(dataDir: string): Promise<number> {
  const db = knex({ client: 'sqlite3', connection: { filename: path.join(dataDir, SQLITE_FILE_NAME) }, useNullAsDefault: true });
  try {
    const row = await db(TABLE).count({ rows: '*' }).first();
    return Number(row?.rows ?? 0);
  } finally {
    await db.destroy();
  }
}

export async function runIngest(target: IngestTarget, connectionLevels: readonly number[], secondsPerLevel: number, progress: (message: string) => void): Promise<IngestOutcome> {
  const url = `${target.baseUrl}/statistics`;
  // A store that is not there (404) or refuses the report shape is a missing figure, not a broken benchmark.
  const probe = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ report_id: `probe-${Date.now()}`, installation_id: 'probe', active_users: 1, app_version: '1.0.0', platform: 'linux' }),
  });
  if (probe.status !== 201) return { records: [], error: `POST /statistics answered ${probe.status}: ${(await probe.text()).slice(0, 200)}` };

  const records: IngestRecord[] = [];
  let rowsBefore = await countRows(target.dataDir);
  for (const connections of connectionLevels) {
    const prefix = `bench-${process.pid}-c${connections}`;
    const wrk = await run('wrk', ['-t1', `-c${connections}`, `-d${secondsPerLevel}s`, '--timeout', '10s', '-s', WRK_SCRIPT, url, '--', prefix]);
    if (wrk.code !== 0) throw new Error(`wrk exited ${wrk.code}: ${wrk.stderr}${wrk.stdout}`);
    const result = parseWrkResult(wrk.stdout);
    const rowsAfter = await countRows(target.dataDir);
    const answers201 = result.statuses['201'] ?? 0;
    const answered = Object.values(result.statuses).reduce((sum, count) => sum + count, 0);
    const rowsStored = rowsAfter - rowsBefore;
    const record: IngestRecord = {
      connections,
      seconds: result.duration_us / 1e6,
      requests: answered,
      requests_per_second: answers201 / (result.duration_us / 1e6),
      p50_ms: result.p50_us / 1000,
      p99_ms: result.p99_us / 1000,
      answers_201: answers201,
      other_answers: answered - answers201,
      answers_by_status: result.statuses,
      errors: result.socket_errors,
      rows_stored: rowsStored,
      lost: Math.max(0, answers201 - rowsStored),
    };
    rowsBefore = rowsAfter;
    records.push(record);
    progress(`  ${connections} connections: ${record.requests_per_second.toFixed(0)} accepted/s, p50 ${record.p50_ms} ms, p99 ${record.p99_ms} ms, ${answers201} answered 201, ${rowsStored} rows stored`);
  }
  return { records };
}
