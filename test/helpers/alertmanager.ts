// A real Alertmanager (Debian's /usr/bin/prometheus-alertmanager) on a free loopback port, clustering off,
// with a temporary storage directory.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { startReadyServer, type RunningServer } from './prometheus.js';

export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerOptions {
  /** Path of an alertmanager.yml, or its text in configYaml. */
  configPath?: string;
  configYaml?: string;
  extraArgs?: string[];
}

export interface RunningAlertmanager extends RunningServer {
  /** host:port, as Prometheus's alerting config wants it. */
  address: string;
  storageDir: string;
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: 'unprocessed' | 'active' | 'suppressed'; inhibitedBy: string[]; silencedBy: string[] };
  receivers: { name: string }[];
  fingerprint: string;
}

export async function startAlertmanager(options: AlertmanagerOptions): Promise<RunningAlertmanager> {
  if (options.configPath === undefined && options.configYaml === undefined) throw new Error('startAlertmanager needs configPath or configYaml');
  const configIn = (dir: string) => options.configPath ?? path.join(dir, 'alertmanager.yml');
  const server = await startReadyServer('alertmanager', ALERTMANAGER_BIN, (dir, port) => [
    `--config.file=${configIn(dir)}`,
    `--storage.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // An empty address turns gossip off: no listener on 0.0.0.0:9094.
    '--cluster.listen-address=',
    '--log.level=warn',
    ...(options.extraArgs ?? []),
  ], (dir) => { if (options.configPath === undefined) writeFileSync(configIn(dir), options.configYaml!); });
  return { ...server, address: `127.0.0.1:${server.port}`, storageDir: server.dir };
}

/**
 * Alerts Alertmanager holds, including inhibited and silenced ones (their status.state is "suppressed").
 * `filter` takes matchers such as `alertname="HeadroomMemoryHigh"`.
 */
export async function alertmanagerAlerts(alertmanagerUrl: string, filter: string[] = []): Promise<AlertmanagerAlert[]> {
  const params = new URLSearchParams({ active: 'true', silenced: 'true', inhibited: 'true', unprocessed: 'true' });
  for (const matcher of filter) params.append('filter', matcher);
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts?${params}`);
  if (response.status !== 200) throw new Error(`${alertmanagerUrl}/api/v2/alerts answered ${response.status}`);
  return await response.json() as AlertmanagerAlert[];
}

/** Creates a silence for an hour; returns its id. */
export async function silence(alertmanagerUrl: string, matchers: { name: string; value: string; isRegex?: boolean }[], comment: string): Promise<string> {
  const now = Date.now();
  const response = await fetch(`${alertmanagerUrl}/api/v2/silences`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      matchers: matchers.map((matcher) => ({ isRegex: false, isEqual: true, ...matcher })),
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3600_000).toISOString(),
      createdBy: 'headroom tests',
      comment,
    }),
  });
  if (response.status !== 200) throw new Error(`creating a silence answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { silenceID: string }).silenceID;
}

// Notification sinks the tests run in place of an SMS gateway and a mail relay.

export interface WebhookPayload {
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; fingerprint: string }[];
}
export interface WebhookDelivery { path: string; authorization: string | undefined; payload: WebhookPayload; receivedAt: number }

export interface WebhookSink { url: string; deliveries: WebhookDelivery[]; close(): Promise<void> }

/** An HTTP server on loopback that records every JSON body posted to it (Alertmanager's webhook payload). */
export async function startWebhookSink(): Promise<WebhookSink> {
  const deliveries: WebhookDelivery[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      try {
        deliveries.push({ path: request.url ?? '', authorization: request.headers.authorization, payload: JSON.parse(body) as WebhookPayload, receivedAt: Date.now() });
        response.writeHead(200).end();
      } catch {
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface Mail { from: string; to: string[]; subject: string; /** The decoded message after the headers (all MIME parts). */ body: string; receivedAt: number }
export interface SmtpSink { host: string; port: number; mails: Mail[]; close(): Promise<void> }

/** RFC 2045 quoted-printable, as Alertmanager encodes its mail parts. */
export function decodeQuotedPrintable(text: string): string {
  const bytes = Buffer.from(text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  return bytes.toString('utf8');
}

/** Unfolds headers and decodes RFC 2047 Q/B encoded words in the Subject. */
export function parseMail(raw: string): { subject: string; body: string } {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const encodedSubject = /^Subject: (.*)$/im.exec(headers)?.[1] ?? '';
  const subject = encodedSubject.replace(/=\?utf-8\?([qb])\?(.*?)\?=\s*/gi, (_, kind: string, data: string) => kind.toLowerCase() === 'b'
    ? Buffer.from(data, 'base64').toString('utf8')
    : decodeQuotedPrintable(data.replace(/_/g, ' ')));
  return { subject, body: decodeQuotedPrintable(raw.slice(split)) };
}

/** An SMTP server on loopback, no TLS and no authentication, that keeps every message. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => { raw += chunk; });
      stream.on('end', () => {
        const envelopeFrom = session.envelope.mailFrom;
        mails.push({
          from: envelopeFrom ? envelopeFrom.address : '',
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          ...parseMail(raw),
          receivedAt: Date.now(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as { port: number };
  return { host: '127.0.0.1', port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
