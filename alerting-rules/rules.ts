// The Prometheus rule groups (recording rules and alerts), built from the thresholds module.
// Pure: returns plain objects; generate.ts serialises them.
import { formatDuration } from '../exporter/src/duration.js';
import { HEALTHCHECK, THRESHOLDS, comparisonOf, type Level } from '../exporter/src/thresholds.js';

export type Severity = Exclude<Level, 'info'>;
export const SEVERITIES: readonly Severity[] = ['warning', 'critical', 'danger'];

/** Names other parts of the project (dashboards, the recommender) rely on: keep them stable. */
export const RECORDED = {
  cpuUsageRate: 'headroom:cpu_usage:rate5m',
  cpuUsageRatio: 'headroom:cpu_usage:ratio_rate5m',
  cpuThrottledRatio: 'headroom:cpu_cfs_throttled_periods:ratio_rate5m',
  memoryWorkingSetRatio: 'headroom:memory_working_set:ratio',
  memoryReservationRatio: 'headroom:memory_working_set:ratio_reservation',
} as const;

/** More than half of the CFS periods throttled: the container wants more CPU than its limit most of the time. */
export const HEAVY_THROTTLING_RATIO = 0.5;
/** An OOM kill keeps memory at danger for this long, so that it is noticed and then resolves by itself. */
export const OOM_WINDOW = '15m';
/** predict_linear: the trend of the last hour, projected this far ahead. */
export const PREDICT_LOOKBACK = '1h';
export const PREDICT_HORIZON_SECONDS = 4 * 3600;
/** Restarts: more than this many resets of the cgroup CPU counter within RESTART_WINDOW. */
export const RESTART_COUNT = 2;
export const RESTART_WINDOW = '30m';

/** `for` of every alert, in seconds; the runbook justifies each. */
/** How long a vanished exporter target is remembered by HeadroomExporterGone. */
export const EXPORTER_GONE_WINDOW = '1h';

export const FOR_SECONDS = {
  memory: { warning: 5 * 60, critical: 2 * 60, danger: 0 },
  memoryOomKill: 0,
  cpu: { warning: 15 * 60, critical: 10 * 60, danger: 5 * 60 },
  cpuThrottling: 5 * 60,
  memoryFillingUp: 30 * 60,
  // Docker marks the container unhealthy after `retries` failed probes `interval` apart: alert at the same time.
  healthCheck: HEALTHCHECK.intervalSeconds * HEALTHCHECK.retries,
  exporterDown: 2 * 60,
  exporterAbsent: 5 * 60,
  exporterGone: 2 * 60,
  restarting: 0,
  // Descriptors and tasks are not compressible either: at the limit the next open() or fork() fails.
  fds: { warning: 5 * 60, critical: 2 * 60, danger: 0 },
  pids: { warning: 5 * 60, critical: 2 * 60, danger: 0 },
  nproc: { warning: 5 * 60, critical: 2 * 60, danger: 0 },
} as const;

export interface RuleOptions {
  /** The Prometheus job that scrapes the exporter. */
  job: string;
  /**
   * Base of the runbook links; each alert appends `#alertname` in lower case. By default the runbook's path in
   * this repository; a site that hosts it writes its own copy of the rules (the generator's --runbook-base-url).
   */
  runbookBaseUrl: string;
  /** Divides every `for` (the end-to-end test runs the same rules faster); 1 in the committed file. */
  timeScale: number;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  job: 'headroom',
  runbookBaseUrl: 'alerting-rules/RUNBOOK.md',
  timeScale: 1,
};

export interface RecordingRule { record: string; expr: string }
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}
export interface RuleGroup { name: string; interval?: string; rules: (RecordingRule | AlertingRule)[] }

/** The `for` field, scaled; a zero `for` is left out (fires at the first evaluation). */
function forField(seconds: number, options: RuleOptions): { for?: string } {
  if (seconds === 0) return {};
  return { for: formatDuration(Math.max(1, Math.round(seconds / options.timeScale))) };
}

/** A template that renders another series of the alert's instance: `pipeline` takes its first sample. */
function querySeries(metric: string, pipeline: string): string {
  // container="" matches the sidecar's series, which have no container label; host="" those of a single
  // Prometheus, whose series carry no host label (many hosts' remote-written series do).
  return `{{ with printf "${metric}{instance=%q,job=%q,container=%q,host=%q}" $labels.instance $labels.job $labels.container $labels.host | query }}{{ . | first | ${pipeline} }}{{ end }}`;
}
/** Another series' value, e.g. the limit next to the value. */
const seriesOf = (metric: string, render: string) => querySeries(metric, `value | ${render}`);
/** A label of another series, e.g. the command of the process nearest its descriptor limit. */
const labelOf = (metric: string, label: string) => querySeries(metric, `label "${label}"`);
/** What an alert is about: the instance, and in host mode the container on it. */
const WHO = '{{ with $labels.container }}container {{ . }} on {{ end }}{{ $labels.instance }}{{ with $labels.host }} on host {{ . }}{{ end }}';
const bytesOf = (metric: string) => `${seriesOf(metric, 'humanize1024')}B`;
const coresOf = (metric: string) => `${seriesOf(metric, 'printf "%.2f"')} cores`;
const countOf = (metric: string) => seriesOf(metric, 'printf "%.0f"');

function boundText(level: Severity): string {
  const { percent, inclusive } = THRESHOLDS[level];
  return `${inclusive ? 'at or above' : 'above'} ${percent} %`;
}
function boundExpr(level: Severity, series: string): string {
  return `${series} ${comparisonOf(level)} ${THRESHOLDS[level].percent / 100}`;
}

/** Labels a service is known by across hosts: many hosts' series carry `host` (remote write's external label). */
const SERVICE = 'host, compose_project, compose_service';

/** Per compose service, summed over its containers, for federation and many-host views (host mode's series). */
export function serviceRecordingRules(): RecordingRule[] {
  const of = (metric: string) => `${metric}{compose_service!=""}`;
  return [
    { record: 'compose_service:headroom_memory_working_set_bytes:sum', expr: `sum by (${SERVICE}) (${of('headroom_memory_working_set_bytes')})` },
    { record: 'compose_service:headroom_memory_limit_bytes:sum', expr: `sum by (${SERVICE}) (${of('headroom_memory_limit_bytes')})` },
    { record: 'compose_service:headroom_cpu_usage_cores:rate5m', expr: `sum by (${SERVICE}) (rate(${of('headroom_cpu_usage_seconds_total')}[5m]))` },
    { record: 'compose_service:headroom_cpu_limit_cores:sum', expr: `sum by (${SERVICE}) (${of('headroom_cpu_limit_cores')})` },
    { record: 'compose_service:headroom_container_oom_kills:increase1h', expr: `sum by (${SERVICE}) (increase(${of('headroom_container_oom_kills_total')}[1h]))` },
    { record: 'compose_service:headroom_containers:count', expr: `count by (${SERVICE}) (${of('headroom_container_info')})` },
  ];
}

export function recordingRules(): RecordingRule[] {
  return [
    { record: RECORDED.cpuUsageRate, expr: 'rate(headroom_cpu_usage_seconds_total[5m])' },
    { record: RECORDED.cpuUsageRatio, expr: 'rate(headroom_cpu_usage_seconds_total[5m]) / headroom_cpu_limit_cores' },
    { record: RECORDED.cpuThrottledRatio, expr: 'rate(headroom_cpu_cfs_throttled_periods_total[5m]) / rate(headroom_cpu_cfs_periods_total[5m])' },
    { record: RECORDED.memoryWorkingSetRatio, expr: 'headroom_memory_working_set_bytes / headroom_memory_limit_bytes' },
    { record: RECORDED.memoryReservationRatio, expr: 'headroom_memory_working_set_bytes / headroom_memory_reservation_bytes' },
  ];
}

/** OOM kills in the window, or counted by a series that did not exist at its start. */
/**
 * Kills in the window of a counter, or counted by a series that did not exist at the window's start
 * (increase() needs a sample from before the kill).
 */
function killsExpr(counter: string): string {
  return `increase(${counter}[${OOM_WINDOW}]) > 0 or (${counter} unless ${counter} offset ${OOM_WINDOW}) + 0 > 0`;
}

/**
 * OOM kills in the cgroup, or, in host mode, of the container across its restarts: a kill of PID 1 restarts
 * the container in a new cgroup whose counter the exporter may never have seen above 0. Both have the same
 * labels for a container: `or` keeps one alert.
 */
export const oomKillsExpr = `${killsExpr('headroom_memory_oom_kills_total')} or ${killsExpr('headroom_container_oom_kills_total')}`;

export function alertingRules(options: RuleOptions = DEFAULT_RULE_OPTIONS): AlertingRule[] {
  const runbook = (alert: string) => `${options.runbookBaseUrl}#${alert.toLowerCase()}`;
  const alert = (name: string, severity: Severity, expr: string, forSeconds: number, summary: string, description: string, extraLabels: Record<string, string> = {}): AlertingRule => ({
    alert: name,
    expr,
    ...forField(forSeconds, options),
    labels: { severity, ...extraLabels },
    annotations: { summary, description, runbook_url: runbook(name) },
  });
  const up = `up{job="${options.job}"}`;

  const memoryLevels = SEVERITIES.map((level) => alert(
    'HeadroomMemoryHigh', level, boundExpr(level, RECORDED.memoryWorkingSetRatio), FOR_SECONDS.memory[level],
    `Memory ${boundText(level)} of the limit`,
    `Working set ${bytesOf('headroom_memory_working_set_bytes')} of ${WHO} is {{ $value | humanizePercentage }} of its memory limit ${bytesOf('headroom_memory_limit_bytes')}.`,
    { signal: 'usage' },
  ));
  const cpuLevels = SEVERITIES.map((level) => alert(
    'HeadroomCpuHigh', level, boundExpr(level, RECORDED.cpuUsageRatio), FOR_SECONDS.cpu[level],
    `CPU ${boundText(level)} of the limit`,
    `CPU use ${coresOf(RECORDED.cpuUsageRate)} of ${WHO} is {{ $value | humanizePercentage }} of its CPU limit ${coresOf('headroom_cpu_limit_cores')} (5 minute rate).`,
    { signal: 'usage' },
  ));

  /** The three levels of a resource watched as a percent of its limit (a family exported as 0-100). */
  const percentLevels = (name: string, percentFamily: string, forSeconds: Record<Severity, number>, what: string, description: string) => SEVERITIES.map((level) => alert(
    name, level, boundExpr(level, `${percentFamily} / 100`), forSeconds[level], `${what} ${boundText(level)} of the limit`, description,
  ));
  const fdsLevels = percentLevels(
    'HeadroomFdsHigh', 'headroom_fds_percent', FOR_SECONDS.fds, 'File descriptors',
    `The process ${labelOf('headroom_fds_limit', 'command')} of ${WHO} holds {{ $value | humanizePercentage }} of its soft RLIMIT_NOFILE, ${countOf('headroom_fds_limit')} descriptors: at 100 % its next open or accept fails with EMFILE (${countOf('headroom_fds_open')} open in all).`,
  );
  const pidsLevels = percentLevels(
    'HeadroomPidsHigh', 'headroom_pids_percent', FOR_SECONDS.pids, 'Tasks',
    `Tasks (processes and threads) of ${WHO} are {{ $value | humanizePercentage }} of its pids.max, ${countOf('headroom_pids_limit')}: at 100 % the next fork fails.`,
  );
  const nprocLevels = percentLevels(
    'HeadroomNprocHigh', 'headroom_nproc_percent', FOR_SECONDS.nproc, 'Tasks of the user',
    `The tasks of user ${labelOf('headroom_nproc_limit', 'uid')} on the whole host are {{ $value | humanizePercentage }} of the soft RLIMIT_NPROC, ${countOf('headroom_nproc_limit')}, of a process of ${WHO}: at 100 % its next fork fails.`,
  );

  return [
    ...memoryLevels,
    alert(
      // increase() needs a sample before the kill: a kill counted by the series' first sample (an OOM before
      // Prometheus's first scrape, a service that OOMs while starting) is caught by the second part.
      'HeadroomMemoryHigh', 'danger', oomKillsExpr, FOR_SECONDS.memoryOomKill,
      'Processes OOM-killed at the memory limit',
      `The kernel OOM-killed {{ $value | printf "%.0f" }} process(es) of ${WHO} in the last ${OOM_WINDOW}; memory limit ${bytesOf('headroom_memory_limit_bytes')}, working set now ${bytesOf('headroom_memory_working_set_bytes')}.`,
      { signal: 'oom_kill' },
    ),
    ...cpuLevels,
    ...fdsLevels,
    ...pidsLevels,
    ...nprocLevels,
    alert(
      'HeadroomCpuHigh', 'danger', `${RECORDED.cpuThrottledRatio} > ${HEAVY_THROTTLING_RATIO}`, FOR_SECONDS.cpuThrottling,
      'CPU heavily throttled at the limit',
      `${WHO} was throttled in {{ $value | humanizePercentage }} of its CFS periods (5 minute rate) at a CPU limit of ${coresOf('headroom_cpu_limit_cores')}; CPU use ${coresOf(RECORDED.cpuUsageRate)}.`,
      { signal: 'throttling' },
    ),
    alert(
      'HeadroomMemoryFillingUp', 'warning',
      `predict_linear(headroom_memory_working_set_bytes[${PREDICT_LOOKBACK}], ${PREDICT_HORIZON_SECONDS}) >= headroom_memory_limit_bytes`,
      FOR_SECONDS.memoryFillingUp,
      `Memory predicted to reach the limit within ${PREDICT_HORIZON_SECONDS / 3600} hours`,
      `At the trend of the last ${PREDICT_LOOKBACK}, the working set of ${WHO} (now ${bytesOf('headroom_memory_working_set_bytes')}) reaches {{ $value | humanize1024 }}B in ${PREDICT_HORIZON_SECONDS / 3600} hours; memory limit ${bytesOf('headroom_memory_limit_bytes')}.`,
    ),
    alert(
      'HeadroomHealthCheckFailing', 'critical',
      // The resources sub-status mirrors the levels of every resource, which their own alerts cover.
      'headroom_health_status{component!="resources"} == 0', FOR_SECONDS.healthCheck,
      'A /health sub-status is failing',
      `The {{ $labels.component }} sub-status of /health on {{ $labels.instance }} has been failing for at least ${formatDuration(FOR_SECONDS.healthCheck)} (the container healthcheck's interval times its retries).`,
    ),
    alert(
      'HeadroomExporterDown', 'critical', `${up} == 0`, FOR_SECONDS.exporterDown,
      'The headroom exporter cannot be scraped',
      'Prometheus failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for ' + formatDuration(FOR_SECONDS.exporterDown) + ': CPU and memory of the service are not watched.',
    ),
    alert(
      // Service discovery drops a target whose node is down (Swarm shuts a global service's task down there):
      // its up series ends rather than reading 0, and HeadroomExporterDown cannot fire.
      'HeadroomExporterGone', 'critical', `max_over_time(${up}[${EXPORTER_GONE_WINDOW}]) unless on(job, instance) ${up}`, FOR_SECONDS.exporterGone,
      'A headroom exporter is no longer discovered',
      'Prometheus scraped {{ $labels.instance }} (job {{ $labels.job }}{{ with $labels.node }}, node {{ . }}{{ end }}) in the last ' + EXPORTER_GONE_WINDOW + ' and has had no such target for ' + formatDuration(FOR_SECONDS.exporterGone) + ': its node is down or left, or the exporter was removed; CPU and memory there are not watched.',
    ),
    alert(
      'HeadroomExporterAbsent', 'critical', `absent(${up})`, FOR_SECONDS.exporterAbsent,
      'No headroom exporter is scraped',
      `Prometheus has no target in job ${options.job}: CPU and memory of the service are not watched.`,
    ),
    alert(
      'HeadroomRestartingRepeatedly', 'critical',
      // The sidecar sees its cgroup recreated; host mode counts the engine's restarts of the container.
      `resets(headroom_cpu_usage_seconds_total[${RESTART_WINDOW}]) > ${RESTART_COUNT} or increase(headroom_container_restarts_total[${RESTART_WINDOW}]) > ${RESTART_COUNT}`, FOR_SECONDS.restarting,
      'The service restarts repeatedly',
      `${WHO} restarted {{ $value | printf "%.0f" }} times in the last ${RESTART_WINDOW} (the alert fires above ${RESTART_COUNT}): the container restarts repeatedly.`,
    ),
  ];
}

/**
 * The alerts and the ratios they read in one group: rules of a group run in order, so each alert reads the
 * ratio recorded in the same evaluation; separate groups run concurrently and an alert would read the
 * previous evaluation's ratio. The per-service sums, which no alert reads, in a group of their own.
 */
export function ruleFile(options: RuleOptions = DEFAULT_RULE_OPTIONS): { groups: RuleGroup[] } {
  return { groups: [{ name: 'headroom', rules: [...recordingRules(), ...alertingRules(options)] }, { name: 'headroom.services', rules: serviceRecordingRules() }] };
}
