// Pure arithmetic and parsing behind the benchmark's figures: percentiles, CPU ticks and RSS from /proc,
// series in an exposition.
import { parseProcessStat, USER_HZ } from '../exporter/src/kernel/parse.js';

/** Clock ticks per second of utime/stime in /proc/<pid>/stat. */
export const CLOCK_TICKS_PER_SECOND = USER_HZ;

/** Nearest-rank percentile (p in 0..100) of samples in any order. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile ${p} is outside 0..100`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface LatencySummary { p50: number; p99: number }

export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** utime + stime (clock ticks) of the whole process from the text of /proc/<pid>/stat. */
export function parseProcStatCpuTicks(stat: string): number {
  return parseProcessStat(stat).cpuTicks;
}

export function ticksToSeconds(ticks: number): number {
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in bytes from the `VmRSS:` line of /proc/<pid>/status. */
export function parseVmRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error('no VmRSS line in /proc/<pid>/status');
  return Number(match[1]) * 1024;
}

/** Samples in a Prometheus text exposition: every non-empty line that is not a comment. */
export function countSeries(exposition: string): number {
  let series = 0;
  for (const line of exposition.split('\n')) {
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) series += 1;
  }
  return series;
}

/** CPU seconds per 1000 scrapes from the ticks spent over `scrapes` scrapes. */
export function cpuSecondsPer1000(ticks: number, scrapes: number): number {
  if (scrapes <= 0) throw new Error('no scrapes');
  return (ticksToSeconds(ticks) / scrapes) * 1000;
}

/** Each collector's headroom_scrape_collector_duration_seconds in one exposition, in milliseconds. */
export function collectorMilliseconds(exposition: string): Record<string, number> {
  const durations: Record<string, number> = {};
  for (const match of exposition.matchAll(/^headroom_scrape_collector_duration_seconds\{collector="(\w+)"\} (\S+)$/gm)) durations[match[1]!] = Number(match[2]) * 1000;
  return durations;
}
