// The recommendation as Prometheus recording rules: the same needs and the same tier test as the recommender
// (exporter/src/recommend/decide.ts), so the Deployment size dashboard shows the tier `headroom recommend` prints.
import { formatDuration } from '../exporter/src/duration.js';
import { DEFAULT_MARGIN, OOM_MEMORY_BUMP } from '../exporter/src/recommend/decide.js';
import { DEFAULT_WINDOW_SECONDS, series, usageQueries } from '../exporter/src/recommend/queries.js';
import { comparisonOf, THRESHOLDS, TIERS } from '../exporter/src/thresholds.js';
import type { RuleGroup } from './rules.js';

/** Evaluation interval of the recommendation group: the subquery over the window is too costly for every 15 s. */
export const RECOMMENDATION_INTERVAL = '1m';

export interface RecommendationRecords {
  cpuP95: string;
  memoryPeak: string;
  cpuNeed: string;
  memoryNeed: string;
  tierIndex: string;
}

/** Names of the recorded series for a window (`headroom:cpu_usage_cores:p95_7d`, ...). */
export function recommendationRecords(windowSeconds = DEFAULT_WINDOW_SECONDS): RecommendationRecords {
  const window = formatDuration(windowSeconds);
  return {
    cpuP95: `headroom:cpu_usage_cores:p95_${window}`,
    memoryPeak: `headroom:memory_working_set_bytes:max_${window}`,
    cpuNeed: `headroom:recommendation_cpu_need:cores_${window}`,
    memoryNeed: `headroom:recommendation_memory_need:bytes_${window}`,
    tierIndex: `headroom:recommended_tier:index_${window}`,
  };
}

/** 1 when a need is above the warning threshold of a limit, else 0 (decide.ts: levelOf(percent) !== 'info'). */
function overWarning(needExpr: string, limit: number): string {
  return `(${needExpr} / ${limit} * 100 ${comparisonOf('warning')} bool ${THRESHOLDS.warning.percent})`;
}

/**
 * The index of the smallest tier where neither need is above the warning threshold (0 small ... TIERS.length when none):
 * the count of tiers that do not fit, since every tier's limits are larger than the previous one's.
 */
export function tierIndexExpr(cpuNeedExpr: string, memoryNeedExpr: string): string {
  return TIERS.map((tier) => `clamp_max(${overWarning(cpuNeedExpr, tier.cpuLimitCores)} + ${overWarning(memoryNeedExpr, tier.memoryLimitBytes)}, 1)`).join(' + ');
}

/** The tier whose limits are the effective limits now (0 small ... TIERS.length when they match none). */
export function currentTierIndexExpr(selector: string): string {
  const custom = TIERS.length;
  const matches = TIERS.map((tier, index) =>
    `(${series('headroom_cpu_limit_cores', selector)} == bool ${tier.cpuLimitCores}) * (${series('headroom_memory_limit_bytes', selector)} == bool ${tier.memoryLimitBytes}) * ${custom - index}`);
  return `${custom} - (${matches.join(' + ')})`;
}

/** decide.ts's memory need: peak x (1 + margin), x OOM_MEMORY_BUMP when the window saw an OOM kill. */
export function memoryNeedExpr(memoryPeakExpr: string, oomKillsExpr: string, margin: number): string {
  return `${memoryPeakExpr} * ${1 + margin} * clamp_min((${oomKillsExpr} > bool 0) * ${OOM_MEMORY_BUMP}, 1)`;
}

export function cpuNeedExpr(cpuP95Expr: string, margin: number): string {
  return `${cpuP95Expr} * ${1 + margin}`;
}

/** The recording rules of the recommendation, over every instance. */
export function recommendationRuleGroup(windowSeconds = DEFAULT_WINDOW_SECONDS, margin = DEFAULT_MARGIN): RuleGroup {
  const queries = usageQueries({}, formatDuration(windowSeconds));
  const records = recommendationRecords(windowSeconds);
  return {
    name: 'headroom.recommendation',
    interval: RECOMMENDATION_INTERVAL,
    rules: [
      { record: records.cpuP95, expr: queries.cpuP95Cores },
      { record: records.memoryPeak, expr: queries.memoryPeakBytes },
      { record: records.cpuNeed, expr: cpuNeedExpr(records.cpuP95, margin) },
      { record: records.memoryNeed, expr: memoryNeedExpr(records.memoryPeak, queries.oomKills, margin) },
      { record: records.tierIndex, expr: tierIndexExpr(records.cpuNeed, records.memoryNeed) },
    ],
  };
}
