// The page's rows from a reading, its history and the recommender: levels and sizes from the thresholds
// module, the recommendation and its reason from the recommender's own code. Pure.
import { LEVEL_COLORS, LEVELS, levelOf, levelValue, THRESHOLDS, TIERS, worstLevel } from '../thresholds.js';
import { recommend, tierOfLimits, type Usage } from '../recommend/decide.js';
import { sizingVariables } from '../recommend/envfile.js';
import { reasonOf } from '../recommend/report.js';
import type { HistorySummary } from './history.js';
import { METRIC, OTHER_LIMITS, type Reading, type SizingDecision } from './model.js';
import type { LevelInfo, Recommended, Row, SizeName, TierInfo } from './web/api-types.js';

export function levelsInfo(): LevelInfo[] {
  return LEVELS.map((name) => ({
    name,
    color: LEVEL_COLORS[name].rgb,
    percent: name === 'info' ? null : THRESHOLDS[name].percent,
    inclusive: name === 'info' ? true : THRESHOLDS[name].inclusive,
  }));
}

export function tiersInfo(): TierInfo[] {
  return TIERS.map((tier) => ({
    name: tier.name,
    memory_limit_bytes: tier.memoryLimitBytes,
    cpu_limit_cores: tier.cpuLimitCores,
    memory_reservation_bytes: tier.memoryReservationBytes,
    cpu_reservation_cores: tier.cpuReservationCores,
  }));
}


/** The size a target's limits are now: a tier's when both match it, unlimited when it has neither. */
export function sizeNow(values: ReadonlyMap<string, number>): SizeName | 'unlimited' | null {
  const memoryEnforced = values.get(METRIC.memoryLimitEnforced);
  const cpuEnforced = values.get(METRIC.cpuLimitEnforced);
  if (memoryEnforced === undefined || cpuEnforced === undefined) return null;
  if (memoryEnforced === 0 && cpuEnforced === 0) return 'unlimited';
  if (memoryEnforced === 0 || cpuEnforced === 0) return 'custom';
  return tierOfLimits(values.get(METRIC.cpuLimit) ?? null, values.get(METRIC.memoryLimit) ?? null);
}

/** Slots of history the page wants before it recommends from its own history. */
export const MIN_HISTORY_STEPS = 10;

/** The recommender's usage from the page's history: P95 and peak of the cores used, the peak working set. */
export function historyUsage(reading: Reading, summary: HistorySummary, windowSeconds: number): Usage {
  const limit = (name: string, enforced: string) => (reading.values.get(enforced) === 1 ? reading.values.get(name) ?? null : null);
  return {
    instance: '',
    container: reading.target.name,
    windowSeconds,
    historySeconds: summary.coveredSeconds,
    cpuP95Cores: summary.cpuP95Cores,
    cpuPeakCores: summary.cpuPeakCores,
    memoryPeakBytes: summary.memoryPeakBytes,
    oomKills: summary.oomKills,
    throttledSeconds: 0,
    throttledPeriodsRatio: summary.throttledPeriodsRatio,
    activeUsers: null,
    cpuLimitCores: limit(METRIC.cpuLimit, METRIC.cpuLimitEnforced),
    memoryLimitBytes: limit(METRIC.memoryLimit, METRIC.memoryLimitEnforced),
  };
}

export function recommendedOf(usage: Usage, source: Recommended['source']): Recommended {
  const recommendation = recommend(usage);
  return { size: recommendation.size, source, confidence: recommendation.confidence, reason: reasonOf(usage, recommendation), env: sizingVariables(recommendation.sizing) };
}

/** What the row shows for the recommended size: one, or why there is none yet. */
export interface RowRecommendation { recommended: Recommended | null; because: string | null }

const nullable = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? null : value);

export function rowOf(reading: Reading, summary: HistorySummary | undefined, recommendation: RowRecommendation, lastDecision: SizingDecision | undefined): Row {
  const { target, values, engine } = reading;
  const get = (name: string) => nullable(values.get(name));
  const memoryPercent = get(METRIC.memoryPercent);
  const cpuPercent = get(METRIC.cpuPercent);
  const cpuLimit = get(METRIC.cpuLimit);
  const memoryLevel = levelOf(memoryPercent ?? Number.NaN);
  const cpuLevel = levelOf(cpuPercent ?? Number.NaN);
  const container = target.kind === 'container';
  const limits = OTHER_LIMITS.flatMap((resource) => {
    const percent = get(resource.percentFamily);
    return percent === null ? [] : [{ resource: resource.name, percent, level: levelOf(percent) }];
  });
  return {
    key: target.key,
    name: target.name,
    kind: target.kind,
    compose_project: target.composeProject,
    compose_service: target.composeService,
    status: engine?.status ?? 'running',
    level: worstLevel([memoryLevel, cpuLevel, ...limits.map((limit) => limit.level)]),
    memory: {
      working_set_bytes: get(METRIC.memoryWorkingSet),
      limit_bytes: get(METRIC.memoryLimit),
      limit_enforced: values.get(METRIC.memoryLimitEnforced) === 1,
      reservation_bytes: get(METRIC.memoryReservation),
      percent: memoryPercent,
      level: memoryLevel,
    },
    cpu: {
      percent: cpuPercent,
      used_cores: cpuPercent === null || cpuLimit === null ? null : (cpuPercent * cpuLimit) / 100,
      limit_cores: cpuLimit,
      limit_enforced: values.get(METRIC.cpuLimitEnforced) === 1,
      reservation_cores: get(METRIC.cpuReservation),
      throttled_share: summary?.throttledShare ?? null,
      level: cpuLevel,
    },
    limits,
    oom_kills: { total: get(container ? METRIC.containerOomKills : METRIC.memoryOomKills), recent: summary?.oomKills ?? 0 },
    restarts: { total: container ? get(METRIC.containerRestarts) : null, recent: summary?.restarts ?? 0 },
    last_exit: engine?.lastExit ?? null,
    size: { now: sizeNow(values), recommended: recommendation.recommended, not_recommended_because: recommendation.because },
    last_decision: lastDecision ?? null,
  };
}

/** The highest of a row's two percents; -1 without figures (a stopped container). */
function pressure(row: Row): number {
  return Math.max(row.memory.percent ?? -1, row.cpu.percent ?? -1);
}

/** Worst level first; then the fuller; then by name. */
export function sortRows(rows: Row[]): Row[] {
  return rows.sort((a, b) => levelValue(b.level) - levelValue(a.level) || pressure(b) - pressure(a) || a.name.localeCompare(b.name));
}

/** docker-compose lines that give a service the recommended size (the stack reads CPU_RESERVATION from the environment). */
export function composeSnippet(service: string, recommended: Recommended | null): string {
  if (!recommended) return '';
  const { MEMORY_LIMIT, CPU_LIMIT, MEMORY_RESERVATION, CPU_RESERVATION } = recommended.env;
  const quoted = (text: string | undefined) => `'${text ?? ''}'`;
  return [
    'services:',
    `  ${/^[A-Za-z0-9._-]+$/.test(service) ? service : JSON.stringify(service)}:`,
    '    deploy:',
    '      resources:',
    '        limits:',
    `          cpus: ${quoted(CPU_LIMIT)}`,
    `          memory: ${MEMORY_LIMIT}`,
    '        reservations:',
    `          memory: ${MEMORY_RESERVATION}`,
    '    environment:',
    `      CPU_RESERVATION: ${quoted(CPU_RESERVATION)}`,
    '',
  ].join('\n');
}
