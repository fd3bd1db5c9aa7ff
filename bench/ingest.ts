// POST /statistics under load (autocannon), then the rows in headroom's SQLite file counted with knex: every
// 201 answer must be a stored row.
import path from 'node:path';
import autocannon from 'autocannon';
import knex from 'knex';
import type { IngestRecord } from './report.js';

export interface IngestTarget { baseUrl: string; dataDir: string }
export interface IngestOutcome { records: IngestRecord[]; error?: string }

// Must match the statistics store's file and table (exporter/src/statistics/).
const SQLITE_FILE_NAME = 'statistics.sqlite';
const TABLE = 'usage_reports';

/** One report; autocannon replaces every [<id>] with a fresh id, so each request is a new report. */
function reportBody(connections: number): string {
  return JSON.stringify({
    report_id: 'bench-[<id>]',
    installation_id: `bench-installation-${connections}`,
    active_users: 3,
    app_version: '1.0.0',
    platform: 'linux',
  });
}

async function countRows(dataDir: string): Promise<number> {
  const db = knex({ client: 'sqlite3', connection: { filename: path.join(dataDir, SQLITE_FILE_NAME) }, useNullAsDefault: true });
  try {
    const row = await db(TABLE).count({ rows: '*' }).first();
    return Number(row?.rows ?? 0);
  } finally {
    await db.destroy();
  }
}

export async function runIngest(target: IngestTarget, connectionLevels: readonly number[], requestsPerLevel: number, progress: (message: string) => void): Promise<IngestOutcome> {
  const url = `${target.baseUrl}/statistics`;
  // A store that is not there (404) or refuses the report shape is a missing figure, not a broken benchmark.
  const probe = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: reportBody(0).replace('[<id>]', `probe-${Date.now()}`) });
  if (probe.status !== 201) return { records: [], error: `POST /statistics answered ${probe.status}: ${(await probe.text()).slice(0, 200)}` };

  const records: IngestRecord[] = [];
  let rowsBefore = await countRows(target.dataDir);
  for (const connections of connectionLevels) {
    const started = performance.now();
    const result = await autocannon({
      url,
      method: 'POST',
      connections,
      amount: requestsPerLevel,
      timeout: 30,
      headers: { 'content-type': 'application/json' },
      body: reportBody(connections),
      idReplacement: true,
    });
    const seconds = (performance.now() - started) / 1000;
    const answers201 = Number(result.statusCodeStats['201']?.count ?? 0);
    const answered = Object.values(result.statusCodeStats).reduce((sum, stat) => sum + Number(stat.count), 0);
    const rowsAfter = await countRows(target.dataDir);
    const record: IngestRecord = {
      connections,
      requests: requestsPerLevel,
      requests_per_second: answers201 / seconds,
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      answers_201: answers201,
      other_answers: answered - answers201,
      answers_by_status: Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, stat]) => [status, Number(stat.count)])),
      errors: result.errors,
      rows_stored: rowsAfter - rowsBefore,
    };
    rowsBefore = rowsAfter;
    records.push(record);
    progress(`  ${connections} connections: ${record.requests_per_second.toFixed(0)} accepted/s, p50 ${record.p50_ms} ms, p99 ${record.p99_ms} ms, ${answers201} answered 201, ${record.rows_stored} rows stored`);
  }
  return { records };
}
