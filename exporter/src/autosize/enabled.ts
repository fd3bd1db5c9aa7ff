// Automatic sizing switched on: the store, the decisions counter, the autosizer, the routes and the periodic
// scale-down check.
import { NoDataError, collectUsage } from '../recommend/collect.js';
import { recommend, type Recommendation } from '../recommend/decide.js';
import { prometheusClient } from '../recommend/prometheus.js';
import { loadToken } from '../security/bearer-token.js';
import { registerFamily } from '../scrape/exposition.js';
import type { Extension, ExtensionContext } from '../extension.js';
import { counter, Tally } from '../scrape/samples.js';
import { formatMemorySize } from '../sizes.js';
import { formatDuration } from '../duration.js';
import { Autosizer } from './autosizer.js';
import { AUTOSIZE_WEBHOOK_PATH } from './paths.js';
import type { AutosizeSettings, Direction } from './policy.js';
import type { DecisionResult } from './store.js';
import { mountAutosizeRoutes } from './routes.js';
import { AutosizeStore } from './store.js';

declare module '../extension.js' {
  interface Provisions {
    /** Automatic sizing's decisions (the page shows each container's last). */
    autosizeStore: AutosizeStore;
  }
}

const DIRECTIONS: readonly Direction[] = ['up', 'down'];
const RESULTS: readonly DecisionResult[] = ['applied', 'refused', 'failed'];

const DECISIONS = counter('headroom_autosize_decisions_total', 'Automatic sizing decisions by container, direction (up, down) and result (applied, refused, failed).', ['container', 'direction', 'result']);

export async function startAutosize({ config, registry, log, need }: ExtensionContext): Promise<Extension> {
  if (config.dockerHost === undefined || config.autosizeTokenFile === undefined) throw new Error('automatic sizing needs host mode and a token file');
  const token = await loadToken(config.autosizeTokenFile, 'autosize token file');
  const store = new AutosizeStore(need('database').db);
  const watcher = need('watcher');
  const decisions = new Tally();
  registerFamily(registry, DECISIONS, () => {
    // Every opted-in container's series exist from 0, so that increase() sees its first decision too.
    for (const { facts } of watcher.list()) {
      if (!facts.running || !facts.autosize) continue;
      for (const direction of DIRECTIONS) for (const result of RESULTS) decisions.declare({ container: facts.labels.container, direction, result });
    }
    return decisions.samples();
  });
  const settings: AutosizeSettings = {
    maxTier: config.autosizeMaxTier,
    cooldownSeconds: config.autosizeCooldown,
    maxChangesPerDay: config.autosizeMaxChangesPerDay,
    hostMemoryReserveBytes: config.autosizeHostMemoryReserve,
    usageMargin: config.autosizeUsageMargin,
  };
  const prometheusUrl = config.autosizePrometheusUrl;
  const hostFilter = config.autosizeHost === '' ? {} : { host: config.autosizeHost };
  const recommendation = prometheusUrl === undefined ? undefined : async (container: string, instance?: string): Promise<Recommendation | undefined> => {
    try {
      const usages = await collectUsage(prometheusClient(prometheusUrl), config.autosizeWindow, { container, ...(instance ? { instance } : {}), ...hostFilter });
      // Several series of that name (containers of other hosts or exporters): none of them is surely this one.
      return usages.length === 1 ? recommend(usages[0]!) : undefined;
    } catch (error) {
      if (error instanceof NoDataError) return undefined;
      throw error;
    }
  };
  const autosizer = new Autosizer({
    watcher,
    dockerHost: config.dockerHost,
    store,
    settings,
    decisions,
    log,
    ...(recommendation ? { recommendation } : {}),
    ...(config.autosizeEnvFile ? { envFile: { path: config.autosizeEnvFile, composeProject: config.autosizeEnvProject, composeService: config.autosizeEnvService } } : {}),
    host: config.autosizeHost,
  });
  // Decisions are kept as long as usage reports (--statistics.retention).
  const prune = () => store.prune(Date.now() - config.statisticsRetention * 1000).catch((error: Error) => log.error({ err: error.message }, 'autosize: cannot prune decisions'));
  await prune();
  const pruner = setInterval(() => void prune(), 6 * 3600 * 1000);
  pruner.unref();
  const timer = recommendation === undefined ? undefined : setInterval(() => {
    autosizer.checkScaleDown().catch((error: Error) => log.error({ err: error.message }, 'autosize: scale-down check failed'));
  }, config.autosizeCheckInterval * 1000);
  timer?.unref();
  const shownSettings = {
    max_tier: settings.maxTier.name,
    cooldown: formatDuration(settings.cooldownSeconds),
    max_changes_per_day: settings.maxChangesPerDay,
    host_memory_reserve: formatMemorySize(settings.hostMemoryReserveBytes),
    usage_margin: settings.usageMargin,
    host: config.autosizeHost === '' ? 'any (--autosize.host not set)' : config.autosizeHost,
    scale_down: recommendation === undefined ? 'off (no --autosize.prometheus-url)' : `every ${formatDuration(config.autosizeCheckInterval)} over ${formatDuration(config.autosizeWindow)}`,
  };
  log.info(shownSettings, 'automatic sizing on');
  return {
    mount: (app) => mountAutosizeRoutes(app, { token, autosizer, store, settings: shownSettings, host: config.autosizeHost, log, ...(config.autosizePeers ? { peers: config.autosizePeers } : {}) }),
    links: [{ path: '/autosize', title: 'Automatic sizing' }],
    ownAuthPaths: [AUTOSIZE_WEBHOOK_PATH],
    provides: { autosizeStore: store },
    close: async () => {
      if (timer) clearInterval(timer);
      clearInterval(pruner);
    },
  };
}
