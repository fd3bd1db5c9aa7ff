// /health: sub-statuses, each with a status, its latency and a message, each check bounded by a timeout.
import { Gauge, type Registry } from 'prom-client';
import { levelOf, levelValue, type Level } from './thresholds.js';
import type { ScrapeResult } from './scrape.js';

export type SubStatus = 'ok' | 'degraded' | 'failing';

export interface CheckOutcome {
  status: SubStatus;
  message: string;
  /** Extra fields shown under the sub-status (a target's own sub-statuses, levels). */
  details?: Record<string, unknown>;
}

export interface HealthCheck {
  name: string;
  /** A required check that is not ok makes /health answer 503. */
  required: boolean;
  timeoutMs: number;
  run(scrape: ScrapeResult): Promise<CheckOutcome>;
}

export interface SubStatusReport extends CheckOutcome { required: boolean; latency_ms: number }

export interface HealthReport {
  status: 'ok' | 'failing';
  cpu_percent: number | null;
  memory_percent: number | null;
  memory_available_bytes: number | null;
  checks: Record<string, SubStatusReport>;
}

async function runWithTimeout(check: HealthCheck, scrape: ScrapeResult): Promise<SubStatusReport> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'failing', message: `no answer within ${check.timeoutMs} ms` }), check.timeoutMs);
  });
  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([check.run(scrape), timeout]);
  } catch (error) {
    outcome = { status: 'failing', message: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
  return { ...outcome, required: check.required, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
}

export async function evaluateHealth(checks: readonly HealthCheck[], scrape: ScrapeResult): Promise<HealthReport> {
  const reports = await Promise.all(checks.map(async (check) => [check.name, await runWithTimeout(check, scrape)] as const));
  const failing = reports.some(([, report]) => report.required && report.status === 'failing');
  const round = (value: number | undefined) => (value === undefined ? null : Math.round(value * 100) / 100);
  return {
    status: failing ? 'failing' : 'ok',
    cpu_percent: round(scrape.summary.cpuPercent),
    memory_percent: round(scrape.summary.memoryPercent),
    memory_available_bytes: scrape.summary.memoryAvailableBytes ?? null,
    checks: Object.fromEntries(reports),
  };
}

/** The watched cgroup, and where its CPU usage is read when that is not its own counter. */
function cgroupDetails(scrape: ScrapeResult): Record<string, unknown> | undefined {
  const location = scrape.location;
  if (!location) return undefined;
  const details: Record<string, unknown> = { cgroup: location.path, mode: location.mode };
  if (location.cpuUsage === 'processes') {
    details.cpu_usage = `summed from the processes of the cpu cgroup ${location.controllers.cpu?.path}: its cpuacct cgroup ${location.controllers.cpuacct?.path} (v1 controllers mounted apart) holds other processes`;
  }
  return details;
}

/** The collectors whose failure leaves headroom unable to do its job. */
const ESSENTIAL_COLLECTORS = ['memory', 'cpu'];

export const collectorsCheck: HealthCheck = {
  name: 'collectors',
  required: true,
  timeoutMs: 1000,
  async run(scrape) {
    const details = cgroupDetails(scrape);
    const failed = Object.entries(scrape.collectors).filter(([, outcome]) => !outcome.success);
    if (failed.length === 0) return { status: 'ok', message: `${Object.keys(scrape.collectors).length} collectors succeeded`, details };
    const message = failed.map(([name, outcome]) => `${name}: ${outcome.error ?? 'failed'}`).join('; ');
    const essential = failed.some(([name]) => ESSENTIAL_COLLECTORS.includes(name));
    return { status: essential ? 'failing' : 'degraded', message, details };
  },
};

/** The level of each resource against the thresholds; never required: a busy service is not a broken exporter. */
export const resourcesCheck: HealthCheck = {
  name: 'resources',
  required: false,
  timeoutMs: 1000,
  async run(scrape) {
    const levels: Record<string, Level> = {
      cpu: levelOf(scrape.summary.cpuPercent ?? Number.NaN),
      memory: levelOf(scrape.summary.memoryPercent ?? Number.NaN),
    };
    const worst = Object.values(levels).reduce<Level>((a, b) => (levelValue(b) > levelValue(a) ? b : a), 'info');
    const status: SubStatus = worst === 'info' ? 'ok' : worst === 'warning' ? 'degraded' : 'failing';
    return { status, message: `cpu ${levels.cpu}, memory ${levels.memory}`, details: { levels } };
  },
};

export function createHealthMetrics(registry: Registry) {
  const status = new Gauge({ name: 'headroom_health_status', help: 'Whether a /health sub-status is ok (1) or not (0); degraded counts as ok.', labelNames: ['component'], registers: [registry] });
  const level = new Gauge({ name: 'headroom_resource_level', help: 'Level of a resource against its limit: 0 info, 1 warning (>80 %), 2 critical (>95 %), 3 danger (>=100 %).', labelNames: ['resource'], registers: [registry] });
  return {
    record(report: HealthReport): void {
      status.reset();
      for (const [component, sub] of Object.entries(report.checks)) status.set({ component }, sub.status === 'failing' ? 0 : 1);
      level.reset();
      const levels = report.checks.resources?.details?.levels as Record<string, Level> | undefined;
      for (const [resource, value] of Object.entries(levels ?? {})) level.set({ resource }, levelValue(value));
    },
  };
}
