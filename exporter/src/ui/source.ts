// The one module of the page that knows the exporter's internals: each scrape's targets and their values by
// family name (as /metrics shows them), host mode's watcher (the engine's state of each container, its
// restarts and OOM kills, stopped containers too), and automatic sizing's decisions.
import type { ExtensionContext, ProvisionName } from '../extension.js';
import type { ScrapeResult } from '../scrape/scraper.js';
import { publicDecision } from '../autosize/store.js';
import type { WatchedContainer } from '../docker/watcher.js';
import { METRIC, type EngineState, type PageSource, type PageTarget, type Reading, type Snapshot } from './model.js';

/** The sidecar's one target, in the API's URLs. */
export const SIDECAR_KEY = 'sidecar';

function engineState({ facts, history }: WatchedContainer): EngineState {
  return { status: facts.status, running: facts.running, image: facts.image, lastExit: history.lastExit ?? null };
}

/** The engine's counts, under the names /metrics gives them (headroom_container_*). */
function engineValues({ history }: WatchedContainer): Array<[string, number]> {
  return [[METRIC.containerRestarts, history.restarts], [METRIC.containerOomKills, history.oomKills]];
}

export function exporterSource(context: ExtensionContext, needs: readonly ProvisionName[]): PageSource {
  const { scraper } = context;
  const watcher = needs.includes('watcher') ? context.need('watcher') : undefined;
  const store = needs.includes('autosizeStore') ? context.need('autosizeStore') : undefined;

  const snapshotOf = (result: ScrapeResult): Snapshot => {
    const containers = new Map((watcher?.list() ?? []).map((container) => [container.facts.labels.container, container]));
    const readings: Reading[] = result.targets.map(({ target, values }) => {
      const container = target.kind === 'container' ? containers.get(target.name) : undefined;
      containers.delete(target.name);
      const page: PageTarget = {
        kind: target.kind,
        key: target.kind === 'container' ? target.name : SIDECAR_KEY,
        name: target.name,
        composeProject: target.labels.compose_project ?? '',
        composeService: target.labels.compose_service ?? '',
      };
      if (!container) return { target: page, values };
      return { target: page, values: new Map([...values, ...engineValues(container)]), engine: engineState(container) };
    });
    // The engine's containers that were not scraped (stopped ones): their counts and state only.
    for (const container of containers.values()) {
      const { labels } = container.facts;
      readings.push({
        target: { kind: 'container', key: labels.container, name: labels.container, composeProject: labels.compose_project, composeService: labels.compose_service },
        values: new Map(engineValues(container)),
        engine: engineState(container),
      });
    }
    return { atMs: result.atMs, readings };
  };

  let last: { result: ScrapeResult; snapshot: Snapshot } | undefined;
  const snapshot = (result: ScrapeResult) => {
    if (last?.result !== result) last = { result, snapshot: snapshotOf(result) };
    return last.snapshot;
  };
  return {
    mode: watcher ? 'host' : 'sidecar',
    async current(maxAgeMs) {
      return snapshot(await scraper.result(maxAgeMs));
    },
    onSnapshot(listener) {
      scraper.onResult((result) => listener(snapshot(result)));
    },
    async decisions(limit, container) {
      return store ? (await store.list(limit, container)).map(publicDecision) : [];
    },
  };
}
