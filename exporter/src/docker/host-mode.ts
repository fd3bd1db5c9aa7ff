// Host mode (--target.docker): one exporter watches every running container of an engine. Loaded only
// when asked for (zod, the engine client).
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ProbeCheck } from '../health.js';
import { readHostLayout, type CgroupLocation } from '../kernel/cgroup.js';
import type { Target, TargetSource } from '../scrape.js';
import { CONTAINER_LABEL_NAMES } from './containers.js';
import { engineClient, type EngineAddress, type EngineTls } from './engine.js';
import { registerContainerMetrics } from './metrics.js';
import { DockerWatcher } from './watcher.js';

export interface HostMode {
  targets: TargetSource;
  probe: ProbeCheck;
  watcher: DockerWatcher;
  stop(): void;
}

export interface HostModeOptions { address: EngineAddress; tls: EngineTls; procfs: string; sysfs: string }

/**
 * Whether a cgroup that failed to read is going or gone (its container stopped or was removed mid-scrape):
 * the runtime removes its directory in one hierarchy after the other.
 */
function isGone(location: CgroupLocation): boolean {
  const dirs = [...Object.values(location.controllers), location.unified].flatMap((hierarchy) => (hierarchy ? [hierarchy.dir] : []));
  return dirs.some((dir) => !existsSync(dir));
}

export async function startHostMode(options: HostModeOptions, registry: Registry, log: Logger): Promise<HostMode> {
  const watcher = new DockerWatcher(engineClient(options.address, options.tls), log);
  await watcher.start();
  registerContainerMetrics(registry, watcher);
  const targets: TargetSource = {
    labelNames: CONTAINER_LABEL_NAMES,
    targets() {
      let layout: ((cgroupPath: string) => CgroupLocation) | undefined;
      return watcher.list().filter(({ facts }) => facts.running).map(({ facts }): Target => {
        let location: CgroupLocation | undefined;
        const target: Target = {
          key: facts.id,
          labels: { ...facts.labels },
          locate: () => {
            layout ??= readHostLayout(options.procfs, options.sysfs);
            location = layout(facts.cgroupPath);
            return location;
          },
          isGone: () => location !== undefined && isGone(location),
        };
        if (facts.cpuReservationCores !== undefined) target.declaredCpuReservationCores = facts.cpuReservationCores;
        return target;
      });
    },
  };
  return { targets, probe: watcher.probe(), watcher, stop: () => watcher.stop() };
}
