// The declared sizes (MEMORY_LIMIT, CPU_LIMIT, MEMORY_RESERVATION, CPU_RESERVATION) as constant families.
import { gauge, type FamilySpec } from './scrape/samples.js';

export interface DeclaredSizes { memoryLimitBytes: number; cpuLimitCores: number; memoryReservationBytes: number; cpuReservationCores: number }

export function declaredFamilies(sizes: DeclaredSizes): Array<[FamilySpec, number]> {
  return [
    [gauge('headroom_declared_memory_limit_bytes', 'Declared memory limit (MEMORY_LIMIT).'), sizes.memoryLimitBytes],
    [gauge('headroom_declared_cpu_limit_cores', 'Declared CPU limit (CPU_LIMIT).'), sizes.cpuLimitCores],
    [gauge('headroom_declared_memory_reservation_bytes', 'Declared memory reservation (MEMORY_RESERVATION).'), sizes.memoryReservationBytes],
    [gauge('headroom_declared_cpu_reservation_cores', 'Declared CPU reservation (CPU_RESERVATION).'), sizes.cpuReservationCores],
  ];
}
