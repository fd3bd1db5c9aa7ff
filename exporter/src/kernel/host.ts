// The host's own figures, which stand in where no cgroup limit applies, and the page size.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseAuxvPageSize, parseFlatKeyed, parseMeminfo, parseProcStat, requireKey, USER_HZ, type HostCpu } from './parse.js';
import { readParsed } from './read.js';

export interface HostMemory { totalBytes: number; availableBytes: number; freeBytes: number; cacheBytes: number; anonBytes: number }

export function readHostMemory(procfs: string): HostMemory {
  const meminfo = readParsed(procfs, 'meminfo', parseMeminfo);
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

export function readHostCpu(procfs: string): HostCpu {
  return readParsed(procfs, 'stat', (text) => parseProcStat(text, USER_HZ));
}

/** OOM kills on the whole host (/proc/vmstat). */
export function readHostOomKills(procfs: string): number {
  return requireKey(readParsed(procfs, 'vmstat', parseFlatKeyed, { oneRead: false }), 'oom_kill', 'vmstat');
}

const FALLBACK_PAGE_SIZE = 4096;
let pageSize: number | undefined;

/** The page size of the machine the exporter runs on (rss in /proc/<pid>/stat counts pages). */
export function systemPageSize(): number {
  if (pageSize === undefined) {
    try {
      const wordBytes = process.arch === 'ia32' || process.arch === 'arm' ? 4 : 8;
      pageSize = parseAuxvPageSize(readFileSync('/proc/self/auxv'), wordBytes, os.endianness() === 'LE') ?? FALLBACK_PAGE_SIZE;
    } catch {
      pageSize = FALLBACK_PAGE_SIZE;
    }
  }
  return pageSize;
}
