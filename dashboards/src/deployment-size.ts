// The Deployment size dashboard: which tier the instance runs as, which one its usage needs, and why.
import { DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { formatCpus, formatMemorySize } from '../../exporter/src/sizes.js';
import { THRESHOLDS, TIERS } from '../../exporter/src/thresholds.js';
import { formatDuration } from '../../exporter/src/duration.js';
import { CPU_QUANTILE, DEFAULT_WINDOW_SECONDS } from '../../exporter/src/recommend/queries.js';
import { currentTierIndexExpr, recommendationRecords } from '../../alerting-rules/recommendation.js';
import { DEFAULT_MARGIN, OOM_MEMORY_BUMP } from '../../exporter/src/recommend/decide.js';
import { datasourceVariable, fixedThresholds, headroomThresholds, containerVariable, hostVariable, instanceVariable, levelThresholds, INSTANCE_SELECTOR, SELECTOR, WHO, tierMappings, windowVariable, type Query } from './common.js';
import { bars, graph, single } from './panels.js';

const S = SELECTOR;
const records = recommendationRecords();
const warning = THRESHOLDS.warning.percent;
const recordedWindow = formatDuration(DEFAULT_WINDOW_SECONDS);
const marginPercent = Math.round(DEFAULT_MARGIN * 100);

const cpuRate = `rate(headroom_cpu_usage_seconds_total{${S}}[$__rate_interval])`;
/** P95 and peak over the chosen window, as the recommender computes them (one point per $__interval). */
const cpuP95 = `quantile_over_time(${CPU_QUANTILE}, ${cpuRate}[$window:$__interval])`;
const cpuPeak = `max_over_time(${cpuRate}[$window:$__interval])`;
const memoryPeak = `max_over_time(headroom_memory_working_set_bytes{${S}}[$window])`;

function tierLines(value: (tier: (typeof TIERS)[number]) => string, what: string): Query[] {
  return TIERS.map((tier) => ({ expr: `vector(${value(tier)})`, legend: `${tier.name} ${what}` }));
}

const tierTable = TIERS.map((tier) => `${tier.name} ${formatCpus(tier.cpuLimitCores)} CPU / ${formatMemorySize(tier.memoryLimitBytes)}`).join(', ');
const userRanges = TIERS.map((tier) => `${tier.name} ${tier.maxUsers === null ? `${tier.minUsers}+` : `${tier.minUsers}-${tier.maxUsers}`}`).join(', ');

export const DEPLOYMENT_SIZE_UID = 'headroom-deployment-size';

export function deploymentSizeDashboard() {
  return new DashboardBuilder('headroom / Deployment size')
    .uid(DEPLOYMENT_SIZE_UID)
    .description(`Which deployment size (${tierTable}) the measured usage needs: the same answer as \`headroom recommend\`.`)
    .tags(['headroom'])
    .refresh('5m')
    .time({ from: 'now-7d', to: 'now' })
    .timezone('browser')
    .withVariable(datasourceVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withVariable(containerVariable())
    .withVariable(windowVariable())

    .withRow(new RowBuilder('Tier').id(101).gridPos({ x: 0, y: 0, w: 24, h: 1 }))
    .withPanel(single({
      id: 1, title: 'Current tier', at: [0, 1, 6, 5], unit: 'none', mappings: tierMappings(), thresholds: fixedThresholds('text'),
      description: `The tier whose limits equal the effective CPU and memory limits now (${tierTable}); "custom" when they match none.`,
      queries: [{ expr: currentTierIndexExpr(S), legend: WHO }],
    }))
    .withPanel(single({
      id: 2, title: `Recommended tier (${recordedWindow})`, at: [6, 1, 6, 5], unit: 'none', mappings: tierMappings(), thresholds: fixedThresholds('text'),
      description: `The smallest tier whose limits keep P95 CPU and peak working set over the last ${recordedWindow}, plus ${marginPercent} % (and x${OOM_MEMORY_BUMP} memory after an OOM kill), at or under the warning threshold (${warning} %) of the limits. Recorded by the ${records.tierIndex} rule from the same code as \`headroom recommend\`; "custom" when even the largest tier is too small.`,
      queries: [{ expr: `${records.tierIndex}{${S}}`, legend: WHO }],
    }))
    .withPanel(single({
      id: 3, title: `CPU need (${recordedWindow})`, at: [12, 1, 4, 5], unit: 'short', decimals: 2, thresholds: fixedThresholds('blue'),
      description: `P95 CPU in cores over the last ${recordedWindow} plus the ${marginPercent} % margin: what the recommended tier's CPU limit must hold at ${warning} %.`,
      queries: [{ expr: `${records.cpuNeed}{${S}}`, legend: WHO }],
    }))
    .withPanel(single({
      id: 4, title: `Memory need (${recordedWindow})`, at: [16, 1, 4, 5], unit: 'bytes', thresholds: fixedThresholds('blue'),
      description: `Peak working set over the last ${recordedWindow} plus the ${marginPercent} % margin (x${OOM_MEMORY_BUMP} after an OOM kill): what the recommended tier's memory limit must hold at ${warning} %.`,
      queries: [{ expr: `${records.memoryNeed}{${S}}`, legend: WHO }],
    }))
    .withPanel(single({
      id: 5, title: 'Active users', at: [20, 1, 4, 5], unit: 'short', thresholds: fixedThresholds('blue'),
      description: `Peak active users over the window reported to the statistics store (POST /statistics). The seed sizes by users: ${userRanges}.`,
      queries: [{ expr: `max_over_time(headroom_statistics_active_users{${INSTANCE_SELECTOR}}[$window])`, legend: WHO }],
    }))

    .withRow(new RowBuilder('Usage over the window against the tiers').id(102).gridPos({ x: 0, y: 6, w: 24, h: 1 }))
    .withPanel(graph({
      id: 6, title: 'CPU: P95 and peak against the tiers', at: [0, 7, 12, 9], unit: 'short', min: 0, axisLabel: 'cores',
      description: 'P95 and peak CPU in cores over the chosen window (rolling), with each tier\'s CPU limit and reservation as flat lines.',
      queries: [
        { expr: cpuP95, legend: `P95 ${WHO}` },
        { expr: cpuPeak, legend: `peak ${WHO}` },
        ...tierLines((tier) => String(tier.cpuLimitCores), 'limit'),
        ...tierLines((tier) => String(tier.cpuReservationCores), 'reservation'),
      ],
    }))
    .withPanel(graph({
      id: 7, title: 'Memory: peak working set against the tiers', at: [12, 7, 12, 9], unit: 'bytes', min: 0,
      description: 'Peak working set over the chosen window (rolling), with each tier\'s memory limit and reservation as flat lines.',
      queries: [
        { expr: memoryPeak, legend: `peak ${WHO}` },
        ...tierLines((tier) => String(tier.memoryLimitBytes), 'limit'),
        ...tierLines((tier) => String(tier.memoryReservationBytes), 'reservation'),
      ],
    }))
    .withPanel(bars({
      id: 8, title: 'Headroom each tier would leave', at: [0, 16, 12, 9], unit: 'percent', min: -100, max: 100, thresholds: headroomThresholds(),
      description: `Percent of each tier's limit left free by the window's P95 CPU and peak working set (without the margin). Under ${100 - warning} % the usage would sit above the warning threshold; negative means the usage does not fit at all.`,
      queries: TIERS.flatMap((tier) => [
        { expr: `100 * (1 - ${cpuP95} / ${tier.cpuLimitCores})`, legend: `${tier.name} CPU ${WHO}` },
        { expr: `100 * (1 - ${memoryPeak} / ${tier.memoryLimitBytes})`, legend: `${tier.name} memory ${WHO}` },
      ]),
    }))
    .withPanel(graph({
      id: 9, title: 'Active users against the tiers\' user ranges', at: [12, 16, 12, 9], unit: 'short', min: 0,
      description: `Active users reported to the statistics store, with the upper bounds of the tiers' user ranges (${userRanges}) as flat lines.`,
      queries: [
        { expr: `headroom_statistics_active_users{${INSTANCE_SELECTOR}}`, legend: 'active users {{instance}}' },
        ...TIERS.filter((tier) => tier.maxUsers !== null).map((tier) => ({ expr: `vector(${tier.maxUsers})`, legend: `${tier.name} up to` })),
      ],
    }))

    .withRow(new RowBuilder('Reservations').id(103).gridPos({ x: 0, y: 25, w: 24, h: 1 }))
    .withPanel(bars({
      id: 10, title: 'Baseline against the reservation', at: [0, 26, 8, 8], unit: 'percent', min: 0, max: 200, thresholds: levelThresholds(),
      description: 'Median (baseline) CPU and working set over the window as a percent of the reservation. Far under 100 % the reservation is wasted (it holds capacity the service does not use); over 100 % it is too small to protect the baseline.',
      queries: [
        { expr: `100 * quantile_over_time(0.5, ${cpuRate}[$window:$__interval]) / headroom_cpu_reservation_cores{${S}}`, legend: `CPU ${WHO}` },
        { expr: `100 * quantile_over_time(0.5, headroom_memory_working_set_bytes{${S}}[$window]) / headroom_memory_reservation_bytes{${S}}`, legend: `memory ${WHO}` },
      ],
    }))
    .withPanel(graph({
      id: 11, title: 'CPU baseline and reservation', at: [8, 26, 8, 8], unit: 'short', min: 0, axisLabel: 'cores',
      description: 'Median CPU in cores over the window (rolling) against the CPU reservation.',
      queries: [
        { expr: `quantile_over_time(0.5, ${cpuRate}[$window:$__interval])`, legend: `baseline ${WHO}` },
        { expr: `headroom_cpu_reservation_cores{${S}}`, legend: `reservation ${WHO}` },
      ],
    }))
    .withPanel(graph({
      id: 12, title: 'Memory baseline and reservation', at: [16, 26, 8, 8], unit: 'bytes', min: 0,
      description: 'Median working set over the window (rolling) against the memory reservation.',
      queries: [
        { expr: `quantile_over_time(0.5, headroom_memory_working_set_bytes{${S}}[$window])`, legend: `baseline ${WHO}` },
        { expr: `headroom_memory_reservation_bytes{${S}}`, legend: `reservation ${WHO}` },
      ],
    }));
}
