// Alertmanager's webhook payload (version 4), and the alerts in it that automatic sizing acts on (pure).
import { z } from 'zod';

const labels = z.record(z.string().max(1024), z.string().max(4096));

export const webhookSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels,
  commonLabels: labels,
  alerts: z.array(z.object({
    status: z.enum(['firing', 'resolved']),
    labels,
    annotations: labels.optional(),
    startsAt: z.string(),
  })).min(1).max(1000),
});
export type WebhookPayload = z.infer<typeof webhookSchema>;

/** The alerts that ask for more room, at the levels that act. */
export const ACTING_ALERTS = ['HeadroomMemoryHigh', 'HeadroomCpuHigh'] as const;
export const ACTING_SEVERITIES = ['critical', 'danger'] as const;

/** An alert to act on: its container, and the instance and host of the exporter that saw it ('' when unlabelled). */
export interface ActingAlert { container: string; alertname: string; severity: string; instance: string; host: string }

/** Firing alerts of ACTING_ALERTS at ACTING_SEVERITIES that name a container; the count of the others. */
export function actingAlerts(payload: WebhookPayload): { acting: ActingAlert[]; ignored: number } {
  const acting: ActingAlert[] = [];
  for (const alert of payload.alerts) {
    const { alertname = '', severity = '', container = '', instance = '', host = '' } = alert.labels;
    if (alert.status === 'firing' && (ACTING_ALERTS as readonly string[]).includes(alertname) && (ACTING_SEVERITIES as readonly string[]).includes(severity) && container !== '') {
      acting.push({ container, alertname, severity, instance, host });
    }
  }
  return { acting, ignored: payload.alerts.length - acting.length };
}
