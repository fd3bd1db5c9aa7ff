// Every metric the collectors publish, created once per registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export function createCollectorMetrics(registry: Registry) {
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: [registry] });
  return {
    collectorSuccess: gauge('headroom_scrape_collector_success', 'Whether a collector succeeded (1) or failed (0) in this scrape.', ['collector']),
    collectorDuration: gauge('headroom_scrape_collector_duration_seconds', 'Time a collector took in this scrape.', ['collector']),
    cgroupInfo: gauge('headroom_cgroup_info', 'The watched cgroup: its path and the host\'s cgroup mode (v1, v2, hybrid, none). Always 1.', ['path', 'mode']),

    memoryPercent: gauge('headroom_memory_percent', 'Working set as a percent (0-100) of the effective memory limit, or of host memory where there is none.'),
    memoryAvailable: gauge('headroom_memory_available_bytes', 'Effective memory limit minus working set; with no limit, the host\'s MemAvailable.'),
    memoryUsage: gauge('headroom_memory_usage_bytes', 'Memory charged to the cgroup, page cache included.'),
    memoryWorkingSet: gauge('headroom_memory_working_set_bytes', 'Memory usage minus inactive file cache: what the kernel cannot reclaim easily.'),
    memoryRss: gauge('headroom_memory_rss_bytes', 'Anonymous memory (RSS) of the cgroup.'),
    memoryCache: gauge('headroom_memory_cache_bytes', 'Page cache of the cgroup.'),
    memoryLimit: gauge('headroom_memory_limit_bytes', 'Effective memory limit: the smallest on the way up the cgroup tree, or host memory where there is none.'),
    memoryReservation: gauge('headroom_memory_reservation_bytes', 'Memory reservation: the cgroup\'s soft limit (v1) or memory.low (v2), else the declared MEMORY_RESERVATION.'),
    memoryOomKills: counter('headroom_memory_oom_kills_total', 'Processes killed by the OOM killer in the cgroup.'),

    cpuPercent: gauge('headroom_cpu_percent', 'CPU used as a percent (0-100) of the effective CPU limit (of the host\'s CPUs where there is none), averaged over the last 60 s of scrapes (since the first scrape until 60 s have passed); independent of how many servers scrape.'),
    cpuUsage: counter('headroom_cpu_usage_seconds_total', 'CPU time consumed by the cgroup.'),
    cpuLimit: gauge('headroom_cpu_limit_cores', 'Effective CPU limit in cores (CFS quota / period, the smallest up the tree), or the host\'s CPU count where there is none.'),
    cpuReservation: gauge('headroom_cpu_reservation_cores', 'CPU reservation in cores: the declared CPU_RESERVATION (no cgroup file carries it).'),
    cpuPeriods: counter('headroom_cpu_cfs_periods_total', 'Elapsed CFS enforcement periods.'),
    cpuThrottledPeriods: counter('headroom_cpu_cfs_throttled_periods_total', 'CFS periods in which the cgroup was throttled.'),
    cpuThrottledSeconds: counter('headroom_cpu_cfs_throttled_seconds_total', 'Total time the cgroup was throttled.'),
    limitEnforced: gauge('headroom_cgroup_limit_enforced', 'Whether a cgroup limit applies to the resource (1) or the host\'s capacity stands in for it (0).', ['resource']),

    pressureWaiting: counter('headroom_pressure_waiting_seconds_total', 'Time some tasks were stalled waiting for the resource (PSI "some").', ['resource']),
    pressureStalled: counter('headroom_pressure_stalled_seconds_total', 'Time all non-idle tasks were stalled on the resource (PSI "full").', ['resource']),

    processes: gauge('headroom_processes', 'Processes in the cgroup.'),
    threads: gauge('headroom_threads', 'Threads in the cgroup.'),
    groupCpu: counter('headroom_process_group_cpu_seconds_total', 'CPU time of the live processes of a group (by command name; the top N by CPU, the rest as "other").', ['groupname']),
    groupResident: gauge('headroom_process_group_resident_bytes', 'Resident memory of the processes of a group.', ['groupname']),
    groupProcesses: gauge('headroom_process_group_processes', 'Processes in a group.', ['groupname']),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;

export function createDeclaredMetrics(registry: Registry) {
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  return {
    memoryLimit: gauge('headroom_declared_memory_limit_bytes', 'Declared memory limit (MEMORY_LIMIT).'),
    cpuLimit: gauge('headroom_declared_cpu_limit_cores', 'Declared CPU limit (CPU_LIMIT).'),
    memoryReservation: gauge('headroom_declared_memory_reservation_bytes', 'Declared memory reservation (MEMORY_RESERVATION).'),
    cpuReservation: gauge('headroom_declared_cpu_reservation_cores', 'Declared CPU reservation (CPU_RESERVATION).'),
  };
}

/** Sets a counter to a value read from the kernel (prom-client counters only increase). */
export function setCounter(counter: Counter, value: number, labels: Record<string, string> = {}): void {
  counter.inc(labels, Math.max(0, value));
}
