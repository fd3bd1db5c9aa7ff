// `headroom report`: the usage report of the seed ("resource usage report") over a window of Prometheus
// history, per container: percentiles, time at each level, OOM kills, restarts, throttling, and the size it
// has against the size it needs with the reason. HTML (with charts, self-contained), JSON, CSV or Markdown.
import { renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { commandFailure, httpUrl, parseSubcommandLine, text, type FlagSpec } from '../flags.js';
import { formatDuration, parseDuration } from '../duration.js';
import { NoDataError } from '../recommend/collect.js';
import { DEFAULT_MARGIN } from '../recommend/decide.js';
import { PrometheusError, prometheusClient } from '../recommend/prometheus.js';
import { DEFAULT_WINDOW_SECONDS } from '../recommend/queries.js';
import { collectReport } from './collect.js';
import { FORMATS, renderReport, type Format } from './render.js';

const USAGE = `usage: headroom report [flags]

Writes a resource usage report of every container with history in Prometheus (or of those the flags name):
P50, P95, P99 and max of the memory working set and of CPU, the share of time at each level, OOM kills,
restarts, throttled time, and the size now against the size recommended with the reason. The HTML report
has the charts and opens from disk without a network.`;

const RFC_3339 = z.iso.datetime({ offset: true });

/** The window's end as Prometheus's API takes a time: RFC 3339 (`2026-11-30T00:00:00Z`) or Unix seconds; '' is now. */
export function parseEnd(raw: string): Date | null | undefined {
  if (raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return new Date(Number(raw) * 1000);
  return RFC_3339.safeParse(raw).success ? new Date(raw) : null;
}

export const reportFlags = {
  prometheusUrl: { name: 'prometheus.url', env: 'PROMETHEUS_URL', default: 'http://127.0.0.1:9090', form: 'http(s)://HOST:PORT', help: 'Prometheus server that scrapes headroom.', parse: (raw: string) => httpUrl(raw) ?? null },
  window: { name: 'window', default: formatDuration(DEFAULT_WINDOW_SECONDS), form: 'DURATION (e.g. 7d)', help: 'History to report on.', parse: parseDuration },
  end: { name: 'end', default: '', form: 'RFC 3339 TIME or UNIX SECONDS', help: 'The end of the window (a past week, the same report twice); none ends it now.', parse: parseEnd },
  instance: { name: 'instance', default: '', form: 'HOST:PORT', help: 'The `instance` label to report on; none reports on every instance.', parse: text },
  container: { name: 'container', default: '', form: 'NAME', help: 'Host mode: the container to report on; none reports on every container.', parse: text },
  composeService: { name: 'compose-service', default: '', form: 'NAME', help: 'Host mode: the containers of this compose service.', parse: text },
  format: { name: 'format', default: 'html', form: FORMATS.join('|'), help: 'Output format.', parse: (raw: string) => (FORMATS.includes(raw as Format) ? raw as Format : null) },
  out: { name: 'out', default: '', form: 'FILE', help: 'File to write the report to; none writes it to standard output.', parse: text },
} satisfies Record<string, FlagSpec<unknown>>;

/** Written next to its final name and renamed: a reader never sees half a report. */
function writeReport(file: string, content: string): void {
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

export async function reportCommand(argv: string[]): Promise<void> {
  const fail = commandFailure('report');
  const parsed = parseSubcommandLine('report', USAGE, reportFlags, argv);
  if (!parsed) return;
  if (parsed.positionals.length > 0) fail(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`, 2);
  const options = parsed.values;
  const generatedAt = new Date();
  const end = options.end ?? generatedAt;
  let entries;
  try {
    entries = await collectReport(prometheusClient(options.prometheusUrl), {
      windowSeconds: options.window,
      filter: { instance: options.instance || undefined, container: options.container || undefined, composeService: options.composeService || undefined },
      time: end.getTime() / 1000,
      charts: options.format === 'html',
      margin: DEFAULT_MARGIN,
    });
  } catch (error) {
    if (error instanceof PrometheusError || error instanceof NoDataError) fail(error.message, 1);
    throw error;
  }
  const content = renderReport(options.format, entries, { generatedAt, end, windowSeconds: options.window, prometheusUrl: options.prometheusUrl });
  if (options.out === '') process.stdout.write(content);
  else {
    writeReport(options.out, content);
    process.stderr.write(`wrote the ${options.format} report of ${entries.length} container${entries.length === 1 ? '' : 's'} to ${options.out}\n`);
  }
}
