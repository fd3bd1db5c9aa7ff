// Stand-ins for the registry images the project names (no registry image can be pulled on these
// machines), tagged with exactly those names so the Dockerfile and compose/docker-compose.yml run
// unchanged in a private engine (docker-engine.ts). They are NOT the real images:
//   node:22-bookworm-slim       Debian bookworm (mmdebstrap minbase) + this host's node and npm (its
//                               version, not 22), Node's headers (npm_config_nodedir) and python3, make, g++
//                               so native addons (sqlite3) build from source, the host's CA bundle
//                               (NODE_EXTRA_CA_CERTS) so npm reaches the registry; user node (1000)
//   node:22-alpine              the same without the compilers, with busybox's wget as Alpine has (Debian, not Alpine)
//   prom/prometheus:v2.53.2     Debian's prometheus and promtool (2.42) on minbase, run as nobody
//   prom/alertmanager:v0.27.0   Debian's alertmanager and amtool (0.25) and its templates, as nobody
//   axllent/mailpit:v1.20.0     scripts/mailpit-standin.mjs: an SMTP sink with part of Mailpit's API
//   grafana/grafana-oss:11.2.0  scripts/grafana-standin.mjs: checks the provisioning mounts, answers /api/health
// Built once (40 s on an idle two-core machine, two minutes on a busy one) and kept as `docker save`
// archives under .cache/docker-standins/<key>/
// (git-ignored), where every later suite loads them from: the key changes with this file, the
// stand-in scripts, the host's node, Prometheus and Alertmanager binaries and CA bundle.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEBIAN_MIRROR } from './build-proxy.js';
import { buildArgFlags, runCommand, type DockerEngine } from './docker-engine.js';
import { REPO_ROOT } from './processes.js';

export const STANDIN_TAGS = {
  nodeSlim: 'node:22-bookworm-slim',
  nodeAlpine: 'node:22-alpine',
  prometheus: 'prom/prometheus:v2.53.2',
  alertmanager: 'prom/alertmanager:v0.27.0',
  mailpit: 'axllent/mailpit:v1.20.0',
  grafana: 'grafana/grafana-oss:11.2.0',
} as const;
export type StandinImage = (typeof STANDIN_TAGS)[keyof typeof STANDIN_TAGS];

/** Images saved together share their base layers; a suite loads only the archives it needs. */
const ARCHIVES: Record<string, StandinImage[]> = {
  node: [STANDIN_TAGS.nodeSlim, STANDIN_TAGS.nodeAlpine, STANDIN_TAGS.mailpit, STANDIN_TAGS.grafana],
  prometheus: [STANDIN_TAGS.prometheus, STANDIN_TAGS.alertmanager],
};

/** The stand-ins' own programs (scripts/*-standin.mjs). */
const STANDIN_SCRIPTS = { mailpit: path.join(REPO_ROOT, 'scripts', 'mailpit-standin.mjs'), grafana: path.join(REPO_ROOT, 'scripts', 'grafana-standin.mjs') };
export const STANDIN_CACHE = process.env.HEADROOM_STANDIN_CACHE ?? path.join(REPO_ROOT, '.cache', 'docker-standins');
const HOST_FILES = ['/usr/bin/node', '/usr/bin/prometheus', '/usr/bin/promtool', '/usr/bin/prometheus-alertmanager', '/usr/bin/amtool', '/etc/ssl/certs/ca-certificates.crt'];
const LABEL = 'org.opencontainers.image.vendor="headroom tests: a stand-in, not the real image"';

/**
 * sqlite3's install script (`prebuild-install -r napi || node-gyp rebuild`) first downloads a prebuilt
 * binary, which a normal machine reaches and these cannot; compiling it instead takes about 80 s per
 * `npm ci` (the Dockerfile runs two). The stand-in node:22-bookworm-slim therefore holds, in root's npm
 * cache where prebuild-install looks before downloading, the binary this checkout's own `npm ci` built,
 * under the name prebuild-install gives the download. For another sqlite3 version the name differs and
 * the build compiles from source with the image's python3, make and g++.
 * HEADROOM_STANDIN_SQLITE_PREBUILT=0 leaves it out.
 */
export function sqlitePrebuilt(): { binary: string; version: string; cacheName: string } | undefined {
  if (process.env.HEADROOM_STANDIN_SQLITE_PREBUILT === '0') return undefined;
  const sqliteDir = path.join(REPO_ROOT, 'node_modules', 'sqlite3');
  const binary = path.join(sqliteDir, 'build', 'Release', 'node_sqlite3.node');
  if (!existsSync(binary)) return undefined;
  const pkg = JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8')) as { version: string; binary?: { napi_versions?: number[] } };
  const napiVersions = (pkg.binary?.napi_versions ?? []).filter((version) => version <= Number(process.versions.napi));
  if (napiVersions.length === 0) return undefined;
  // prebuild-install's own naming (its URL template, then the cache file name it derives from the URL).
  const util = createRequire(path.join(sqliteDir, 'package.json'))('prebuild-install/util.js') as {
    getDownloadUrl(options: object): string;
    cachedPrebuild(url: string): string;
  };
  const url = util.getDownloadUrl({ pkg, runtime: 'napi', abi: String(Math.max(...napiVersions)), platform: process.platform, arch: process.arch, libc: '', 'tag-prefix': 'v' });
  return { binary, version: pkg.version, cacheName: path.basename(util.cachedPrebuild(url)) };
}

/** Seconds each step took when this process built the stand-ins (empty when they came from the cache). */
export const buildTimings: Record<string, number> = {};

function log(message: string): void {
  process.stderr.write(`[stand-ins] ${message}\n`);
}

/** Changes when anything that goes into the images changes. */
export function standinKey(): string {
  const hash = createHash('sha256');
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const script of Object.values(STANDIN_SCRIPTS)) hash.update(script).update(readFileSync(script));
  for (const file of HOST_FILES) {
    const stat = statSync(file);
    hash.update(`${file} ${stat.size} ${stat.mtimeMs}`);
  }
  hash.update(readFileSync('/etc/ssl/certs/ca-certificates.crt'));
  hash.update(process.version);
  const prebuilt = sqlitePrebuilt();
  if (prebuilt) hash.update(prebuilt.cacheName).update(readFileSync(prebuilt.binary));
  return hash.digest('hex').slice(0, 16);
}

function archivePath(key: string, archive: string): string {
  return path.join(STANDIN_CACHE, key, `${archive}.tar`);
}

async function timed<T>(step: string, action: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await action();
  buildTimings[step] = (Date.now() - started) / 1000;
  log(`${step}: ${buildTimings[step]!.toFixed(1)} s`);
  return result;
}

/** A tar of host paths (relative to /), with GNU tar options such as --transform and --exclude. */
async function hostTar(file: string, paths: string[], options: string[] = []): Promise<void> {
  await runCommand('tar', ['-C', '/', ...options, '-cf', file, ...paths]);
}

/**
 * docker build of a context directory holding a Dockerfile; with downloads, on the engine's own network
 * through its proxy (apt reaches DEBIAN_MIRROR and nothing else), else with no network at all.
 */
async function build(engine: DockerEngine, context: string, tag: string, dockerfile: string, downloads = false): Promise<void> {
  writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
  const network = downloads ? ['--network=host', ...buildArgFlags(await engine.proxyBuildArgs())] : ['--network=none'];
  await engine.docker(['build', '--quiet', ...network, '--tag', tag, context], { timeoutMs: 900_000 });
}

/** Builds every stand-in in `engine` (they stay there) and saves the archives for key. */
async function buildStandins(engine: DockerEngine, key: string, work: string): Promise<void> {
  const context = (name: string) => { const dir = path.join(work, name); mkdirSync(dir); return dir; };

  // Base: Debian bookworm, minbase, without documentation, man pages and translations.
  const rootfs = path.join(work, 'minbase.tar');
  await timed('mmdebstrap minbase', () => runCommand('mmdebstrap', ['--variant=minbase', '--quiet',
    ...['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'].map((pattern) => `--dpkgopt=path-exclude=${pattern}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    'bookworm', rootfs, DEBIAN_MIRROR], { timeoutMs: 600_000 }));
  await timed('docker import', () => engine.docker(['import', '--change', 'CMD ["bash"]', rootfs, 'headroom-standin/bookworm-minbase:latest']));
  rmSync(rootfs);

  // Node: the host's binary, npm, corepack, the headers node-gyp needs (OpenSSL's only for this platform).
  await timed('node images', async () => {
    const dir = context('node');
    const archs = readdirSync('/usr/include/node/openssl/archs').filter((arch) => arch !== 'linux-x86_64');
    await hostTar(path.join(dir, 'node.tar'), ['usr/bin/node', 'usr/bin/npm', 'usr/bin/npx', 'usr/bin/corepack', 'usr/lib/node_modules/npm', 'usr/lib/node_modules/corepack', 'usr/include/node', 'etc/ssl/certs/ca-certificates.crt'],
      archs.map((arch) => `--exclude=usr/include/node/openssl/archs/${arch}`));
    await build(engine, dir, 'headroom-standin/node:latest', [
      'FROM headroom-standin/bookworm-minbase:latest',
      'ADD node.tar /',
      'RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
      `ENV NODE_VERSION=${process.version.slice(1)} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_nodedir=/usr npm_config_update_notifier=false`,
      `LABEL ${LABEL} org.opencontainers.image.title="node stand-in: Debian bookworm minbase with node ${process.version}"`,
      'CMD ["node"]',
      '',
    ].join('\n'));
  });
  // Alpine's busybox gives the real node:22-alpine a `wget` (the demo's healthcheck uses it); Debian's busybox here.
  await timed('node:22-alpine (busybox wget)', async () => {
    const dir = context('node-alpine');
    await build(engine, dir, STANDIN_TAGS.nodeAlpine, [
      'FROM headroom-standin/node:latest',
      'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin && ln -s /bin/busybox /usr/local/bin/wget',
      `LABEL ${LABEL} org.opencontainers.image.title="node:22-alpine stand-in: Debian bookworm minbase with node ${process.version} and busybox's wget"`,
      '',
    ].join('\n'), true);
  });
  // The build tools npm needs to compile sqlite3 from source (its prebuilt binary is out of reach), and
  // the prebuilt binary where prebuild-install finds it (see sqlitePrebuilt).
  await timed('node:22-bookworm-slim (python3, make, g++)', async () => {
    const dir = context('node-build');
    const prebuilt = sqlitePrebuilt();
    if (prebuilt) {
      mkdirSync(path.join(dir, 'prebuilds'));
      await runCommand('tar', ['-C', path.dirname(path.dirname(path.dirname(prebuilt.binary))), '-czf', path.join(dir, 'prebuilds', prebuilt.cacheName), 'build/Release/node_sqlite3.node']);
      log(`sqlite3 ${prebuilt.version}: prebuilt binary seeded as /root/.npm/_prebuilds/${prebuilt.cacheName}`);
    } else log('sqlite3: no prebuilt binary seeded; image builds compile it from source');
    await build(engine, dir, STANDIN_TAGS.nodeSlim, [
      'FROM headroom-standin/node:latest',
      'RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin',
      ...(prebuilt ? ['COPY prebuilds/ /root/.npm/_prebuilds/'] : []),
      `LABEL ${LABEL} org.opencontainers.image.title="node:22-bookworm-slim stand-in: node ${process.version}, python3, make, g++"`,
      '',
    ].join('\n'), true);
  });

  await timed('prom/prometheus', async () => {
    const dir = context('prometheus');
    await hostTar(path.join(dir, 'prometheus.tar'), ['usr/bin/prometheus', 'usr/bin/promtool']);
    writeFileSync(path.join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: [localhost:9090]\n');
    await build(engine, dir, STANDIN_TAGS.prometheus, [
      'FROM headroom-standin/bookworm-minbase:latest',
      'ADD prometheus.tar /',
      'COPY prometheus.yml /etc/prometheus/prometheus.yml',
      'RUN mkdir -p /prometheus && chown nobody:nogroup /prometheus',
      'USER nobody',
      'WORKDIR /prometheus',
      'EXPOSE 9090',
      'VOLUME ["/prometheus"]',
      `LABEL ${LABEL} org.opencontainers.image.title="prom/prometheus stand-in: Debian's prometheus 2.42"`,
      'ENTRYPOINT ["/usr/bin/prometheus"]',
      'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
      '',
    ].join('\n'));
  });
  await timed('prom/alertmanager', async () => {
    const dir = context('alertmanager');
    await hostTar(path.join(dir, 'alertmanager.tar'), ['usr/bin/prometheus-alertmanager', 'usr/bin/amtool', 'usr/share/prometheus/alertmanager'],
      ['--transform=s,^usr/bin/prometheus-alertmanager$,usr/bin/alertmanager,']);
    writeFileSync(path.join(dir, 'alertmanager.yml'), 'route:\n  receiver: web.hook\nreceivers:\n  - name: web.hook\n    webhook_configs:\n      - url: http://127.0.0.1:5001/\n');
    await build(engine, dir, STANDIN_TAGS.alertmanager, [
      'FROM headroom-standin/bookworm-minbase:latest',
      'ADD alertmanager.tar /',
      'COPY alertmanager.yml /etc/alertmanager/alertmanager.yml',
      'RUN mkdir -p /alertmanager && chown nobody:nogroup /alertmanager',
      'USER nobody',
      'WORKDIR /alertmanager',
      'EXPOSE 9093',
      'VOLUME ["/alertmanager"]',
      `LABEL ${LABEL} org.opencontainers.image.title="prom/alertmanager stand-in: Debian's alertmanager 0.25"`,
      'ENTRYPOINT ["/usr/bin/alertmanager"]',
      'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]',
      '',
    ].join('\n'));
  });
  await timed('axllent/mailpit', async () => {
    const dir = context('mailpit');
    cpSync(STANDIN_SCRIPTS.mailpit, path.join(dir, 'mailpit.mjs'));
    await build(engine, dir, STANDIN_TAGS.mailpit, [
      'FROM headroom-standin/node:latest',
      'COPY mailpit.mjs /mailpit-standin.mjs',
      'USER nobody',
      'EXPOSE 1025 8025',
      `LABEL ${LABEL} org.opencontainers.image.title="axllent/mailpit stand-in: an SMTP sink with /api/v1/messages (scripts/mailpit-standin.mjs)"`,
      'ENTRYPOINT ["node", "/mailpit-standin.mjs"]',
      '',
    ].join('\n'));
  });
  await timed('grafana/grafana-oss', async () => {
    const dir = context('grafana');
    cpSync(STANDIN_SCRIPTS.grafana, path.join(dir, 'grafana-standin.mjs'));
    await build(engine, dir, STANDIN_TAGS.grafana, [
      'FROM headroom-standin/node:latest',
      'COPY grafana-standin.mjs /usr/share/grafana/grafana-standin.mjs',
      'RUN useradd --uid 472 --gid 0 --no-create-home --shell /usr/sbin/nologin grafana && mkdir -p /var/lib/grafana /etc/grafana/provisioning && chown 472:0 /var/lib/grafana',
      'ENV GF_PATHS_DATA=/var/lib/grafana GF_PATHS_PROVISIONING=/etc/grafana/provisioning',
      'USER 472:0',
      'WORKDIR /usr/share/grafana',
      'EXPOSE 3000',
      `LABEL ${LABEL} org.opencontainers.image.title="grafana/grafana-oss STAND-IN, not Grafana: checks its provisioning mounts and answers /api/health (scripts/grafana-standin.mjs)"`,
      'ENTRYPOINT ["node", "/usr/share/grafana/grafana-standin.mjs"]',
      '',
    ].join('\n'));
  });

  for (const [archive, images] of Object.entries(ARCHIVES)) {
    const target = archivePath(key, archive);
    await timed(`docker save ${archive}`, () => engine.docker(['save', '--output', `${target}.partial`, ...images]));
    renameSync(`${target}.partial`, target);
  }
}

function archivesFor(images: readonly StandinImage[]): string[] {
  return Object.entries(ARCHIVES).filter(([, members]) => members.some((image) => images.includes(image))).map(([archive]) => archive);
}

function cached(key: string, archives: string[]): boolean {
  return archives.every((archive) => existsSync(archivePath(key, archive)));
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Whether the process a lock directory's pid file names still runs (true while the file is not written yet). */
function lockHolderAlive(lock: string): boolean {
  const holder = Number(existsSync(path.join(lock, 'pid')) ? readFileSync(path.join(lock, 'pid'), 'utf8') : NaN);
  return !Number.isFinite(holder) || pidAlive(holder);
}

/**
 * Makes `images` (default: all stand-ins) present in `engine`: loads them from the cache, or builds every
 * stand-in in this engine and fills the cache first. Another process building at the same time is waited for.
 */
export async function loadStandins(engine: DockerEngine, images: readonly StandinImage[] = Object.values(STANDIN_TAGS)): Promise<void> {
  const key = standinKey();
  const archives = archivesFor(images);
  const lock = path.join(STANDIN_CACHE, `${key}.lock`);
  mkdirSync(STANDIN_CACHE, { recursive: true });
  const deadline = Date.now() + 20 * 60_000;
  while (!cached(key, archives)) {
    try {
      mkdirSync(lock);
    } catch {
      // Someone else builds: wait for it, or take over from a builder that died.
      if (!lockHolderAlive(lock)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`waited 20 minutes for the stand-in images (lock ${lock})`);
      else await new Promise((resolve) => setTimeout(resolve, 2000));
      continue;
    }
    writeFileSync(path.join(lock, 'pid'), String(process.pid));
    // The work directory lives in the lock: taking over from a builder that died removes its leftovers.
    const work = path.join(lock, 'work');
    mkdirSync(work);
    try {
      // Older keys' archives are stale. Only what this cache makes goes (a key's directory, the lock of a key
      // whose builder is gone): HEADROOM_STANDIN_CACHE may name a directory that holds other things too.
      for (const entry of readdirSync(STANDIN_CACHE)) {
        const match = /^([0-9a-f]{16})(\.lock)?$/.exec(entry);
        if (!match || match[1] === key) continue;
        if (match[2] && lockHolderAlive(path.join(STANDIN_CACHE, entry))) continue;
        rmSync(path.join(STANDIN_CACHE, entry), { recursive: true, force: true });
      }
      mkdirSync(path.join(STANDIN_CACHE, key), { recursive: true });
      log(`building the stand-in images (cache key ${key})`);
      const started = Date.now();
      await buildStandins(engine, key, work);
      buildTimings.total = (Date.now() - started) / 1000;
      log(`built in ${buildTimings.total.toFixed(1)} s`);
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  for (const archive of archives) {
    await timed(`docker load ${archive}`, () => engine.docker(['load', '--quiet', '--input', archivePath(key, archive)]));
  }
}
