// processes: processes and threads in the watched cgroup (all of the host's where there is no cgroup).
import type { CollectorDefinition } from '../scrape/collector.js';
import { readThreadCount } from '../kernel/processes.js';
import { gauge } from '../scrape/samples.js';

const PROCESSES = gauge('headroom_processes', 'Processes in the cgroup.');
const THREADS = gauge('headroom_processes_threads', 'Threads in the cgroup.');

export const processesCollector: CollectorDefinition = {
  name: 'processes',
  description: 'Processes and threads in the cgroup.',
  families: [PROCESSES, THREADS],
  create: () => (reading, out) => {
    const pids = reading.pids();
    const threads = readThreadCount(reading.location(), reading.procfs, pids);
    out.add(PROCESSES, pids.length);
    out.add(THREADS, threads);
  },
};
