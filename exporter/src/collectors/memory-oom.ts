// memory_oom: processes the kernel's OOM killer killed in the watched cgroup (or on the host).
import type { CollectorDefinition } from '../scrape/collector.js';
import { readOomKills } from '../kernel/memory.js';
import { counter } from '../scrape/samples.js';

export const OOM_KILLS = counter('headroom_memory_oom_kills_total', 'Processes killed by the OOM killer in the cgroup.');

export const memoryOomCollector: CollectorDefinition = {
  name: 'memory_oom',
  description: 'OOM kills in the cgroup (v1 memory.oom_control, v2 memory.events), or on the host (/proc/vmstat).',
  families: [OOM_KILLS],
  create: () => (reading, out) => {
    out.add(OOM_KILLS, readOomKills(reading.location(), reading.procfs));
  },
};
