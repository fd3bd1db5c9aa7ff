// A minimal client of the Prometheus HTTP API: instant queries returning vectors.
import { z } from 'zod';

const vectorResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
});

const matrixResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(z.tuple([z.number(), z.string()])) })),
  }),
});

const errorResponse = z.object({ status: z.literal('error'), errorType: z.string().optional(), error: z.string() });

export interface Sample { labels: Record<string, string>; value: number }
/** A range query's series: its labels and [Unix seconds, value] points. */
export interface RangeSeries { labels: Record<string, string>; points: Array<[number, number]> }

export class PrometheusError extends Error {}

export interface PrometheusClient {
  /** Evaluates `expr` at `time` (Unix seconds; Prometheus's now when undefined). */
  query(expr: string, time?: number): Promise<Sample[]>;
  /** Evaluates `expr` from `start` to `end` (Unix seconds) every `stepSeconds`. */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<RangeSeries[]>;
}

export function prometheusClient(baseUrl: string, timeoutMs = 30_000): PrometheusClient {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  /** POSTs the form to the endpoint and parses a successful answer with `schema`. */
  const ask = async <T>(path: string, body: URLSearchParams, schema: z.ZodType<T>): Promise<T> => {
    const endpoint = new URL(path, base);
    const expr = body.get('query');
    let response: Response;
    try {
      response = await fetch(endpoint, { method: 'POST', body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new PrometheusError(`cannot reach Prometheus at ${endpoint.origin}: ${(error as Error).message}`);
    }
    const json: unknown = await response.json().catch(() => undefined);
    const failed = errorResponse.safeParse(json);
    if (failed.success) throw new PrometheusError(`Prometheus rejected ${expr}: ${failed.data.error}`);
    const parsed = schema.safeParse(json);
    if (!response.ok || !parsed.success) throw new PrometheusError(`unexpected answer from ${endpoint} (HTTP ${response.status}) to ${expr}`);
    return parsed.data;
  };
  return {
    async query(expr, time) {
      const body = new URLSearchParams({ query: expr });
      if (time !== undefined) body.set('time', String(time));
      const answer = await ask('api/v1/query', body, vectorResponse);
      return answer.data.result.map((entry) => ({ labels: entry.metric, value: Number(entry.value[1]) }));
    },
    async queryRange(expr, start, end, stepSeconds) {
      const body = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(stepSeconds) });
      const answer = await ask('api/v1/query_range', body, matrixResponse);
      return answer.data.result.map((entry) => ({ labels: entry.metric, points: entry.values.map(([time, text]): [number, number] => [time, Number(text)]) }));
    },
  };
}
