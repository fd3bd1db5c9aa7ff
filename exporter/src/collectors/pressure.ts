// pressure: pressure stall information of the cgroup (v2, also hybrid hosts' unified hierarchy) or of the host.
import { readPressure } from '../kernel/pressure.js';
import { setCounter } from '../metrics.js';
import type { CollectorDefinition } from './collector.js';

export const pressureCollector: CollectorDefinition = {
  name: 'pressure',
  description: 'Pressure stall information (PSI) of the cgroup, or of the host; no series where the kernel offers none.',
  define(metric) {
    const waiting = metric.counter('headroom_pressure_waiting_seconds_total', 'Time some tasks were stalled waiting for the resource (PSI "some").', ['resource']);
    const stalled = metric.counter('headroom_pressure_stalled_seconds_total', 'Time all non-idle tasks were stalled on the resource (PSI "full").', ['resource']);
    return (context) => {
      for (const [resource, pressure] of readPressure(context.location(), context.procfs)) {
        const labels = { ...context.labels, resource };
        setCounter(waiting, pressure.someTotalMicroseconds / 1e6, labels);
        if (pressure.fullTotalMicroseconds !== undefined) setCounter(stalled, pressure.fullTotalMicroseconds / 1e6, labels);
      }
    };
  },
};
