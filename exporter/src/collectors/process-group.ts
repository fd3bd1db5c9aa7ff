// process_group: CPU seconds and resident memory per command name, from each process's /proc/<pid>/stat.
import { systemPageSize } from '../kernel/host.js';
import { USER_HZ } from '../kernel/parse.js';
import { readProcessStats } from '../kernel/processes.js';
import { setCounter } from '../metrics.js';
import type { CollectorDefinition } from './collector.js';
import { groupProcesses } from './group-processes.js';

export const processGroupCollector: CollectorDefinition = {
  name: 'process_group',
  description: 'CPU and resident memory of the cgroup\'s processes by command name: the top N by CPU, the rest as "other".',
  define(metric, options) {
    const cpu = metric.counter('headroom_process_group_cpu_seconds_total', 'CPU time of the live processes of a group (by command name; the top N by CPU, the rest as "other").', ['groupname']);
    const resident = metric.gauge('headroom_process_group_resident_bytes', 'Resident memory of the processes of a group.', ['groupname']);
    const processes = metric.gauge('headroom_process_group_processes', 'Processes in a group.', ['groupname']);
    return (context) => {
      const pageSize = systemPageSize();
      const figures = readProcessStats(context.procfs, context.pids())
        .map((stat) => ({ name: stat.name, cpuSeconds: stat.cpuTicks / USER_HZ, residentBytes: stat.residentPages * pageSize }));
      for (const group of groupProcesses(figures, options.processGroupTop)) {
        const labels = { ...context.labels, groupname: group.groupname };
        setCounter(cpu, group.cpuSeconds, labels);
        resident.set(labels, group.residentBytes);
        processes.set(labels, group.processes);
      }
    };
  },
};
