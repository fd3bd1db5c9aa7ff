// pressure: pressure stall information of the cgroup (v2, also hybrid hosts' unified hierarchy) or of the host.
import type { CollectorDefinition } from '../scrape/collector.js';
import { readPressure } from '../kernel/pressure.js';
import { counter } from '../scrape/samples.js';

const WAITING = counter('headroom_pressure_waiting_seconds_total', 'Time some tasks were stalled waiting for the resource (PSI "some").', ['resource']);
const STALLED = counter('headroom_pressure_stalled_seconds_total', 'Time all non-idle tasks were stalled on the resource (PSI "full").', ['resource']);

export const pressureCollector: CollectorDefinition = {
  name: 'pressure',
  description: 'Pressure stall information (PSI) of the cgroup, or of the host; no series where the kernel offers none.',
  families: [WAITING, STALLED],
  create: () => (reading, out) => {
    for (const [resource, pressure] of readPressure(reading.location(), reading.procfs)) {
      out.add(WAITING, pressure.someTotalMicroseconds / 1e6, { resource });
      if (pressure.fullTotalMicroseconds !== undefined) out.add(STALLED, pressure.fullTotalMicroseconds / 1e6, { resource });
    }
  },
};
