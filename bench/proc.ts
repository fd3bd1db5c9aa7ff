// Reading an exporter process's CPU ticks and RSS from /proc.
import { readFileSync } from 'node:fs';
import { parseProcStatCpuTicks, parseVmRssBytes } from './measure.js';

export function readCpuTicks(pid: number): number {
  return parseProcStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

export function readRssBytes(pid: number): number {
  return parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
}
