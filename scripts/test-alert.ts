// `make test-alert`: posts one synthetic danger alert to the stack's Alertmanager (API v2), then says which
// receiver it was routed to, where each of that receiver's integrations sends, and whether Alertmanager
// delivered it (its own notification counters). Exit 1 when an integration failed or nothing was sent.
//   node dist/scripts/test-alert.js --alertmanager.url=http://127.0.0.1:9093 [--wait=60s]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { parseDuration } from '../exporter/src/duration.js';
import { httpUrl } from '../exporter/src/flags.js';

export const TEST_ALERTNAME = 'HeadroomTestAlert';

interface Receiver {
  name: string;
  email_configs?: Array<{ to: string; smarthost?: string }>;
  webhook_configs?: Array<{ url: string }>;
}

export interface Destination { integration: 'email' | 'webhook'; where: string }

/** Where a receiver of a configuration (Alertmanager's YAML) sends: pure. */
export function destinations(configYaml: string, receiverName: string): Destination[] {
  const config = parse(configYaml) as { global?: { smtp_smarthost?: string }; receivers?: Receiver[] };
  const receiver = config.receivers?.find((candidate) => candidate.name === receiverName);
  if (!receiver) return [];
  return [
    ...(receiver.email_configs ?? []).map((email): Destination => ({ integration: 'email', where: `mail to ${email.to} via ${email.smarthost ?? config.global?.smtp_smarthost ?? '?'}` })),
    ...(receiver.webhook_configs ?? []).map((webhook): Destination => ({ integration: 'webhook', where: `webhook ${webhook.url}` })),
  ];
}

/** Sum of a counter's samples by their `integration` label, from Alertmanager's /metrics text: pure. */
export function countsByIntegration(metricsText: string, metric: string): Map<string, number> {
  const counts = new Map<string, number>();
  const pattern = new RegExp(`^${metric}\\{([^}]*)\\}\\s+(\\S+)`);
  for (const line of metricsText.split('\n')) {
    const match = pattern.exec(line);
    const integration = match && /integration="([^"]*)"/.exec(match[1]!)?.[1];
    if (!match || !integration) continue;
    counts.set(integration, (counts.get(integration) ?? 0) + Number(match[2]));
  }
  return counts;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  const text = await response.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

async function counters(base: string): Promise<{ sent: Map<string, number>; failed: Map<string, number> }> {
  const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { sent: countsByIntegration(text, 'alertmanager_notifications_total'), failed: countsByIntegration(text, 'alertmanager_notifications_failed_total') };
}

async function main(argv: string[]): Promise<number> {
  const fail = (message: string, code = 2) => {
    process.stderr.write(`test-alert: ${message}\n`);
    return code;
  };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { 'alertmanager.url': { type: 'string', default: 'http://127.0.0.1:9093' }, wait: { type: 'string', default: '60s' } }, strict: true }));
  } catch (error) {
    return fail((error as Error).message);
  }
  const url = httpUrl(values['alertmanager.url']);
  if (!url) return fail(`--alertmanager.url: expected http(s)://HOST:PORT, got ${JSON.stringify(values['alertmanager.url'])}`);
  const waitSeconds = parseDuration(values.wait);
  if (waitSeconds === null) return fail(`--wait: expected a duration such as 60s, got ${JSON.stringify(values.wait)}`);
  const base = url.replace(/\/$/, '');
  try {
    const status = await json<{ config: { original: string } }>(`${base}/api/v2/status`);
    const before = await counters(base);
    // An instance of its own: a new group, notified at once (danger's group_wait is 0) on each run.
    const instance = `make-test-alert-${new Date().toISOString()}`;
    const now = Date.now();
    await json(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{
        labels: { alertname: TEST_ALERTNAME, severity: 'danger', instance },
        annotations: { summary: 'A test notification from make test-alert: nothing is wrong.', description: 'Sent to check that alerts reach you by every route of the danger level.' },
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + 5 * 60_000).toISOString(),
      }]),
    });
    const filter = encodeURIComponent(`instance="${instance}"`);
    const [alert] = await json<Array<{ receivers: Array<{ name: string }> }>>(`${base}/api/v2/alerts?filter=${filter}`);
    if (!alert) return fail(`${base} did not keep the test alert`, 1);
    const receivers = alert.receivers.map((receiver) => receiver.name);
    const sent = receivers.flatMap((name) => destinations(status.config.original, name));
    process.stdout.write(`posted ${TEST_ALERTNAME} (severity danger, instance ${instance}) to ${base}\nrouted to ${receivers.map((name) => `receiver "${name}"`).join(', ')}\n`);
    if (sent.length === 0) return fail(`receiver ${receivers.join(', ')} sends nowhere`, 1);
    // Each integration's counters move once Alertmanager has tried to notify.
    const expected = new Map<string, number>();
    for (const destination of sent) expected.set(destination.integration, (expected.get(destination.integration) ?? 0) + 1);
    const deadline = Date.now() + waitSeconds * 1000;
    let after = before;
    const settled = (integration: string) => (after.sent.get(integration) ?? 0) - (before.sent.get(integration) ?? 0) >= expected.get(integration)!;
    while (Date.now() < deadline && ![...expected.keys()].every(settled)) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      after = await counters(base);
    }
    let failures = 0;
    for (const destination of sent) {
      const failed = (after.failed.get(destination.integration) ?? 0) - (before.failed.get(destination.integration) ?? 0);
      const verdict = !settled(destination.integration) ? `not sent within ${values.wait}` : failed > 0 ? `FAILED (make logs ARGS=alertmanager says why)` : 'delivered';
      if (verdict !== 'delivered') failures += 1;
      process.stdout.write(`  ${destination.where}: ${verdict}\n`);
    }
    return failures === 0 ? 0 : 1;
  } catch (error) {
    return fail(`${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ''}: is the stack up (make up)?`, 1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
