// The one place that holds the alert levels and the deployment tiers.
// The exporter's health levels, the generated alert rules and the dashboards all derive from here, as do
// the resources watched against a limit.

export const LEVELS = ['info', 'warning', 'critical', 'danger'] as const;
export type Level = (typeof LEVELS)[number];

/** Percent of the limit: warning above 80, critical above 95, danger at or above 100. */
export const THRESHOLDS = {
  warning: { percent: 80, inclusive: false },
  critical: { percent: 95, inclusive: false },
  danger: { percent: 100, inclusive: true },
} as const satisfies Record<Exclude<Level, 'info'>, { percent: number; inclusive: boolean }>;

/** Numeric value of a level as exported in `headroom_resource_level`. */
export function levelValue(level: Level): number {
  return LEVELS.indexOf(level);
}

/** The level of a usage percent of its limit. NaN (no data) is info. */
export function levelOf(percent: number): Level {
  if (!(percent >= 0)) return 'info';
  for (const level of ['danger', 'critical', 'warning'] as const) {
    const { percent: bound, inclusive } = THRESHOLDS[level];
    if (inclusive ? percent >= bound : percent > bound) return level;
  }
  return 'info';
}

/** The worst (highest) of some levels; info when there are none. */
export function worstLevel(levels: Iterable<Level>): Level {
  let worst: Level = 'info';
  for (const level of levels) if (levelValue(level) > levelValue(worst)) worst = level;
  return worst;
}

/**
 * The colour each level is drawn in: the name in Grafana's palette (the dashboards) and that colour's RGB
 * (the page and the report).
 */
export const LEVEL_COLORS: Readonly<Record<Level, { grafana: string; rgb: string }>> = {
  info: { grafana: 'green', rgb: '#73bf69' },
  warning: { grafana: 'yellow', rgb: '#fade2a' },
  critical: { grafana: 'orange', rgb: '#ff9830' },
  danger: { grafana: 'red', rgb: '#f2495c' },
};

/** PromQL comparison operator for a level's boundary. */
export function comparisonOf(level: Exclude<Level, 'info'>): '>' | '>=' {
  return THRESHOLDS[level].inclusive ? '>=' : '>';
}

/** A resource watched against its limit, by the family of its use as a percent of that limit. */
export interface WatchedResource {
  name: string;
  percentFamily: string;
}

/** /health's levels, headroom_resource_level and the page take their resources from here. */
export const RESOURCES: readonly WatchedResource[] = [
  { name: 'cpu', percentFamily: 'headroom_cpu_percent' },
  { name: 'memory', percentFamily: 'headroom_memory_percent' },
  // Open file descriptors of the process nearest its soft RLIMIT_NOFILE.
  { name: 'fds', percentFamily: 'headroom_fds_percent' },
  // Tasks against pids.max, where one is set.
  { name: 'pids', percentFamily: 'headroom_pids_percent' },
  // Tasks of a process's user against its soft RLIMIT_NPROC, where one applies.
  { name: 'nproc', percentFamily: 'headroom_nproc_percent' },
];

export const MIB = 1024 * 1024;

export interface Tier {
  name: 'small' | 'medium' | 'large';
  /** Inclusive user range; `maxUsers` null means unbounded. */
  minUsers: number;
  maxUsers: number | null;
  memoryLimitBytes: number;
  cpuLimitCores: number;
  memoryReservationBytes: number;
  cpuReservationCores: number;
}

export const TIERS: readonly Tier[] = [
  { name: 'small', minUsers: 1, maxUsers: 5, memoryLimitBytes: 1024 * MIB, cpuLimitCores: 1.0, memoryReservationBytes: 256 * MIB, cpuReservationCores: 0.25 },
  { name: 'medium', minUsers: 5, maxUsers: 20, memoryLimitBytes: 2048 * MIB, cpuLimitCores: 2.0, memoryReservationBytes: 512 * MIB, cpuReservationCores: 0.5 },
  { name: 'large', minUsers: 20, maxUsers: null, memoryLimitBytes: 4096 * MIB, cpuLimitCores: 4.0, memoryReservationBytes: 1024 * MIB, cpuReservationCores: 1.0 },
];

/** The seed's compose defaults (MEMORY_LIMIT 2048M, CPU_LIMIT 2.0, ...): the medium tier. */
export const DEFAULT_TIER: Tier = TIERS[1]!;

export function tierByName(name: string): Tier | undefined {
  return TIERS.find((tier) => tier.name === name);
}

/** The tier whose user range holds `users` (the seed's 1-5 / 5-20 / 20+; a boundary belongs to the smaller tier). */
export function tierForUsers(users: number): Tier {
  return TIERS.find((tier) => tier.maxUsers === null || users <= tier.maxUsers) ?? TIERS[TIERS.length - 1]!;
}

/** Healthcheck timings of the container, from the seed. */
export const HEALTHCHECK = { intervalSeconds: 30, timeoutSeconds: 10, retries: 3, startPeriodSeconds: 40 } as const;
