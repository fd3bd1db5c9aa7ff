// `headroom recommend`: reads a window of history from Prometheus and prints the deployment size it needs.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { commandFailure, httpUrl, parseSubcommandLine, text, type FlagSpec } from '../flags.js';
import { DEFAULT_MARGIN, recommend } from './decide.js';
import { NoDataError, collectUsage } from './collect.js';
import { PrometheusError, prometheusClient } from './prometheus.js';
import { DEFAULT_WINDOW_SECONDS } from './queries.js';
import { renderJson, renderText } from './report.js';
import { renderCsv, renderTable, tableRow } from './table.js';
import { stringify } from 'yaml';
import { sizingVariables, updateEnvText } from './envfile.js';
import { formatDuration, parseDuration } from '../duration.js';

const USAGE = `usage: headroom recommend [flags]

Reads CPU and memory history from Prometheus and recommends the smallest deployment size (small, medium,
large, or custom limits) that keeps P95 CPU and peak memory, plus a margin, under the warning threshold.
Without --instance, --container, --compose-service or --compose-project: one table of every container.`;

const FORMATS = ['text', 'json', 'csv', 'yaml'] as const;
type Format = (typeof FORMATS)[number];

function margin(raw: string): number | null {
  return /^\d+(\.\d+)?$/.test(raw) && Number(raw) < 10 ? Number(raw) : null;
}

export const recommendFlags = {
  prometheusUrl: { name: 'prometheus.url', env: 'PROMETHEUS_URL', default: 'http://127.0.0.1:9090', form: 'http(s)://HOST:PORT', help: 'Prometheus server that scrapes headroom.', parse: (raw: string) => httpUrl(raw) ?? null },
  window: { name: 'window', default: formatDuration(DEFAULT_WINDOW_SECONDS), form: 'DURATION (e.g. 7d)', help: 'History to read.', parse: parseDuration },
  instance: { name: 'instance', default: '', form: 'HOST:PORT', help: 'The `instance` label to size; none sizes every instance with data.', parse: text },
  container: { name: 'container', default: '', form: 'NAME', help: 'Host mode: the container to size; none sizes every container with data.', parse: text },
  composeService: { name: 'compose-service', default: '', form: 'NAME', help: 'Host mode: the containers of this compose service, of any project (make tune SERVICE=NAME).', parse: text },
  composeProject: { name: 'compose-project', default: '', form: 'NAME', help: 'Host mode: the containers of this compose project (or swarm stack).', parse: text },
  format: { name: 'format', default: 'text', form: FORMATS.join('|'), help: 'Output format: text (one table without a selector), json, csv (the table), yaml.', parse: (raw: string) => (FORMATS as readonly string[]).includes(raw) ? raw as Format : null },
  writeEnv: { name: 'write-env', default: '', form: 'FILE', help: 'Compose env file to write MEMORY_LIMIT, CPU_LIMIT, MEMORY_RESERVATION, CPU_RESERVATION into (other lines are kept).', parse: text },
  margin: { name: 'margin', default: String(DEFAULT_MARGIN), form: 'FRACTION (e.g. 0.15)', help: 'Safety margin on top of the observed usage.', parse: margin },
} satisfies Record<string, FlagSpec<unknown>>;

function writeEnvFile(file: string, variables: Record<string, string>): void {
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, updateEnvText(before, variables));
  renameSync(temporary, file);
}

export async function recommendCommand(argv: string[]): Promise<void> {
  const fail = commandFailure('recommend');
  const parsed = parseSubcommandLine('recommend', USAGE, recommendFlags, argv);
  if (!parsed) return;
  if (parsed.positionals.length > 0) fail(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`, 2);
  const options = parsed.values;

  let usages;
  try {
    usages = await collectUsage(prometheusClient(options.prometheusUrl), options.window, { instance: options.instance || undefined, container: options.container || undefined, composeService: options.composeService || undefined, composeProject: options.composeProject || undefined });
  } catch (error) {
    if (error instanceof PrometheusError || error instanceof NoDataError) fail(error.message, 1);
    throw error;
  }
  if (options.writeEnv !== '' && usages.length > 1) {
    fail(`--write-env needs one service; choose one with --instance, --container, --compose-service or --compose-project (${usages.map((usage) => (usage.container ? `${usage.container}${usage.composeService ? ` (${usage.composeProject ?? ''}/${usage.composeService})` : ''} on ${usage.instance}` : usage.instance)).join(', ')})`, 2);
  }
  const results = usages.map((usage) => ({ usage, recommendation: recommend(usage, options.margin) }));
  const selected = [options.instance, options.container, options.composeService, options.composeProject].some((value) => value !== '');
  const format: Format = options.format;
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(results.map(({ usage, recommendation }) => renderJson(usage, recommendation)), null, 2)}\n`);
  } else if (format === 'yaml') {
    process.stdout.write(stringify(results.map(({ usage, recommendation }) => renderJson(usage, recommendation)), { lineWidth: 0 }));
  } else if (format === 'csv') {
    process.stdout.write(renderCsv(results.map(({ usage, recommendation }) => tableRow(usage, recommendation))));
  } else if (!selected && options.writeEnv === '') {
    process.stdout.write(`${renderTable(results.map(({ usage, recommendation }) => tableRow(usage, recommendation)))}\n`);
  } else {
    process.stdout.write(`${results.map(({ usage, recommendation }) => renderText(usage, recommendation)).join('\n\n')}\n`);
  }
  if (options.writeEnv !== '') {
    const variables = sizingVariables(results[0]!.recommendation.sizing);
    writeEnvFile(options.writeEnv, variables);
    process.stderr.write(`wrote ${Object.keys(variables).join(', ')} to ${options.writeEnv}\n`);
  }
}
