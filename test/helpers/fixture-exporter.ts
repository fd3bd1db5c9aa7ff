// The exporter, in this process, over a fake host root (cgroup-fixture.ts): the one set-up the fixture suites share.
import pino from 'pino';
import { parseServeCommandLine } from '../../exporter/src/config.js';
import { COLLECTORS } from '../../exporter/src/collectors/index.js';
import { startExporter, type RunningExporter } from '../../exporter/src/serve.js';
import { FIXTURE_PID, type FixtureRoot } from './cgroup-fixture.js';
import { parseExposition, valueOf, type Sample } from './metrics-text.js';

export const COLLECTOR_NAMES = COLLECTORS.map((collector) => collector.name);

export interface HealthBody { status: string; cpu_percent: number | null; memory_percent: number | null; memory_available_bytes: number | null; checks: Record<string, { status: string; message: string; details?: Record<string, unknown> }> }

export interface FixtureExporter {
  exporter: RunningExporter;
  metrics(): Promise<{ status: number; samples: Sample[] }>;
  health(): Promise<{ status: number; body: HealthBody }>;
}

/** Runs `body` against an exporter watching FIXTURE_PID in `fixture` (extra flags after the defaults), then stops it. */
export async function withFixtureExporter(fixture: FixtureRoot, extraArgs: string[], body: (client: FixtureExporter) => Promise<void>): Promise<void> {
  const config = parseServeCommandLine([
    '--web.listen-address=127.0.0.1:0', `--path.procfs=${fixture.procfs}`, `--path.sysfs=${fixture.sysfs}`, `--target.pid=${FIXTURE_PID}`, '--log.level=silent', ...extraArgs,
  ], {}).config;
  const exporter = await startExporter(config, [], pino({ level: 'silent' }));
  const base = `http://127.0.0.1:${exporter.address.port}`;
  try {
    await body({
      exporter,
      async metrics() {
        const response = await fetch(`${base}/metrics`);
        return { status: response.status, samples: parseExposition(await response.text()) };
      },
      async health() {
        const response = await fetch(`${base}/health`);
        return { status: response.status, body: await response.json() as HealthBody };
      },
    });
  } finally {
    await exporter.close();
  }
}

/** One /metrics and one /health of the fixture. */
export async function scrapeFixture(fixture: FixtureRoot, extraArgs: string[] = []): Promise<{ status: number; samples: Sample[]; health: HealthBody }> {
  let result: { status: number; samples: Sample[]; health: HealthBody } | undefined;
  await withFixtureExporter(fixture, extraArgs, async (client) => {
    const { status, samples } = await client.metrics();
    result = { status, samples, health: (await client.health()).body };
  });
  return result!;
}

/** Each collector's headroom_scrape_collector_success. */
export function collectorSuccesses(samples: Sample[]): Record<string, number | undefined> {
  return Object.fromEntries(COLLECTOR_NAMES.map((name) => [name, valueOf(samples, 'headroom_scrape_collector_success', { collector: name })]));
}

/**
 * The collector a metric belongs to by the naming rule (headroom_NAME or headroom_NAME_..., the longest such
 * name), or undefined for the scrape's own and the declared metrics.
 */
export function collectorOf(metricName: string): string | undefined {
  return COLLECTOR_NAMES.filter((name) => metricName === `headroom_${name}` || metricName.startsWith(`headroom_${name}_`))
    .sort((a, b) => b.length - a.length)[0];
}
