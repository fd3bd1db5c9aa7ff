// What a collector is: a name, the families it publishes, and a step that reads one target through the
// kernel layer and adds samples. A collector that fails for a target adds nothing for it: the scrape keeps
// a target's samples of a collector only when the step finished.
import type { CgroupLocation } from '../kernel/cgroup.js';
import type { Readings } from '../kernel/read.js';
import type { FamilySpec, Labels } from './samples.js';
import type { Target } from './target.js';

/** One target in one scrape, as a collector reads it. */
export interface TargetReading {
  target: Target;
  procfs: string;
  /** The cgroup location, resolved once per scrape (throws when it cannot be). */
  location(): CgroupLocation;
  /** Pids of the watched cgroup (all host processes where there is no cgroup), read once per scrape. */
  pids(): number[];
  readings: Readings;
}

export interface SampleSink {
  /** A sample of `family`; `labels` are the family's own, the target's are added by the scrape. */
  add(family: FamilySpec, value: number, labels?: Labels): void;
  /**
   * What the target's figures leave out, for /health: `degraded` when they are the worse for it (a process the
   * exporter may not read), not when what is left out is gone (a process that exited while it was read).
   */
  note(message: string, degraded: boolean): void;
}

export type CollectStep = (reading: TargetReading, out: SampleSink) => void | Promise<void>;

export interface CollectorOptions {
  /** Process groups published by name; the rest are summed as "other". */
  processGroupTop: number;
  /** Wall-clock seconds (the CPU percent's window); tests pass their own clock. */
  now?: () => number;
}

/** A collector as written in its file: node_exporter's collector/ layout, one file each. */
export interface CollectorDefinition {
  /** Also the prefix of its families (headroom_NAME_...) and the name in headroom_scrape_collector_success. */
  name: string;
  description: string;
  families: readonly FamilySpec[];
  /** Makes the collector's own state (the CPU rate windows) and returns its step. */
  create(options: CollectorOptions): CollectStep;
}

export interface Collector {
  name: string;
  families: readonly FamilySpec[];
  collect: CollectStep;
}

export function instantiateCollector(definition: CollectorDefinition, options: CollectorOptions): Collector {
  return { name: definition.name, families: definition.families, collect: definition.create(options) };
}
