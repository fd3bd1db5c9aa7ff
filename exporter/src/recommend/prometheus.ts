// A minimal client of the Prometheus HTTP API: instant queries returning vectors.
import { z } from 'zod';

const vectorResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
});

const errorResponse = z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() });

export interface Sample { labels: Record<string, string>; value: number }

export class PrometheusError extends Error {}

export interface PrometheusClient {
  /** Evaluates `expr` at `time` (Unix seconds; Prometheus's now when undefined). */
  query(expr: string, time?: number): Promise<Sample[]>;
}

export function prometheusClient(baseUrl: string, timeoutMs = 30_000): PrometheusClient {
  const endpoint = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return {
    async query(expr, time) {
      const body = new URLSearchParams({ query: expr });
      if (time !== undefined) body.set('time', String(time));
      let response: Response;
      try {
        response = await fetch(endpoint, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        throw new PrometheusError(`cannot reach Prometheus at ${endpoint.origin}: ${(error as Error).message}`);
      }
      const json: unknown = await response.json().catch(() => undefined);
      const failed = errorResponse.safeParse(json);
      if (failed.success) throw new PrometheusError(`Prometheus rejected ${expr}: ${failed.data.error}`);
      const parsed = vectorResponse.safeParse(json);
      if (!response.ok || !parsed.success) throw new PrometheusError(`unexpected answer from ${endpoint} (HTTP ${response.status}) to ${expr}`);
      return parsed.data.data.result.map((entry) => ({ labels: entry.metric, value: Number(entry.value[1]) }));
    },
  };
}
