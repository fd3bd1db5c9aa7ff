// The host's own figures, which stand in where no cgroup limit applies.
import { parseMeminfo, parseProcStat, type HostCpu } from '../cgroup/parse.js';
import { readParsed } from '../cgroup/files.js';

/** USER_HZ: the unit of /proc/stat, 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

export interface HostMemory { totalBytes: number; availableBytes: number; freeBytes: number; cacheBytes: number; anonBytes: number }

export async function readHostMemory(procfs: string): Promise<HostMemory> {
  const meminfo = await readParsed(procfs, 'meminfo', parseMeminfo);
  const totalBytes = meminfo.get('MemTotal')!;
  const freeBytes = meminfo.get('MemFree') ?? 0;
  return {
    totalBytes,
    freeBytes,
    availableBytes: meminfo.get('MemAvailable') ?? freeBytes,
    cacheBytes: (meminfo.get('Cached') ?? 0) + (meminfo.get('Buffers') ?? 0),
    anonBytes: meminfo.get('AnonPages') ?? 0,
  };
}

export async function readHostCpu(procfs: string): Promise<HostCpu> {
  return readParsed(procfs, 'stat', (text) => parseProcStat(text, USER_HZ));
}

