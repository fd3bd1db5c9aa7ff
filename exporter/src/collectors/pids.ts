// pids: tasks (processes and threads) against pids.max, cgroup v1's pids controller or v2's, where a limit is
// set on the cgroup or above it. Nothing on a host without cgroups; a cgroup without the controller fails.
import type { CollectorDefinition } from '../scrape/collector.js';
import { pidsHierarchy, readTaskLimit } from '../kernel/pids.js';
import { gauge } from '../scrape/samples.js';

export const PIDS_LIMIT = gauge('headroom_pids_limit', 'pids.max that binds first: the cgroup\'s own or an ancestor\'s, whichever is the fuller; no series where none is set.');
export const PIDS_PERCENT = gauge('headroom_pids_percent', 'Tasks (processes and threads) as a percent (0-100) of the pids.max that binds first (pids.current of the cgroup that sets it): at 100 the next fork() or clone() fails with EAGAIN.');

export const pidsCollector: CollectorDefinition = {
  name: 'pids',
  description: 'Tasks (processes and threads) of the cgroup against pids.max (v1 pids controller or v2), where one is set.',
  families: [PIDS_LIMIT, PIDS_PERCENT],
  create: () => (reading, out) => {
    const location = reading.location();
    if (location.mode === 'none') return; // no cgroups: no pids limit can apply
    const binding = readTaskLimit(pidsHierarchy(location), reading.readings);
    if (binding === null) return;
    out.add(PIDS_LIMIT, binding.limit);
    out.add(PIDS_PERCENT, (binding.tasks / binding.limit) * 100);
  },
};
