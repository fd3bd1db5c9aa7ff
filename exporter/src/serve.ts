// `headroom` (serve): wires the collectors, health checks and extensions into one HTTP server.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, NextFunction, Request, Response } from 'express';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ServeConfig } from './config.js';
import type { HostMode } from './docker/host-mode.js';
import type { OpenDatabase } from './statistics/database.js';
import type { AutosizeStore } from './autosize/store.js';
import { instantiateCollector, type Collector } from './collectors/collector.js';
import { COLLECTORS } from './collectors/index.js';
import { publishDeclaredSizes } from './declared.js';
import { collectorsCheck, createHealthMetrics, evaluateHealth, Probes, resourcesCheck, type ProbeCheck } from './health.js';
import { createApp, type Evaluation } from './http/app.js';
import { createScrapeMetrics } from './metrics.js';
import { processTarget, Scraper, type TargetSource } from './scrape.js';
import { VERSION } from './version.js';

/** What a feature adds to the server: routes, health checks, and what to close on shutdown. */
export interface Extension {
  mount?: (app: Express) => void;
  /** Links for the landing page. */
  links?: Array<{ path: string; title: string }>;
  /** /health sub-statuses that do I/O. */
  probes?: ProbeCheck[];
  guard?: (request: Request, response: Response, next: NextFunction) => void;
  close?: () => Promise<void>;
  /** The server to listen with (HTTPS from --web.config.file); the first extension that has one decides. */
  createServer?: (listener: RequestListener) => Server;
}

/** In-flight requests get this long after SIGTERM; under Docker's default 10 s before SIGKILL. */
export const SHUTDOWN_GRACE_MS = 8000;

export interface ExtensionContext {
  config: ServeConfig;
  registry: Registry;
  log: Logger;
  /** Host mode's watcher, where --target.docker is given. */
  hostMode?: HostMode;
  /** The scrapes: their results, and a listener told of each. */
  scraper: Scraper;
  /** What one extension offers the later ones: the statistics database, automatic sizing's decisions. */
  shared: { database?: OpenDatabase; autosizeStore?: AutosizeStore };
}
export type ExtensionFactory = (context: ExtensionContext) => Promise<Extension>;

export interface RunningExporter {
  server: Server;
  address: AddressInfo;
  scraper: Scraper;
  close: () => Promise<void>;
}

function createCollectors(config: ServeConfig, registry: Registry, targetLabelNames: readonly string[]): Collector[] {
  const options = { targetLabelNames, processGroupTop: config.processGroupTop };
  return COLLECTORS.filter((definition) => config.collectors.includes(definition.name)).map((definition) => instantiateCollector(definition, registry, options));
}

/** The sidecar: the watched process's cgroup, with the declared sizes. */
function sidecarTargets(config: ServeConfig, registry: Registry): TargetSource {
  publishDeclaredSizes(registry, { memoryLimitBytes: config.memoryLimit, cpuLimitCores: config.cpuLimit, memoryReservationBytes: config.memoryReservation, cpuReservationCores: config.cpuReservation });
  return processTarget({
    procfs: config.procfs, sysfs: config.sysfs, pid: config.targetPid, cgroupPath: config.targetCgroup,
    declaredMemoryReservationBytes: config.memoryReservation, declaredCpuReservationCores: config.cpuReservation,
  });
}

export async function startExporter(config: ServeConfig, extensionFactories: readonly ExtensionFactory[] = [], log: Logger = pino({ level: config.logLevel })): Promise<RunningExporter> {
  const registry = new Registry();
  // prom-client samples event-loop delay with a 10 ms timer by default: 100 wake-ups a second cost 0.2 CPU
  // seconds a minute while idle. One sample a second keeps the lag metrics and an idle exporter at zero.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  // Gauges named like counters: `promtool check metrics` rejects them, and the process_ metrics say the same.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  new Gauge({ name: 'headroom_build_info', help: 'Build information; always 1.', labelNames: ['version', 'nodejs'], registers: [registry] }).set({ version: VERSION, nodejs: process.version }, 1);

  // Host mode's code (the engine client, zod) loads only when --target.docker asks for it.
  const hostMode = config.targetDocker === undefined ? undefined : await (await import('./docker/host-mode.js')).startHostMode({
    address: config.targetDocker,
    tls: { caFile: config.targetDockerTlsCa, certFile: config.targetDockerTlsCert, keyFile: config.targetDockerTlsKey },
    procfs: config.procfs,
    sysfs: config.sysfs,
  }, registry, log);
  const targets = hostMode?.targets ?? sidecarTargets(config, registry);
  const collectors = createCollectors(config, registry, targets.labelNames);
  const scraper = new Scraper(collectors, createScrapeMetrics(registry, targets.labelNames), targets, config.procfs, log);
  const extensions: Extension[] = [];
  const context: ExtensionContext = { config, registry, log, scraper, shared: {}, ...(hostMode ? { hostMode } : {}) };
  for (const factory of extensionFactories) extensions.push(await factory(context));
  const scrapeChecks = [collectorsCheck, resourcesCheck];
  const probes = new Probes([...(hostMode ? [hostMode.probe] : []), ...extensions.flatMap((extension) => extension.probes ?? [])]);
  const healthMetrics = createHealthMetrics(registry, targets.labelNames);

  // /metrics: the scrape and the probes' last results, never waiting for a probe.
  const evaluateForMetrics = async (): Promise<Evaluation> => {
    const scrape = await scraper.scrape();
    const latest = probes.latest();
    const health = evaluateHealth(scrapeChecks, new Map([...latest].map(([name, { report }]) => [name, report])), scrape);
    healthMetrics.record(health, new Map([...latest].map(([name, { ageSeconds }]) => [name, ageSeconds])), scrape);
    return { health };
  };
  // /health: the scrape and fresh probes, each bounded by its timeout.
  const evaluateForHealth = async (): Promise<Evaluation> => {
    const [scrape, fresh] = await Promise.all([scraper.scrape(), probes.fresh()]);
    const health = evaluateHealth(scrapeChecks, fresh, scrape);
    healthMetrics.record(health, new Map([...fresh.keys()].map((name) => [name, 0])), scrape);
    return { health };
  };

  const guards = extensions.flatMap((extension) => (extension.guard ? [extension.guard] : []));
  const app = createApp({
    registry,
    telemetryPath: config.telemetryPath,
    evaluateForMetrics,
    evaluateForHealth,
    mount: extensions.flatMap((extension) => (extension.mount ? [extension.mount] : [])),
    links: extensions.flatMap((extension) => extension.links ?? []),
    guard: guards.length === 0 ? undefined : (request, response, next) => {
      const run = (index: number): void => {
        if (index === guards.length) return next();
        guards[index]!(request, response, (error?: unknown) => (error ? next(error) : run(index + 1)));
      };
      run(0);
    },
  });

  // The CPU percent is a rate: one scrape at start gives the first scrape a reference sample. The probes'
  // first round starts too, so the first /metrics has their results unless one hangs.
  await scraper.scrape();
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
    hostMode?.stop();
    for (const extension of extensions) await extension.close?.();
  })());
  return { server, address, scraper, close };
}
