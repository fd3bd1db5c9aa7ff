// The Alertmanager configuration: routing by severity, inhibition between severities, receivers.
// Pure: the site (mail relay, addresses, SMS gateway) is a parameter; secrets are only ever file paths.
import { z } from 'zod';
import { formatDuration } from '../exporter/src/duration.js';
import { SEVERITIES, type Severity } from './rules.js';
import { ACTING_ALERTS, ACTING_SEVERITIES } from '../exporter/src/autosize/payload.js';
import { AUTOSIZE_WEBHOOK_PATH } from '../exporter/src/autosize/paths.js';

export interface AlertmanagerSite {
  smtpSmarthost: string;
  smtpFrom: string;
  emailTo: string;
  smtpRequireTls: boolean;
  /** SMTP authentication: both or neither. */
  smtpUsername?: string;
  smtpPasswordFile?: string;
  /** The SMS or chat gateway's webhook endpoint (no secret in it: the token is read from smsTokenFile); none: mail only. */
  smsWebhookUrl?: string;
  smsTokenFile?: string;
  /** headroom's automatic sizing webhook (POST /autosize/alertmanager) and the file of its bearer token. */
  autosizeWebhookUrl: string;
  autosizeTokenFile: string;
}

/** What the committed alertmanager.yml holds: a local relay and loopback gateway, secrets from files. */
export const DEFAULT_SITE: AlertmanagerSite = {
  smtpSmarthost: 'localhost:25',
  smtpFrom: 'headroom@localhost',
  emailTo: 'oncall@localhost',
  smtpRequireTls: true,
  smsWebhookUrl: 'http://127.0.0.1:9099/sms',
  smsTokenFile: '/etc/alertmanager/secrets/sms-gateway-token',
  autosizeWebhookUrl: `http://127.0.0.1:9477${AUTOSIZE_WEBHOOK_PATH}`,
  autosizeTokenFile: '/etc/alertmanager/secrets/autosize-token',
};

const booleanText = z.enum(['true', 'false']).transform((text) => text === 'true');

/** The site from HEADROOM_ALERT_* environment variables, each defaulting to DEFAULT_SITE. */
export const SITE_ENVIRONMENT = z.object({
  HEADROOM_ALERT_SMTP_SMARTHOST: z.string().regex(/^[^\s:]+:\d+$/, 'host:port').default(DEFAULT_SITE.smtpSmarthost),
  HEADROOM_ALERT_EMAIL_FROM: z.string().regex(/^[^\s@]+@[^\s@]+$/, 'an address').default(DEFAULT_SITE.smtpFrom),
  HEADROOM_ALERT_EMAIL_TO: z.string().regex(/^[^\s@,]+@[^\s@,]+(,[^\s@,]+@[^\s@,]+)*$/, 'address[,address...]').default(DEFAULT_SITE.emailTo),
  HEADROOM_ALERT_SMTP_REQUIRE_TLS: booleanText.default(DEFAULT_SITE.smtpRequireTls),
  HEADROOM_ALERT_SMTP_USERNAME: z.string().min(1).optional(),
  HEADROOM_ALERT_SMTP_PASSWORD_FILE: z.string().startsWith('/').optional(),
  // Empty: no webhook (the danger page goes by mail alone).
  HEADROOM_ALERT_SMS_WEBHOOK_URL: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]).optional(),
  HEADROOM_ALERT_SMS_TOKEN_FILE: z.string().startsWith('/').default(DEFAULT_SITE.smsTokenFile!),
  HEADROOM_ALERT_AUTOSIZE_URL: z.url({ protocol: /^https?$/ }).default(DEFAULT_SITE.autosizeWebhookUrl),
  HEADROOM_ALERT_AUTOSIZE_TOKEN_FILE: z.string().startsWith('/').default(DEFAULT_SITE.autosizeTokenFile),
}).refine((env) => (env.HEADROOM_ALERT_SMTP_USERNAME === undefined) === (env.HEADROOM_ALERT_SMTP_PASSWORD_FILE === undefined), {
  message: 'HEADROOM_ALERT_SMTP_USERNAME and HEADROOM_ALERT_SMTP_PASSWORD_FILE go together',
}).transform((env): AlertmanagerSite => ({
  smtpSmarthost: env.HEADROOM_ALERT_SMTP_SMARTHOST,
  smtpFrom: env.HEADROOM_ALERT_EMAIL_FROM,
  emailTo: env.HEADROOM_ALERT_EMAIL_TO,
  smtpRequireTls: env.HEADROOM_ALERT_SMTP_REQUIRE_TLS,
  smtpUsername: env.HEADROOM_ALERT_SMTP_USERNAME,
  smtpPasswordFile: env.HEADROOM_ALERT_SMTP_PASSWORD_FILE,
  ...(env.HEADROOM_ALERT_SMS_WEBHOOK_URL === '' ? {} : { smsWebhookUrl: env.HEADROOM_ALERT_SMS_WEBHOOK_URL ?? DEFAULT_SITE.smsWebhookUrl!, smsTokenFile: env.HEADROOM_ALERT_SMS_TOKEN_FILE }),
  autosizeWebhookUrl: env.HEADROOM_ALERT_AUTOSIZE_URL,
  autosizeTokenFile: env.HEADROOM_ALERT_AUTOSIZE_TOKEN_FILE,
}));

interface RouteTimings { groupWait: number; groupInterval: number; repeatInterval: number }

/** Seconds. danger pages at once and repeats often; critical mails quickly; warning waits to batch. */
export const ROUTE_TIMINGS: Record<Severity, RouteTimings> = {
  danger: { groupWait: 0, groupInterval: 60, repeatInterval: 15 * 60 },
  critical: { groupWait: 10, groupInterval: 2 * 60, repeatInterval: 60 * 60 },
  warning: { groupWait: 2 * 60, groupInterval: 10 * 60, repeatInterval: 12 * 3600 },
};

export const RECEIVERS = { page: 'page', email: 'email', autosize: 'autosize' } as const;

/**
 * Automatic sizing hears the critical and danger alerts that ask for more room, once per container; a
 * sustained alert is sent again after the exporter's default cooldown. The other routes still notify.
 */
export const AUTOSIZE_TIMINGS: RouteTimings = { groupWait: 0, groupInterval: 5 * 60, repeatInterval: 30 * 60 };
/** One container's alerts of one kind together; inhibition compares the same labels. */
/** One notification per alert and watched service: in host mode the container tells the services of a host apart. */
export const GROUP_BY = ['alertname', 'host', 'instance', 'container'];

export interface AlertmanagerOptions {
  site: AlertmanagerSite;
  /** Divides every timing (the end-to-end test); 1 in the committed file. */
  timeScale: number;
}

function scaled(seconds: number, timeScale: number): string {
  return formatDuration(seconds === 0 ? 0 : Math.max(1, Math.round(seconds / timeScale)));
}

/** Names every alert of the notification, so a warning digest with several alertnames still says what it holds. */
const SUBJECT = '[{{ .Status | toUpper }}] {{ .CommonLabels.severity }} on {{ with .CommonLabels.container }}{{ . }} on {{ end }}{{ .CommonLabels.instance }}{{ with .CommonLabels.host }} on host {{ . }}{{ end }}: '
  + '{{ range $index, $alert := .Alerts }}{{ if $index }}, {{ end }}{{ $alert.Labels.alertname }}{{ if eq $alert.Status "resolved" }} (resolved){{ end }}{{ end }}';
/** A plain-text part next to Alertmanager's HTML one: one paragraph per alert. */
const TEXT = '{{ range .Alerts }}{{ .Status | toUpper }} {{ .Labels.alertname }} severity={{ .Labels.severity }} instance={{ .Labels.instance }}{{ with .Labels.container }} container={{ . }}{{ end }}{{ with .Labels.host }} host={{ . }}{{ end }}\n'
  + '{{ .Annotations.summary }}\n{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n\n{{ end }}';

export function alertmanagerConfig(options: AlertmanagerOptions): Record<string, unknown> {
  const { site, timeScale } = options;
  const email = { to: site.emailTo, send_resolved: true, headers: { Subject: SUBJECT }, text: TEXT };
  const sms = site.smsWebhookUrl === undefined ? undefined : {
    url: site.smsWebhookUrl,
    send_resolved: true,
    ...(site.smsTokenFile ? { http_config: { authorization: { type: 'Bearer', credentials_file: site.smsTokenFile } } } : {}),
  };
  const routeFor = (severity: Severity) => ({
    receiver: severity === 'danger' ? RECEIVERS.page : RECEIVERS.email,
    matchers: [`severity="${severity}"`],
    // Warnings of one container arrive as one digest; the louder levels stay per alertname.
    ...(severity === 'warning' ? { group_by: ['instance'] } : {}),
    group_wait: scaled(ROUTE_TIMINGS[severity].groupWait, timeScale),
    group_interval: scaled(ROUTE_TIMINGS[severity].groupInterval, timeScale),
    repeat_interval: scaled(ROUTE_TIMINGS[severity].repeatInterval, timeScale),
  });
  const autosizeRoute = {
    receiver: RECEIVERS.autosize,
    matchers: [`alertname=~"${ACTING_ALERTS.join('|')}"`, `severity=~"${ACTING_SEVERITIES.join('|')}"`, 'container=~".+"'],
    group_by: GROUP_BY,
    group_wait: scaled(AUTOSIZE_TIMINGS.groupWait, timeScale),
    group_interval: scaled(AUTOSIZE_TIMINGS.groupInterval, timeScale),
    repeat_interval: scaled(AUTOSIZE_TIMINGS.repeatInterval, timeScale),
    continue: true,
  };
  const autosize = {
    url: site.autosizeWebhookUrl,
    send_resolved: false,
    http_config: { authorization: { type: 'Bearer', credentials_file: site.autosizeTokenFile } },
  };
  return {
    global: {
      smtp_smarthost: site.smtpSmarthost,
      smtp_from: site.smtpFrom,
      smtp_require_tls: site.smtpRequireTls,
      ...(site.smtpUsername ? { smtp_auth_username: site.smtpUsername, smtp_auth_password_file: site.smtpPasswordFile } : {}),
    },
    route: {
      receiver: RECEIVERS.email,
      group_by: GROUP_BY,
      group_wait: scaled(ROUTE_TIMINGS.critical.groupWait, timeScale),
      group_interval: scaled(ROUTE_TIMINGS.critical.groupInterval, timeScale),
      repeat_interval: scaled(ROUTE_TIMINGS.critical.repeatInterval, timeScale),
      routes: [autosizeRoute, ...[...SEVERITIES].reverse().map(routeFor)],
    },
    inhibit_rules: [
      // A source without an instance label would count as equal to every instance: require one.
      { source_matchers: ['severity="danger"', 'instance=~".+"'], target_matchers: ['severity=~"warning|critical"'], equal: GROUP_BY },
      { source_matchers: ['severity="critical"', 'instance=~".+"'], target_matchers: ['severity="warning"'], equal: GROUP_BY },
    ],
    receivers: [
      { name: RECEIVERS.page, ...(sms === undefined ? {} : { webhook_configs: [sms] }), email_configs: [email] },
      { name: RECEIVERS.email, email_configs: [email] },
      { name: RECEIVERS.autosize, webhook_configs: [autosize] },
    ],
  };
}
