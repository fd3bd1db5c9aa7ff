// The `target` sub-status of /health: the watched application's own health URL (--target.health-url).
// Not required: a failing target is what headroom reports, not a reason to restart headroom itself.
import type { CheckOutcome, ProbeCheck, SubStatus } from './health.js';
import type { ExtensionFactory } from './extension.js';

/** Well under the container healthcheck's timeout, so /health answers in time when the target hangs. */
export const TARGET_CHECK_TIMEOUT_MS = 3000;
/** A target's health body larger than this is not read for sub-statuses. */
const MAX_TARGET_BODY_BYTES = 64 * 1024;
/** Keys under which health endpoints commonly list their sub-statuses (Spring's `components`, ...). */
const SUB_STATUS_KEYS = ['checks', 'components', 'services', 'details'];
const FAILING_WORDS = new Set(['error', 'fail', 'failed', 'failing', 'down', 'unhealthy', 'critical']);

/** Pure: the outcome for a target's HTTP status and (possibly absent) JSON body. */
export function interpretTargetHealth(httpStatus: number, body: unknown): CheckOutcome {
  const details: Record<string, unknown> = { http_status: httpStatus };
  let reportedStatus: string | undefined;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.status === 'string') reportedStatus = record.status;
    if (reportedStatus !== undefined) details.status = reportedStatus;
    const key = SUB_STATUS_KEYS.find((candidate) => record[candidate] !== null && typeof record[candidate] === 'object');
    if (key !== undefined) details.checks = record[key];
  }
  let status: SubStatus;
  if (httpStatus < 200 || httpStatus > 299) status = 'failing';
  else if (reportedStatus !== undefined && FAILING_WORDS.has(reportedStatus.toLowerCase())) status = 'degraded';
  else status = 'ok';
  const message = `HTTP ${httpStatus}${reportedStatus === undefined ? '' : `, status ${JSON.stringify(reportedStatus)}`}`;
  return { status, message, details };
}

async function readCapped(response: Response): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > MAX_TARGET_BODY_BYTES || !response.body) return undefined;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > MAX_TARGET_BODY_BYTES) { await reader.cancel(); return undefined; }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function targetCheck(url: string, timeoutMs = TARGET_CHECK_TIMEOUT_MS): ProbeCheck {
  const shown = new URL(url);
  shown.password = '';
  const shownUrl = shown.toString();
  return {
    name: 'target',
    required: false,
    timeoutMs,
    async probe() {
      // The abort frees the socket of a target that never answers; the health runner's timeout answers first.
      const signal = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, { signal, headers: { accept: 'application/json' }, redirect: 'manual' });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        return { status: 'failing', message: signal.aborted ? `no answer within ${timeoutMs} ms` : `${shownUrl}: ${cause ?? (error as Error).message}` };
      }
      let body: unknown;
      try {
        const text = await readCapped(response);
        body = text === undefined ? undefined : JSON.parse(text);
      } catch {
        body = undefined;
      }
      const outcome = interpretTargetHealth(response.status, body);
      return { ...outcome, details: { url: shownUrl, ...outcome.details } };
    },
  };
}

export const targetHealthExtension: ExtensionFactory = {
  name: 'the target\'s health check',
  start: async ({ config }) => ({ probes: config.targetHealthUrl === undefined ? [] : [targetCheck(config.targetHealthUrl)] }),
};
