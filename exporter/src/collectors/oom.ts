// OOM kills in the watched cgroup (v1 memory.oom_control, v2 memory.events), or on the host (/proc/vmstat).
import { parseFlatKeyed, requireKey } from '../cgroup/parse.js';
import { readFlatKeyed, readParsed } from '../cgroup/files.js';
import { setCounter, type CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';

export function oomCollector(metrics: CollectorMetrics): Collector {
  return {
    name: 'oom',
    metrics: [metrics.memoryOomKills],
    async collect(context) {
      const hierarchy = (await context.location()).controllers.memory;
      let kills: number;
      if (!hierarchy) {
        kills = requireKey(await readParsed(context.procfs, 'vmstat', parseFlatKeyed), 'oom_kill', 'vmstat');
      } else if (hierarchy.version === 1) {
        kills = requireKey(await readFlatKeyed(hierarchy.dir, 'memory.oom_control'), 'oom_kill', 'memory.oom_control');
      } else {
        kills = requireKey(await readFlatKeyed(hierarchy.dir, 'memory.events'), 'oom_kill', 'memory.events');
      }
      setCounter(metrics.memoryOomKills, kills);
    },
  };
}
