// Automatic sizing switched on: the store, the decisions counter, the autosizer, the routes and the periodic
// scale-down check.
import { Counter } from 'prom-client';
import { NoDataError, collectUsage } from '../recommend/collect.js';
import { recommend, type Recommendation } from '../recommend/decide.js';
import { prometheusClient } from '../recommend/prometheus.js';
import type { ResizeTarget } from '../resize/container.js';
import { loadToken } from '../security/bearer-token.js';
import type { Extension, ExtensionContext } from '../serve.js';
import { formatMemorySize } from '../sizes.js';
import { formatDuration } from '../duration.js';
import { Autosizer, type DecisionLabels } from './autosizer.js';
import type { AutosizeSettings, Direction } from './policy.js';
import type { DecisionResult } from './store.js';
import { mountAutosizeRoutes } from './routes.js';
import { AutosizeStore } from './store.js';

const DIRECTIONS: readonly Direction[] = ['up', 'down'];
const RESULTS: readonly DecisionResult[] = ['applied', 'refused', 'failed'];

export async function startAutosize({ config, registry, log, hostMode, shared }: ExtensionContext): Promise<Extension> {
  if (!hostMode || !shared.database || config.targetDocker === undefined || config.autosizeTokenFile === undefined) {
    throw new Error('automatic sizing needs host mode, the statistics database and a token file');
  }
  const token = await loadToken(config.autosizeTokenFile, 'autosize token file');
  const store = new AutosizeStore(shared.database.db);
  shared.autosizeStore = store;
  const watcher = hostMode.watcher;
  const decisions = new Counter<DecisionLabels>({
    name: 'headroom_autosize_decisions_total',
    help: 'Automatic sizing decisions by container, direction (up, down) and result (applied, refused, failed).',
    labelNames: ['container', 'direction', 'result'],
    registers: [registry],
    // Every opted-in container's series exist from 0, so that increase() sees its first decision too.
    collect() {
      for (const { facts } of watcher.list()) {
        if (!facts.running || !facts.autosize) continue;
        for (const direction of DIRECTIONS) for (const result of RESULTS) this.inc({ container: facts.labels.container, direction, result }, 0);
      }
    },
  });
  const settings: AutosizeSettings = {
    maxTier: config.autosizeMaxTier,
    cooldownSeconds: config.autosizeCooldown,
    maxChangesPerDay: config.autosizeMaxChangesPerDay,
    hostMemoryReserveBytes: config.autosizeHostMemoryReserve,
    usageMargin: config.autosizeUsageMargin,
  };
  const engine: ResizeTarget = {
    address: config.targetDocker,
    tls: { caFile: config.targetDockerTlsCa, certFile: config.targetDockerTlsCert, keyFile: config.targetDockerTlsKey },
    procfs: config.procfs,
    sysfs: config.sysfs,
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
    engine,
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
    mount: (app) => mountAutosizeRoutes(app, { token, autosizer, store, settings: shownSettings, host: config.autosizeHost, log }),
    links: [{ path: '/autosize', title: 'Automatic sizing' }],
    close: async () => {
      if (timer) clearInterval(timer);
      clearInterval(pruner);
    },
  };
}
