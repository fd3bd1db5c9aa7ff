// Statistics families: counts the routes keep, and gauges read from the database when /metrics is rendered.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { registerFamily } from '../scrape/exposition.js';
import { Refreshed } from '../refreshed.js';
import { counter, gauge, Tally } from '../scrape/samples.js';
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

const RECEIVED = counter('headroom_statistics_reports_received_total', 'Usage reports stored (answered 201).');
const DUPLICATES = counter('headroom_statistics_reports_duplicate_total', 'Usage reports resent with a report_id already stored (answered 200, not stored again).');
const REJECTED = counter('headroom_statistics_reports_rejected_total', 'Usage reports refused, by reason.', ['reason']);
const INSTALLATIONS_ACTIVE = gauge('headroom_statistics_installations_active', 'Installations whose latest usage report is within the window (NaN while the database cannot be read).', ['window']);
const ACTIVE_USERS = gauge('headroom_statistics_active_users', 'Active users summed over the latest report of every installation active in the last 7 days (NaN while the database cannot be read).');

/** What the routes count. */
export interface StatisticsCounts {
  received: Tally;
  duplicates: Tally;
  rejected: Tally;
}

export function registerStatisticsFamilies(registry: Registry, readActivity: () => Promise<ActivityTotals>, log: Logger): StatisticsCounts {
  const counts: StatisticsCounts = { received: new Tally(), duplicates: new Tally(), rejected: new Tally() };
  counts.received.declare({});
  counts.duplicates.declare({});
  for (const reason of REJECTION_REASONS) counts.rejected.declare({ reason });
  registerFamily(registry, RECEIVED, () => counts.received.samples());
  registerFamily(registry, DUPLICATES, () => counts.duplicates.samples());
  registerFamily(registry, REJECTED, () => counts.rejected.samples());

  // One read fills both gauges: prom-client renders them concurrently, and the second joins the read the first started.
  const activity = new Refreshed<ActivityTotals | undefined>(
    () => withTimeout(readActivity(), GAUGE_READ_TIMEOUT_MS),
    (error) => {
      log.warn({ err: (error as Error).message }, 'cannot read statistics for /metrics');
      return undefined;
    },
    0,
  );
  const read = async () => (await activity.current(GAUGE_SCRAPE_WAIT_MS))?.value;
  registerFamily(registry, INSTALLATIONS_ACTIVE, async () => {
    const totals = await read();
    return [
      { labels: { window: '24h' }, value: totals?.installationsActive24h ?? Number.NaN },
      { labels: { window: '7d' }, value: totals?.installationsActive7d ?? Number.NaN },
    ];
  });
  registerFamily(registry, ACTIVE_USERS, async () => [{ labels: {}, value: (await read())?.activeUsers ?? Number.NaN }]);
  return counts;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
