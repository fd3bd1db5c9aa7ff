// process_group: CPU seconds and resident memory per command name, from each process's /proc/<pid>/stat.
import type { CollectorDefinition } from '../scrape/collector.js';
import { systemPageSize } from '../kernel/host.js';
import { USER_HZ } from '../kernel/parse.js';
import { readProcessStats } from '../kernel/processes.js';
import { counter, gauge } from '../scrape/samples.js';
import { groupProcesses } from './process-grouping.js';
import { noteSkippedProcesses } from './skipped-processes.js';

const CPU = counter('headroom_process_group_cpu_seconds_total', 'CPU time of the live processes of a group (by command name; the top N by CPU, the rest as "other").', ['groupname']);
const RESIDENT = gauge('headroom_process_group_resident_bytes', 'Resident memory of the processes of a group.', ['groupname']);
const PROCESSES = gauge('headroom_process_group_processes', 'Processes in a group.', ['groupname']);

export const processGroupCollector: CollectorDefinition = {
  name: 'process_group',
  description: 'CPU and resident memory of the cgroup\'s processes by command name: the top N by CPU, the rest as "other".',
  families: [CPU, RESIDENT, PROCESSES],
  create: (options) => (reading, out) => {
    const pageSize = systemPageSize();
    const unreadable: Array<{ pid: number; reason: string }> = [];
    const figures = readProcessStats(reading.procfs, reading.pids(), unreadable)
      .map((stat) => ({ name: stat.name, cpuSeconds: stat.cpuTicks / USER_HZ, residentBytes: stat.residentPages * pageSize }));
    for (const group of groupProcesses(figures, options.processGroupTop)) {
      const labels = { groupname: group.groupname };
      out.add(CPU, group.cpuSeconds, labels);
      out.add(RESIDENT, group.residentBytes, labels);
      out.add(PROCESSES, group.processes, labels);
    }
    noteSkippedProcesses(out, 'CPU and memory figures', { exited: [], unreadable });
  },
};
