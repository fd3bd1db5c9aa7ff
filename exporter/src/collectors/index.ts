// The one registration point: every collector, in the order a scrape runs them.
import type { CollectorDefinition } from '../scrape/collector.js';
import { cpuCollector } from './cpu.js';
import { fdsCollector } from './fds.js';
import { memoryOomCollector } from './memory-oom.js';
import { memoryCollector } from './memory.js';
import { nprocCollector } from './nproc.js';
import { pidsCollector } from './pids.js';
import { pressureCollector } from './pressure.js';
import { processGroupCollector } from './process-group.js';
import { processesCollector } from './processes.js';

export const COLLECTORS: readonly CollectorDefinition[] = [
  memoryCollector,
  cpuCollector,
  memoryOomCollector,
  pressureCollector,
  processesCollector,
  pidsCollector,
  fdsCollector,
  nprocCollector,
  processGroupCollector,
];
