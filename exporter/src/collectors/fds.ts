// fds: open file descriptors of the cgroup's processes against each one's own soft RLIMIT_NOFILE (from
// /proc/<pid>/limits, which differs per process): the worst share, the process that holds it, and the total.
import type { CollectorDefinition } from '../scrape/collector.js';
import { readCommand, readDescriptorCensus } from '../kernel/descriptors.js';
import { gauge } from '../scrape/samples.js';
import { noteSkippedProcesses } from './skipped-processes.js';

export const FDS_OPEN = gauge('headroom_fds_open', 'Open file descriptors of the processes in the cgroup, summed.');
export const FDS_PERCENT = gauge('headroom_fds_percent', 'The largest share, as a percent (0-100), that a process of the cgroup holds of its own soft RLIMIT_NOFILE: at 100 its next open() or accept() fails with EMFILE.');
export const FDS_LIMIT = gauge('headroom_fds_limit', 'Soft RLIMIT_NOFILE of the process that holds the largest share of its limit (headroom_fds_percent), by its command name.', ['command']);

export const fdsCollector: CollectorDefinition = {
  name: 'fds',
  description: 'Open file descriptors of the cgroup\'s processes: the total, and the largest share of a process\'s own soft RLIMIT_NOFILE, with its command.',
  families: [FDS_OPEN, FDS_PERCENT, FDS_LIMIT],
  create: () => (reading, out) => {
    const census = readDescriptorCensus(reading.procfs, reading.pids(), reading.readings.shared);
    out.add(FDS_OPEN, census.open);
    if (census.worst) {
      out.add(FDS_PERCENT, (census.worst.open / census.worst.softLimit) * 100);
      out.add(FDS_LIMIT, census.worst.softLimit, { command: readCommand(reading.procfs, census.worst.pid) });
    }
    noteSkippedProcesses(out, 'open file descriptors', census);
  },
};
