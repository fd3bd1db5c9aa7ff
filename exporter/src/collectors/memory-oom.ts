// memory_oom: processes the kernel's OOM killer killed in the watched cgroup (or on the host).
import { readOomKills } from '../kernel/memory.js';
import { setCounter } from '../metrics.js';
import type { CollectorDefinition } from './collector.js';

export const memoryOomCollector: CollectorDefinition = {
  name: 'memory_oom',
  description: 'OOM kills in the cgroup (v1 memory.oom_control, v2 memory.events), or on the host (/proc/vmstat).',
  define(metric) {
    const kills = metric.counter('headroom_memory_oom_kills_total', 'Processes killed by the OOM killer in the cgroup.');
    return (context) => {
      setCounter(kills, readOomKills(context.location(), context.procfs), context.labels);
    };
  },
};
