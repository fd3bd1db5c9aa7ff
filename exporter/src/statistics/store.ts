// Reads and writes usage reports; the same queries on SQLite and PostgreSQL.
import type { Knex } from 'knex';
import { assertSameFile, type OpenDatabase } from './database.js';
import type { UsageReport } from './schema.js';

export const HOUR_MS = 3600 * 1000;
export const DAY_MS = 24 * HOUR_MS;
/** An installation counts as current while its latest report is at most this old. */
export const ACTIVE_WINDOWS = { '24h': DAY_MS, '7d': 7 * DAY_MS } as const;

export type InsertOutcome =
  | { kind: 'created'; id: number }
  | { kind: 'duplicate'; id: number }
  /** The report id was already used by another installation. */
  | { kind: 'conflict'; id: number };

export interface ActivityTotals {
  installationsActive24h: number;
  installationsActive7d: number;
  /** Sum over installations active in the last 7 days of the active users in their latest report. */
  activeUsers: number;
}

export interface Summary extends ActivityTotals {
  reportsStored: number;
  /** Installations active in the last 7 days, by the version and platform of their latest report. */
  versions: Array<{ app_version: string; installations: number }>;
  platforms: Array<{ platform: string; installations: number }>;
}

const TABLE = 'usage_reports';
/** One row per installation: its latest report (migration 002). */
const LATEST = 'latest_reports';

// PostgreSQL returns BIGINT and COUNT(*) as strings.
const toNumber = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

export class StatisticsStore {
  readonly db: Knex;
  private readonly open: OpenDatabase;
  /** Writes under way, which close() lets finish. */
  private readonly writes = new Set<Promise<unknown>>();

  constructor(open: OpenDatabase) {
    this.open = open;
    this.db = open.db;
  }

  /** Why the last write failed, until one succeeds again: a full disk still answers reads, so a ping cannot see it. */
  lastWriteError: string | undefined;

  /** Stores a report once: a second report with the same report_id returns the first one's id. */
  insert(report: UsageReport, receivedAtMs: number): Promise<InsertOutcome> {
    const write = this.write(report, receivedAtMs).then(
      (outcome) => { this.lastWriteError = undefined; return outcome; },
      // knex prefixes the driver's message with the SQL statement: keep the driver's part.
      (error: unknown) => { this.lastWriteError = String((error as Error).message).split(' - ').pop(); throw error; },
    );
    this.writes.add(write);
    return write.finally(() => this.writes.delete(write));
  }

  private async write(report: UsageReport, receivedAtMs: number): Promise<InsertOutcome> {
    this.assertFileInPlace();
    const row = {
      report_id: report.report_id,
      installation_id: report.installation_id,
      active_users: report.active_users,
      app_version: report.app_version,
      platform: report.platform,
      metrics_json: report.metrics === undefined ? null : JSON.stringify(report.metrics),
      reported_at: report.reported_at === undefined ? null : Date.parse(report.reported_at),
      received_at: receivedAtMs,
    };
    // A trigger (migration 002) updates latest_reports in the same statement.
    const inserted: Array<{ id: unknown }> = await this.db(TABLE).insert(row).onConflict('report_id').ignore().returning('id');
    if (inserted.length === 1) return { kind: 'created', id: toNumber(inserted[0]!.id) };
    const existing = await this.db(TABLE).first('id', 'installation_id').where({ report_id: report.report_id });
    if (!existing) throw new Error(`report ${report.report_id} was neither inserted nor found`);
    const id = toNumber(existing.id);
    return existing.installation_id === report.installation_id ? { kind: 'duplicate', id } : { kind: 'conflict', id };
  }

  /** Latest report of every installation seen since `sinceMs`. */
  private latestReports(sinceMs: number): Knex.QueryBuilder {
    return this.db(LATEST).where('received_at', '>=', sinceMs);
  }

  async activity(nowMs: number): Promise<ActivityTotals> {
    this.assertFileInPlace();
    const row = await this.latestReports(nowMs - ACTIVE_WINDOWS['7d'])
      .select(
        this.db.raw('count(*) as active_7d'),
        this.db.raw('count(case when received_at >= ? then 1 end) as active_24h', [nowMs - ACTIVE_WINDOWS['24h']]),
        this.db.raw('coalesce(sum(active_users), 0) as active_users'),
      )
      .first();
    return {
      installationsActive24h: toNumber(row?.active_24h),
      installationsActive7d: toNumber(row?.active_7d),
      activeUsers: toNumber(row?.active_users),
    };
  }

  async summary(nowMs: number): Promise<Summary> {
    this.assertFileInPlace();
    const since = nowMs - ACTIVE_WINDOWS['7d'];
    const [activity, stored, versions, platforms] = await Promise.all([
      this.activity(nowMs),
      this.db(TABLE).count({ reports: '*' }).first(),
      this.latestReports(since).select('app_version').count({ installations: '*' }).groupBy('app_version').orderBy([{ column: 'installations', order: 'desc' }, 'app_version']),
      this.latestReports(since).select('platform').count({ installations: '*' }).groupBy('platform').orderBy([{ column: 'installations', order: 'desc' }, 'platform']),
    ]);
    return {
      ...activity,
      reportsStored: toNumber(stored?.reports),
      versions: versions.map((row: { app_version: string; installations: unknown }) => ({ app_version: row.app_version, installations: toNumber(row.installations) })),
      platforms: platforms.map((row: { platform: string; installations: unknown }) => ({ platform: row.platform, installations: toNumber(row.installations) })),
    };
  }

  /** Deletes reports received before `cutoffMs`; returns how many. */
  async prune(cutoffMs: number): Promise<number> {
    return this.db.transaction(async (transaction) => {
      await transaction(LATEST).where('received_at', '<', cutoffMs).delete();
      return toNumber(await transaction(TABLE).where('received_at', '<', cutoffMs).delete());
    });
  }

  async count(): Promise<number> {
    const row = await this.db(TABLE).count({ reports: '*' }).first();
    return toNumber(row?.reports);
  }

  /**
   * After a failed write, a report's worth of writing that leaves nothing behind (a row inserted and deleted in
   * one transaction, under a report_id the API cannot accept): throws while writes still fail, and clears
   * lastWriteError once one succeeds, without waiting for a client.
   */
  async probeWrite(): Promise<void> {
    const probe = { report_id: '_write_probe', installation_id: '_write_probe', active_users: 0, app_version: '-', platform: '-', received_at: 0 };
    try {
      await this.db.transaction(async (transaction) => {
        await transaction(TABLE).insert(probe);
        await transaction(TABLE).where({ report_id: probe.report_id }).delete();
        await transaction(LATEST).where({ installation_id: probe.installation_id }).delete();
      });
    } catch (error) {
      throw new Error(`writes fail: ${String((error as Error).message).split(' - ').pop()}`);
    }
    this.lastWriteError = undefined;
  }

  /** A real query against the reports table (and, for SQLite, the file still being the one opened). */
  async ping(): Promise<void> {
    this.assertFileInPlace();
    await this.db(TABLE).select('id').orderBy('id', 'desc').limit(1);
  }

  /** SQLite keeps working on a deleted file; refusing then keeps a 201 from meaning "lost at restart". */
  private assertFileInPlace(): void {
    const { location, fileIdentity } = this.open;
    if (location.client === 'sqlite' && fileIdentity) assertSameFile(location.filename, fileIdentity);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.writes]);
    await this.db.destroy();
  }
}
