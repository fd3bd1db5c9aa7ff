// What a resize sends (pure): from a container's limits as `docker inspect` shows them and the sizes asked
// for, the body of POST /containers/{id}/update and the limits the container should have afterwards.
import { z } from 'zod';
import { DEFAULT_CPU_PERIOD, formatCpus, formatMemorySize, MIN_CPU_CORES, MIN_MEMORY_BYTES } from '../sizes.js';
import type { Tier } from '../thresholds.js';

/** The resource fields of HostConfig that a resize reads and may change. */
export const resourcesSchema = z.object({
  Memory: z.number().int(),
  MemorySwap: z.number().int(),
  MemoryReservation: z.number().int(),
  NanoCpus: z.number().int(),
  CpuQuota: z.number().int(),
  CpuPeriod: z.number().int(),
});
export type Resources = z.infer<typeof resourcesSchema>;

/** The sizes asked for; what is left out stays as it is. */
export interface SizeRequest { memoryBytes?: number; cpuCores?: number; memoryReservationBytes?: number }

/** The body of POST /containers/{id}/update: only the fields that change. */
export type UpdateBody = Partial<Resources>;

export interface ResizePlan { update: UpdateBody; before: Resources; after: Resources }

export class ResizeError extends Error {}

export function requestForTier(tier: Tier): SizeRequest {
  return { memoryBytes: tier.memoryLimitBytes, cpuCores: tier.cpuLimitCores, memoryReservationBytes: tier.memoryReservationBytes };
}

/** The CPU limit in cores that a HostConfig sets (NanoCpus, or CpuQuota over CpuPeriod); null for none. */
export function cpuLimitCores(resources: Resources): number | null {
  if (resources.NanoCpus > 0) return resources.NanoCpus / 1e9;
  if (resources.CpuQuota > 0) return resources.CpuQuota / (resources.CpuPeriod || DEFAULT_CPU_PERIOD);
  return null;
}

/**
 * The update for a request. Swap keeps the allowance it had beyond the limit (none, as the stack sets it,
 * stays none; -1, unlimited, stays unlimited); a container that had no memory limit gets no swap beyond the
 * new one. The CPU limit is set the way the container has it (Docker refuses NanoCpus once CpuQuota is set,
 * and the reverse). A reservation at or over the new limit is refused, as Docker would.
 */
export function planResize(before: Resources, request: SizeRequest): ResizePlan {
  const update: UpdateBody = {};
  if (request.memoryBytes !== undefined) {
    const memory = Math.round(request.memoryBytes);
    if (memory < MIN_MEMORY_BYTES) throw new ResizeError(`a memory limit of ${memory} bytes is under Docker's minimum of 6 MiB`);
    if (memory !== before.Memory) {
      update.Memory = memory;
      if (before.MemorySwap === -1) update.MemorySwap = -1;
      else if (before.Memory > 0 && before.MemorySwap > 0) update.MemorySwap = memory + (before.MemorySwap - before.Memory);
      else update.MemorySwap = memory;
    }
  }
  const memoryAfter = update.Memory ?? before.Memory;
  if (request.memoryReservationBytes !== undefined && Math.round(request.memoryReservationBytes) !== before.MemoryReservation) {
    update.MemoryReservation = Math.round(request.memoryReservationBytes);
  }
  const reservationAfter = update.MemoryReservation ?? before.MemoryReservation;
  if (memoryAfter > 0 && reservationAfter >= memoryAfter) {
    throw new ResizeError(`the memory reservation (${formatMemorySize(reservationAfter)}) must stay under the limit (${formatMemorySize(memoryAfter)})`);
  }
  if (request.cpuCores !== undefined) {
    if (!(request.cpuCores >= MIN_CPU_CORES)) throw new ResizeError(`a CPU limit of ${request.cpuCores} is under ${MIN_CPU_CORES}`);
    if (before.CpuQuota > 0 && before.NanoCpus === 0) {
      const quota = Math.round(request.cpuCores * (before.CpuPeriod || DEFAULT_CPU_PERIOD));
      if (quota !== before.CpuQuota) update.CpuQuota = quota;
    } else {
      const nanoCpus = Math.round(request.cpuCores * 1e9);
      if (nanoCpus !== before.NanoCpus) update.NanoCpus = nanoCpus;
    }
  }
  return { update, before, after: { ...before, ...update } };
}

function memoryText(bytes: number): string {
  if (bytes === 0) return 'none';
  if (bytes === -1) return 'unlimited';
  return formatMemorySize(bytes);
}

/** The plan as a table: each figure before and after, marked where it changes. */
export function describePlan(plan: ResizePlan): string {
  const rows: Array<[string, string, string]> = [
    ['memory limit', memoryText(plan.before.Memory), memoryText(plan.after.Memory)],
    ['memory + swap', memoryText(plan.before.MemorySwap), memoryText(plan.after.MemorySwap)],
    ['memory reservation', memoryText(plan.before.MemoryReservation), memoryText(plan.after.MemoryReservation)],
    ['cpus', cpuText(plan.before), cpuText(plan.after)],
  ];
  const lines = [`${'figure'.padEnd(20)}${'now'.padEnd(12)}after`];
  for (const [name, now, after] of rows) lines.push(`${name.padEnd(20)}${now.padEnd(12)}${after}${now === after ? '' : '   (changes)'}`);
  return lines.join('\n');
}

function cpuText(resources: Resources): string {
  const cores = cpuLimitCores(resources);
  return cores === null ? 'none' : formatCpus(cores);
}
