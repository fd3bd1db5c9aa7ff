// processes: processes and threads in the watched cgroup (all of the host's where there is no cgroup).
import { readThreadCount } from '../kernel/processes.js';
import type { CollectorDefinition } from './collector.js';

export const processesCollector: CollectorDefinition = {
  name: 'processes',
  description: 'Processes and threads in the cgroup.',
  define(metric) {
    const processes = metric.gauge('headroom_processes', 'Processes in the cgroup.');
    const threads = metric.gauge('headroom_processes_threads', 'Threads in the cgroup.');
    return (context) => {
      const pids = context.pids();
      processes.set(context.labels, pids.length);
      threads.set(context.labels, readThreadCount(context.location(), context.procfs, pids));
    };
  },
};
