// `headroom` (serve): the composition of the exporter. It chooses what to watch (the sidecar's cgroup, or
// host mode's containers), runs the collectors over it, starts the extensions in order, and serves the
// result: /metrics renders the scrape's families, /health the checks.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from 'express';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { instantiateCollector } from './scrape/collector.js';
import { COLLECTORS } from './collectors/index.js';
import type { ServeConfig } from './config.js';
import { declaredFamilies } from './declared.js';
import { registerFamily } from './scrape/exposition.js';
import type { Extension, ExtensionContext, ExtensionFactory, ProvisionName, Provisions } from './extension.js';
import { collectorsCheck, evaluateHealth, HEALTH_CHECK_AGE, HEALTH_STATUS, healthSamples, PROBE_MAX_AGE_MS, Probes, RESOURCE_LEVEL, resourcesCheck, type HealthReport, type ProbeCheck } from './health.js';
import { createApp, type Evaluation } from './http/app.js';
import { gauge, single, type Sample } from './scrape/samples.js';
import { Scraper } from './scrape/scraper.js';
import { sidecarSource, type TargetSource } from './scrape/target.js';
import { VERSION } from './version.js';

export type { Extension, ExtensionContext, ExtensionFactory } from './extension.js';

/** In-flight requests get this long after SIGTERM; under Docker's default 10 s before SIGKILL. */
export const SHUTDOWN_GRACE_MS = 8000;

export interface RunningExporter {
  server: Server;
  address: AddressInfo;
  scraper: Scraper;
  close: () => Promise<void>;
}

const BUILD_INFO = gauge('headroom_build_info', 'Build information; always 1.', ['version', 'nodejs']);

/** What the exporter watches: host mode's containers (its code loads only then), or the sidecar's one cgroup. */
async function startWatching(config: ServeConfig, registry: Registry, log: Logger): Promise<{ source: TargetSource; probes: ProbeCheck[]; provides: Partial<Provisions>; stop(): void }> {
  if (config.dockerHost !== undefined) {
    const hostMode = await (await import('./docker/host-mode.js')).startHostMode(config.dockerHost, registry, log);
    return { source: hostMode.source, probes: [hostMode.probe], provides: { watcher: hostMode.watcher }, stop: () => hostMode.stop() };
  }
  const declared = { memoryLimitBytes: config.memoryLimit, cpuLimitCores: config.cpuLimit, memoryReservationBytes: config.memoryReservation, cpuReservationCores: config.cpuReservation };
  for (const [spec, value] of declaredFamilies(declared)) registerFamily(registry, spec, () => single(value));
  const source = sidecarSource({
    procfs: config.procfs, sysfs: config.sysfs, pid: config.targetPid, cgroupPath: config.targetCgroup,
    declared: { memoryReservationBytes: config.memoryReservation, cpuReservationCores: config.cpuReservation },
  });
  return { source, probes: [], provides: {}, stop: () => {} };
}

/** Starts each extension after those it needs; one whose needs no earlier one provides is refused. */
async function startExtensions(factories: readonly ExtensionFactory[], base: Omit<ExtensionContext, 'need' | 'ownAuthPaths'>, provided: Partial<Provisions>): Promise<{ extensions: Extension[]; ownAuthPaths: Set<string> }> {
  const extensions: Extension[] = [];
  const ownAuthPaths = new Set<string>();
  for (const factory of factories) {
    const needs = new Set<ProvisionName>(factory.needs ?? []);
    for (const name of needs) if (provided[name] === undefined) throw new Error(`${factory.name} needs ${name}, which nothing started before it provides`);
    const context: ExtensionContext = {
      ...base,
      ownAuthPaths,
      need: (name) => {
        if (!needs.has(name)) throw new Error(`${factory.name} did not declare that it needs ${name}`);
        return provided[name]!;
      },
    };
    const extension = await factory.start(context);
    for (const path of extension.ownAuthPaths ?? []) ownAuthPaths.add(path);
    Object.assign(provided, extension.provides);
    extensions.push(extension);
  }
  return { extensions, ownAuthPaths };
}

export async function startExporter(config: ServeConfig, extensionFactories: readonly ExtensionFactory[] = [], log: Logger = pino({ level: config.logLevel })): Promise<RunningExporter> {
  const registry = new Registry();
  // prom-client samples event-loop delay with a 10 ms timer by default: 100 wake-ups a second cost 0.2 CPU
  // seconds a minute while idle. One sample a second keeps the lag metrics and an idle exporter at zero.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  // Gauges named like counters: `promtool check metrics` rejects them, and the process_ metrics say the same.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  registerFamily(registry, BUILD_INFO, () => single(1, { version: VERSION, nodejs: process.version }));

  const watching = await startWatching(config, registry, log);
  const collectors = COLLECTORS.filter((definition) => config.collectors.includes(definition.name))
    .map((definition) => instantiateCollector(definition, { processGroupTop: config.processGroupTop }));
  const scraper = new Scraper(collectors, watching.source, config.procfs, log);
  const fromScrape = (name: string) => () => scraper.latest()?.samples.get(name) ?? [];
  for (const spec of scraper.families()) registerFamily(registry, spec, fromScrape(spec.name));

  const provided: Partial<Provisions> = { ...watching.provides };
  const { extensions, ownAuthPaths } = await startExtensions(extensionFactories, { config, registry, log, scraper }, provided);
  const scrapeChecks = [collectorsCheck, resourcesCheck];
  const probes = new Probes([...watching.probes, ...extensions.flatMap((extension) => extension.probes ?? [])]);

  // The health families show the last evaluation /metrics made.
  let healthShown = new Map<string, Sample[]>();
  for (const spec of [HEALTH_STATUS, HEALTH_CHECK_AGE, RESOURCE_LEVEL]) registerFamily(registry, spec, () => healthShown.get(spec.name) ?? []);

  // /metrics: a fresh scrape and the probes' last results, never waiting for a probe.
  const evaluateForMetrics = async (): Promise<Evaluation> => {
    const scrape = await scraper.result();
    const latest = probes.latest();
    const health: HealthReport = evaluateHealth(scrapeChecks, new Map([...latest].map(([name, { report }]) => [name, report])), scrape);
    healthShown = healthSamples(health, new Map([...latest].map(([name, { ageSeconds }]) => [name, ageSeconds])), scrape);
    return { health };
  };
  // /health: the last scrape when it is recent, and fresh probes, each bounded by its timeout.
  const evaluateForHealth = async (): Promise<Evaluation> => {
    const [scrape, fresh] = await Promise.all([scraper.result(PROBE_MAX_AGE_MS), probes.fresh()]);
    return { health: evaluateHealth(scrapeChecks, fresh, scrape) };
  };

  const guards = extensions.flatMap((extension) => (extension.guard ? [extension.guard] : []));
  const guard: RequestHandler | undefined = guards.length === 0 ? undefined : (request, response, next) => {
    const run = (index: number): void => {
      if (index === guards.length) return next();
      guards[index]!(request, response, (error?: unknown) => (error ? next(error) : run(index + 1)));
    };
    run(0);
  };
  const app = createApp({
    registry,
    telemetryPath: config.telemetryPath,
    evaluateForMetrics,
    evaluateForHealth,
    mount: extensions.flatMap((extension) => (extension.mount ? [extension.mount] : [])),
    links: extensions.flatMap((extension) => extension.links ?? []),
    guard,
  });

  // The CPU percent is a rate: one scrape at start gives the first scrape a reference sample. The probes'
  // first round starts too, so the first /metrics has their results unless one hangs.
  await scraper.result();
  void probes.fresh();

  const server = extensions.find((extension) => extension.createServer)?.createServer?.(app) ?? createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listenAddress.port, config.listenAddress.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log.info({ address: `${address.address}:${address.port}`, version: VERSION }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    await new Promise<void>((resolve) => {
      // Requests in flight finish. Node goes on serving kept-alive connections after close(): new requests
      // on them are answered with Connection: close, connections that fall idle are swept, and none may
      // hold the exit beyond the grace period.
      server.prependListener('request', (_request, response) => { if (!response.headersSent) response.setHeader('Connection', 'close'); });
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      const forced = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      server.close(() => { clearInterval(sweep); clearTimeout(forced); resolve(); });
      server.closeIdleConnections();
    });
    watching.stop();
    for (const extension of extensions) await extension.close?.();
  })());
  return { server, address, scraper, close };
}
