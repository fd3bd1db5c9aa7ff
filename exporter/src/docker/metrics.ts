// headroom_container_*: what the engine knows of each container and the kernel cannot tell after a
// restart, read from the watcher at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import { CONTAINER_LABEL_NAMES } from './containers.js';
import type { DockerWatcher } from './watcher.js';

export function registerContainerMetrics(registry: Registry, watcher: DockerWatcher): void {
  const labelNames = [...CONTAINER_LABEL_NAMES];
  const containers = () => watcher.list();
  new Gauge({
    name: 'headroom_container_info',
    help: 'Every container of the engine, running or not: its id, image and restart policy. Always 1.',
    labelNames: [...labelNames, 'id', 'image', 'restart_policy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { facts } of containers()) this.set({ ...facts.labels, id: facts.id, image: facts.image, restart_policy: facts.restartPolicy }, 1);
    },
  });
  new Counter({
    name: 'headroom_container_restarts_total',
    help: 'Restarts of the container since it was created: the engine\'s RestartCount, and every start that follows a die.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { facts, history } of containers()) this.inc({ ...facts.labels }, history.restarts);
    },
  });
  new Counter({
    name: 'headroom_container_oom_kills_total',
    help: 'OOM kills in the container since it was created, across its restarts: the engine\'s oom events, and a die with OOMKilled (a kill of PID 1) that no oom event announced.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { facts, history } of containers()) this.inc({ ...facts.labels }, history.oomKills);
    },
  });
  new Gauge({
    name: 'headroom_container_last_exit',
    help: 'Exit code of the container\'s last exit, by reason: oom_killed, error (non-zero) or completed (0).',
    labelNames: [...labelNames, 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { facts, history } of containers()) if (history.lastExit) this.set({ ...facts.labels, reason: history.lastExit.reason }, history.lastExit.code);
    },
  });
}
