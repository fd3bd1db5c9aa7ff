// The one line of results bench/post-report.lua prints at the end of a wrk run. Pure.
import { z } from 'zod';

const wrkResultSchema = z.object({
  requests: z.int().nonnegative(),
  duration_us: z.int().positive(),
  p50_us: z.int().nonnegative(),
  p99_us: z.int().nonnegative(),
  socket_errors: z.int().nonnegative(),
  statuses: z.record(z.string().regex(/^\d{3}$/), z.int().nonnegative()),
});

export type WrkResult = z.infer<typeof wrkResultSchema>;

export const WRK_RESULT_MARKER = 'WRK_RESULT ';

export function parseWrkResult(stdout: string): WrkResult {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith(WRK_RESULT_MARKER));
  if (line === undefined) throw new Error(`wrk printed no ${WRK_RESULT_MARKER.trim()} line:\n${stdout.slice(0, 2000)}`);
  return wrkResultSchema.parse(JSON.parse(line.slice(WRK_RESULT_MARKER.length)));
}
