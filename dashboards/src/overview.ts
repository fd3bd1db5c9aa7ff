// The Overview dashboard: how close each instance runs to its CPU and memory limits, and what is happening inside.
import { AnnotationQueryBuilder, DashboardBuilder, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { THRESHOLDS } from '../../exporter/src/thresholds.js';
import { DATASOURCE, datasourceVariable, fixedThresholds, healthMappings, containerVariable, hostVariable, instanceVariable, levelMappings, levelThresholds, INSTANCE_SELECTOR, SELECTOR, WHO } from './common.js';
import { bars, graph, list, single } from './panels.js';

const S = SELECTOR;
const warning = THRESHOLDS.warning.percent;
const critical = THRESHOLDS.critical.percent;
const danger = THRESHOLDS.danger.percent;
const levels = `warning above ${warning} %, critical above ${critical} %, danger at or above ${danger} %`;

/** A percent-of-the-limit graph with the alert thresholds drawn; `what` says what the percent is of. */
function percentOfLimitGraph(id: number, at: [number, number, number, number], resource: string, metric: string, what = '') {
  return graph({
    id, title: `${resource} of the limit`, at, unit: 'percent', min: 0, max: 100, thresholds: levelThresholds(), showThresholds: true,
    description: `${what === '' ? '' : `${what} `}${metric} over time, with the alert thresholds drawn: ${levels}.`,
    queries: [{ expr: `${metric}{${S}}`, legend: WHO }],
  });
}

export const OVERVIEW_UID = 'headroom-overview';

/** Automatic sizing's decisions on the time axis (the exporter starts each opted-in container's counters at 0). */
export const AUTOSIZE_ANNOTATION_EXPR = `sum by (container, direction, result) (increase(headroom_autosize_decisions_total{${SELECTOR}}[$__rate_interval])) > 0`;

function autosizeAnnotation() {
  return new AnnotationQueryBuilder()
    .name('Automatic sizing')
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor('purple')
    .expr(AUTOSIZE_ANNOTATION_EXPR)
    .step('60s')
    .titleFormat('autosize {{direction}}: {{result}}')
    .textFormat('{{container}}: GET /autosize on the exporter gives the reason')
    .tagKeys('container,direction,result');
}

export function overviewDashboard() {
  return new DashboardBuilder('headroom / Overview')
    .uid(OVERVIEW_UID)
    .description('How close the watched container runs to its CPU and memory limits, measured from its cgroup by the headroom exporter.')
    .tags(['headroom'])
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(datasourceVariable())
    .withVariable(hostVariable())
    .withVariable(instanceVariable())
    .withVariable(containerVariable())
    .annotation(autosizeAnnotation())

    .withRow(new RowBuilder('Now').id(101).gridPos({ x: 0, y: 0, w: 24, h: 1 }))
    .withPanel(single({
      id: 1, title: 'CPU of the limit', at: [0, 1, 4, 5], unit: 'percent', min: 0, max: 100, thresholds: levelThresholds(),
      description: `CPU used as a percent of the effective CPU limit (averaged over the last 60 s of scrapes). Colors follow the alert levels: ${levels}.`,
      queries: [{ expr: `headroom_cpu_percent{${S}}`, legend: WHO }],
    }))
    .withPanel(single({
      id: 2, title: 'Memory of the limit', at: [4, 1, 4, 5], unit: 'percent', min: 0, max: 100, thresholds: levelThresholds(),
      description: `Working set (usage minus inactive file cache) as a percent of the effective memory limit. Colors follow the alert levels: ${levels}.`,
      queries: [{ expr: `headroom_memory_percent{${S}}`, legend: WHO }],
    }))
    .withPanel(single({
      id: 3, title: 'Memory available', at: [8, 1, 4, 5], unit: 'bytes', thresholds: fixedThresholds('blue'),
      description: 'Effective memory limit minus working set: how much more the container can hold before the OOM killer acts.',
      queries: [{ expr: `headroom_memory_available_bytes{${S}}`, legend: WHO }],
    }))
    .withPanel(single({
      id: 4, title: 'Alert level', at: [12, 1, 4, 5], unit: 'none', mappings: levelMappings(), thresholds: fixedThresholds('text'),
      description: `Level of each resource as /health reports it (headroom_resource_level): info, or ${levels}.`,
      queries: [{ expr: `headroom_resource_level{${S}}`, legend: '{{resource}}' }],
    }))
    .withPanel(single({
      id: 5, title: 'Health checks', at: [16, 1, 8, 5], unit: 'none', mappings: healthMappings(), thresholds: fixedThresholds('text'),
      description: 'Each /health sub-status (headroom_health_status): ok, or failing. /health answers 503 while a required one fails.',
      queries: [{ expr: `headroom_health_status{${INSTANCE_SELECTOR}}`, legend: '{{component}} {{instance}}' }],
    }))
    .withPanel(list({
      id: 6, title: 'Firing alerts', at: [0, 6, 24, 5], unit: 'none',
      description: 'Alerts Prometheus is firing now (the ALERTS series), with their severity and labels. Empty means nothing is firing.',
      queries: [{ expr: 'ALERTS{alertstate="firing"}', legend: '' }],
    }))

    .withRow(new RowBuilder('CPU').id(102).gridPos({ x: 0, y: 11, w: 24, h: 1 }))
    .withPanel(percentOfLimitGraph(7, [0, 12, 12, 8], 'CPU', 'headroom_cpu_percent'))
    .withPanel(graph({
      id: 8, title: 'CPU usage, reservation and limit', at: [12, 12, 12, 8], unit: 'short', min: 0, axisLabel: 'cores',
      description: 'CPU used in cores (rate of the cgroup\'s CPU time) against the reservation (CPU_RESERVATION) and the effective CFS limit, as kubernetes-mixin overlays requests and limits.',
      queries: [
        { expr: `rate(headroom_cpu_usage_seconds_total{${S}}[$__rate_interval])`, legend: `usage ${WHO}` },
        { expr: `headroom_cpu_reservation_cores{${S}}`, legend: `reservation ${WHO}` },
        { expr: `headroom_cpu_limit_cores{${S}}`, legend: `limit ${WHO}` },
      ],
    }))
    .withPanel(graph({
      id: 9, title: 'CPU throttling', at: [0, 20, 12, 8], unit: 'percentunit', min: 0,
      description: 'Share of CFS periods in which the kernel throttled the container because it used up its quota. Sustained throttling means the CPU limit is too small. Without a CPU limit no period is enforced and the share is undefined.',
      queries: [{ expr: `rate(headroom_cpu_cfs_throttled_periods_total{${S}}[$__rate_interval]) / rate(headroom_cpu_cfs_periods_total{${S}}[$__rate_interval])`, legend: WHO }],
    }))
    .withPanel(graph({
      id: 10, title: 'Time throttled', at: [12, 20, 12, 8], unit: 's', min: 0,
      description: 'Seconds per second during which the container\'s tasks were held back by the CFS quota.',
      queries: [{ expr: `rate(headroom_cpu_cfs_throttled_seconds_total{${S}}[$__rate_interval])`, legend: WHO }],
    }))

    .withRow(new RowBuilder('Memory').id(103).gridPos({ x: 0, y: 28, w: 24, h: 1 }))
    .withPanel(percentOfLimitGraph(11, [0, 29, 12, 8], 'Memory', 'headroom_memory_percent'))
    .withPanel(graph({
      id: 12, title: 'Memory usage, reservation and limit', at: [12, 29, 12, 8], unit: 'bytes', min: 0,
      description: 'Working set (what the kernel cannot reclaim easily; the figure the OOM killer and the percent use), RSS and page cache, against the reservation (soft limit or memory.low) and the effective limit.',
      queries: [
        { expr: `headroom_memory_working_set_bytes{${S}}`, legend: `working set ${WHO}` },
        { expr: `headroom_memory_rss_bytes{${S}}`, legend: `rss ${WHO}` },
        { expr: `headroom_memory_cache_bytes{${S}}`, legend: `cache ${WHO}` },
        { expr: `headroom_memory_reservation_bytes{${S}}`, legend: `reservation ${WHO}` },
        { expr: `headroom_memory_limit_bytes{${S}}`, legend: `limit ${WHO}` },
      ],
    }))
    .withPanel(graph({
      id: 13, title: 'Memory available', at: [0, 37, 12, 8], unit: 'bytes', min: 0,
      description: 'Effective memory limit minus working set over time: a steady fall is a leak heading for the OOM killer.',
      queries: [{ expr: `headroom_memory_available_bytes{${S}}`, legend: WHO }],
    }))
    .withPanel(graph({
      id: 14, title: 'OOM kills', at: [12, 37, 12, 8], unit: 'short', min: 0, bars: true,
      description: 'Processes the kernel\'s OOM killer killed in the container\'s cgroup, per interval. Any bar means the memory limit was reached.',
      queries: [{ expr: `increase(headroom_memory_oom_kills_total{${S}}[$__rate_interval])`, legend: WHO }],
    }))

    .withRow(new RowBuilder('Pressure and processes').id(104).gridPos({ x: 0, y: 45, w: 24, h: 1 }))
    .withPanel(graph({
      id: 15, title: 'Pressure stall', at: [0, 46, 12, 8], unit: 'percentunit', min: 0,
      description: 'Pressure stall information: share of time some tasks ("some") or all non-idle tasks ("full") waited for CPU, memory or I/O. Rising memory pressure comes before OOM kills.',
      queries: [
        { expr: `rate(headroom_pressure_waiting_seconds_total{${S}}[$__rate_interval])`, legend: `{{resource}} some ${WHO}` },
        { expr: `rate(headroom_pressure_stalled_seconds_total{${S}}[$__rate_interval])`, legend: `{{resource}} full ${WHO}` },
      ],
    }))
    .withPanel(graph({
      id: 16, title: 'Processes and threads', at: [12, 46, 12, 8], unit: 'short', min: 0,
      description: 'Processes and threads in the container\'s cgroup, and the pids.max that binds (where one is set): the pids controller counts every thread against it.',
      queries: [
        { expr: `headroom_processes{${S}}`, legend: `processes ${WHO}` },
        { expr: `headroom_processes_threads{${S}}`, legend: `threads ${WHO}` },
        { expr: `headroom_pids_limit{${S}}`, legend: `pids.max ${WHO}` },
      ],
    }))
    .withPanel(bars({
      id: 17, title: 'Top process groups by CPU', at: [0, 54, 12, 8], unit: 'short', min: 0, thresholds: fixedThresholds('blue'),
      description: 'CPU in cores of the five busiest process groups (processes grouped by command name).',
      queries: [{ expr: `topk(5, rate(headroom_process_group_cpu_seconds_total{${S}}[$__rate_interval]))`, legend: '{{groupname}}' }],
    }))
    .withPanel(bars({
      id: 18, title: 'Top process groups by memory', at: [12, 54, 12, 8], unit: 'bytes', min: 0, thresholds: fixedThresholds('blue'),
      description: 'Resident memory of the five largest process groups (processes grouped by command name).',
      queries: [{ expr: `topk(5, headroom_process_group_resident_bytes{${S}})`, legend: '{{groupname}}' }],
    }))

    .withRow(new RowBuilder('File descriptors and tasks').id(105).gridPos({ x: 0, y: 62, w: 24, h: 1 }))
    .withPanel(percentOfLimitGraph(19, [0, 63, 12, 8], 'File descriptors', 'headroom_fds_percent',
      'The largest share a process of the container holds of its own soft RLIMIT_NOFILE (each process has its own, from /proc/PID/limits): at 100 % its next open or accept fails with EMFILE.'))
    .withPanel(graph({
      id: 20, title: 'Open file descriptors', at: [12, 63, 12, 8], unit: 'short', min: 0,
      description: 'Open file descriptors of all the container\'s processes, and the soft RLIMIT_NOFILE of the process nearest its limit, by its command. A total that only climbs is a leak.',
      queries: [
        { expr: `headroom_fds_open{${S}}`, legend: `open ${WHO}` },
        { expr: `headroom_fds_limit{${S}}`, legend: `soft limit of {{command}} ${WHO}` },
      ],
    }))
    .withPanel(percentOfLimitGraph(21, [0, 71, 12, 8], 'Tasks (pids.max)', 'headroom_pids_percent',
      'Tasks (processes and threads, zombies until reaped) as a share of the pids.max that binds first, where one is set: at 100 % fork and clone fail.'))
    .withPanel(percentOfLimitGraph(22, [12, 71, 12, 8], 'Tasks of the user (RLIMIT_NPROC)', 'headroom_nproc_percent',
      'Tasks of a process\'s user on the whole host (every container of that uid counts) as a share of the process\'s soft RLIMIT_NPROC, where one applies (not root): at 100 % its next fork fails.'));
}
