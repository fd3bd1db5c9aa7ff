// Picks a deployment size from usage figures: pure, no I/O. The recording rules (rules.ts) encode the same test.
import { levelOf, THRESHOLDS, TIERS, tierForUsers, type Tier } from '../thresholds.js';
import { limitChanges, type LimitChange, type LimitUse } from './limits.js';

/** krr's safety margin on top of the observed usage. */
export const DEFAULT_MARGIN = 0.15;
/** The Kubernetes VPA recommender's bump of the memory need after an OOM kill (the peak was cut short by the kill). */
export const OOM_MEMORY_BUMP = 1.2;
/** Less history than this (or than the window, when it is shorter) gives a low-confidence recommendation. */
export const MIN_HISTORY_SECONDS = 24 * 3600;
/** Custom sizes are rounded up to these steps. */
const CPU_STEP_CORES = 0.5;
const MEMORY_STEP_BYTES = 256 * 1024 * 1024;

export interface Usage {
  instance: string;
  /** Host mode: the container; undefined for a sidecar's cgroup. */
  container?: string;
  /** Host mode: the container's compose service, where it has one. */
  composeService?: string;
  /** Host mode: the container's compose project (or swarm stack), where it has one. */
  composeProject?: string;
  windowSeconds: number;
  /** Seconds from the first sample in the window to the evaluation time. */
  historySeconds: number;
  cpuP95Cores: number;
  cpuPeakCores: number;
  memoryPeakBytes: number;
  oomKills: number;
  throttledSeconds: number;
  /** Share (0-1) of CFS periods throttled; null when no period elapsed (no CPU limit). */
  throttledPeriodsRatio: number | null;
  /** Peak active users reported to the statistics store; null when none were reported. */
  activeUsers: number | null;
  cpuLimitCores: number | null;
  memoryLimitBytes: number | null;
  /** Whether each limit is the kernel's (true) or the host's capacity standing in for none (false); absent where unknown. */
  limitsEnforced?: { cpu: boolean | null; memory: boolean | null };
  /** Descriptors and tasks against their limits, where the window has them (none where they were not read). */
  limits?: LimitUse[];
}

export interface Sizing {
  cpuLimitCores: number;
  memoryLimitBytes: number;
  cpuReservationCores: number;
  memoryReservationBytes: number;
}

export interface TierCheck {
  tier: Tier['name'];
  /** Need as a percent of the tier's limit. */
  cpuPercent: number;
  memoryPercent: number;
  fits: boolean;
}

export interface Recommendation {
  /** A tier's name, or `custom` when even the largest tier would run above the warning threshold. */
  size: Tier['name'] | 'custom';
  /** 0 small, 1 medium, 2 large, 3 custom: the value of the `headroom:recommended_tier:index` recording rule. */
  tierIndex: number;
  sizing: Sizing;
  margin: number;
  cpuNeedCores: number;
  memoryNeedBytes: number;
  checks: TierCheck[];
  /** The tier whose limits the instance runs with now, `custom` when they match none, null when unknown. */
  currentSize: Tier['name'] | 'custom' | null;
  /** The tier the reported users fall in, by the seed's user ranges. */
  usersSize: Tier['name'] | null;
  confidence: 'ok' | 'low';
  notes: string[];
  /** Limits too low for what was used (RLIMIT_NOFILE, pids.max), with the new ones. */
  limitChanges: LimitChange[];
}

/** CPU need: the P95 of the CPU rate plus the margin. */
export function cpuNeedCores(cpuP95Cores: number, margin: number): number {
  return cpuP95Cores * (1 + margin);
}

/** Memory need: the peak working set plus the margin, bumped as VPA does when the window saw OOM kills. */
export function memoryNeedBytes(memoryPeakBytes: number, oomKills: number, margin: number): number {
  return memoryPeakBytes * (1 + margin) * (oomKills > 0 ? OOM_MEMORY_BUMP : 1);
}

function percentOf(need: number, limit: number): number {
  return (need / limit) * 100;
}

export function checkTier(tier: Tier, cpuNeed: number, memoryNeed: number): TierCheck {
  const cpuPercent = percentOf(cpuNeed, tier.cpuLimitCores);
  const memoryPercent = percentOf(memoryNeed, tier.memoryLimitBytes);
  return { tier: tier.name, cpuPercent, memoryPercent, fits: levelOf(cpuPercent) === 'info' && levelOf(memoryPercent) === 'info' };
}

/** `value` rounded up to a multiple of `step`, without binary-fraction noise (1.4, not 1.4000000000000001). */
function roundUp(value: number, step: number): number {
  return Number((Math.ceil(value / step - 1e-9) * step).toFixed(6));
}

/** Limits that keep the need at the warning threshold, never below the largest tier; reservations in the largest tier's proportion. */
export function customSizing(cpuNeed: number, memoryNeed: number): Sizing {
  const largest = TIERS[TIERS.length - 1]!;
  const share = THRESHOLDS.warning.percent / 100;
  const cpuLimitCores = Math.max(largest.cpuLimitCores, roundUp(cpuNeed / share, CPU_STEP_CORES));
  const memoryLimitBytes = Math.max(largest.memoryLimitBytes, roundUp(memoryNeed / share, MEMORY_STEP_BYTES));
  return {
    cpuLimitCores,
    memoryLimitBytes,
    cpuReservationCores: roundUp(cpuLimitCores * (largest.cpuReservationCores / largest.cpuLimitCores), 0.05),
    memoryReservationBytes: roundUp(memoryLimitBytes * (largest.memoryReservationBytes / largest.memoryLimitBytes), 1024 * 1024),
  };
}

export function tierSizing(tier: Tier): Sizing {
  const { cpuLimitCores, memoryLimitBytes, cpuReservationCores, memoryReservationBytes } = tier;
  return { cpuLimitCores, memoryLimitBytes, cpuReservationCores, memoryReservationBytes };
}

/** The tier whose limits are exactly `cpu` and `memory`. */
export function tierOfLimits(cpuLimitCores: number | null, memoryLimitBytes: number | null): Tier['name'] | 'custom' | null {
  if (cpuLimitCores === null || memoryLimitBytes === null) return null;
  return TIERS.find((tier) => tier.cpuLimitCores === cpuLimitCores && tier.memoryLimitBytes === memoryLimitBytes)?.name ?? 'custom';
}

/** `7.0 d`, `6.0 h`, `12 min`, `40 s`. */
export function humanDuration(seconds: number): string {
  if (seconds >= 86400) return `${(seconds / 86400).toFixed(1)} d`;
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds >= 60) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds)} s`;
}

export function recommend(usage: Usage, margin = DEFAULT_MARGIN): Recommendation {
  const cpuNeed = cpuNeedCores(usage.cpuP95Cores, margin);
  const memoryNeed = memoryNeedBytes(usage.memoryPeakBytes, usage.oomKills, margin);
  const checks = TIERS.map((tier) => checkTier(tier, cpuNeed, memoryNeed));
  const fittingIndex = checks.findIndex((check) => check.fits);
  const tier = fittingIndex === -1 ? undefined : TIERS[fittingIndex]!;
  const notes: string[] = [];

  const minimumHistory = Math.min(MIN_HISTORY_SECONDS, usage.windowSeconds);
  const confidence = usage.historySeconds < minimumHistory ? 'low' : 'ok';
  if (confidence === 'low') {
    notes.push(`low confidence: only ${humanDuration(usage.historySeconds)} of history in the ${humanDuration(usage.windowSeconds)} window (at least ${humanDuration(minimumHistory)} needed); rerun when more has been recorded`);
  } else if (usage.historySeconds < usage.windowSeconds * 0.95) {
    notes.push(`history covers ${humanDuration(usage.historySeconds)} of the ${humanDuration(usage.windowSeconds)} window`);
  }
  if (usage.oomKills > 0) {
    notes.push(`${usage.oomKills} OOM kill(s) in the window: the peak working set was cut short, memory need raised x${OOM_MEMORY_BUMP}`);
  }
  if (usage.throttledPeriodsRatio !== null && usage.throttledPeriodsRatio > 0.01) {
    notes.push(`throttled in ${(usage.throttledPeriodsRatio * 100).toFixed(1)} % of CFS periods: CPU usage was capped by the current limit, the real need may be higher`);
  }
  // No report (or only reports of zero users) says nothing about the user ranges, which start at one user.
  const usersSize = usage.activeUsers === null || usage.activeUsers < TIERS[0]!.minUsers ? null : tierForUsers(usage.activeUsers).name;
  const size = tier?.name ?? 'custom';
  if (usersSize !== null && usersSize !== size) {
    notes.push(`${usage.activeUsers} active users fall in the ${usersSize} range of the sizing table; the measured usage says ${size}`);
  }
  return {
    size,
    tierIndex: fittingIndex === -1 ? TIERS.length : fittingIndex,
    sizing: tier ? tierSizing(tier) : customSizing(cpuNeed, memoryNeed),
    margin,
    cpuNeedCores: cpuNeed,
    memoryNeedBytes: memoryNeed,
    checks,
    currentSize: tierOfLimits(usage.cpuLimitCores, usage.memoryLimitBytes),
    usersSize,
    confidence,
    notes,
    limitChanges: limitChanges(usage.limits ?? [], margin),
  };
}
