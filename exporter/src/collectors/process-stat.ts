// Pure parsing of what the processes collector reads per process: /proc/<pid>/stat, and the page size
// from the exporter's own auxiliary vector (/proc/self/auxv).
import { FormatError } from '../cgroup/parse.js';
import type { ProcessFigures } from './process-groups.js';

/** USER_HZ: utime and stime in /proc/<pid>/stat count 1/100 s on every Linux architecture. */
export const USER_HZ = 100;

export interface ProcessStat { name: string; cpuTicks: number; residentPages: number }

/**
 * `/proc/<pid>/stat`: the command name (field 2, between the first '(' and the LAST ')', since the name
 * itself may hold spaces and parentheses), utime + stime (fields 14, 15) and rss in pages (field 24).
 */
export function parseProcessStat(text: string): ProcessStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) throw new FormatError('stat has no (command name)');
  // Fields are single-space separated; find 14, 15 and 24 without splitting the whole line (field 3 starts at close + 2).
  const starts: number[] = [];
  for (let index = close + 2, field = 3; field <= 24 && index < text.length; field += 1) {
    starts[field] = index;
    const next = text.indexOf(' ', index);
    if (next === -1) break;
    index = next + 1;
  }
  const field = (number: number) => {
    const start = starts[number];
    if (start === undefined) return Number.NaN;
    const end = text.indexOf(' ', start);
    return Number(text.slice(start, end === -1 ? text.length : end).trim());
  };
  const utime = field(14);
  const stime = field(15);
  const residentPages = field(24);
  if (!Number.isInteger(utime) || !Number.isInteger(stime) || !Number.isInteger(residentPages)) throw new FormatError('stat lacks utime, stime or rss');
  return { name: text.slice(open + 1, close), cpuTicks: utime + stime, residentPages };
}

export function processFigures(stat: ProcessStat, pageSize: number): ProcessFigures {
  return { name: stat.name, cpuSeconds: stat.cpuTicks / USER_HZ, residentBytes: stat.residentPages * pageSize };
}

const AT_NULL = 0;
const AT_PAGESZ = 6;

/** AT_PAGESZ from the auxiliary vector: (type, value) pairs of native words, ending with AT_NULL. */
export function parseAuxvPageSize(auxv: Uint8Array, wordBytes: 4 | 8, littleEndian: boolean): number | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  const word = (offset: number) => (wordBytes === 8 ? Number(view.getBigUint64(offset, littleEndian)) : view.getUint32(offset, littleEndian));
  for (let offset = 0; offset + 2 * wordBytes <= auxv.byteLength; offset += 2 * wordBytes) {
    const type = word(offset);
    if (type === AT_NULL) break;
    if (type === AT_PAGESZ) return word(offset + wordBytes);
  }
  return undefined;
}
