// Host mode (--target.docker): one exporter watches every running container of an engine. Loaded only
// when asked for (zod, the engine client).
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DockerHost } from '../docker-host.js';
import type { ProbeCheck } from '../health.js';
import { readHostLayout, type CgroupLocation } from '../kernel/cgroup.js';
import { ReadingCache } from '../kernel/read.js';
import type { Target, TargetSource } from '../scrape/target.js';
import { CONTAINER_LABEL_NAMES, type ContainerFacts } from './containers.js';
import { engineClient } from './engine.js';
import { registerContainerFamilies } from './metrics.js';
import { DockerWatcher } from './watcher.js';

declare module '../extension.js' {
  interface Provisions {
    /** Host mode's view of the engine's containers. */
    watcher: DockerWatcher;
  }
}

export interface HostMode {
  source: TargetSource;
  probe: ProbeCheck;
  watcher: DockerWatcher;
  stop(): void;
}

/**
 * Whether a cgroup that failed to read is going or gone (its container stopped or was removed mid-scrape):
 * the runtime removes its directory in one hierarchy after the other.
 */
function isGone(location: CgroupLocation): boolean {
  const dirs = [...Object.values(location.controllers), location.unified].flatMap((hierarchy) => (hierarchy ? [hierarchy.dir] : []));
  return dirs.some((dir) => !existsSync(dir));
}

/**
 * A running container as a target, for as long as the watcher holds the same facts of it: the engine
 * reports every change of its limits (update) and every new cgroup (start), after which the watcher
 * inspects it again and a new target reads the limit files afresh. Until then they are kept.
 */
class ContainerTarget implements Target {
  readonly kind = 'container';
  readonly key: string;
  readonly name: string;
  readonly labels: ContainerFacts['labels'];
  readonly limits = new ReadingCache();
  readonly declared: Target['declared'];
  private location: CgroupLocation | undefined;
  private locatedWith: HostLayout | undefined;

  constructor(readonly facts: ContainerFacts, private readonly layout: () => HostLayout) {
    this.key = facts.id;
    this.name = facts.labels.container;
    this.labels = facts.labels;
    this.declared = facts.cpuReservationCores === undefined ? {} : { cpuReservationCores: facts.cpuReservationCores };
  }

  locate(): CgroupLocation {
    const layout = this.layout();
    if (this.location === undefined || this.locatedWith !== layout) {
      this.location = layout(this.facts.cgroupPath);
      this.locatedWith = layout;
    }
    return this.location;
  }

  isGone(): boolean {
    return this.location !== undefined && isGone(this.location);
  }
}

type HostLayout = (cgroupPath: string) => CgroupLocation;

/**
 * The host's cgroup mounts change only when a hierarchy is mounted or unmounted, and the host's
 * /proc/1/mountinfo holds a few mounts for every container: they are read again once a minute, not at
 * every scrape.
 */
export const HOST_LAYOUT_MAX_AGE_MS = 60_000;

export async function startHostMode(host: DockerHost, registry: Registry, log: Logger): Promise<HostMode> {
  let layout: { read: HostLayout; atMs: number } | undefined;
  const currentLayout = (): HostLayout => {
    if (layout === undefined || Date.now() - layout.atMs > HOST_LAYOUT_MAX_AGE_MS) layout = { read: readHostLayout(host.procfs, host.sysfs), atMs: Date.now() };
    return layout.read;
  };
  const targets = new Map<string, ContainerTarget>();
  const watcher = new DockerWatcher(engineClient(host), log);
  await watcher.start();
  registerContainerFamilies(registry, watcher);
  const source: TargetSource = {
    labelNames: CONTAINER_LABEL_NAMES,
    targets() {
      const running = watcher.list().filter(({ facts }) => facts.running);
      const seen = new Set<string>();
      const list = running.map(({ facts }) => {
        seen.add(facts.id);
        let target = targets.get(facts.id);
        if (target?.facts !== facts) targets.set(facts.id, (target = new ContainerTarget(facts, currentLayout)));
        return target;
      });
      for (const id of targets.keys()) if (!seen.has(id)) targets.delete(id);
      return list;
    },
  };
  return { source, probe: watcher.probe(), watcher, stop: () => watcher.stop() };
}
