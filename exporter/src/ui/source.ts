// The one module of the page that knows the exporter's internals: each scrape's figures read by metric name
// from the registry /metrics renders (so the page shows what /metrics shows), the engine's view of each
// container from host mode's watcher, and automatic sizing's decisions from its store.
import os from 'node:os';
import type { Registry } from 'prom-client';
import type { ExtensionContext } from '../serve.js';
import { publicDecision } from '../autosize/store.js';
import { METRIC_NAMES, type PageSource, type PageTarget, type Reading, type Snapshot } from './model.js';

/** The sidecar's one target, in the API's URLs. */
export const SIDECAR_KEY = 'sidecar';

/** Every series of the page's metrics without labels of its own, by target (host mode: by container name). */
async function readValues(registry: Registry): Promise<Map<string, Map<string, number>>> {
  const byTarget = new Map<string, Map<string, number>>();
  const targetLabels = new Set(['container', 'compose_project', 'compose_service']);
  for (const name of METRIC_NAMES) {
    const metric = registry.getSingleMetric(name);
    if (!metric) continue;
    for (const { labels, value } of (await metric.get()).values) {
      if (Object.keys(labels).some((label) => !targetLabels.has(label))) continue;
      const key = typeof labels.container === 'string' ? labels.container : '';
      let values = byTarget.get(key);
      if (!values) byTarget.set(key, values = new Map());
      values.set(name, value);
    }
  }
  return byTarget;
}


export function exporterSource({ config, registry, scraper, hostMode, shared }: ExtensionContext): PageSource {
  const sidecar: PageTarget = { kind: config.targetCgroup === undefined ? 'process' : 'cgroup', key: SIDECAR_KEY, name: os.hostname(), composeProject: '', composeService: '' };
  const readings = async (): Promise<Reading[]> => {
    const values = await readValues(registry);
    if (!hostMode) return [{ target: sidecar, values: values.get('') ?? new Map() }];
    return hostMode.watcher.list().map(({ facts, history }) => ({
      target: { kind: 'container', key: facts.labels.container, name: facts.labels.container, composeProject: facts.labels.compose_project, composeService: facts.labels.compose_service },
      // A stopped container has the engine's counts only.
      values: values.get(facts.labels.container) ?? new Map(),
      engine: { status: facts.status, running: facts.running, image: facts.image, lastExit: history.lastExit ?? null },
    }));
  };
  let latest: Snapshot = { atMs: Date.now(), readings: [] };
  const listeners: Array<(snapshot: Snapshot) => void> = [];
  // Read right after each scrape, before the next one empties the metrics it sets again.
  scraper.onResult(async () => {
    latest = { atMs: Date.now(), readings: await readings() };
    for (const listener of listeners) listener(latest);
  });
  return {
    mode: hostMode ? 'host' : 'sidecar',
    async current(maxAgeMs) {
      await scraper.result(maxAgeMs);
      return latest;
    },
    onSnapshot(listener) {
      listeners.push(listener);
    },
    async decisions(limit, container) {
      const store = shared.autosizeStore;
      return store ? (await store.list(limit, container)).map(publicDecision) : [];
    },
  };
}
