// The usage report's figures for each container (or sidecar instance) with history in the window, read from
// Prometheus: the recommender's usage (peaks, P95, OOM kills, throttling, limits), the memory working set's and
// CPU's P50/P95/P99, the share of time at each level, restarts, and the charts' series.
import { formatDuration } from '../duration.js';
import { collectUsage } from '../recommend/collect.js';
import { recommend, type Recommendation, type Usage } from '../recommend/decide.js';
import type { PrometheusClient } from '../recommend/prometheus.js';
import { RATE_WINDOW, SUBQUERY_STEP, series, seriesSelector, type SeriesFilter } from '../recommend/queries.js';
import { comparisonOf, LEVELS, levelValue, THRESHOLDS, type Level } from '../thresholds.js';
import { readRange, type RangeAnswer } from '../ui/prometheus.js';

export const QUANTILES = [0.5, 0.95, 0.99] as const;

export interface Spread { p50: number | null; p95: number | null; p99: number | null; max: number | null }

export interface ReportEntry {
  usage: Usage;
  recommendation: Recommendation;
  /** The series' own labels: instance, container, compose project and service (host mode). */
  labels: Record<string, string>;
  memoryBytes: Spread;
  cpuCores: Spread;
  /** Share (0-1) of the window's minutes at each level (the worse of memory and CPU, against their limits). */
  levelShares: Record<Level, number>;
  restarts: number | null;
  chart?: RangeAnswer;
}

/** The level of a percent series as 0-3 (thresholds.ts's levelValue), in PromQL. */
export function levelValueExpr(percent: string): string {
  return (['warning', 'critical', 'danger'] as const).map((level) => `(${percent} ${comparisonOf(level)} bool ${THRESHOLDS[level].percent})`).join(' + ');
}

/** What tells one report entry from another: the instance and the container. */
function keyOf(labels: Record<string, string>): string {
  return JSON.stringify([labels.instance ?? '', labels.container ?? '']);
}

export function reportQueries(filter: SeriesFilter, window: string) {
  const selector = seriesSelector(filter);
  const cpuRate = `rate(${series('headroom_cpu_usage_seconds_total', selector)}[${RATE_WINDOW}])`;
  const memory = series('headroom_memory_working_set_bytes', selector);
  // The alert rules' ratios: working set of the limit, and the 5-minute CPU rate of the limit.
  const memoryPercent = `(100 * ${memory} / ${series('headroom_memory_limit_bytes', selector)})`;
  const cpuPercent = `(100 * ${cpuRate} / ${series('headroom_cpu_limit_cores', selector)})`;
  const memoryLevel = `(${levelValueExpr(memoryPercent)})`;
  const cpuLevel = `(${levelValueExpr(cpuPercent)})`;
  const level = `((${memoryLevel} > ${cpuLevel}) or ${cpuLevel})`;
  return {
    memory: Object.fromEntries(QUANTILES.map((q) => [q, `quantile_over_time(${q}, ${memory}[${window}])`])) as Record<number, string>,
    cpu: Object.fromEntries(QUANTILES.map((q) => [q, `quantile_over_time(${q}, ${cpuRate}[${window}:${SUBQUERY_STEP}])`])) as Record<number, string>,
    levels: Object.fromEntries(LEVELS.map((name) => [name, `avg_over_time((${level} == bool ${levelValue(name)})[${window}:${SUBQUERY_STEP}])`])) as Record<Level, string>,
    restarts: `increase(${series('headroom_container_restarts_total', selector)}[${window}])`,
    labels: `last_over_time(${memory}[${window}])`,
  };
}

export interface CollectOptions {
  windowSeconds: number;
  filter: SeriesFilter;
  /** Evaluation time (Unix seconds); default now. */
  time?: number;
  charts: boolean;
  margin?: number;
}

export async function collectReport(client: PrometheusClient, options: CollectOptions): Promise<ReportEntry[]> {
  const time = options.time ?? Date.now() / 1000;
  const usages = await collectUsage(client, options.windowSeconds, options.filter, time);
  const queries = reportQueries(options.filter, formatDuration(options.windowSeconds));
  const byKey = async (expr: string) => new Map((await client.query(expr, time)).map((sample) => [keyOf(sample.labels), sample]));
  const [memory, cpu, levels, restarts, labels] = await Promise.all([
    Promise.all(QUANTILES.map((q) => byKey(queries.memory[q]!))),
    Promise.all(QUANTILES.map((q) => byKey(queries.cpu[q]!))),
    Promise.all(LEVELS.map((name) => byKey(queries.levels[name]))),
    byKey(queries.restarts),
    byKey(queries.labels),
  ]);
  const value = (map: Map<string, { value: number }>, key: string) => {
    const found = map.get(key)?.value;
    return found === undefined || !Number.isFinite(found) ? null : found;
  };
  return Promise.all(usages.map(async (usage): Promise<ReportEntry> => {
    const key = JSON.stringify([usage.instance, usage.container ?? '']);
    const { __name__: _name, job: _job, ...own } = labels.get(key)?.labels ?? {};
    const entry: ReportEntry = {
      usage,
      recommendation: recommend(usage, options.margin),
      labels: own,
      memoryBytes: { p50: value(memory[0]!, key), p95: value(memory[1]!, key), p99: value(memory[2]!, key), max: usage.memoryPeakBytes },
      cpuCores: { p50: value(cpu[0]!, key), p95: value(cpu[1]!, key), p99: value(cpu[2]!, key), max: usage.cpuPeakCores },
      levelShares: Object.fromEntries(LEVELS.map((name, index) => [name, value(levels[index]!, key) ?? 0])) as Record<Level, number>,
      restarts: usage.container === undefined ? null : Math.round(value(restarts, key) ?? 0),
    };
    if (options.charts) {
      const selector = [seriesSelector({ instance: usage.instance, container: usage.container, host: options.filter.host }), usage.container === undefined ? 'container=""' : ''].filter(Boolean).join(',');
      entry.chart = await readRange(client, selector, usage.container !== undefined, options.windowSeconds, time);
    }
    return entry;
  }));
}
