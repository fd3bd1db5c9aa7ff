// /health: sub-statuses, each with a status, its latency and a message.
// Two kinds: checks read off a scrape's result (collectors, resources), which cost nothing, and probes that
// do I/O (the database, the target's health URL). /health waits for fresh probes (each bounded by its
// timeout) and reads the last scrape's result; /metrics never waits for a probe: it publishes each probe's
// last result and its age, and starts a new round in the background when the last is older than
// PROBE_MAX_AGE_MS.
import { Refreshed } from './refreshed.js';
import { gauge, type Sample } from './scrape/samples.js';
import type { ScrapeResult, TargetResult } from './scrape/scraper.js';
import { levelOf, levelValue, RESOURCES, worstLevel, type Level } from './thresholds.js';

export type SubStatus = 'ok' | 'degraded' | 'failing';

export interface CheckOutcome {
  status: SubStatus;
  message: string;
  /** Extra fields shown under the sub-status (a target's own sub-statuses, levels). */
  details?: Record<string, unknown>;
}

/** A check read off the scrape's result. */
export interface ScrapeCheck {
  name: string;
  /** A required check that is not ok makes /health answer 503. */
  required: boolean;
  evaluate(scrape: ScrapeResult): CheckOutcome;
}

/** A check that does I/O, bounded by its timeout. */
export interface ProbeCheck {
  name: string;
  required: boolean;
  timeoutMs: number;
  probe(): Promise<CheckOutcome>;
}

export interface SubStatusReport extends CheckOutcome { required: boolean; latency_ms: number }

export interface HealthReport {
  status: 'ok' | 'failing';
  cpu_percent: number | null;
  memory_percent: number | null;
  memory_available_bytes: number | null;
  checks: Record<string, SubStatusReport>;
}

/** Probes older than this are run again when /metrics is scraped (Prometheus's usual interval). */
export const PROBE_MAX_AGE_MS = 15_000;

const roundMs = (ms: number) => Math.round(ms * 100) / 100;

async function runProbe(check: ProbeCheck): Promise<SubStatusReport> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'failing', message: `no answer within ${check.timeoutMs} ms` }), check.timeoutMs);
    timer.unref(); // a probe still waiting must not hold the process open after close()
  });
  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([check.probe(), timeout]);
  } catch (error) {
    outcome = { status: 'failing', message: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
  return { ...outcome, required: check.required, latency_ms: roundMs(performance.now() - started) };
}

/** The probes' last results, refreshed on demand, at most one round per probe at a time. */
export class Probes {
  private readonly probes: Array<{ check: ProbeCheck; result: Refreshed<SubStatusReport> }>;

  constructor(checks: readonly ProbeCheck[], maxAgeMs = PROBE_MAX_AGE_MS) {
    this.probes = checks.map((check) => ({
      check,
      result: new Refreshed(() => runProbe(check), (error) => ({ status: 'failing', message: String(error), required: check.required, latency_ms: 0 }), maxAgeMs),
    }));
  }

  /** Runs every probe now (joining rounds under way) and returns their results. */
  async fresh(): Promise<Map<string, SubStatusReport>> {
    const results = await Promise.all(this.probes.map(async ({ check, result }) => [check.name, (await result.refresh()).value] as const));
    return new Map(results);
  }

  /** The last result of each probe that has one and its age in seconds; stale ones are run again in the background. */
  latest(): Map<string, { report: SubStatusReport; ageSeconds: number }> {
    const latest = new Map<string, { report: SubStatusReport; ageSeconds: number }>();
    const now = performance.now();
    for (const { check, result } of this.probes) {
      void result.current(0);
      const reading = result.latest();
      if (reading) latest.set(check.name, { report: reading.value, ageSeconds: (now - reading.at) / 1000 });
    }
    return latest;
  }
}

/** The sidecar's target (host mode has none: its containers have their own levels). */
function sidecarOf(scrape: ScrapeResult): TargetResult | undefined {
  return scrape.targets.find((result) => result.target.kind !== 'container');
}

export function evaluateHealth(scrapeChecks: readonly ScrapeCheck[], probeReports: ReadonlyMap<string, SubStatusReport>, scrape: ScrapeResult): HealthReport {
  const reports: Array<[string, SubStatusReport]> = scrapeChecks.map((check) => [check.name, { ...check.evaluate(scrape), required: check.required, latency_ms: 0 }]);
  reports.push(...probeReports);
  const failing = reports.some(([, report]) => report.required && report.status === 'failing');
  const values = sidecarOf(scrape)?.values;
  const figure = (name: string, digits: number) => {
    const value = values?.get(name);
    return value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits;
  };
  return {
    status: failing ? 'failing' : 'ok',
    cpu_percent: figure('headroom_cpu_percent', 2),
    memory_percent: figure('headroom_memory_percent', 2),
    memory_available_bytes: figure('headroom_memory_available_bytes', 0),
    checks: Object.fromEntries(reports),
  };
}

/** The watched cgroup, and where its CPU usage is read when that is not its own counter. */
function cgroupDetails(scrape: ScrapeResult): Record<string, unknown> | undefined {
  const location = sidecarOf(scrape)?.location;
  if (!location) return undefined;
  const details: Record<string, unknown> = { cgroup: location.path, mode: location.mode };
  if (location.cpuUsage === 'processes') {
    details.cpu_usage = `summed from the processes of the cpu cgroup ${location.controllers.cpu?.path}: its cpuacct cgroup ${location.controllers.cpuacct?.path} (v1 controllers mounted apart) holds other processes`;
  }
  return details;
}

/** The collectors whose failure leaves headroom unable to do its job. */
const ESSENTIAL_COLLECTORS = ['memory', 'cpu'];

/** What the collectors left out of the figures (processes they could not read or that exited meanwhile). */
function notesOf(scrape: ScrapeResult): { degraded: string[]; other: string[] } {
  const degraded: string[] = [];
  const other: string[] = [];
  for (const [name, outcome] of Object.entries(scrape.collectors)) {
    for (const note of outcome.notes ?? []) (note.degraded ? degraded : other).push(`${name}: ${note.message}`);
  }
  return { degraded, other };
}

export const collectorsCheck: ScrapeCheck = {
  name: 'collectors',
  required: true,
  evaluate(scrape) {
    const notes = notesOf(scrape);
    const noted = [...notes.degraded, ...notes.other];
    const found = { ...cgroupDetails(scrape), ...(noted.length > 0 ? { notes: noted } : {}) };
    const details = Object.keys(found).length > 0 ? found : undefined;
    const failed = Object.entries(scrape.collectors).filter(([, outcome]) => !outcome.success);
    if (failed.length === 0) {
      if (notes.degraded.length > 0) return { status: 'degraded', message: notes.degraded.join('; '), details };
      return { status: 'ok', message: `${Object.keys(scrape.collectors).length} collectors succeeded`, details };
    }
    const message = [...failed.map(([name, outcome]) => `${name}: ${outcome.error ?? 'failed'}`), ...notes.degraded].join('; ');
    const essential = failed.some(([name]) => ESSENTIAL_COLLECTORS.includes(name));
    return { status: essential ? 'failing' : 'degraded', message, details };
  },
};

/** Each watched resource's level (info where there is no figure). */
export function levelsOf(values: ReadonlyMap<string, number>): Record<string, Level> {
  return Object.fromEntries(RESOURCES.map((resource) => [resource.name, levelOf(values.get(resource.percentFamily) ?? Number.NaN)]));
}

/** The process that holds the largest share of its descriptor limit in a target: its command and soft limit. */
function worstDescriptors(scrape: ScrapeResult, target: TargetResult['target']): { command: string; soft_limit: number } | undefined {
  const sample = scrape.samples.get('headroom_fds_limit')?.find(({ labels }) => Object.entries(target.labels).every(([name, value]) => labels[name] === value));
  return sample === undefined ? undefined : { command: sample.labels.command ?? '', soft_limit: sample.value };
}

function describeLevels(levels: Record<string, Level>, descriptors?: { command: string; soft_limit: number }): string {
  return Object.entries(levels).map(([resource, level]) => {
    const holder = resource === 'fds' && level !== 'info' && descriptors ? ` (${descriptors.command}, soft limit ${descriptors.soft_limit})` : '';
    return `${resource} ${level}${holder}`;
  }).join(', ');
}

/** The level of each resource against the thresholds; never required: a busy service is not a broken exporter. */
export const resourcesCheck: ScrapeCheck = {
  name: 'resources',
  required: false,
  evaluate(scrape) {
    const statusOf = (level: Level): SubStatus => (level === 'info' ? 'ok' : level === 'warning' ? 'degraded' : 'failing');
    const sidecar = sidecarOf(scrape);
    if (sidecar) {
      const levels = levelsOf(sidecar.values);
      const descriptors = worstDescriptors(scrape, sidecar.target);
      return { status: statusOf(worstLevel(Object.values(levels))), message: describeLevels(levels, descriptors), details: { levels, ...(descriptors ? { fds_worst_process: descriptors } : {}) } };
    }
    // Host mode: each container's levels; the worst decides.
    const byContainer = Object.fromEntries(scrape.targets.map(({ target, values }) => [target.name, levelsOf(values)]));
    const worst = worstLevel(Object.values(byContainer).flatMap((levels) => Object.values(levels)));
    const above = scrape.targets.filter(({ target }) => Object.values(byContainer[target.name]!).some((level) => level !== 'info'))
      .map(({ target }) => `${target.name}: ${describeLevels(byContainer[target.name]!, worstDescriptors(scrape, target))}`);
    return { status: statusOf(worst), message: above.length === 0 ? `${scrape.targets.length} containers, all info` : above.join('; '), details: { containers: byContainer } };
  },
};

export const HEALTH_STATUS = gauge('headroom_health_status', 'Whether a /health sub-status is ok (1) or not (0); degraded counts as ok.', ['component']);
export const HEALTH_CHECK_AGE = gauge('headroom_health_check_age_seconds', 'Age of the result headroom_health_status shows for a sub-status that does I/O (database, target): probes run at most every 15 s, and /metrics never waits for one.', ['component']);
export const RESOURCE_LEVEL = gauge('headroom_resource_level', 'Level of a resource against its limit: 0 info, 1 warning (>80 %), 2 critical (>95 %), 3 danger (>=100 %).', ['resource']);

/** The health families' samples for one evaluation. */
export function healthSamples(report: HealthReport, ages: ReadonlyMap<string, number>, scrape: ScrapeResult): Map<string, Sample[]> {
  const samples = new Map<string, Sample[]>();
  samples.set(HEALTH_STATUS.name, Object.entries(report.checks).map(([component, sub]) => ({ labels: { component }, value: sub.status === 'failing' ? 0 : 1 })));
  samples.set(HEALTH_CHECK_AGE.name, [...ages].map(([component, seconds]) => ({ labels: { component }, value: seconds })));
  // The sidecar's levels; host mode's containers' levels are their percent series against the thresholds.
  samples.set(RESOURCE_LEVEL.name, scrape.targets.filter(({ target }) => target.kind !== 'container').flatMap(({ target, values }) =>
    Object.entries(levelsOf(values)).map(([resource, level]) => ({ labels: { ...target.labels, resource }, value: levelValue(level) }))));
  return samples;
}
