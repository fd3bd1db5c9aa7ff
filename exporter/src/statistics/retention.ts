// Retention: reports older than --statistics.retention are deleted at start and, at most once per
// interval, after a report is stored. Nothing runs on a timer, so scrapes never pay for it.
import type { Logger } from 'pino';
import { HOUR_MS, type StatisticsStore } from './store.js';

export class Pruner {
  private lastRunMs = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;
  readonly intervalMs: number;

  constructor(private readonly store: StatisticsStore, private readonly retentionMs: number, private readonly log: Logger) {
    this.intervalMs = Math.min(HOUR_MS, retentionMs);
  }

  /** Deletes expired reports now; returns how many. */
  async prune(nowMs: number): Promise<number> {
    this.lastRunMs = nowMs;
    const deleted = await this.store.prune(nowMs - this.retentionMs);
    if (deleted > 0) this.log.info({ deleted, retention_seconds: this.retentionMs / 1000 }, 'pruned usage reports');
    return deleted;
  }

  /** After an insert: prunes in the background when the last run is older than the interval. */
  afterInsert(nowMs: number): void {
    if (this.running || nowMs - this.lastRunMs < this.intervalMs) return;
    this.running = this.prune(nowMs)
      .then(() => undefined, (error: unknown) => { this.log.warn({ err: (error as Error).message }, 'pruning usage reports failed'); })
      .finally(() => { this.running = undefined; });
  }

  /** Waits for a background prune, if one is running (before closing the database). */
  async settled(): Promise<void> {
    await this.running;
  }
}
