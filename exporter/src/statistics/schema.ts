// The usage report an installation POSTs to /statistics, and how a rejection names its field.
import { z } from 'zod';
import { MAX_EXTRA_METRICS, type Rejection } from './limits.js';

export { MAX_BODY_BYTES, MAX_EXTRA_METRICS, type Rejection } from './limits.js';

const identifier = (max: number) => z.string()
  .min(1)
  .max(max)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'letters, digits and . _ : - only, starting with a letter or digit');

const label = z.string()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}\p{Cs}]+$/u, 'no control characters or unpaired surrogates');

const metricName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'metric names are [A-Za-z_][A-Za-z0-9_]*, up to 64 characters');

export const usageReportSchema = z.strictObject({
  /** Chosen by the client, once per report: resending the same report is idempotent. */
  report_id: identifier(64).min(8),
  installation_id: identifier(128),
  active_users: z.int().nonnegative(),
  app_version: label,
  platform: label,
  // z.number() rejects Infinity, which JSON.parse gives for literals such as 1e999.
  metrics: z.record(metricName, z.number())
    .refine((metrics) => Object.keys(metrics).length <= MAX_EXTRA_METRICS, `at most ${MAX_EXTRA_METRICS} metrics`)
    .optional(),
  reported_at: z.iso.datetime({ offset: true }).optional(),
});

export type UsageReport = z.infer<typeof usageReportSchema>;


/** Validates a parsed JSON body; a rejection names the first offending field (dotted path). */
export function parseUsageReport(body: unknown): { report: UsageReport } | { rejection: Rejection } {
  const result = usageReportSchema.safeParse(body);
  if (result.success) return { report: result.data };
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return { rejection: { error: `unknown field (extra numbers go under "metrics")`, field: [...issue.path, issue.keys[0]].join('.') } };
  }
  const field = issue.path.length === 0 ? null : issue.path.map(String).join('.');
  return { rejection: { error: issue.message, field } };
}
