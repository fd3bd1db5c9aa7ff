// Compose's size syntax: memory as `2048M`, `2g`, `512mb`, `1073741824` (bytes); CPUs as `2.0`. And the
// smallest limits Docker sets.

/** Docker refuses a memory limit under 6 MiB. */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** Docker's smallest CPU limit (--cpus=0.01). */
export const MIN_CPU_CORES = 0.01;
/** The CFS period Docker uses when a container sets none (CpuPeriod 0). */
export const DEFAULT_CPU_PERIOD = 100_000;

const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i;

/** Bytes for a compose memory size, or null when the text is not one. */
export function parseMemorySize(text: string): number | null {
  const match = MEMORY_PATTERN.exec(text.trim());
  if (!match) return null;
  const multiplier = MEMORY_UNITS[match[2]!.toLowerCase()]!;
  const bytes = Math.round(Number(match[1]) * multiplier);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : null;
}

/** Cores for a compose CPU count, or null when the text is not one. */
export function parseCpus(text: string): number | null {
  if (!/^\d+(?:\.\d+)?$/.test(text.trim())) return null;
  const cores = Number(text);
  return cores > 0 ? cores : null;
}

/** Compose's memory syntax for bytes, in whole MiB (`2048M`). */
export function formatMemorySize(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)}M`;
}

/** Compose's CPU syntax (`2.0`, `0.25`). */
export function formatCpus(cores: number): string {
  return Number.isInteger(cores) ? cores.toFixed(1) : String(cores);
}
