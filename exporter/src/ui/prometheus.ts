// With --ui.prometheus-url: a container's charts over 1 h to 7 d, and recommendations from 7 days of history,
// read from the Prometheus that scrapes this exporter. Series are chosen by container name (host mode) or as
// the series without one (a sidecar); a name that several instances have is refused rather than mixed.
import type { Logger } from 'pino';
import { formatDuration } from '../duration.js';
import { collectUsage, NoDataError } from '../recommend/collect.js';
import { DEFAULT_WINDOW_SECONDS, series } from '../recommend/queries.js';
import { PrometheusError, prometheusClient, type PrometheusClient, type RangeSeries } from '../recommend/prometheus.js';
import { AmbiguousSeriesError, PrometheusUnavailableError } from './errors.js';
import type { PageTarget } from './model.js';
import { recommendedOf, type RowRecommendation } from './view.js';
import type { Marker, Series } from './web/api-types.js';

/** The ranges Prometheus answers, by name. */
export const PROMETHEUS_RANGES: Readonly<Record<string, number>> = { '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400 };
/** Points a chart gets over any range. */
const POINTS = 360;
/** How long 7-day recommendations are kept before they are read again. */
export const RECOMMENDATIONS_MAX_AGE_MS = 5 * 60_000;

export interface RangeAnswer { stepSeconds: number; series: Series; markers: Marker[] }

export interface PrometheusFigures {
  /** The ranges it answers: seconds by name. */
  ranges: Readonly<Record<string, number>>;
  /** The 7-day recommendation of a target, from the last reading (a stale one is read again in the background). */
  recommendation(target: PageTarget): RowRecommendation | undefined;
  range(target: PageTarget, seconds: number, endSeconds: number): Promise<RangeAnswer>;
}

const selectorOf = (target: PageTarget) => (target.kind === 'container' ? `container=${JSON.stringify(target.name)}` : 'container=""');

/** The values of one expression on the grid start, start + step, ..., end; null where Prometheus has none. */
function onGrid(answer: RangeSeries[], grid: number[], what: string): Array<number | null> {
  const instances = new Set(answer.map((entry) => entry.labels.instance ?? ''));
  if (instances.size > 1) throw new AmbiguousSeriesError(`${instances.size} instances have series of ${what} (${[...instances].join(', ')}): give each host's page its own Prometheus selector`);
  const points = new Map(answer.flatMap((entry) => entry.points));
  return grid.map((time) => {
    const value = points.get(time);
    return value === undefined || !Number.isFinite(value) ? null : value;
  });
}

/**
 * One target's chart figures over `seconds` up to `endSeconds`, from the series `selector` picks, at a step
 * that gives about 360 points; its OOM kills and restarts as markers (the engine's counts where `container`).
 */
export async function readRange(client: PrometheusClient, selector: string, container: boolean, seconds: number, endSeconds: number): Promise<RangeAnswer> {
  const stepSeconds = Math.max(15, Math.ceil(seconds / POINTS));
  const end = Math.floor(endSeconds / stepSeconds) * stepSeconds;
  const start = end - seconds;
  const grid: number[] = [];
  for (let time = start; time <= end; time += stepSeconds) grid.push(time);
  const of = (name: string) => series(name, selector);
  const rateWindow = `${Math.max(60, 2 * stepSeconds)}s`;
  const step = `${stepSeconds}s`;
  const expressions = {
    memory_working_set_bytes: of('headroom_memory_working_set_bytes'),
    memory_limit_bytes: of('headroom_memory_limit_bytes'),
    memory_reservation_bytes: of('headroom_memory_reservation_bytes'),
    cpu_used_cores: `rate(${of('headroom_cpu_usage_seconds_total')}[${rateWindow}])`,
    cpu_limit_cores: of('headroom_cpu_limit_cores'),
    cpu_throttled_share: `rate(${of('headroom_cpu_cfs_throttled_periods_total')}[${rateWindow}]) / rate(${of('headroom_cpu_cfs_periods_total')}[${rateWindow}])`,
    // The engine's count where there is one (it survives restarts), else the cgroup's.
    oom_kills: `${container ? `increase(${of('headroom_container_oom_kills_total')}[${step}]) or ` : ''}increase(${of('headroom_memory_oom_kills_total')}[${step}])`,
    restarts: `increase(${of('headroom_container_restarts_total')}[${step}])`,
  };
  const answers = await Promise.all(Object.entries(expressions).map(async ([name, expr]) => [name, onGrid(await client.queryRange(expr, start, end, stepSeconds), grid, name)] as const));
  const columns = Object.fromEntries(answers) as Record<keyof typeof expressions, Array<number | null>>;
  const markers: Marker[] = [];
  grid.forEach((time, index) => {
    const kills = Math.round(columns.oom_kills[index] ?? 0);
    const restarts = Math.round(columns.restarts[index] ?? 0);
    if (kills > 0) markers.push({ t: time, kind: 'oom_kill', text: `${kills} OOM kill${kills === 1 ? '' : 's'}` });
    if (restarts > 0) markers.push({ t: time, kind: 'restart', text: `${restarts} restart${restarts === 1 ? '' : 's'}` });
  });
  const { oom_kills: _kills, restarts: _restarts, ...shown } = columns;
  return { stepSeconds, series: { t: grid, ...shown }, markers };
}

export function prometheusFigures(url: string, log: Logger): PrometheusFigures {
  const client = prometheusClient(url, 20_000);
  let recommendations = new Map<string, RowRecommendation>();
  let readAtMs = Number.NEGATIVE_INFINITY;
  let reading: Promise<void> | undefined;
  const refresh = () => {
    if (reading || Date.now() - readAtMs < RECOMMENDATIONS_MAX_AGE_MS) return;
    reading = (async () => {
      try {
        const usages = await collectUsage(client, DEFAULT_WINDOW_SECONDS);
        const byName = new Map<string, typeof usages>();
        for (const usage of usages) byName.set(usage.container ?? '', [...(byName.get(usage.container ?? '') ?? []), usage]);
        recommendations = new Map([...byName].map(([name, list]) => [name, list.length === 1
          ? { recommended: recommendedOf(list[0]!, 'prometheus'), because: null }
          : { recommended: null, because: `${list.length} instances in Prometheus have a container named so` }]));
      } catch (error) {
        const because = error instanceof NoDataError ? `no history in Prometheus over ${formatDuration(DEFAULT_WINDOW_SECONDS)}` : `Prometheus: ${(error as Error).message}`;
        if (!(error instanceof NoDataError)) log.warn({ err: (error as Error).message }, 'page: cannot read recommendations from Prometheus');
        recommendations = new Map([['*', { recommended: null, because }]]);
      } finally {
        readAtMs = Date.now();
        reading = undefined;
      }
    })();
  };
  return {
    ranges: PROMETHEUS_RANGES,
    recommendation(target) {
      refresh();
      const key = target.kind === 'container' ? target.name : '';
      return recommendations.get(key) ?? recommendations.get('*');
    },
    async range(target, seconds, endSeconds) {
      try {
        return await readRange(client, selectorOf(target), target.kind === 'container', seconds, endSeconds);
      } catch (error) {
        throw error instanceof PrometheusError ? new PrometheusUnavailableError(error.message) : error;
      }
    },
  };
}
