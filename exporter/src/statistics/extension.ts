// The statistics feature as an exporter extension: opens and migrates the database, prunes, mounts
// /statistics, registers its metrics and the required `database` health check.
import type { ProbeCheck } from '../health.js';
import type { Extension, ExtensionContext, ExtensionFactory } from '../extension.js';
import { databaseLocation, describeLocation, openDatabase, type OpenDatabase } from './database.js';
import { registerStatisticsFamilies } from './metrics.js';
import { migrateToLatest } from './migrations/index.js';
import { Pruner } from './retention.js';
import { mountStatisticsRoutes } from './routes.js';
import { StatisticsStore } from './store.js';

declare module '../extension.js' {
  interface Provisions {
    /** The statistics store's database (migrated), for the features that keep their records beside it. */
    database: OpenDatabase;
  }
}

/** The database check's bound: well under the container healthcheck's timeout. */
export const DATABASE_CHECK_TIMEOUT_MS = 2000;

export function databaseCheck(store: StatisticsStore, description: string): ProbeCheck {
  return {
    name: 'database',
    // Without its database the exporter cannot take reports: the container is not healthy.
    required: true,
    timeoutMs: DATABASE_CHECK_TIMEOUT_MS,
    async probe() {
      await store.ping();
      // A full disk still answers reads: after a failed write, only a write tells.
      if (store.lastWriteError !== undefined) await store.probeWrite();
      return { status: 'ok', message: `${description} answers` };
    },
  };
}

async function startStatistics({ config, registry, log }: ExtensionContext): Promise<Extension> {
  const location = databaseLocation(config.databaseUrl, config.dataDir);
  const description = describeLocation(location);
  const open = await openDatabase(location, log);
  const store = new StatisticsStore(open);
  const pruner = new Pruner(store, config.statisticsRetention * 1000, log);
  try {
    await migrateToLatest(open.db);
    await pruner.prune(Date.now());
  } catch (error) {
    await store.close();
    throw new Error(`${description}: ${(error as Error).message}`);
  }
  log.info({ database: description }, 'statistics database ready');
  const counts = registerStatisticsFamilies(registry, () => store.activity(Date.now()), log);
  return {
    mount: (app) => mountStatisticsRoutes(app, { store, counts, pruner, log }),
    provides: { database: open },
    links: [{ path: '/statistics', title: 'Usage statistics' }],
    probes: [databaseCheck(store, description)],
    close: async () => {
      await pruner.settled();
      await store.close();
    },
  };
}

export const statisticsExtension: ExtensionFactory = { name: 'the statistics store', start: startStatistics };
