// Renders a recommendation as text for people or JSON for scripts.
import { formatCpus, formatMemorySize } from '../sizes.js';
import { MIB, THRESHOLDS, TIERS } from '../thresholds.js';
import { humanDuration, OOM_MEMORY_BUMP, type Recommendation, type Usage } from './decide.js';
import { formatDuration } from '../duration.js';
import { sizingVariables } from './envfile.js';
import { composeSnippet, describeChange } from './limits.js';

/** The compose service a snippet is for: the container's compose service, else its name, else a placeholder (a sidecar's). */
function serviceOf(usage: Usage): string {
  return usage.composeService ?? usage.container ?? 'SERVICE';
}

/** The compose snippet of the limits too low for what was used; undefined when none was. */
function limitsSnippet(usage: Usage, recommendation: Recommendation): string | undefined {
  return recommendation.limitChanges.length === 0 ? undefined : composeSnippet(serviceOf(usage), recommendation.limitChanges);
}

function cores(value: number): string {
  return `${value.toFixed(2)} cores`;
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / MIB)} MiB`;
}

function assignments(recommendation: Recommendation): string {
  return Object.entries(sizingVariables(recommendation.sizing)).map(([key, value]) => `${key}=${value}`).join(' ');
}

export function renderText(usage: Usage, recommendation: Recommendation): string {
  const { margin } = recommendation;
  const factor = `x${(1 + margin).toFixed(2)}`;
  const warning = THRESHOLDS.warning.percent;
  const current = recommendation.currentSize === null
    ? 'unknown'
    : `${recommendation.currentSize} (CPU limit ${usage.cpuLimitCores === null ? '?' : formatCpus(usage.cpuLimitCores)}, memory limit ${usage.memoryLimitBytes === null ? '?' : formatMemorySize(usage.memoryLimitBytes)})`;
  const throttled = usage.throttledPeriodsRatio === null
    ? 'no CFS periods enforced (no CPU limit)'
    : `${usage.throttledSeconds.toFixed(1)} s throttled, ${(usage.throttledPeriodsRatio * 100).toFixed(1)} % of CFS periods`;
  const lines = [
    `${usage.container === undefined ? '' : `container ${usage.container} on `}instance ${usage.instance}, window ${formatDuration(usage.windowSeconds)}, history ${humanDuration(usage.historySeconds)}`,
    `  CPU           P95 ${cores(usage.cpuP95Cores)}, peak ${cores(usage.cpuPeakCores)}`,
    `  memory        peak working set ${mebibytes(usage.memoryPeakBytes)}`,
    `  OOM kills     ${usage.oomKills}`,
    `  throttling    ${throttled}`,
    `  active users  ${recommendation.usersSize === null ? `none reported${usage.activeUsers === 0 ? ' (0)' : ''}` : `${usage.activeUsers} (the ${recommendation.usersSize} range of the sizing table)`}`,
    `  current size  ${current}`,
    '',
    recommendation.size === 'custom'
      ? `recommended: custom (no tier fits): ${assignments(recommendation)}`
      : `recommended: ${recommendation.size}: ${assignments(recommendation)}`,
    `  need: P95 CPU ${factor} = ${cores(recommendation.cpuNeedCores)}, peak memory ${factor}${usage.oomKills > 0 ? ' x OOM bump' : ''} = ${mebibytes(recommendation.memoryNeedBytes)}; a tier fits when both stay at or under ${warning} % of its limits`,
  ];
  for (const check of recommendation.checks) {
    const tier = TIERS.find((candidate) => candidate.name === check.tier)!;
    const verdict = check.fits ? 'fits' : 'too small';
    lines.push(`  ${check.tier.padEnd(7)} ${formatCpus(tier.cpuLimitCores)} CPU, ${formatMemorySize(tier.memoryLimitBytes)}: CPU ${check.cpuPercent.toFixed(0)} %, memory ${check.memoryPercent.toFixed(0)} % of the limits: ${verdict}`);
  }
  const snippet = limitsSnippet(usage, recommendation);
  if (snippet !== undefined) {
    lines.push(`limits too low for what was used (peak above ${warning} %; new limits keep the peak ${factor} at or under it):`);
    for (const change of recommendation.limitChanges) lines.push(`  ${describeChange(change)}`);
    lines.push(`  compose, then recreate the container (a running process keeps its limits${serviceOf(usage) === 'SERVICE' ? '; SERVICE is yours to fill in' : ''}):`);
    for (const line of snippet.split('\n')) lines.push(`    ${line}`);
  }
  for (const note of recommendation.notes) lines.push(`note: ${note}`);
  lines.push(`confidence: ${recommendation.confidence}`);
  return lines.join('\n');
}

export function renderJson(usage: Usage, recommendation: Recommendation): Record<string, unknown> {
  const snippet = limitsSnippet(usage, recommendation);
  return { usage, recommendation: { ...recommendation, env: sizingVariables(recommendation.sizing), ...(snippet === undefined ? {} : { compose: snippet }) } };
}

function percent(value: number): string {
  return `${value.toFixed(0)} %`;
}

/** Why the recommendation is what it is, in one paragraph: the need, the tier it fits (or why none does), the notes. */
export function reasonOf(usage: Usage, recommendation: Recommendation): string {
  const margin = `+${(recommendation.margin * 100).toFixed(0)} %`;
  const bump = usage.oomKills > 0 ? ` x${OOM_MEMORY_BUMP} after ${usage.oomKills} OOM kill${usage.oomKills === 1 ? '' : 's'}` : '';
  const need = `Needs ${cores(recommendation.cpuNeedCores)} (P95 ${cores(usage.cpuP95Cores)} ${margin}) and ${mebibytes(recommendation.memoryNeedBytes)} (peak working set ${mebibytes(usage.memoryPeakBytes)} ${margin}${bump}).`;
  const warning = THRESHOLDS.warning.percent;
  const index = recommendation.checks.findIndex((check) => check.fits);
  const runs = (check: Recommendation['checks'][number]) => `CPU ${percent(check.cpuPercent)} and memory ${percent(check.memoryPercent)} of its limits`;
  let fit: string;
  if (index === -1) {
    const largest = recommendation.checks[recommendation.checks.length - 1]!;
    fit = `No tier keeps both at or under ${warning} %: ${largest.tier} would run at ${runs(largest)}; custom limits ${formatCpus(recommendation.sizing.cpuLimitCores)} CPUs and ${formatMemorySize(recommendation.sizing.memoryLimitBytes)} keep them at ${warning} %.`;
  } else {
    const check = recommendation.checks[index]!;
    const smaller = index > 0 ? recommendation.checks[index - 1]! : undefined;
    fit = `${check.tier} runs at ${runs(check)}, at or under ${warning} %${smaller ? `; ${smaller.tier} would run at ${runs(smaller)}` : ''}.`;
  }
  const notes = recommendation.notes.map((note) => `${note.charAt(0).toUpperCase()}${note.slice(1)}.`);
  return [need, fit, ...notes].join(' ');
}
