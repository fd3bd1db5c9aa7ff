// Pressure stall information: the cgroup's own files on v2 (also the unified hierarchy of hybrid hosts),
// else the host's /proc/pressure. Nothing where the kernel offers none.
import path from 'node:path';
import type { CgroupLocation } from './cgroup.js';
import { parsePressure, type Pressure } from './parse.js';
import { readOptionalParsed } from './read.js';

export const PRESSURE_RESOURCES = ['cpu', 'memory', 'io'] as const;
export type PressureResource = (typeof PRESSURE_RESOURCES)[number];

export function readPressure(location: CgroupLocation, procfs: string): Map<PressureResource, Pressure> {
  const pressures = new Map<PressureResource, Pressure>();
  for (const resource of PRESSURE_RESOURCES) {
    const file = location.unified ? `${location.unified.dir}/${resource}.pressure` : `${procfs}/pressure/${resource}`;
    const pressure = readOptionalParsed(file, parsePressure);
    if (pressure) pressures.set(resource, pressure);
  }
  return pressures;
}
