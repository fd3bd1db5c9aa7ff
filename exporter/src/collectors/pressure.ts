// Pressure stall information: the cgroup's own files on v2 (also the unified hierarchy of hybrid hosts),
// else the host's /proc/pressure. No series where the kernel offers none.
import path from 'node:path';
import { readOptionalPressure } from '../cgroup/files.js';
import { setCounter, type CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';

const RESOURCES = ['cpu', 'memory', 'io'] as const;

export function pressureCollector(metrics: CollectorMetrics): Collector {
  return {
    name: 'pressure',
    metrics: [metrics.pressureWaiting, metrics.pressureStalled],
    async collect(context) {
      const unified = (await context.location()).unified;
      for (const resource of RESOURCES) {
        const file = unified ? path.join(unified.dir, `${resource}.pressure`) : path.join(context.procfs, 'pressure', resource);
        const pressure = await readOptionalPressure(file);
        if (!pressure) continue;
        setCounter(metrics.pressureWaiting, pressure.someTotalMicroseconds / 1e6, { resource });
        if (pressure.fullTotalMicroseconds !== undefined) setCounter(metrics.pressureStalled, pressure.fullTotalMicroseconds / 1e6, { resource });
      }
    },
  };
}
