// Flags in node_exporter's style (`--web.listen-address=ADDR` or `--web.listen-address ADDR`),
// each with an optional environment variable and a default. Parsing only: no I/O.

export class FlagError extends Error {}

export interface FlagSpec<T> {
  name: string;
  /** Only where a name predates the rule (the seed's MEMORY_LIMIT, ...); otherwise environmentVariable(name). */
  env?: string;
  default: string;
  form: string;
  help: string;
  /** Returns the parsed value, or null when `raw` is not of the accepted form. */
  parse: (raw: string) => T | null;
  /** A switch: `--NAME` sets it, `--no-NAME` clears it (also `--NAME=false`); it takes no separate value. */
  boolean?: boolean;
}

type Values<Specs extends Record<string, FlagSpec<unknown>>> = { [K in keyof Specs]: Specs[K] extends FlagSpec<infer T> ? T : never };

export interface ParsedCommandLine<Specs extends Record<string, FlagSpec<unknown>>> {
  values: Values<Specs>;
  /** Keys of the flags given on the command line or in the environment (the rest hold their default). */
  given: Set<keyof Specs>;
  help: boolean;
  version: boolean;
  positionals: string[];
}

/** The environment variable of a flag: HEADROOM_ and the name in capitals, `.` and `-` as `_` (--data.dir: HEADROOM_DATA_DIR). */
export function environmentVariable(flagName: string): string {
  return `HEADROOM_${flagName.toUpperCase().replace(/[.-]/g, '_')}`;
}

function envOf(spec: FlagSpec<unknown>): string {
  return spec.env ?? environmentVariable(spec.name);
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
    const negated = name.startsWith('no-') ? byName.get(name.slice(3)) : undefined;
    if (negated?.spec.boolean) {
      if (equals !== -1) throw new FlagError(`flag --${name} takes no value`);
      raw.set(negated.key, 'false');
      continue;
    }
    const entry = byName.get(name);
    if (!entry) throw new FlagError(`unknown flag --${name} (see --help)`);
    let value: string | undefined;
    if (equals !== -1) value = argument.slice(equals + 1);
    else if (entry.spec.boolean) value = 'true';
    else {
      value = argv[index + 1];
      if (value === undefined) throw new FlagError(`flag --${name} needs a value: ${entry.spec.form}`);
      index += 1;
    }
    raw.set(entry.key, value);
  }
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [key, spec] of Object.entries(specs)) {
    const fromFlag = raw.get(key);
    const fromEnv = env[envOf(spec)];
    if (fromFlag !== undefined || (fromEnv !== undefined && fromEnv !== '')) given.add(key);
    const text = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : spec.default);
    const parsed = spec.parse(text);
    if (parsed === null) {
      const source = fromFlag !== undefined ? `flag --${spec.name}` : fromEnv ? `environment variable ${envOf(spec)}` : `default of --${spec.name}`;
      throw new FlagError(`invalid value ${JSON.stringify(text)} for ${source}: expected ${spec.form}`);
    }
    values[key] = parsed;
  }
  return { values: values as Values<Specs>, given: given as Set<keyof Specs>, help, version, positionals };
}

export function helpText<Specs extends Record<string, FlagSpec<unknown>>>(usage: string, specs: Specs): string {
  const lines = [usage, '', 'Flags:'];
  for (const spec of Object.values(specs)) {
    lines.push(spec.boolean ? `  --[no-]${spec.name} [$${envOf(spec)}=true|false]` : `  --${spec.name}=${spec.form} [$${envOf(spec)}]`);
    lines.push(`      ${spec.help} (default: ${spec.default === '' ? 'none' : JSON.stringify(spec.default)})`);
  }
  lines.push('  --help', '      Show this help and exit.', '  --version', '      Show the version and exit.');
  return lines.join('\n');
}

/** A subcommand's way out: one line on stderr, `headroom NAME: message`, and the exit code. */
export function commandFailure(command: string): (message: string, code: number) => never {
  return (message, code) => {
    process.stderr.write(`headroom ${command}: ${message}\n`);
    process.exit(code);
  };
}

/**
 * A subcommand's command line: a bad flag exits 2 with one line; --help prints the help and gives null (the
 * command then has nothing to do).
 */
export function parseSubcommandLine<Specs extends Record<string, FlagSpec<unknown>>>(command: string, usage: string, specs: Specs, argv: readonly string[]): ParsedCommandLine<Specs> | null {
  let parsed;
  try {
    parsed = parseCommandLine(specs, argv, process.env);
  } catch (error) {
    if (error instanceof FlagError) commandFailure(command)(error.message, 2);
    throw error;
  }
  if (parsed.help) { process.stdout.write(`${helpText(usage, specs)}\n`); return null; }
  return parsed;
}

// Value parsers shared by commands.

export function oneOf<T extends string>(choices: readonly T[]) {
  return (raw: string): T | null => (choices.includes(raw as T) ? (raw as T) : null);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `--log.level`, as every long-running command has it. */
export const logLevelFlag = { name: 'log.level', default: 'info', form: LOG_LEVELS.join('|'), help: 'Log level.', parse: oneOf(LOG_LEVELS) } satisfies FlagSpec<string>;

export const text = (raw: string): string => raw;

export function booleanValue(raw: string): boolean | null {
  return raw === 'true' ? true : raw === 'false' ? false : null;
}

export function positiveInteger(raw: string): number | null {
  return /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : null;
}

export function optionalPositiveInteger(raw: string): number | null | undefined {
  return raw === '' ? undefined : positiveInteger(raw);
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
