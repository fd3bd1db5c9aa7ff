// The exporter's configuration: flags and defaults. Each flag's environment variable follows flags.ts's
// rule (--data.dir: HEADROOM_DATA_DIR); the declared sizes keep the seed's names (MEMORY_LIMIT, ...).
import { parseDuration } from './duration.js';
import { COLLECTORS } from './collectors/index.js';
import { dockerHost, parseEngineAddress, type DockerHost } from './docker-host.js';
import { absolutePath, booleanValue, FlagError, helpText, httpUrl, logLevelFlag, parseCommandLine, listenAddress, optionalPositiveInteger, positiveInteger, type FlagSpec } from './flags.js';
import { parseCpus, parseMemorySize, formatMemorySize, formatCpus } from './sizes.js';
import { DEFAULT_TIER, TIERS, tierByName } from './thresholds.js';

export const DEFAULT_PORT = 9477;

function optionalPath(raw: string): string | undefined | null {
  return raw === '' ? undefined : raw;
}

/** HOST:PORT, or '' for none. */
function optionalHostPort(raw: string): { host: string; port: number } | undefined | null {
  if (raw === '') return undefined;
  const match = /^([A-Za-z0-9][A-Za-z0-9.-]*):(\d{1,5})$/.exec(raw);
  return match && Number(match[2]) > 0 && Number(match[2]) < 65536 ? { host: match[1]!, port: Number(match[2]) } : null;
}

function nonNegativeNumber(raw: string): number | null {
  return /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : null;
}

function optionalCgroupPath(raw: string): string | undefined | null {
  return raw === '' ? undefined : absolutePath(raw);
}

export const serveFlags = {
  listenAddress: { name: 'web.listen-address', default: `127.0.0.1:${DEFAULT_PORT}`, form: 'HOST:PORT', help: 'Address on which to expose metrics, health and statistics.', parse: listenAddress },
  telemetryPath: { name: 'web.telemetry-path', default: '/metrics', form: '/PATH', help: 'Path under which to expose metrics.', parse: absolutePath },
  webConfigFile: { name: 'web.config.file', default: '', form: 'FILE', help: 'Exporter-toolkit web configuration file (TLS, basic auth).', parse: optionalPath },
  procfs: { name: 'path.procfs', default: '/proc', form: '/PATH', help: 'procfs mount point.', parse: absolutePath },
  sysfs: { name: 'path.sysfs', default: '/sys', form: '/PATH', help: 'sysfs mount point (cgroup mounts under it are read through it).', parse: absolutePath },
  targetPid: { name: 'target.pid', default: '', form: 'PID', help: 'Process whose cgroup is watched; none watches the exporter\'s own.', parse: optionalPositiveInteger },
  targetCgroup: { name: 'target.cgroup', default: '', form: '/CGROUP/PATH', help: 'Cgroup path (as in /proc/PID/cgroup) to watch instead of a process\'s.', parse: optionalCgroupPath },
  targetDocker: { name: 'target.docker', default: '', form: 'unix:///PATH or https://HOST:PORT', help: 'Host mode: watch every running container of this Docker engine (read-only: GET requests only; a TCP address needs TLS).', parse: (raw: string) => (raw === '' ? undefined : parseEngineAddress(raw)) },
  targetDockerTlsCa: { name: 'target.docker.tls-ca', default: '', form: 'FILE', help: 'CA certificate of an https:// engine.', parse: optionalPath },
  targetDockerTlsCert: { name: 'target.docker.tls-cert', default: '', form: 'FILE', help: 'Client certificate for an https:// engine.', parse: optionalPath },
  targetDockerTlsKey: { name: 'target.docker.tls-key', default: '', form: 'FILE', help: 'Client key for an https:// engine.', parse: optionalPath },
  targetHealthUrl: { name: 'target.health-url', default: '', form: 'http(s)://URL', help: 'Health URL of the watched application, shown under /health as "target".', parse: httpUrl },
  dataDir: { name: 'data.dir', default: './data', form: 'DIR', help: 'Directory of the SQLite statistics database.', parse: (raw: string) => (raw === '' ? null : raw) },
  databaseUrl: { name: 'database.url', default: '', form: 'postgres://USER:PASS@HOST:PORT/DB or sqlite:///PATH', help: 'Statistics database; none uses SQLite under --data.dir.', parse: optionalPath },
  statisticsEnabled: { name: 'statistics.enabled', boolean: true, default: 'true', form: 'true|false', help: 'Usage statistics (POST /statistics, its database and gauges); off, no database code is loaded.', parse: booleanValue },
  statisticsRetention: { name: 'statistics.retention', default: '90d', form: 'DURATION (e.g. 90d)', help: 'Usage reports older than this are pruned.', parse: parseDuration },
  statisticsTokenFile: { name: 'statistics.token-file', default: '', form: 'FILE', help: 'File whose first line is the bearer token POST /statistics requires; none requires no token.', parse: optionalPath },
  statisticsRateLimit: { name: 'statistics.rate-limit', default: '10', form: 'REQUESTS PER SECOND (0: none)', help: 'Writes (POST /statistics) accepted per second from one client address, with bursts of twice that.', parse: nonNegativeNumber },
  processGroupTop: { name: 'collector.process_group.top', default: '10', form: 'N', help: 'Process groups exported by name, by CPU; the rest are summed as "other".', parse: positiveInteger },
  autosizeEnabled: { name: 'autosize.enabled', boolean: true, default: 'false', form: 'true|false', help: 'Host mode: raise a container\'s limits in place when Alertmanager posts its critical or danger alert to /autosize/alertmanager, and lower them after sustained low use; only containers labelled headroom.autosize=true.', parse: booleanValue },
  autosizeTokenFile: { name: 'autosize.token-file', default: '', form: 'FILE', help: 'File whose first line is the bearer token POST /autosize/alertmanager requires (needed with --autosize.enabled).', parse: optionalPath },
  autosizeMaxTier: { name: 'autosize.max-tier', default: TIERS[TIERS.length - 1]!.name, form: TIERS.map((tier) => tier.name).join('|'), help: 'No change goes above this tier\'s limits.', parse: (raw: string) => tierByName(raw) ?? null },
  autosizeCooldown: { name: 'autosize.cooldown', default: '30m', form: 'DURATION (e.g. 30m)', help: 'After a change, no other change to the same container for this long.', parse: parseDuration },
  autosizeMaxChangesPerDay: { name: 'autosize.max-changes-per-day', default: '4', form: 'N', help: 'Changes to one container in any 24 hours.', parse: positiveInteger },
  autosizeHostMemoryReserve: { name: 'autosize.host-memory-reserve', default: '1024M', form: 'SIZE (e.g. 1024M)', help: 'Host memory kept out of the sum of the containers\' memory limits.', parse: parseMemorySize },
  autosizeUsageMargin: { name: 'autosize.usage-margin', default: '0.15', form: 'FRACTION (e.g. 0.15)', help: 'A memory limit is never set under the working set plus this fraction.', parse: (raw: string) => (/^\d+(\.\d+)?$/.test(raw) && Number(raw) < 10 ? Number(raw) : null) },
  autosizePrometheusUrl: { name: 'autosize.prometheus-url', default: '', form: 'http(s)://HOST:PORT', help: 'Prometheus for the recommender: scale up to its figure when higher than the next tier, and scale down after sustained low use; none: up one tier only, never down.', parse: httpUrl },
  autosizeWindow: { name: 'autosize.window', default: '7d', form: 'DURATION (e.g. 7d)', help: 'History the recommender reads.', parse: parseDuration },
  autosizeCheckInterval: { name: 'autosize.check-interval', default: '1h', form: 'DURATION (e.g. 1h)', help: 'How often the scale-down check runs (with --autosize.prometheus-url).', parse: parseDuration },
  autosizeEnvFile: { name: 'autosize.env-file', default: '', form: 'FILE', help: 'Compose env file that gets the new sizes of --autosize.env-service\'s container, so the next `make up` keeps them.', parse: optionalPath },
  autosizeEnvProject: { name: 'autosize.env-project', default: 'headroom', form: 'NAME', help: 'The compose project of --autosize.env-service (make up\'s is headroom).', parse: (raw: string) => (raw === '' ? null : raw) },
  autosizeEnvService: { name: 'autosize.env-service', default: 'demo', form: 'NAME', help: 'The compose service whose sizes the env file holds.', parse: (raw: string) => (raw === '' ? null : raw) },
  autosizePeers: { name: 'autosize.peers', default: '', form: 'HOST:PORT', help: 'On a swarm: the name that resolves to every node\'s exporter, and their port (the stack\'s exporter:9477). An alert of a container this exporter does not run is passed on to the others, once, over plain HTTP with the same token.', parse: optionalHostPort },
  autosizeHost: { name: 'autosize.host', default: '', form: 'NAME', help: 'Where many hosts share an Alertmanager or a database: this host\'s name, as the alerts\' `host` label gives it. Alerts of other hosts are ignored; decisions are kept per host.', parse: (raw: string) => raw },
  uiEnabled: { name: 'ui.enabled', boolean: true, default: 'true', form: 'true|false', help: 'The page at / (every watched container, live) and its JSON API under /api/v1/; off, / is a list of links.', parse: booleanValue },
  uiRefreshInterval: { name: 'ui.refresh-interval', default: '15s', form: 'DURATION (e.g. 15s)', help: 'How often the page refreshes its figures (a scrape no older than this is reused), and the step of its in-process history.', parse: (raw: string) => { const seconds = parseDuration(raw); return seconds !== null && seconds >= 1 && seconds <= 600 ? seconds : null; } },
  uiHistory: { name: 'ui.history', default: '1h', form: 'DURATION (e.g. 1h)', help: 'How far back the page\'s in-process history reaches (fed by scrapes; at most 24h).', parse: (raw: string) => { const seconds = parseDuration(raw); return seconds !== null && seconds <= 86400 ? seconds : null; } },
  uiPrometheusUrl: { name: 'ui.prometheus-url', default: '', form: 'http(s)://HOST:PORT', help: 'Prometheus that scrapes this exporter: the page\'s charts reach back 7 days and its recommended sizes come from 7 days of history; none: the in-process history only.', parse: httpUrl },
  logLevel: logLevelFlag,
  memoryLimit: { name: 'declared.memory-limit', env: 'MEMORY_LIMIT', default: formatMemorySize(DEFAULT_TIER.memoryLimitBytes), form: 'SIZE (e.g. 2048M)', help: 'Declared memory limit, as in compose.', parse: parseMemorySize },
  cpuLimit: { name: 'declared.cpu-limit', env: 'CPU_LIMIT', default: formatCpus(DEFAULT_TIER.cpuLimitCores), form: 'CPUS (e.g. 2.0)', help: 'Declared CPU limit, as in compose.', parse: parseCpus },
  memoryReservation: { name: 'declared.memory-reservation', env: 'MEMORY_RESERVATION', default: formatMemorySize(DEFAULT_TIER.memoryReservationBytes), form: 'SIZE (e.g. 512M)', help: 'Declared memory reservation, used where the cgroup has none.', parse: parseMemorySize },
  cpuReservation: { name: 'declared.cpu-reservation', env: 'CPU_RESERVATION', default: formatCpus(DEFAULT_TIER.cpuReservationCores), form: 'CPUS (e.g. 0.5)', help: 'Declared CPU reservation (no cgroup file carries it).', parse: parseCpus },
} satisfies Record<string, FlagSpec<unknown>>;

/** `--[no-]collector.NAME` for every collector, as node_exporter: all on by default. */
const collectorFlags: Record<string, FlagSpec<boolean>> = Object.fromEntries(COLLECTORS.map((collector) => [
  `collector:${collector.name}`,
  { name: `collector.${collector.name}`, boolean: true, default: 'true', form: 'true|false', help: collector.description, parse: booleanValue },
]));

export type ServeConfig = {
  [K in keyof typeof serveFlags]: Exclude<ReturnType<(typeof serveFlags)[K]['parse']>, null>;
} & {
  /** Names of the collectors switched on. */
  collectors: string[];
  /** Host mode's engine and host (--target.docker). */
  dockerHost?: DockerHost;
};

/** The serve command line and environment as a configuration; throws FlagError on a bad flag or value. */
export function parseServeCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv) {
  const parsed = parseCommandLine({ ...serveFlags, ...collectorFlags }, argv, env);
  const values = parsed.values as Record<string, unknown>;
  const config = Object.fromEntries(Object.keys(serveFlags).map((key) => [key, values[key]])) as ServeConfig;
  const hostMode = config.targetDocker !== undefined;
  if (config.targetDocker !== undefined) config.dockerHost = dockerHost({ ...config, targetDocker: config.targetDocker });
  if (hostMode && (config.targetPid !== undefined || config.targetCgroup !== undefined)) {
    throw new FlagError('--target.docker watches every container: it goes with neither --target.pid nor --target.cgroup');
  }
  if (config.autosizeEnabled) {
    if (!hostMode) throw new FlagError('--autosize.enabled changes containers\' limits: it needs host mode (--target.docker)');
    if (!config.statisticsEnabled) throw new FlagError('--autosize.enabled records its decisions in the statistics database: it needs --statistics.enabled');
    if (config.autosizeTokenFile === undefined) throw new FlagError('--autosize.enabled needs --autosize.token-file: POST /autosize/alertmanager changes limits');
  }
  if (config.uiHistory < config.uiRefreshInterval * 2) throw new FlagError('--ui.history must hold at least two steps of --ui.refresh-interval');
  // Per-command groups would multiply every container's series: in host mode they are on only when asked for.
  const offInHostMode = new Set(['process_group']);
  config.collectors = COLLECTORS.map((collector) => collector.name).filter((name) => values[`collector:${name}`] === true
    && !(hostMode && offInHostMode.has(name) && !(parsed.given as Set<string>).has(`collector:${name}`)));
  return { config, help: parsed.help, version: parsed.version, positionals: parsed.positionals };
}

export function serveHelp(usage: string): string {
  return helpText(usage, { ...serveFlags, ...collectorFlags });
}

