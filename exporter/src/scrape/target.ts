// What the scrape watches: a target is one cgroup, and says what it is. The sidecar has one (its own
// process's cgroup, another process's, or a cgroup path); host mode has one per running container.
import { locateCgroup, type CgroupLocation } from '../kernel/cgroup.js';
import type { ReadingCache } from '../kernel/read.js';
import type { Labels } from './samples.js';

export type TargetKind = 'process' | 'cgroup' | 'container';

/** Reservations no cgroup file carries: published where the cgroup has none (memory) or always (CPU). */
export interface DeclaredReservations {
  memoryReservationBytes?: number;
  cpuReservationCores?: number;
}

export interface Target {
  kind: TargetKind;
  /** Tells this target from the others across scrapes (per-target state such as the CPU rate window). */
  key: string;
  /** How /health, the log and the page name it: the container's name, or the process or cgroup watched. */
  name: string;
  /** Labels on every series of the target: none for the sidecar, the container's in host mode. */
  labels: Labels;
  /** Finds the cgroup; `shared` holds what the scrape's targets have in common (the host's layout). */
  locate(shared: ReadingCache): CgroupLocation;
  /** The cgroup's own limit files, kept as long as the target's owner knows them unchanged. */
  limits?: ReadingCache;
  declared: DeclaredReservations;
  /** After a failed read: whether the cgroup is gone (a container removed mid-scrape), which is no failure. */
  isGone?(): boolean;
}

export interface TargetSource {
  /** The names of the labels every target carries. */
  labelNames: readonly string[];
  targets(): readonly Target[] | Promise<readonly Target[]>;
}

export interface SidecarOptions {
  procfs: string;
  sysfs: string;
  /** Defaults to the exporter's own pid. */
  pid?: number | undefined;
  cgroupPath?: string | undefined;
  declared: DeclaredReservations;
}

/** The sidecar's one target: a process's cgroup (the exporter's own by default), or a cgroup path. */
export function sidecarSource(options: SidecarOptions): TargetSource {
  const pid = options.pid ?? process.pid;
  const name = options.cgroupPath !== undefined ? `cgroup ${options.cgroupPath}` : options.pid === undefined ? 'self' : `process ${pid}`;
  const target: Target = {
    kind: options.cgroupPath === undefined ? 'process' : 'cgroup',
    key: name,
    name,
    labels: {},
    locate: () => locateCgroup({ procfs: options.procfs, sysfs: options.sysfs, pid, explicitPath: options.cgroupPath }),
    declared: options.declared,
  };
  return { labelNames: [], targets: () => [target] };
}
