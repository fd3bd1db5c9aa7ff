// CPU seconds and resident memory per process group (by command name), from each process's /proc/<pid>/stat
// under --path.procfs. The files are read synchronously into one reused buffer: for thousands of processes
// that costs a fraction of asynchronous reads (a thread-pool round trip for each open, read and close) and
// keeps no descriptors open between scrapes. /proc shows the exporter's own PID namespace; share the watched
// application's PID namespace (compose `pid: service:NAME`) to see its processes.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import os from 'node:os';
import { setCounter, type CollectorMetrics } from '../metrics.js';
import type { Collector } from './collector.js';
import { groupProcesses, type ProcessFigures } from './process-groups.js';
import { parseAuxvPageSize, parseProcessStat, processFigures } from './process-stat.js';

const FALLBACK_PAGE_SIZE = 4096;
let pageSize: number | undefined;

function systemPageSize(): number {
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

/** A process that exited between the listing and the read. */
function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

let buffer = Buffer.allocUnsafe(4096);

function readProcFile(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  try {
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const room = buffer.length - length;
      const bytes = readSync(fd, buffer, length, room, null);
      length += bytes;
      // procfs hands out a whole stat line per read: a read that leaves room is the end, no second read needed.
      if (bytes < room) break;
    }
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  } finally {
    closeSync(fd);
  }
}

export function processesCollector(metrics: CollectorMetrics, top: number): Collector {
  return {
    name: 'processes',
    metrics: [metrics.groupCpu, metrics.groupResident, metrics.groupProcesses],
    async collect(context) {
      const pids = await context.pids();
      const figures: ProcessFigures[] = [];
      for (const pid of pids) {
        const file = `${context.procfs}/${pid}/stat`;
        const text = readProcFile(file);
        if (text === undefined) continue; // exited meanwhile: simply not counted
        try {
          figures.push(processFigures(parseProcessStat(text), systemPageSize()));
        } catch (error) {
          throw new Error(`${file}: ${(error as Error).message}`);
        }
      }
      for (const group of groupProcesses(figures, top)) {
        const labels = { groupname: group.groupname };
        setCounter(metrics.groupCpu, group.cpuSeconds, labels);
        metrics.groupResident.set(labels, group.residentBytes);
        metrics.groupProcesses.set(labels, group.processes);
      }
    },
  };
}
