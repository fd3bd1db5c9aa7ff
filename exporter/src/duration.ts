// Prometheus's duration syntax, both ways.

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** A Prometheus duration (`30s`, `5m`, `90d`, `1h30m`) in seconds, or null when the text is not one. */
export function parseDuration(raw: string): number | null {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(raw)) return null;
  let seconds = 0;
  for (const [, amount, unit] of raw.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return seconds > 0 ? seconds : null;
}

/** Seconds as a Prometheus duration in the largest unit that divides them: `7d`, `36h`, `90m`, `45s`, `0s`. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
