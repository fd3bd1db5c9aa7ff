// Limits that were too low for what was used: a process's soft RLIMIT_NOFILE and the cgroup's pids.max,
// whose peak in the window went above the warning threshold. Pure: the new limit and the compose snippet.
import { levelOf, THRESHOLDS } from '../thresholds.js';

/** What headroom watches against a limit it can recommend: RLIMIT_NOFILE (compose ulimits.nofile) and pids.max (pids_limit). */
export type LimitResource = 'nofile' | 'pids';

export interface LimitUse {
  resource: LimitResource;
  /** The limit now: the soft RLIMIT_NOFILE of the process nearest it, or pids.max. */
  limit: number;
  /** The most used of it in the window: descriptors of the process nearest its limit, or tasks. */
  peakUsed: number;
  /** The largest share of its limit in the window, 0-100. */
  peakPercent: number;
  /** nofile: the command of the process nearest its limit now. */
  command?: string;
}

export interface LimitChange extends LimitUse { recommended: number }

/** The smallest power of two at or above `value`: 512 descriptors, 128 tasks. */
function powerOfTwoAtLeast(value: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, value)));
}

/**
 * The limits whose peak share was above the warning threshold, each with a limit that keeps the peak plus
 * the margin at or under that threshold (the next power of two, never below the limit now).
 */
export function limitChanges(uses: readonly LimitUse[], margin: number): LimitChange[] {
  const share = THRESHOLDS.warning.percent / 100;
  return uses.filter((use) => levelOf(use.peakPercent) !== 'info').map((use) => ({
    ...use,
    recommended: Math.max(use.limit, powerOfTwoAtLeast((use.peakUsed * (1 + margin)) / share)),
  }));
}

/** The compose service's lines that set `changes` (the Compose Specification's `ulimits` and `pids_limit`). */
export function composeSnippet(service: string, changes: readonly LimitChange[]): string {
  const lines = ['services:', `  ${service}:`];
  const nofile = changes.find((change) => change.resource === 'nofile');
  const pids = changes.find((change) => change.resource === 'pids');
  if (nofile) lines.push('    ulimits:', '      nofile:', `        soft: ${nofile.recommended}`, `        hard: ${nofile.recommended}`);
  if (pids) lines.push(`    pids_limit: ${pids.recommended}`);
  return lines.join('\n');
}

/** One line per change: what was used of what limit, and the new one. */
export function describeChange(change: LimitChange): string {
  const share = `${change.peakPercent.toFixed(1)} %`;
  return change.resource === 'nofile'
    ? `nofile: the process nearest its soft limit${change.command ? ` (${change.command} now)` : ''} held ${Math.round(change.peakUsed)} of ${change.limit} descriptors (${share}) at peak; raise the soft limit to ${change.recommended}`
    : `pids: ${Math.round(change.peakUsed)} tasks of pids.max ${change.limit} (${share}) at peak; raise it to ${change.recommended}`;
}
