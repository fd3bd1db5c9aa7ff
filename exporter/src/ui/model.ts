// The page's own vocabulary: what it is told of each watched target and where it hears it from. Everything of
// the page (history, view, API, front end) depends on these types; only source.ts knows the exporter's internals.
import { RESOURCES } from '../thresholds.js';
import type { Decision } from './web/api-types.js';

/** The series the page reads, by their names in /metrics. */
export const METRIC = {
  memoryWorkingSet: 'headroom_memory_working_set_bytes',
  memoryLimit: 'headroom_memory_limit_bytes',
  memoryLimitEnforced: 'headroom_memory_limit_enforced',
  memoryReservation: 'headroom_memory_reservation_bytes',
  memoryPercent: 'headroom_memory_percent',
  memoryOomKills: 'headroom_memory_oom_kills_total',
  cpuPercent: 'headroom_cpu_percent',
  cpuLimit: 'headroom_cpu_limit_cores',
  cpuLimitEnforced: 'headroom_cpu_limit_enforced',
  cpuReservation: 'headroom_cpu_reservation_cores',
  cpuPeriods: 'headroom_cpu_cfs_periods_total',
  cpuThrottledPeriods: 'headroom_cpu_cfs_throttled_periods_total',
  containerRestarts: 'headroom_container_restarts_total',
  containerOomKills: 'headroom_container_oom_kills_total',
} as const;
/** Resources whose level counts in a row's beside memory and CPU, by the family of their percent. */
export const OTHER_LIMITS = RESOURCES.filter((resource) => resource.name !== 'memory' && resource.name !== 'cpu');

export type TargetKind = 'process' | 'cgroup' | 'container';

export interface PageTarget {
  kind: TargetKind;
  /** Stable across scrapes; a container's name in host mode. */
  key: string;
  name: string;
  composeProject: string;
  composeService: string;
}

export type ExitReason = 'oom_killed' | 'error' | 'completed';

/** What the engine says of a container (host mode). */
export interface EngineState {
  status: string;
  running: boolean;
  image: string;
  lastExit: { code: number; reason: ExitReason } | null;
}

/** One target at one scrape: its figures by metric name, exactly as /metrics shows them. */
export interface Reading {
  target: PageTarget;
  values: ReadonlyMap<string, number>;
  engine?: EngineState;
}

export interface Snapshot {
  /** When the scrape ended, ms since the epoch. */
  atMs: number;
  readings: readonly Reading[];
}

/** An automatic-sizing decision, as the API shows it. */
export type SizingDecision = Decision;

export type Mode = 'sidecar' | 'host';

/** Where the page's figures come from. */
export interface PageSource {
  mode: Mode;
  /** The latest scrape's readings when at most maxAgeMs old, else a fresh scrape's. */
  current(maxAgeMs: number): Promise<Snapshot>;
  /** Told of each scrape (the history is fed from here). */
  onSnapshot(listener: (snapshot: Snapshot) => void): void;
  /** Automatic sizing's decisions, newest first (none where it is off). */
  decisions(limit: number, container?: string): Promise<SizingDecision[]>;
}
