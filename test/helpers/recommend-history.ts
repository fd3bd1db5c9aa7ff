// Synthetic headroom history for the recommender tests: several services' CPU, memory, OOM kills and throttling
// at one-minute steps, as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
import { MIB } from '../../exporter/src/thresholds.js';

export const STEP_SECONDS = 60;
export const DAY = 86400;

export interface Scenario {
  instance: string;
  /** Host mode: the container the series belong to. */
  container?: string;
  /** More labels on every series (host mode's compose_project and compose_service). */
  labels?: Record<string, string>;
  /** Seconds of history, ending at the common end time. */
  historySeconds: number;
  /** CPU in cores at `progress` (0 at the first sample, 1 at the last) and a pseudo-random `noise` in [0, 1). */
  cpuCores: (progress: number, noise: number) => number;
  memoryBytes: (progress: number, noise: number) => number;
  /** Progress points (0-1) where an OOM kill happened. */
  oomKillsAt?: number[];
  /** Share of CFS periods throttled. */
  throttledRatio?: number;
  activeUsers?: number;
  cpuLimitCores: number;
  memoryLimitBytes: number;
  /** Descriptors of the process nearest its soft RLIMIT_NOFILE (`limit`), which is `command`. */
  fds?: { limit: number; command: string; open: (progress: number) => number };
  /** Tasks against pids.max (`limit`). */
  pids?: { limit: number; tasks: (progress: number) => number };
}

/** Deterministic noise so every run backfills the same history. */
function noiseSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Series { labels: string; points: [number, number][] }
interface Family { name: string; type: 'gauge' | 'counter'; series: Series[] }

export function historyOpenMetrics(scenarios: Scenario[], endSeconds: number): string {
  const families = new Map<string, Family>();
  const add = (name: string, type: Family['type'], labels: string, points: [number, number][]) => {
    const family = families.get(name) ?? { name, type, series: [] };
    family.series.push({ labels, points });
    families.set(name, family);
  };
  scenarios.forEach((scenario, index) => {
    const noise = noiseSource(index + 1);
    const extra = Object.entries(scenario.labels ?? {}).map(([name, value]) => `,${name}=${JSON.stringify(value)}`).join('');
    const labels = `instance="${scenario.instance}",job="headroom"${scenario.container ? `,container="${scenario.container}"` : ''}${extra}`;
    const fdsPercent: [number, number][] = [];
    const fdsLimit: [number, number][] = [];
    const pidsPercent: [number, number][] = [];
    const pidsLimit: [number, number][] = [];
    const steps = Math.floor(scenario.historySeconds / STEP_SECONDS);
    const cpu: [number, number][] = [];
    const memory: [number, number][] = [];
    const ooms: [number, number][] = [];
    const periods: [number, number][] = [];
    const throttledPeriods: [number, number][] = [];
    const throttledSeconds: [number, number][] = [];
    const cpuLimit: [number, number][] = [];
    const memoryLimit: [number, number][] = [];
    const users: [number, number][] = [];
    let cpuSeconds = 0;
    let kills = 0;
    for (let step = 0; step <= steps; step += 1) {
      const time = endSeconds - (steps - step) * STEP_SECONDS;
      const progress = steps === 0 ? 1 : step / steps;
      if (step > 0) cpuSeconds += scenario.cpuCores(progress, noise()) * STEP_SECONDS;
      kills = (scenario.oomKillsAt ?? []).filter((at) => at <= progress).length;
      const periodCount = step * STEP_SECONDS * 10; // 100 ms CFS periods
      cpu.push([time, cpuSeconds]);
      memory.push([time, Math.round(scenario.memoryBytes(progress, noise()))]);
      ooms.push([time, kills]);
      periods.push([time, periodCount]);
      throttledPeriods.push([time, Math.round(periodCount * (scenario.throttledRatio ?? 0))]);
      throttledSeconds.push([time, periodCount * (scenario.throttledRatio ?? 0) * 0.02]);
      cpuLimit.push([time, scenario.cpuLimitCores]);
      memoryLimit.push([time, scenario.memoryLimitBytes]);
      if (scenario.activeUsers !== undefined) users.push([time, scenario.activeUsers]);
      if (scenario.fds) {
        fdsPercent.push([time, (scenario.fds.open(progress) / scenario.fds.limit) * 100]);
        fdsLimit.push([time, scenario.fds.limit]);
      }
      if (scenario.pids) {
        pidsPercent.push([time, (scenario.pids.tasks(progress) / scenario.pids.limit) * 100]);
        pidsLimit.push([time, scenario.pids.limit]);
      }
    }
    add('headroom_cpu_usage_seconds', 'counter', labels, cpu);
    add('headroom_memory_working_set_bytes', 'gauge', labels, memory);
    add('headroom_memory_oom_kills', 'counter', labels, ooms);
    add('headroom_cpu_cfs_periods', 'counter', labels, periods);
    add('headroom_cpu_cfs_throttled_periods', 'counter', labels, throttledPeriods);
    add('headroom_cpu_cfs_throttled_seconds', 'counter', labels, throttledSeconds);
    add('headroom_cpu_limit_cores', 'gauge', labels, cpuLimit);
    add('headroom_memory_limit_bytes', 'gauge', labels, memoryLimit);
    if (users.length > 0) add('headroom_statistics_active_users', 'gauge', labels, users);
    if (scenario.fds) {
      add('headroom_fds_percent', 'gauge', labels, fdsPercent);
      add('headroom_fds_limit', 'gauge', `${labels},command="${scenario.fds.command}"`, fdsLimit);
    }
    if (scenario.pids) {
      add('headroom_pids_percent', 'gauge', labels, pidsPercent);
      add('headroom_pids_limit', 'gauge', labels, pidsLimit);
    }
  });
  const lines: string[] = [];
  for (const family of families.values()) {
    lines.push(`# TYPE ${family.name} ${family.type}`);
    const sampleName = family.type === 'counter' ? `${family.name}_total` : family.name;
    for (const series of family.series) {
      for (const [time, value] of series.points) lines.push(`${sampleName}{${series.labels}} ${value} ${time}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

const MEDIUM = { cpuLimitCores: 2, memoryLimitBytes: 2048 * MIB };

/** The services the recommender tests size, and the size each must get. */
export const SCENARIOS: (Scenario & { expected: string })[] = [
  {
    instance: 'quiet:9477', expected: 'small', historySeconds: 7 * DAY, ...MEDIUM, activeUsers: 3,
    cpuCores: (_, noise) => 0.05 + 0.1 * noise,
    memoryBytes: (_, noise) => (300 + 50 * noise) * MIB,
    // Far from its limits: nothing to raise.
    fds: { limit: 1024, command: 'node', open: (progress) => 40 + 60 * progress },
    pids: { limit: 512, tasks: () => 30 },
  },
  {
    // A quiet container whose descriptors peaked at 250 of 256 and whose tasks at 61 of pids.max 64, then fell back.
    instance: 'crowded:9477', container: 'web-1', labels: { compose_service: 'web' }, expected: 'small', historySeconds: 7 * DAY, ...MEDIUM,
    cpuCores: (_, noise) => 0.05 + 0.05 * noise,
    memoryBytes: (_, noise) => (200 + 20 * noise) * MIB,
    fds: { limit: 256, command: 'node', open: (progress) => Math.round(50 + 200 * Math.max(0, 1 - Math.abs(progress - 0.6) / 0.2)) },
    pids: { limit: 64, tasks: (progress) => Math.round(20 + 41 * Math.max(0, 1 - Math.abs(progress - 0.3) / 0.1)) },
  },
  {
    instance: 'busy:9477', expected: 'medium', historySeconds: 7 * DAY, ...MEDIUM, activeUsers: 12, throttledRatio: 0.05,
    cpuCores: (progress, noise) => 0.7 + 0.3 * noise + 0.2 * Math.sin(progress * 14 * Math.PI),
    memoryBytes: (_, noise) => (800 + 100 * noise) * MIB,
  },
  {
    // Grows from 300 MiB to 1400 MiB and was OOM-killed once: the OOM bump moves it from medium to large.
    instance: 'leak:9477', expected: 'large', historySeconds: 7 * DAY, ...MEDIUM, oomKillsAt: [0.7],
    cpuCores: (_, noise) => 0.2 + 0.1 * noise,
    memoryBytes: (progress) => (300 + 1100 * progress) * MIB,
  },
  {
    instance: 'huge:9477', expected: 'custom', historySeconds: 7 * DAY, cpuLimitCores: 4, memoryLimitBytes: 4096 * MIB, throttledRatio: 0.3,
    cpuCores: (_, noise) => 3.4 + 0.3 * noise,
    memoryBytes: (_, noise) => (3300 + 200 * noise) * MIB,
  },
  {
    instance: 'new:9477', expected: 'small', historySeconds: 6 * 3600, ...MEDIUM,
    cpuCores: (_, noise) => 0.1 + 0.1 * noise,
    memoryBytes: (_, noise) => (200 + 40 * noise) * MIB,
  },
];
