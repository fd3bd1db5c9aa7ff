// The page's in-process history: per target a ring of fixed time slots (one per step, as many as the span
// holds) in typed arrays, filled from scrapes. However often something scrapes, a target holds at most
// span / step slots; a scrape landing in a slot already written replaces it. Nothing here reads the kernel.
import type { Snapshot } from './model.js';
import { METRIC } from './model.js';

/** The columns of a slot besides its time, each a Float32 (counters are kept as deltas, which stay small). */
export const COLUMNS = ['workingSet', 'memoryLimit', 'memoryReservation', 'cpuPercent', 'cpuLimit', 'throttledPeriods', 'periods', 'oomKills', 'restarts'] as const;
export type Column = (typeof COLUMNS)[number];

/** Bytes of one slot: its time (Float64) and the columns. */
export const SLOT_BYTES = Float64Array.BYTES_PER_ELEMENT + COLUMNS.length * Float32Array.BYTES_PER_ELEMENT;

export interface HistoryOptions { spanSeconds: number; stepSeconds: number }

/** A target's history in time order; NaN where a figure was missing. Counters' columns hold each slot's increase. */
export interface HistorySeries {
  t: number[];
  columns: Record<Column, number[]>;
}

interface Ring {
  buffer: ArrayBuffer;
  times: Float64Array;
  columns: Record<Column, Float32Array>;
  lastSlot: number;
  lastSeenSeconds: number;
  /** The counters at the last record, for the next increase. */
  periods?: number;
  throttledPeriods?: number;
}

const value = (values: ReadonlyMap<string, number>, name: string) => values.get(name) ?? Number.NaN;

/** The increase of a counter since `before`; a counter that went down started again (a new cgroup) from 0. */
function increase(now: number, before: number | undefined): number {
  if (Number.isNaN(now)) return Number.NaN;
  if (before === undefined || Number.isNaN(before)) return 0;
  return now >= before ? now - before : now;
}

export class History {
  readonly capacity: number;
  private readonly rings = new Map<string, Ring>();

  constructor(readonly options: HistoryOptions) {
    this.capacity = Math.ceil(options.spanSeconds / options.stepSeconds);
  }

  /** Bytes held by the rings' arrays. */
  bytes(): number {
    return this.rings.size * this.capacity * SLOT_BYTES;
  }

  targets(): number {
    return this.rings.size;
  }

  private ring(key: string): Ring {
    let ring = this.rings.get(key);
    if (ring) return ring;
    const buffer = new ArrayBuffer(this.capacity * SLOT_BYTES);
    const times = new Float64Array(buffer, 0, this.capacity).fill(Number.NaN);
    const columns = Object.fromEntries(COLUMNS.map((column, index) => [
      column, new Float32Array(buffer, this.capacity * (Float64Array.BYTES_PER_ELEMENT + index * Float32Array.BYTES_PER_ELEMENT), this.capacity),
    ])) as Record<Column, Float32Array>;
    ring = { buffer, times, columns, lastSlot: -1, lastSeenSeconds: 0 };
    this.rings.set(key, ring);
    return ring;
  }

  record(snapshot: Snapshot): void {
    const seconds = snapshot.atMs / 1000;
    const slot = Math.floor(seconds / this.options.stepSeconds);
    const index = slot % this.capacity;
    for (const { target, values } of snapshot.readings) {
      if (!values.has(METRIC.memoryWorkingSet)) continue; // not running: nothing measured
      const ring = this.ring(target.key);
      const same = ring.lastSlot === slot;
      const { columns } = ring;
      const periods = value(values, METRIC.cpuPeriods);
      const throttled = value(values, METRIC.cpuThrottledPeriods);
      // A later scrape in the same slot adds its increase to the slot's.
      const addTo = (column: Float32Array, delta: number) => { column[index] = same && !Number.isNaN(column[index]!) ? column[index]! + delta : delta; };
      addTo(columns.periods, increase(periods, ring.periods));
      addTo(columns.throttledPeriods, increase(throttled, ring.throttledPeriods));
      ring.periods = periods;
      ring.throttledPeriods = throttled;
      ring.times[index] = seconds;
      columns.workingSet[index] = value(values, METRIC.memoryWorkingSet);
      columns.memoryLimit[index] = value(values, METRIC.memoryLimit);
      columns.memoryReservation[index] = value(values, METRIC.memoryReservation);
      columns.cpuPercent[index] = value(values, METRIC.cpuPercent);
      columns.cpuLimit[index] = value(values, METRIC.cpuLimit);
      columns.oomKills[index] = values.get(METRIC.containerOomKills) ?? value(values, METRIC.memoryOomKills);
      columns.restarts[index] = value(values, METRIC.containerRestarts);
      ring.lastSlot = slot;
      ring.lastSeenSeconds = seconds;
    }
    // Targets unseen for the whole span are gone.
    for (const [key, ring] of this.rings) if (seconds - ring.lastSeenSeconds > this.options.spanSeconds) this.rings.delete(key);
  }

  /** A target's slots newer than `sinceSeconds` (and within the span of `nowSeconds`), oldest first. */
  series(key: string, nowSeconds: number, sinceSeconds = Number.NEGATIVE_INFINITY): HistorySeries | undefined {
    const ring = this.rings.get(key);
    if (!ring) return undefined;
    const oldest = Math.max(sinceSeconds, nowSeconds - this.options.spanSeconds);
    const order: number[] = [];
    for (let index = 0; index < this.capacity; index += 1) if (ring.times[index]! > oldest) order.push(index);
    order.sort((a, b) => ring.times[a]! - ring.times[b]!);
    return {
      t: order.map((index) => ring.times[index]!),
      columns: Object.fromEntries(COLUMNS.map((column) => [column, order.map((index) => ring.columns[column][index]!)])) as Record<Column, number[]>,
    };
  }
}

/** Summaries of a target's history that the page's rows and recommendations use. */
export interface HistorySummary {
  /** Seconds from the first slot to the last. */
  coveredSeconds: number;
  /** Share (0-1) of CFS periods throttled in the last `recentSeconds`; null when none elapsed. */
  throttledShare: number | null;
  /** Increases of the totals over the whole history. */
  oomKills: number;
  restarts: number;
  /** Cores used (cpu_percent of the limit) at its 95th percentile and at its peak. */
  cpuP95Cores: number;
  cpuPeakCores: number;
  memoryPeakBytes: number;
  throttledPeriodsRatio: number | null;
}

const finite = (values: number[]) => values.filter((entry) => Number.isFinite(entry));

function share(throttled: number[], periods: number[]): number | null {
  let sumThrottled = 0;
  let sumPeriods = 0;
  for (let index = 0; index < periods.length; index += 1) {
    if (!Number.isFinite(periods[index]!) || !Number.isFinite(throttled[index]!)) continue;
    sumThrottled += throttled[index]!;
    sumPeriods += periods[index]!;
  }
  return sumPeriods > 0 ? sumThrottled / sumPeriods : null;
}

/** The q-quantile of sorted values, interpolated between the two nearest (as Prometheus's quantile_over_time). */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = q * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (rank - below);
}

/** The increase of a total from the first slot that has it to the last. */
function totalIncrease(totals: number[]): number {
  const known = finite(totals);
  if (known.length < 2) return 0;
  let sum = 0;
  for (let index = 1; index < known.length; index += 1) sum += increase(known[index]!, known[index - 1]!);
  return sum;
}

export function summarize(series: HistorySeries, recentSeconds: number): HistorySummary {
  const { t, columns } = series;
  const last = t[t.length - 1] ?? 0;
  const recent = t.findIndex((time) => time > last - recentSeconds);
  const from = recent === -1 ? t.length : recent;
  // A throttled share needs two readings: the first slot's increase is from nothing.
  const cpuCores = finite(t.map((_, index) => (columns.cpuPercent[index]! * columns.cpuLimit[index]!) / 100)).sort((a, b) => a - b);
  return {
    coveredSeconds: t.length === 0 ? 0 : last - t[0]!,
    throttledShare: share(columns.throttledPeriods.slice(Math.max(1, from)), columns.periods.slice(Math.max(1, from))),
    oomKills: totalIncrease(columns.oomKills),
    restarts: totalIncrease(columns.restarts),
    cpuP95Cores: quantile(cpuCores, 0.95),
    cpuPeakCores: cpuCores[cpuCores.length - 1] ?? 0,
    memoryPeakBytes: Math.max(0, ...finite(columns.workingSet)),
    throttledPeriodsRatio: share(columns.throttledPeriods.slice(1), columns.periods.slice(1)),
  };
}
