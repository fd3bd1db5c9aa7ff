#!/usr/bin/env node
// Prints the stack file `make swarm-up` deploys (`docker stack deploy -c - headroom`):
//   node compose/swarm-stack.mjs [OVERRIDE.yml ...]
// docker-compose.yml, then swarm.yml, then each override, merged, and then every bind mount of a file or
// folder of this checkout turned into Swarm configs (or secrets, for the sources swarm.yml lists under
// x-swarm-secrets): the client reads those files once, at deploy time, and the swarm hands them to the task
// on whatever node it runs. Nothing a service needs is then read from a path of the checkout, so no node but
// the one `make` runs on needs it. A folder becomes one config per file (its .yml, .yaml and .json files,
// recursively, but no *.test.yml). Bind mounts of other paths (the engine's socket, /proc, /sys) stay.
// A config or secret is named after its file and the first 12 hex digits of its content's SHA-256: Swarm
// never changes one in place, so a changed file gets a new name and the service a new task.
// ${VARIABLES} stay for `docker stack deploy` to interpolate; those of a bind mount are resolved here (from
// the environment), to find the file.
// Merging: mappings key by key (the later file wins), volumes by their target, ports by their target,
// other lists and values replaced.
// @ts-check
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const COMPOSE_DIR = path.dirname(fileURLToPath(import.meta.url));
const CHECKOUT = path.dirname(COMPOSE_DIR);
const STACK_NAME = 'headroom';

/** @typedef {Record<string, any>} Mapping */

/** ${NAME}, ${NAME:-default}, ${NAME-default}, $NAME, from the environment. */
function interpolate(text, environment) {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, braced, operator, fallback, bare) => {
    const value = environment[braced ?? bare];
    if (operator === ':-') return value ? value : fallback;
    if (operator === '-') return value ?? fallback;
    return value ?? '';
  });
}

/** The target of a volume or port entry, short or long syntax, for merging. */
function targetOf(entry) {
  if (typeof entry !== 'string') return String(entry.target);
  const parts = interpolate(entry, {}).split(':');
  return parts.length >= 2 ? parts[1] : parts[0];
}

function portTarget(entry) {
  return typeof entry === 'string' ? entry.split(':').at(-1).split('/')[0] : String(entry.target);
}

function mergeByKey(base, over, key) {
  const merged = new Map(base.map((entry) => [key(entry), entry]));
  for (const entry of over) merged.set(key(entry), entry);
  return [...merged.values()];
}

/** @returns {any} */
function merge(base, over, field = '') {
  if (Array.isArray(base) && Array.isArray(over)) {
    if (field === 'volumes') return mergeByKey(base, over, targetOf);
    if (field === 'ports') return mergeByKey(base, over, portTarget);
    return over;
  }
  if (base && over && typeof base === 'object' && typeof over === 'object') {
    const merged = { ...base };
    for (const [key, value] of Object.entries(over)) merged[key] = key in base ? merge(base[key], value, key) : value;
    return merged;
  }
  return over;
}

/** Files a folder mount hands over. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(file);
    return /\.(ya?ml|json)$/.test(entry.name) && !entry.name.endsWith('.test.yml') ? [file] : [];
  });
}

/** At most 64 characters, as Swarm wants: the stack, the end of the file's path, 12 hex digits. */
function objectName(file, content) {
  const slug = path.relative(CHECKOUT, file).replace(/[^A-Za-z0-9]+/g, '-').slice(-(64 - STACK_NAME.length - 14)).replace(/^-|-$/g, '');
  return `${STACK_NAME}_${slug}_${createHash('sha256').update(content).digest('hex').slice(0, 12)}`;
}

/**
 * The stack file for the compose files given (docker-compose.yml, swarm.yml, overrides), in that order.
 * @param {string[]} files
 * @param {Record<string, string | undefined>} environment
 */
export function swarmStack(files, environment) {
  /** @type {Mapping} */
  let stack = {};
  for (const file of files) stack = merge(stack, parse(readFileSync(file, 'utf8'), { merge: true }) ?? {});
  const secretSources = new Set((stack['x-swarm-secrets'] ?? []).map((source) => path.resolve(COMPOSE_DIR, source)));
  for (const key of Object.keys(stack)) if (key.startsWith('x-')) delete stack[key];
  /** @type {Record<'configs' | 'secrets', Mapping>} */
  const objects = { configs: {}, secrets: {} };
  for (const service of Object.values(stack.services ?? {})) {
    const volumes = [];
    for (const entry of service.volumes ?? []) {
      const [source, target] = typeof entry === 'string' ? interpolate(entry, environment).split(':') : [interpolate(entry.source ?? '', environment), entry.target];
      const resolved = /^[./]/.test(source) ? path.resolve(COMPOSE_DIR, source) : undefined;
      if (!resolved || (resolved !== CHECKOUT && !resolved.startsWith(`${CHECKOUT}${path.sep}`))) {
        volumes.push(entry);
        continue;
      }
      const isFolder = statSync(resolved).isDirectory();
      for (const file of isFolder ? filesUnder(resolved) : [resolved]) {
        const kind = secretSources.has(file) ? 'secrets' : 'configs';
        const name = objectName(file, readFileSync(file));
        objects[kind][name] = { name, file };
        const fileTarget = isFolder ? path.posix.join(target, path.relative(resolved, file).split(path.sep).join('/')) : target;
        (service[kind] ??= []).push({ source: name, target: fileTarget });
      }
    }
    if (volumes.length > 0) service.volumes = volumes;
    else delete service.volumes;
  }
  for (const kind of /** @type {const} */ (['configs', 'secrets'])) {
    if (Object.keys(objects[kind]).length > 0) stack[kind] = { ...stack[kind], ...objects[kind] };
  }
  return stack;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = [path.join(COMPOSE_DIR, 'docker-compose.yml'), path.join(COMPOSE_DIR, 'swarm.yml'), ...process.argv.slice(2).filter(Boolean)];
  try {
    process.stdout.write(stringify(swarmStack(files, process.env), { aliasDuplicateObjects: false, lineWidth: 0 }));
  } catch (error) {
    process.stderr.write(`swarm-stack: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
}
