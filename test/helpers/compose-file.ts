// Reading the local stack's compose file the way compose does: variable interpolation, then YAML
// (with merge keys). Pure functions apart from loadCompose.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/processes.js';

export const COMPOSE_DIR = path.join(REPO_ROOT, 'compose');
export const COMPOSE_FILE = path.join(COMPOSE_DIR, 'docker-compose.yml');
/** The demo, opt-in (`make demo`): laid over COMPOSE_FILE, then DEMO_COMPOSE_ONLY_FILE. */
export const DEMO_FILE = path.join(COMPOSE_DIR, 'demo.yml');
export const DEMO_COMPOSE_ONLY_FILE = path.join(COMPOSE_DIR, 'demo-compose-only.yml');
export const DEMO_SWARM_FILE = path.join(COMPOSE_DIR, 'demo-swarm.yml');

export interface VariableUse { name: string; hasDefault: boolean; expression: string }

// ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME; `$$` is a literal dollar.
const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Every variable a compose file interpolates, with whether it has a default. */
export function variableUses(text: string): VariableUse[] {
  const uses: VariableUse[] = [];
  for (const match of text.matchAll(VARIABLE)) {
    if (match[0] === '$$') continue;
    const name = match[1] ?? match[4]!;
    uses.push({ name, hasDefault: match[2] === '-' || match[2] === ':-', expression: match[0] });
  }
  return uses;
}

/** Compose's interpolation: a set (and, for `:-`, non-empty) variable, else the default. */
export function interpolate(text: string, environment: Record<string, string | undefined>): string {
  return text.replace(VARIABLE, (whole, braced: string | undefined, operator: string | undefined, operand: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    const value = environment[(braced ?? bare)!];
    if (operator === ':-') return value ? value : operand!;
    if (operator === '-') return value ?? operand!;
    if (operator === ':?' || operator === '?') {
      if (value === undefined || (operator === ':?' && value === '')) throw new Error(`${braced} is required: ${operand}`);
      return value;
    }
    return value ?? '';
  });
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  user?: string;
  pid?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  restart?: string;
  networks?: string[];
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  deploy?: { resources?: { limits?: { memory?: string; cpus?: string }; reservations?: { memory?: string; cpus?: string } } };
  depends_on?: string[];
  labels?: Record<string, string>;
  entrypoint?: string[];
  cap_drop?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { name?: string } | null>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The YAML document as written (no interpolation), for the schema. */
export function parseComposeText(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

export function readComposeText(): string {
  return readFileSync(COMPOSE_FILE, 'utf8');
}

/** Interpolates every string of a parsed document (compose parses the YAML first, so `2.0` stays a string). */
export function interpolateDocument<T>(document: T, environment: Record<string, string | undefined>): T {
  if (typeof document === 'string') return interpolate(document, environment) as T;
  if (Array.isArray(document)) return document.map((item) => interpolateDocument(item, environment)) as T;
  if (document !== null && typeof document === 'object') {
    return Object.fromEntries(Object.entries(document).map(([key, value]) => [key, interpolateDocument(value, environment)])) as T;
  }
  return document;
}

/** The compose file as compose sees it with `environment` (defaults for the rest). */
export function loadCompose(environment: Record<string, string | undefined> = {}): ComposeFile {
  return interpolateDocument(parseComposeText(readComposeText()), environment);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Compose's rule for an override file, for the keys these files use: mappings merge, depends_on adds, the rest is replaced. */
export function overlayCompose(base: ComposeFile, over: ComposeFile): ComposeFile {
  const merge = (left: unknown, right: unknown, key: string): unknown => {
    if (isMapping(left) && isMapping(right)) {
      const merged: Record<string, unknown> = { ...left };
      for (const [name, value] of Object.entries(right)) merged[name] = name in left ? merge(left[name], value, name) : value;
      return merged;
    }
    if (key === 'depends_on' && Array.isArray(left) && Array.isArray(right)) return [...new Set([...left, ...right])];
    return right;
  };
  return merge(base, over, '') as ComposeFile;
}

/** The stack with the demo (`make demo`, and what `make swarm-up` deploys), as compose sees it with `environment`. */
export function loadStackWithDemo(environment: Record<string, string | undefined> = {}): ComposeFile {
  const demo = interpolateDocument(parseComposeText(readFileSync(DEMO_FILE, 'utf8')), environment);
  return overlayCompose(loadCompose(environment), demo);
}

export interface Mount { source: string; target: string; readOnly: boolean; kind: 'bind' | 'volume' }

/** A short-syntax volume entry: a bind when the source is a path, else a named volume. */
export function parseMount(entry: string, composeDir: string): Mount {
  const [source, target, mode] = entry.split(':') as [string, string | undefined, string | undefined];
  if (target === undefined) throw new Error(`anonymous volume ${entry}`);
  const isPath = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
  return {
    source: isPath ? path.resolve(composeDir, source) : source,
    target,
    readOnly: (mode ?? '').split(',').includes('ro'),
    kind: isPath ? 'bind' : 'volume',
  };
}

export function serviceCommand(service: ComposeService): string[] {
  if (Array.isArray(service.command)) return service.command;
  return service.command ? service.command.split(/\s+/).filter(Boolean) : [];
}

/** `--name=value` of a command line, or undefined. */
export function flagValue(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/** The variables that set the stack's published ports (each on 127.0.0.1 with make up). */
export const STACK_PORT_VARIABLES = ['DEMO_PORT', 'HEADROOM_PORT', 'PROMETHEUS_PORT', 'ALERTMANAGER_PORT', 'MAILPIT_PORT', 'GRAFANA_PORT'] as const;
export type StackPortVariable = (typeof STACK_PORT_VARIABLES)[number];

/** The stack's services: headroom's own, and the demo's when it is turned on (make demo, DEMO=1). */
export function stackServices({ demo }: { demo: boolean }): string[] {
  return Object.keys((demo ? loadStackWithDemo() : loadCompose()).services);
}
