// CPU seconds and resident memory per process group (by command name), measured with pidusage.
// pidusage reads the /proc of the exporter's own PID namespace; share the watched application's
// PID namespace (compose `pid: service:NAME`) to see its processes.
import path from 'node:path';
import pidusage from 'pidusage';
import { readOptionalText } from '../cgroup/files.js';
import { setCounter, type CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';
import { groupProcesses, type ProcessFigures } from './process-groups.js';

async function commandName(procfs: string, pid: number): Promise<string | undefined> {
  return (await readOptionalText(path.join(procfs, String(pid), 'comm')))?.trim();
}

export function processesCollector(metrics: CollectorMetrics, top: number): Collector {
  return {
    name: 'processes',
    metrics: [metrics.groupCpu, metrics.groupResident, metrics.groupProcesses],
    async collect(context) {
      const pids = await context.pids();
      if (pids.length === 0) return;
      const [usage, names] = await Promise.all([
        // pidusage keeps each process's /proc/PID/stat open between scrapes for `maxage`; a single pid's
        // error rejects where a list's is dropped, so a lone process that exited counts as none.
        pidusage(pids, { maxage: 120_000 }).catch((error: unknown) => {
          if (pids.length === 1) return {};
          throw error;
        }),
        Promise.all(pids.map((pid) => commandName(context.procfs, pid))),
      ]);
      const figures: ProcessFigures[] = [];
      pids.forEach((pid, index) => {
        const stat = (usage as Record<number, pidusage.Status | undefined>)[pid];
        const name = names[index];
        // A process that exited between the listing and the read is simply not counted.
        if (stat && name !== undefined) figures.push({ name, cpuSeconds: stat.ctime / 1000, residentBytes: stat.memory });
      });
      for (const group of groupProcesses(figures, top)) {
        const labels = { groupname: group.groupname };
        setCounter(metrics.groupCpu, group.cpuSeconds, labels);
        metrics.groupResident.set(labels, group.residentBytes);
        metrics.groupProcesses.set(labels, group.processes);
      }
    },
  };
}
