// Flags in node_exporter's style (`--web.listen-address=ADDR` or `--web.listen-address ADDR`),
// each with an optional environment variable and a default. Parsing only: no I/O.

export class FlagError extends Error {}

export interface FlagSpec<T> {
  name: string;
  env?: string;
  default: string;
  form: string;
  help: string;
  /** Returns the parsed value, or null when `raw` is not of the accepted form. */
  parse: (raw: string) => T | null;
}

type Values<Specs extends Record<string, FlagSpec<unknown>>> = { [K in keyof Specs]: Specs[K] extends FlagSpec<infer T> ? T : never };

export interface ParsedCommandLine<Specs extends Record<string, FlagSpec<unknown>>> {
  values: Values<Specs>;
  help: boolean;
  version: boolean;
  positionals: string[];
}

export function parseCommandLine<Specs extends Record<string, FlagSpec<unknown>>>(
  specs: Specs,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ParsedCommandLine<Specs> {
  const byName = new Map(Object.entries(specs).map(([key, spec]) => [spec.name, { key, spec }]));
  const raw = new Map<string, string>();
  const positionals: string[] = [];
  let help = false;
  let version = false;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--help' || argument === '-h') { help = true; continue; }
    if (argument === '--version') { version = true; continue; }
    if (!argument.startsWith('--')) { positionals.push(argument); continue; }
    const equals = argument.indexOf('=');
    const name = argument.slice(2, equals === -1 ? undefined : equals);
    const entry = byName.get(name);
    if (!entry) throw new FlagError(`unknown flag --${name} (see --help)`);
    let value: string | undefined;
    if (equals !== -1) value = argument.slice(equals + 1);
    else {
      value = argv[index + 1];
      if (value === undefined) throw new FlagError(`flag --${name} needs a value: ${entry.spec.form}`);
      index += 1;
    }
    raw.set(entry.key, value);
  }
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const fromFlag = raw.get(key);
    const fromEnv = spec.env !== undefined ? env[spec.env] : undefined;
    const text = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : spec.default);
    const parsed = spec.parse(text);
    if (parsed === null) {
      const source = fromFlag !== undefined ? `flag --${spec.name}` : fromEnv ? `environment variable ${spec.env}` : `default of --${spec.name}`;
      throw new FlagError(`invalid value ${JSON.stringify(text)} for ${source}: expected ${spec.form}`);
    }
    values[key] = parsed;
  }
  return { values: values as Values<Specs>, help, version, positionals };
}

export function helpText<Specs extends Record<string, FlagSpec<unknown>>>(usage: string, specs: Specs): string {
  const lines = [usage, '', 'Flags:'];
  for (const spec of Object.values(specs)) {
    const env = spec.env ? ` [$${spec.env}]` : '';
    lines.push(`  --${spec.name}=${spec.form}${env}`);
    lines.push(`      ${spec.help} (default: ${spec.default === '' ? 'none' : JSON.stringify(spec.default)})`);
  }
  lines.push('  --help', '      Show this help and exit.', '  --version', '      Show the version and exit.');
  return lines.join('\n');
}

// Value parsers shared by commands.

export const text = (raw: string): string => raw;

export function positiveInteger(raw: string): number | null {
  return /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : null;
}

export function optionalPositiveInteger(raw: string): number | null | undefined {
  return raw === '' ? undefined : positiveInteger(raw);
}

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** Prometheus-style duration (`30s`, `5m`, `90d`, `1h30m`) in seconds. */
export function durationSeconds(raw: string): number | null {
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(raw)) return null;
  let seconds = 0;
  for (const [, amount, unit] of raw.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) seconds += Number(amount) * DURATION_UNITS[unit!]!;
  return seconds > 0 ? seconds : null;
}

export interface ListenAddress { host: string; port: number }

/** `HOST:PORT`, `:PORT` (all interfaces) or `[::1]:PORT`. */
export function listenAddress(raw: string): ListenAddress | null {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw);
  if (!match) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export function absolutePath(raw: string): string | null {
  return raw.startsWith('/') ? raw : null;
}

export function httpUrl(raw: string): string | null | undefined {
  if (raw === '') return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
  } catch {
    return null;
  }
}
