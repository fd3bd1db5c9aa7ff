// Statistics metrics: counters updated by the routes, gauges read from the database at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { Refreshed } from '../refreshed.js';
import type { ActivityTotals } from './store.js';

export const REJECTION_REASONS = ['unsupported_media_type', 'too_large', 'malformed_json', 'invalid', 'conflict', 'unavailable'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** A read of the gauges gives up after this long; the gauges are then NaN. */
export const GAUGE_READ_TIMEOUT_MS = 2000;
/**
 * A scrape waits at most this long for a fresh read, then publishes the last one: a locked or slow
 * database never holds /metrics up. One read at a time; a scrape during a long read gets the last values.
 */
export const GAUGE_SCRAPE_WAIT_MS = 10;

export interface StatisticsMetrics {
  received: Counter;
  duplicates: Counter;
  rejected: Counter<'reason'>;
}

export function createStatisticsMetrics(registry: Registry, readActivity: () => Promise<ActivityTotals>, log: Logger): StatisticsMetrics {
  const received = new Counter({ name: 'headroom_statistics_reports_received_total', help: 'Usage reports stored (answered 201).', registers: [registry] });
  const duplicates = new Counter({ name: 'headroom_statistics_reports_duplicate_total', help: 'Usage reports resent with a report_id already stored (answered 200, not stored again).', registers: [registry] });
  const rejected = new Counter({ name: 'headroom_statistics_reports_rejected_total', help: 'Usage reports refused, by reason.', labelNames: ['reason'], registers: [registry] });
  for (const reason of REJECTION_REASONS) rejected.inc({ reason }, 0);

  // One read fills both gauges: prom-client collects them concurrently, and the second joins the read the first started.
  const activity = new Refreshed<ActivityTotals | undefined>(
    () => withTimeout(readActivity(), GAUGE_READ_TIMEOUT_MS),
    (error) => {
      log.warn({ err: (error as Error).message }, 'cannot read statistics for /metrics');
      return undefined;
    },
    0,
  );
  const read = async () => (await activity.current(GAUGE_SCRAPE_WAIT_MS))?.value;
  new Gauge({
    name: 'headroom_statistics_installations_active',
    help: 'Installations whose latest usage report is within the window (NaN while the database cannot be read).',
    labelNames: ['window'],
    registers: [registry],
    async collect() {
      const totals = await read();
      this.set({ window: '24h' }, totals?.installationsActive24h ?? Number.NaN);
      this.set({ window: '7d' }, totals?.installationsActive7d ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'headroom_statistics_active_users',
    help: 'Active users summed over the latest report of every installation active in the last 7 days (NaN while the database cannot be read).',
    registers: [registry],
    async collect() {
      this.set((await read())?.activeUsers ?? Number.NaN);
    },
  });
  return { received, duplicates, rejected };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
