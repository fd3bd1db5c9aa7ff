// headroom_container_*: what the engine knows of each container and the kernel cannot tell after a
// restart, read from the watcher when /metrics is rendered.
import type { Registry } from 'prom-client';
import { registerFamily } from '../scrape/exposition.js';
import { counter, gauge, type Sample } from '../scrape/samples.js';
import type { DockerWatcher, WatchedContainer } from './watcher.js';

export const CONTAINER_INFO = gauge('headroom_container_info', 'Every container of the engine, running or not: its id, image and restart policy. Always 1.', ['id', 'image', 'restart_policy']);
export const CONTAINER_RESTARTS = counter('headroom_container_restarts_total', 'Restarts of the container since it was created: the engine\'s RestartCount, and every start that follows a die.');
export const CONTAINER_OOM_KILLS = counter('headroom_container_oom_kills_total', 'OOM kills in the container since it was created, across its restarts: the engine\'s oom events, and a die with OOMKilled (a kill of PID 1) that no oom event announced.');
export const CONTAINER_LAST_EXIT = gauge('headroom_container_last_exit', 'Exit code of the container\'s last exit, by reason: oom_killed, error (non-zero) or completed (0).', ['reason']);

export const CONTAINER_ULIMIT = gauge('headroom_container_ulimit_soft', 'Soft limit the engine configured for the container (HostConfig.Ulimits: its --ulimit or compose ulimits, with the daemon\'s default-ulimits merged in), for the ulimits headroom watches (nofile, nproc); no series where none is configured. What its processes really have: headroom_fds_limit, headroom_nproc_limit.', ['ulimit']);

export function registerContainerFamilies(registry: Registry, watcher: DockerWatcher): void {
  const each = (sample: (container: WatchedContainer) => Sample | undefined) => () => watcher.list().flatMap((container) => sample(container) ?? []);
  registerFamily(registry, CONTAINER_INFO, each(({ facts }) => ({ labels: { ...facts.labels, id: facts.id, image: facts.image, restart_policy: facts.restartPolicy }, value: 1 })));
  registerFamily(registry, CONTAINER_RESTARTS, each(({ facts, history }) => ({ labels: facts.labels, value: history.restarts })));
  registerFamily(registry, CONTAINER_OOM_KILLS, each(({ facts, history }) => ({ labels: facts.labels, value: history.oomKills })));
  registerFamily(registry, CONTAINER_ULIMIT, () => watcher.list().flatMap(({ facts }) => Object.entries(facts.ulimits).map(([ulimit, soft]) => ({ labels: { ...facts.labels, ulimit }, value: soft }))));
  registerFamily(registry, CONTAINER_LAST_EXIT, each(({ facts, history }) => (history.lastExit ? { labels: { ...facts.labels, reason: history.lastExit.reason }, value: history.lastExit.code } : undefined)));
}
