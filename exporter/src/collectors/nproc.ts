// nproc: RLIMIT_NPROC, which the kernel checks against every task of a process's real user on the whole host
// (not the cgroup's, as pids.max): the largest share any process of the cgroup is at, where one is limited
// and not exempt (root, CAP_SYS_ADMIN, CAP_SYS_RESOURCE).
import type { CollectorDefinition } from '../scrape/collector.js';
import { readNprocCensus } from '../kernel/rlimits.js';
import { gauge } from '../scrape/samples.js';
import { noteSkippedProcesses } from './skipped-processes.js';

export const NPROC_PERCENT = gauge('headroom_nproc_percent', 'The largest share, as a percent (0-100), that the tasks of a process\'s real user (on the whole host, threads included) hold of that process\'s soft RLIMIT_NPROC, over the cgroup\'s processes that are limited and not exempt: at 100 its next fork() fails with EAGAIN.');
export const NPROC_LIMIT = gauge('headroom_nproc_limit', 'Soft RLIMIT_NPROC of the process at the largest share (headroom_nproc_percent), by its real uid.', ['uid']);

export const nprocCollector: CollectorDefinition = {
  name: 'nproc',
  description: 'RLIMIT_NPROC: tasks of the user of each process of the cgroup, host-wide, against the process\'s soft limit, where one is set and the process is not exempt.',
  families: [NPROC_PERCENT, NPROC_LIMIT],
  create: () => (reading, out) => {
    const census = readNprocCensus(reading.procfs, reading.pids(), reading.readings.shared);
    if (census.worst) {
      out.add(NPROC_PERCENT, (census.worst.tasks / census.worst.softLimit) * 100);
      out.add(NPROC_LIMIT, census.worst.softLimit, { uid: String(census.worst.uid) });
    }
    noteSkippedProcesses(out, 'limits', census);
    if (census.worst && census.uncountedHostProcesses > 0) {
      out.note(`${census.uncountedHostProcesses} processes of the host cannot be read: the tasks of user ${census.worst.uid} are a lower bound`, true);
    }
  },
};
